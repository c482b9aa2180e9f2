#pragma once
// Compiling a region of code for one SIMD variant, whatever the build's -march (the approach of
// Highway's per-target regions). A variant's translation unit includes every header it needs
// first, then opens the region:
//
//   #include <vector>  ...                 // all includes: compiled for the baseline
//   SS_TARGET_BEGIN("avx2,fma,f16c")       // functions defined from here on may use AVX2
//   namespace ss::simd::avx2 { ... }       // a namespace of its own per variant
//   SS_TARGET_END
//
// Only functions *defined* inside the region get the variant's instructions. Library templates
// instantiated from inside it (std::vector, std::fill) keep their baseline definition, so the
// linker can never pick an AVX-512 copy of them for code that runs on any CPU.
#if defined(__clang__)
#define SS_PRAGMA(x) _Pragma(#x)
#define SS_TARGET_BEGIN(features) \
  SS_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define SS_TARGET_END SS_PRAGMA(clang attribute pop)
#elif defined(__GNUC__)
#define SS_PRAGMA(x) _Pragma(#x)
#define SS_TARGET_BEGIN(features) SS_PRAGMA(GCC push_options) SS_PRAGMA(GCC target(features))
#define SS_TARGET_END SS_PRAGMA(GCC pop_options)
#else
#error "sinkscope's kernel variants need GCC or Clang"
#endif

// The feature strings of the variants (ops/simd/isa.h says what each needs at run time).
// (Whole literals: the pragma does not join adjacent strings.)
#define SS_FEATURES_AVX2 "avx,avx2,fma,f16c"
#define SS_FEATURES_AVX512 "avx,avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq"
#define SS_FEATURES_AVX512BF16 "avx,avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"
