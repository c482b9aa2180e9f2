#include "ops/simd/isa.h"

#include <cstdlib>
#include <string_view>

#include "base/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SS_X86 1
#endif

namespace ss {
namespace {

#if SS_X86
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub) {
  Regs r;
  if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) r = Regs{};
  return r;
}

bool bit(unsigned reg, int n) {
  return (reg >> n) & 1u;
}

// XCR0: which register states the OS saves on a context switch (valid only with OSXSAVE).
unsigned long long xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  const unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 1) return f;
  const Regs l1 = cpuid(1, 0);
  const bool osxsave = bit(l1.c, 27);
  const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  f.os_ymm = (xcr0 & 0x6) == 0x6;    // SSE and AVX state
  f.os_zmm = (xcr0 & 0xE6) == 0xE6;  // plus opmask, ZMM_Hi256 and Hi16_ZMM
  f.avx = bit(l1.c, 28);
  f.fma = bit(l1.c, 12);
  f.f16c = bit(l1.c, 29);
  if (max_leaf >= 7) {
    const Regs l7 = cpuid(7, 0);
    f.avx2 = bit(l7.b, 5);
    f.avx512f = bit(l7.b, 16);
    f.avx512dq = bit(l7.b, 17);
    f.avx512bw = bit(l7.b, 30);
    f.avx512vl = bit(l7.b, 31);
    f.avx512vnni = bit(l7.c, 11);
    if (l7.a >= 1) f.avx512bf16 = bit(cpuid(7, 1).a, 5);
  }
  return f;
}
#else
CpuFeatures detect() {
  return {};
}
#endif

Isa choose() {
  const char* env = std::getenv("SINKSCOPE_ISA");
  if (!env || !*env) return best_isa();
  const std::string_view name(env);
  for (Isa isa : kAllIsas) {
    if (name != isa_name(isa)) continue;
    if (!isa_supported(isa))
      throw InputError("SINKSCOPE_ISA",
                       std::string(env) + " is not supported by this CPU (features: " +
                           (cpu_feature_list().empty() ? "none" : cpu_feature_list()) + ")");
    return isa;
  }
  throw InputError("SINKSCOPE_ISA", "unknown variant " + quoted_name(name) +
                                        " (expected scalar, avx2, avx512 or avx512bf16)");
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::string cpu_feature_list() {
  const CpuFeatures& f = cpu_features();
  const std::pair<bool, const char*> flags[] = {{f.avx, "avx"},
                                                {f.avx2, "avx2"},
                                                {f.fma, "fma"},
                                                {f.f16c, "f16c"},
                                                {f.avx512f, "avx512f"},
                                                {f.avx512bw, "avx512bw"},
                                                {f.avx512vl, "avx512vl"},
                                                {f.avx512dq, "avx512dq"},
                                                {f.avx512bf16, "avx512bf16"},
                                                {f.avx512vnni, "avx512vnni"}};
  std::string out;
  for (const auto& [present, name] : flags) {
    if (!present) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  const bool any_wide = f.avx || f.avx2 || f.avx512f;
  if (any_wide && !f.os_ymm)
    out += " (the OS does not enable YMM registers)";
  else if (f.avx512f && !f.os_zmm)
    out += " (the OS does not enable ZMM registers)";
  return out;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx512Bf16:
      return "avx512bf16";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.os_ymm && f.avx && f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.os_zmm && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return avx2;
    case Isa::Avx512:
      return avx512;
    case Isa::Avx512Bf16:
      return avx512 && f.avx512bf16;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa best_isa() {
  return supported_isas().back();
}

Isa active_isa() {
  static const Isa isa = choose();
  return isa;
}

}  // namespace ss
