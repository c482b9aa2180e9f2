// libFuzzer target for the GGUF reader: any input must parse or throw InputError, and on success
// every getter and every byte range the reader hands out must be safe to use.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"
#include "format/gguf.h"

namespace {

// Calls a getter, ignoring the InputError a wrong-typed key is allowed to throw.
template <typename F>
void quietly(F&& f) {
  try {
    f();
  } catch (const ss::InputError&) {
  }
}

volatile uint64_t g_sink;  // keeps the reads below from being optimized away

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // Parsing straight from libFuzzer's buffer lets ASan see any read past its end.
    ss::GgufFile g(std::span<const uint8_t>(data, size), "fuzz.gguf");
    uint64_t sum = g.version();
    for (const auto& kv : g.metadata()) {
      const std::string& key = kv.first;  // clang cannot capture structured bindings
      sum += g.has(key);
      quietly([&] { sum += g.get_string(key).size(); });
      quietly([&] { sum += static_cast<uint64_t>(g.get_int(key, 0)); });
      quietly([&] { sum += static_cast<uint64_t>(g.get_float(key, 0) != 0); });
      quietly([&] { sum += g.get_bool(key, false); });
      quietly([&] { sum += g.get_string_array(key).size(); });
      quietly([&] { sum += g.get_float_array(key).size(); });
      quietly([&] { sum += g.get_int_array(key).size(); });
      sum += kv.second.is_integer() + kv.second.is_float() + kv.second.arr.size();
    }
    for (const ss::GgufTensor& t : g.tensors()) {
      if (g.find_tensor(t.name) != &t) __builtin_trap();  // the index must match
      sum += t.n_elements();
      if (t.nbytes > 0) sum += t.data[0] + t.data[t.nbytes - 1];
    }
    g_sink = sum;
  } catch (const ss::InputError&) {
  }
  return 0;
}
