#pragma once
// Which SIMD variant of the kernels runs: detected once from CPUID and XGETBV (the OS must save the
// wide registers), or forced with SINKSCOPE_ISA=scalar|avx2|avx512|avx512bf16. Every variant gives
// the same bits (ops/dot.h's layout), so the choice changes speed, never a result.
#include <string>
#include <vector>

namespace ss {

enum class Isa { Scalar, Avx2, Avx512, Avx512Bf16 };

// Every variant, slowest first.
inline constexpr Isa kAllIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16};

// The CPU features the variants need, as the CPU and OS report them.
struct CpuFeatures {
  bool avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512bf16 = false, avx512vnni = false;
  bool os_ymm = false, os_zmm = false;  // XCR0: the OS saves YMM / ZMM and mask registers
};

const CpuFeatures& cpu_features();

// "avx avx2 fma f16c avx512f ...": the features present, for `info` and error messages.
std::string cpu_feature_list();

// "scalar", "avx2", "avx512", "avx512bf16".
const char* isa_name(Isa isa);

// Whether this CPU (and OS) can run a variant.
bool isa_supported(Isa isa);

// The variants this CPU can run, slowest first.
std::vector<Isa> supported_isas();

// The fastest variant this CPU can run.
Isa best_isa();

// The variant in use: SINKSCOPE_ISA if set, else best_isa(). Decided on the first call; throws
// InputError("SINKSCOPE_ISA", ...) for an unknown name or a variant this CPU lacks.
Isa active_isa();

}  // namespace ss
