// libFuzzer target for the safetensors header parser: any input must parse or throw InputError,
// and on success every tensor's byte range must lie inside the input, match its shape and dtype,
// and be found under its name.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "format/safetensors.h"

namespace {
volatile uint64_t g_sink;  // keeps the reads below from being optimized away
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // Parsing straight from libFuzzer's buffer lets ASan see any read past its end.
    ss::SafetensorsFile f(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    uint64_t sum = f.metadata().size();
    for (const ss::SafetensorsTensor& t : f.tensors()) {
      if (f.find(t.name) != &t) __builtin_trap();  // the index must match
      const uint64_t elem = t.type == ss::DType::F32 ? 4 : 2;
      if (t.nbytes() != t.n_elements() * elem) __builtin_trap();
      if (t.data < data || t.data + t.nbytes() > data + size) __builtin_trap();
      if (t.nbytes() > 0) sum += t.data[0] + t.data[t.nbytes() - 1];
    }
    g_sink = sum;
  } catch (const ss::InputError&) {
  }
  return 0;
}
