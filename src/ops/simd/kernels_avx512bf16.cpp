// The avx512bf16 variant: the avx512 variant's kernels plus the BF16 GEMM with vdpbf16ps.
#include "ops/simd/variant_prelude.h"

#if defined(__x86_64__)
#define SS_ISA_LEVEL 2
#define SS_ISA_BF16 1
SS_TARGET_BEGIN(SS_FEATURES_AVX512BF16)
namespace ss::simd::avx512bf16 {
// The order matters: each body uses the ones above it.
// clang-format off
#include "ops/simd/lanes-inl.h"
#include "ops/vec-inl.h"
#include "ops/dequant-inl.h"
#include "ops/decode-inl.h"
#include "ops/gemm-inl.h"
// clang-format on
}  // namespace ss::simd::avx512bf16
SS_TARGET_END

namespace ss::simd {
void avx512bf16_matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y,
                            ThreadPool& pool) {
  avx512bf16::matmul_bf16(w, x, n_tokens, y, pool);
}
}  // namespace ss::simd
#endif
