// The avx2 variant: the kernel bodies compiled for AVX2 whatever the build's -march.
#include "ops/simd/variant_prelude.h"

#if defined(__x86_64__)
#define SS_ISA_LEVEL 1
#define SS_ISA_BF16 0
SS_TARGET_BEGIN(SS_FEATURES_AVX2)
namespace ss::simd::avx2 {
#include "ops/simd/variant-inl.h"
}  // namespace ss::simd::avx2
SS_TARGET_END

namespace ss::simd {
const Kernels kAvx2Kernels = avx2::variant_kernels(Isa::Avx2);
}  // namespace ss::simd
#endif
