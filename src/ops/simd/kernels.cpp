#include "ops/simd/kernels.h"

#include <stdexcept>
#include <string>

#include "ops/simd/variants.h"

namespace ss {

const Kernels& kernels_for(Isa isa) {
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("kernels_for: this CPU cannot run ") + isa_name(isa));
  switch (isa) {
#if defined(__x86_64__)
    case Isa::Avx2:
      return simd::kAvx2Kernels;
    case Isa::Avx512:
      return simd::kAvx512Kernels;
    case Isa::Avx512Bf16: {
      static const Kernels bf16 = [] {
        Kernels k = simd::kAvx512Kernels;
        k.isa = Isa::Avx512Bf16;
        k.matmul_bf16 = &simd::avx512bf16_matmul_bf16;
        return k;
      }();
      return bf16;
    }
#endif
    default:
      return simd::kScalarKernels;
  }
}

const Kernels& kernels() {
  static const Kernels& k = kernels_for(active_isa());
  return k;
}

}  // namespace ss
