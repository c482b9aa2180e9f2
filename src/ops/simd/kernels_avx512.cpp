// The avx512 variant: the kernel bodies compiled for AVX512 whatever the build's -march.
#include "ops/simd/variant_prelude.h"

#if defined(__x86_64__)
#define SS_ISA_LEVEL 2
#define SS_ISA_BF16 0
SS_TARGET_BEGIN(SS_FEATURES_AVX512)
namespace ss::simd::avx512 {
#include "ops/simd/variant-inl.h"
}  // namespace ss::simd::avx512
SS_TARGET_END

namespace ss::simd {
const Kernels kAvx512Kernels = avx512::variant_kernels(Isa::Avx512);
}  // namespace ss::simd
#endif
