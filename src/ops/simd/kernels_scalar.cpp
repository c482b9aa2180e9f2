// The scalar variant: plain C++ for the baseline ISA (and the only variant off x86).
#include "ops/simd/variant_prelude.h"

#define SS_ISA_LEVEL 0
#define SS_ISA_BF16 0
namespace ss::simd::scalar {
#include "ops/simd/variant-inl.h"
}  // namespace ss::simd::scalar

namespace ss::simd {
const Kernels kScalarKernels = scalar::variant_kernels(Isa::Scalar);
}  // namespace ss::simd
