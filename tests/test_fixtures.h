#pragma once
// Small models and tokenizers that several test files build: synthesized GGUFs of each
// architecture, a fixed prompt, and a byte-level BPE tokenizer.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/arch.h"
#include "model/model.h"
#include "model/synth.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"
#include "test_util.h"
#include "tokenizer/pretokenizer.h"

namespace ss::test {

// `sinkscope synth --arch ARCH --seed SEED EXTRA` with stories260K's vocabulary, made once for
// each (arch, extra, seed): under ctest in the shared folder $SINKSCOPE_TEST_FIXTURES, filled
// first by the FIXTURES_SETUP test Fixtures.SynthModels (tests/CMakeLists.txt), so the processes
// of many tests share the files; else once per process. The CLI writes a GGUF by rename, so a
// reader never sees half a file.
inline std::string synth_model(const std::string& arch, const std::string& extra, int seed) {
  static std::map<std::string, std::string> made;
  const char* shared = std::getenv("SINKSCOPE_TEST_FIXTURES");
  static const std::string dir = shared && *shared ? std::string(shared) : temp_dir();
  const std::string key = arch + " " + extra + " " + std::to_string(seed);
  if (made.count(key)) return made[key];
  std::string name = arch + "_" + std::to_string(seed);
  for (char c : extra) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  const std::string path = dir + "/" + name + ".gguf";
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(dir);
    auto r = run_cli("synth --arch " + arch + " --seed " + std::to_string(seed) + " --vocab " +
                     tok_bin() + " " + extra + " -q -o " + path);
    EXPECT_EQ(r.code, 0) << r.err;
  }
  return made[key] = path;
}

// Every synth model the test files use, as (arch, extra, seed).
inline std::vector<std::tuple<std::string, std::string, int>> shared_synth_models() {
  std::vector<std::tuple<std::string, std::string, int>> out;
  for (const char* arch : {"llama", "qwen2", "qwen3", "gemma3"})
    for (int seed : {7, 11}) out.emplace_back(arch, "", seed);
  return out;
}

// Every position's logits of `ids` on 2 threads, with `mask` (may be null) applied.
inline std::vector<float> logits_of(const Model& m, const std::vector<int>& ids,
                                    const HeadMask* mask = nullptr) {
  ThreadPool pool(2);
  Runtime rt(m, pool, std::max(64, static_cast<int>(ids.size())));
  rt.set_head_mask(mask);
  return rt.forward(ids, 0, Logits::All);
}

// A random model of arch's "tiny" shape with `vocab` tokens, in F32.
inline Model tiny_model(const std::string& arch, int vocab = 32) {
  ModelConfig c = synth_shape(arch, "tiny");
  c.vocab_size = vocab;
  apply_arch(c);
  return make_random_model(c, 5, DType::F32, arch_of(c).synth_tied);
}

// BOS, then n-1 ids spread over a 512-token vocabulary.
inline std::vector<int> prompt_ids(int n) {
  std::vector<int> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i == 0 ? 1 : 3 + (i * 37) % 500;
  return ids;
}

// A byte-level tokenizer.json (GPT-2 split, ByteLevel): the 256 alphabet characters, then the
// given merges' results.
inline nlohmann::json byte_level_tokenizer_json(
    const std::vector<std::pair<std::string, std::string>>& merges) {
  using json = nlohmann::json;
  json vocab = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[bpe::byte_char_utf8(static_cast<uint8_t>(b))] = id++;
  json m = json::array();
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
    m.push_back(json::array({a, b}));
  }
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers", json::array({{{"type", "Split"},
                                            {"pattern", {{"Regex", bpe::kGpt2Pattern}}},
                                            {"behavior", "Isolated"},
                                            {"invert", false}},
                                           {{"type", "ByteLevel"},
                                            {"add_prefix_space", false},
                                            {"trim_offsets", false},
                                            {"use_regex", false}}})}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"byte_fallback", false}}}};
}

}  // namespace ss::test
