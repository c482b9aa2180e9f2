// Issue 21, part 1 and part 4: one test per validation rule that the older tests did not cover
// (docs/validation.md lists every rule and its test), and files claiming absurd sizes (vocabulary
// 2^31, context 2^31, dim 2^20, ...) refused before any allocation with what they would need. Each
// failure is an InputError of one line naming the file and the key (or tensor).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/vocab.h"

namespace ss {
namespace {

using json = nlohmann::json;

using test::input_error;
using test::tiny_model;

// Expects load_model(path) to fail with one line starting "<path>" and holding each of `want`.
void expect_refused(const std::string& path, const std::vector<std::string>& want) {
  const std::string err = input_error([&] { load_model(path); });
  EXPECT_EQ(err.rfind(path, 0), 0u) << "loaded " << path << " or wrong file: " << err;
  for (const std::string& w : want) EXPECT_NE(err.find(w), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

// A GGUF of m with `extra` metadata (replacing the writer's own keys).
std::string gguf_with(const Model& m, const GgufMetadata& extra, const std::string& name,
                      const GgufMetadata& tokenizer = {}) {
  const std::string path = test::temp_dir() + "/" + name + ".gguf";
  write_model_gguf(m, tokenizer, path, DType::F32, "", extra);
  return path;
}

// A Hugging Face folder of m whose config.json `edit` changes.
std::string folder_with(const Model& m, const std::string& name,
                        const std::function<void(json&)>& edit) {
  const std::string dir = test::temp_dir() + "/" + name;
  write_hf_model(m, dir);
  json config = json::parse(std::ifstream(dir + "/config.json"));
  edit(config);
  std::ofstream(dir + "/config.json") << config.dump();
  return dir;
}

GgufMetadata spm_tokens(int n) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int i = 3; i < n; ++i) tokens.push_back(std::string("t").append(std::to_string(i)));
  return {{"tokenizer.ggml.model", GgufValue::of_string("llama")},
          {"tokenizer.ggml.tokens", GgufValue::of_strings(tokens)}};
}

// ---- hyper-parameters, GGUF ----

TEST(Validation, GgufEpsilonRange) {
  const Model m = tiny_model("llama");
  const std::string key = "llama.attention.layer_norm_rms_epsilon";
  for (float eps : {2.0f, 0.0f, NAN}) {
    const std::string p = gguf_with(m, {{key, GgufValue::of_f32(eps)}}, "eps");
    expect_refused(p, {"invalid " + key});
  }
  const Model gpt2 = tiny_model("gpt2");
  const std::string p = gguf_with(
      gpt2, {{"gpt2.attention.layer_norm_epsilon", GgufValue::of_f32(INFINITY)}}, "ln-eps");
  expect_refused(p, {"invalid gpt2.attention.layer_norm_epsilon"});
}

TEST(Validation, GgufOddHeadDimension) {
  const Model m = tiny_model("llama");
  const std::string p = gguf_with(m,
                                  {{"llama.attention.key_length", GgufValue::of_u32(15)},
                                   {"llama.attention.value_length", GgufValue::of_u32(15)},
                                   {"llama.rope.dimension_count", GgufValue::of_u32(15)}},
                                  "odd-head");
  expect_refused(p, {"llama.attention.key_length 15 is odd"});
}

TEST(Validation, GgufRopeScalingFactors) {
  const Model m = tiny_model("llama");
  for (float f : {0.0f, -2.0f, NAN, INFINITY}) {
    const std::string p = gguf_with(m,
                                    {{"llama.rope.scaling.type", GgufValue::of_string("linear")},
                                     {"llama.rope.scaling.factor", GgufValue::of_f32(f)}},
                                    "linear");
    expect_refused(p, {"invalid llama.rope.scaling.factor"});
  }
  const Model oss = tiny_model("gpt-oss");
  for (const char* key : {"gpt-oss.rope.scaling.yarn_beta_fast", "gpt-oss.rope.scaling.factor",
                          "gpt-oss.rope.scaling.attn_factor"}) {
    const std::string p = gguf_with(oss, {{key, GgufValue::of_f32(INFINITY)}}, "yarn");
    expect_refused(p, {std::string("invalid ") + key});
  }
  const Model phi = tiny_model("phi3");
  const std::string p =
      gguf_with(phi, {{"phi3.rope.scaling.attn_factor", GgufValue::of_f32(NAN)}}, "longrope");
  expect_refused(p, {"invalid phi3.rope.scaling.attn_factor"});
}

// Llama 3's rope_freqs and Phi-3's longrope factors divide the rope frequencies: zero, negative
// or non-finite values are refused naming the tensor.
TEST(Validation, RopeDivisorTensorsFiniteAndPositive) {
  Model m = clone_model(tiny_model("llama"));
  const int n = m.config.head_dim / 2;
  std::vector<float> v(static_cast<size_t>(n), 1.0f);
  v[3] = INFINITY;
  m.rope_freqs = add_owned_f32(m, "rope_freqs.weight", {n}, v);
  expect_refused(gguf_with(m, {}, "rope-freqs"),
                 {"tensor rope_freqs.weight value 3 is inf: rope divisors must be finite and > 0"});
  const std::string src = test::synth_model("phi3", "--shape small", 7);
  Model phi = clone_model(load_model(src));
  reinterpret_cast<float*>(mutable_data(phi, phi.rope_factors_long))[2] = 0.0f;
  expect_refused(gguf_with(phi, {}, "longrope-zero"), {"tensor rope_factors_long.weight value 2"});
}

TEST(Validation, GgufSlidingWindowSoftcapsAndSwaBase) {
  const Model m = tiny_model("gemma2");
  expect_refused(gguf_with(m, {{"gemma2.attention.sliding_window", GgufValue::of_i32(-1)}}, "w"),
                 {"invalid gemma2.attention.sliding_window (-1)"});
  expect_refused(
      gguf_with(m, {{"gemma2.attention.sliding_window", GgufValue::of_u32(1u << 24)}}, "w2"),
      {"invalid gemma2.attention.sliding_window (16777216)"});
  for (const char* key : {"gemma2.final_logit_softcapping", "gemma2.attn_logit_softcapping"})
    for (float v : {-1.0f, NAN, INFINITY})
      expect_refused(gguf_with(m, {{key, GgufValue::of_f32(v)}}, "cap"),
                     {std::string("invalid ") + key});
  const Model g3 = tiny_model("gemma3");
  expect_refused(gguf_with(g3, {{"gemma3.rope.freq_base_swa", GgufValue::of_f32(0)}}, "swa"),
                 {"invalid gemma3.rope.freq_base_swa"});
  expect_refused(gguf_with(m, {{"sinkscope.query_scale", GgufValue::of_f32(NAN)}}, "qs"),
                 {"invalid sinkscope.query_scale"});
}

TEST(Validation, GgufExpertCounts) {
  const Model m = tiny_model("gpt-oss");
  expect_refused(gguf_with(m, {{"gpt-oss.expert_used_count", GgufValue::of_u32(0)}}, "k0"),
                 {"gpt-oss.expert_used_count (0)"});
  expect_refused(gguf_with(m, {{"gpt-oss.expert_count", GgufValue::of_u32(70000)}}, "e70k"),
                 {"gpt-oss.expert_count 70000 exceeds the cap of 65535"});
}

// The examples issue 21 found caught already, each still one line naming the key or tensor.
TEST(Validation, IssueExamplesCaughtBefore) {
  const Model m = tiny_model("llama");  // 4 heads, 2 key/value heads
  expect_refused(gguf_with(m, {{"llama.attention.head_count", GgufValue::of_u32(0)}}, "h0"),
                 {"missing or invalid llama.attention.head_count (0)"});
  expect_refused(gguf_with(m, {{"llama.attention.head_count", GgufValue::of_u32(3)}}, "h3"),
                 {"llama.attention.head_count 3 is not a multiple of attention.head_count_kv 2"});
  expect_refused(gguf_with(m, {{"llama.attention.head_count_kv", GgufValue::of_u32(5)}}, "kv5"),
                 {"llama.attention.head_count 4 is not a multiple of attention.head_count_kv 5"});
  expect_refused(gguf_with(m, {{"llama.context_length", GgufValue::of_u32(0)}}, "ctx0"),
                 {"missing or invalid llama.context_length (0)"});
  expect_refused(gguf_with(m, {{"llama.block_count", GgufValue::of_u32(3)}}, "blocks3"),
                 {"missing tensor blk.2."});
  expect_refused(gguf_with(m, {{"llama.rope.freq_base", GgufValue::of_f32(0)}}, "base0"),
                 {"invalid llama.rope.freq_base"});
  Model broken = clone_model(m);
  broken.layers[1].wq = Tensor{};
  expect_refused(gguf_with(broken, {}, "no-q"), {"missing tensor blk.1.attn_q.weight"});
  broken = clone_model(m);
  broken.layers[0].w_down.ne[0] /= 2;
  expect_refused(gguf_with(broken, {}, "half-down"),
                 {"tensor blk.0.ffn_down.weight has shape [64, 64], expected [128, 64]"});
  const std::string dir = folder_with(m, "heads-hf", [](json& j) { j["num_key_value_heads"] = 3; });
  const std::string err = input_error([&] { load_model(dir); });
  EXPECT_NE(err.find(dir + "/config.json: num_attention_heads 4 is not a multiple of "
                           "num_key_value_heads 3"),
            std::string::npos)
      << err;
}

// ---- vocabulary, GGUF ----

TEST(Validation, GgufOutputRowsMatchTheVocabulary) {
  Model m = clone_model(tiny_model("phi3"));  // untied
  ASSERT_FALSE(m.tied_output);
  --m.output.ne[1];
  expect_refused(gguf_with(m, {}, "short-output"),
                 {"tensor output.weight has shape [64, 31], expected [64, 32]"});
}

TEST(Validation, GgufSpecialTokenIdsInsideTheVocabulary) {
  const Model m = tiny_model("llama");
  for (const char* key : {"tokenizer.ggml.padding_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.bos_token_id"}) {
    GgufMetadata tok = spm_tokens(32);
    tok.emplace_back(key, GgufValue::of_u32(32));
    const std::string p = gguf_with(m, {}, "special", tok);
    const std::string want = std::string(key) + " = 32 is outside the vocabulary of 32 tokens";
    expect_refused(p, {want});
    EXPECT_NE(input_error([&] { vocab_from_gguf(GgufFile(p)); }).find(want), std::string::npos);
  }
  GgufMetadata none = spm_tokens(32);
  none.emplace_back("tokenizer.ggml.padding_token_id", GgufValue::of_i32(-1));  // none
  EXPECT_NO_THROW(load_model(gguf_with(m, {}, "no-pad", none)));
}

// The byte-level BPE vocabulary of tests/test_bpe.cpp: "a", "b", "ab", "<|end|>".
std::string bpe_gguf(const std::function<void(GgufWriter&)>& edit) {
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::of_string("gpt-2"));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"a", "b", "ab", "<|end|>"}));
  w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({1, 1, 1, 3}));
  w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a b"}));
  edit(w);
  static int n = 0;
  const std::string path = test::temp_dir() + "/bpe" + std::to_string(n++) + ".gguf";
  w.write(path);
  return path;
}

void expect_bpe_refused(const std::function<void(GgufWriter&)>& edit, const std::string& want) {
  const std::string p = bpe_gguf(edit);
  const std::string err = input_error([&] { BpeTokenizer::from_gguf(GgufFile(p)); });
  EXPECT_EQ(err.rfind(p + ": ", 0), 0u) << err;
  EXPECT_NE(err.find(want), std::string::npos) << err;
}

TEST(Validation, GgufTokenizerArrayLengths) {
  expect_bpe_refused(
      [](GgufWriter& w) {
        w.set("tokenizer.ggml.scores", GgufValue::of_f32s({0, 0}));
      },
      "tokenizer.ggml.scores has 2 entries, tokenizer.ggml.tokens has 4");
  expect_bpe_refused(
      [](GgufWriter& w) {
        w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({1, 1}));
      },
      "tokenizer.ggml.token_type has 2 entries, tokenizer.ggml.tokens has 4");
  expect_bpe_refused(
      [](GgufWriter& w) { w.set("tokenizer.ggml.padding_token_id", GgufValue::of_u32(4)); },
      "tokenizer.ggml.padding_token_id = 4 is outside the vocabulary of 4 tokens");
  // The SentencePiece reader: token types of the wrong length.
  GgufWriter w;
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "a"}));
  w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({2, 3, 3}));
  const std::string p = test::temp_dir() + "/spm-types.gguf";
  w.write(p);
  EXPECT_NE(input_error([&] {
              vocab_from_gguf(GgufFile(p));
            }).find(p + ": tokenizer.ggml.token_type has 3 entries, tokenizer.ggml.tokens has 4"),
            std::string::npos);
}

// Every merge is two tokens and its result a token, as Hugging Face tokenizers require (llama.cpp
// would never apply such a merge); the error names the key and the merge.
TEST(Validation, GgufMergesNameTokensOfTheVocabulary) {
  expect_bpe_refused(
      [](GgufWriter& w) {
        w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a b", "a c"}));
      },
      "tokenizer.ggml.merges[1] ('a', 'c'): 'c' is not in the vocabulary");
  expect_bpe_refused(
      [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_strings({"b a"})); },
      "tokenizer.ggml.merges[0] ('b', 'a'): 'ba' is not in the vocabulary");
  expect_bpe_refused(
      [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_strings({"ab"})); },
      "tokenizer.ggml.merges[0] = 'ab' is not two tokens separated by a space");
  const std::string json_text =
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "aa": 1}, "merges": ["a b"]}})";
  EXPECT_NE(input_error([&] {
              BpeTokenizer::from_tokenizer_json_text(json_text, "t.json");
            }).find("t.json: model.merges[0] ('a', 'b'): 'b' is not in the vocabulary"),
            std::string::npos);
}

// A tokenizer with more tokens than the model's embedding rows gives ids without a row.
TEST(Validation, TokenizerLargerThanTheEmbedding) {
  const std::string p = gguf_with(tiny_model("llama"), {}, "vocab32");
  const std::string err = input_error([&] { load_text_tokenizer(p, test::tok_bin(), 32); });
  EXPECT_NE(err.find(test::tok_bin() + ": the tokenizer has 512 tokens, more than the 32 rows"),
            std::string::npos)
      << err;
  EXPECT_NO_THROW(load_text_tokenizer(p, test::tok_bin(), 512));
  auto r = test::run_cli("perplexity -m " + p + " --tokenizer " + test::tok_bin() + " -f " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 16 --chunks 1 --quiet");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("more than the 32 rows"), std::string::npos) << r.err;
}

// ---- hyper-parameters and ids, config.json ----

TEST(Validation, ConfigJsonRanges) {
  const Model m = tiny_model("llama");
  auto refused = [&](const std::function<void(json&)>& edit, const std::string& want) {
    const std::string dir = folder_with(m, "cfg", edit);
    const std::string err = input_error([&] { load_model(dir); });
    EXPECT_EQ(err.rfind(dir + "/config.json: ", 0), 0u) << err;
    EXPECT_NE(err.find(want), std::string::npos) << err;
  };
  refused([](json& j) { j["rms_norm_eps"] = 2.0; }, "rms_norm_eps must be at most 1");
  // JSON has no infinity (nlohmann refuses 1e999); beyond float range would become one.
  refused([](json& j) { j["rms_norm_eps"] = 1e300; },
          "rms_norm_eps must be a number within float range, got 1e+300");
  refused([](json& j) { j["head_dim"] = 15; }, "head_dim gives an odd head dimension 15");
  refused(
      [](json& j) {
        j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 1e300}};
      },
      "rope_scaling.factor must be a number within float range");
  refused(
      [](json& j) {
        j["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", 8},
                             {"low_freq_factor", 1e300},
                             {"high_freq_factor", 4},
                             {"original_max_position_embeddings", 64}};
      },
      "rope_scaling.low_freq_factor must be a number within float range");
  refused(
      [](json& j) {
        j["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", 8},
                             {"low_freq_factor", 4},
                             {"high_freq_factor", 1},
                             {"original_max_position_embeddings", 64}};
      },
      "rope_scaling.high_freq_factor must exceed low_freq_factor");
  refused([](json& j) { j["bos_token_id"] = 32; },
          "bos_token_id 32 is outside the vocabulary (vocab_size 32)");
  refused(
      [](json& j) {
        j["eos_token_id"] = {2, 40};
      },
      "eos_token_id 40 is outside the vocabulary");
  refused([](json& j) { j["pad_token_id"] = -2; }, "pad_token_id -2 is outside the vocabulary");
  EXPECT_NO_THROW(load_model(folder_with(m, "cfg-pad", [](json& j) { j["pad_token_id"] = -1; })));
}

TEST(Validation, ConfigJsonArchitectureKeys) {
  auto refused = [](const Model& m, const std::function<void(json&)>& edit,
                    const std::string& want) {
    const std::string dir = folder_with(m, "arch-cfg", edit);
    const std::string err = input_error([&] { load_model(dir); });
    EXPECT_EQ(err.rfind(dir + "/config.json: ", 0), 0u) << err;
    EXPECT_NE(err.find(want), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  };
  const Model oss = tiny_model("gpt-oss");
  refused(
      oss, [](json& j) { j["num_experts_per_tok"] = 6; },
      "num_experts_per_tok 6 exceeds num_local_experts 4");
  refused(
      oss, [](json& j) { j["num_local_experts"] = 70000; },
      "num_local_experts 70000 exceeds the cap of 65535");
  refused(
      oss, [](json& j) { j["rope_scaling"]["beta_fast"] = -1; },
      "rope_scaling.beta_fast must be a finite number > 0, got -1");
  refused(
      oss, [](json& j) { j["rope_scaling"]["beta_slow"] = 0; },
      "rope_scaling.beta_slow must be a finite number > 0");
  refused(
      oss, [](json& j) { j["rope_scaling"]["attention_factor"] = -1; },
      "rope_scaling.attention_factor gives a YaRN attention factor of -1");
  refused(
      oss, [](json& j) { j["sliding_window"] = 0; }, "sliding_window must be an integer");
  const Model g3 = tiny_model("gemma3");
  refused(
      g3, [](json& j) { j["rope_local_base_freq"] = 0; },
      "rope_local_base_freq must be a finite number > 0");
  refused(
      g3, [](json& j) { j["query_pre_attn_scalar"] = 0; },
      "query_pre_attn_scalar must be a finite number > 0, got 0");
  refused(
      g3, [](json& j) { j["final_logit_softcapping"] = -1; },
      "final_logit_softcapping must be a finite number >= 0");
  const Model neox = tiny_model("gptneox");
  refused(
      neox, [](json& j) { j["rotary_emb_base"] = 0; },
      "rotary_emb_base must be a finite number > 0");
  refused(
      neox,
      [](json& j) {
        j.erase("rotary_emb_base");
        j["rope_theta"] = -5;
      },
      "rope_theta must be a finite number > 0");
}

// ---- llama2.c checkpoints ----

std::string llama2c_header(const std::vector<int32_t>& h, const std::string& name) {
  const std::string path = test::temp_dir() + "/" + name + ".bin";
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(h.data()),
            static_cast<std::streamsize>(h.size() * sizeof(int32_t)));
  out << std::string(64, '\0');
  return path;
}

TEST(Validation, Llama2cHeader) {
  // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
  expect_refused(llama2c_header({60, 128, 2, 4, 4, 32, 64}, "odd"),
                 {"the head dimension 15 (header fields dim / n_heads) is odd"});
  expect_refused(llama2c_header({64, 128, 2, 4, 4, std::numeric_limits<int32_t>::min(), 64}, "v31"),
                 {"header field vocab_size is 0 (must be in 1..16777215)"});
  expect_refused(llama2c_header({64, 128, 2, 4, 4, 32, std::numeric_limits<int32_t>::max()}, "ctx"),
                 {"header field seq_len is 2147483647 (must be in 1..16777215)"});
  // Huge but capped fields: their product overflowed 64 bits, so the size check passed and 2^23
  // layers were allocated before the first tensor failed.
  const int32_t big = 1 << 23;
  expect_refused(llama2c_header({big, big, big, 1, 1, 32, 64}, "huge"),
                 {"truncated: the header's dimensions need ", " bytes, file has 92"});
}

// ---- absurd sizes (part 4) ----

// Replaces the first occurrence of `from` (8 bytes) after `after` in the file.
void patch_u64(const std::string& path, const std::string& after, uint64_t from, uint64_t to) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  size_t at = bytes.find(after);
  ASSERT_NE(at, std::string::npos);
  at = bytes.find(std::string(reinterpret_cast<const char*>(&from), 8), at + after.size());
  ASSERT_NE(at, std::string::npos);
  std::memcpy(bytes.data() + at, &to, 8);
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Validation, AbsurdVocabularyRefusedBeforeAllocating) {
  const Model m = tiny_model("llama");
  // token_embd.weight claiming 2^31 rows: the reader refuses it, saying the bytes it needs.
  std::string p = gguf_with(m, {}, "vocab-2-31");
  patch_u64(p, "token_embd.weight", 32, uint64_t{1} << 31);
  EXPECT_NE(input_error([&] { load_model(p); })
                .find(p + ": tensor 'token_embd.weight' extends past the end of the file: it "
                          "needs 549755813888 bytes"),
            std::string::npos);
  // tokenizer.ggml.tokens claiming 2^31 strings.
  p = gguf_with(m, {}, "tokens-2-31", spm_tokens(32));
  patch_u64(p, "tokenizer.ggml.tokens", 32, uint64_t{1} << 31);
  EXPECT_NE(input_error([&] {
              load_model(p);
            }).find("'tokenizer.ggml.tokens' is an array of 2147483648 elements, but only"),
            std::string::npos);
  // config.json.
  const std::string dir =
      folder_with(m, "vocab-hf", [](json& j) { j["vocab_size"] = int64_t{1} << 31; });
  EXPECT_NE(input_error([&] {
              load_model(dir);
            }).find("config.json: vocab_size must be an integer in 1..16777215, got 2147483648"),
            std::string::npos);
  // tokenizer.json with one id of 2^30 - 1: a table of 2^30 pieces.
  const std::string json_text =
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1073741823}, "merges": []}})";
  const std::string err =
      input_error([&] { BpeTokenizer::from_tokenizer_json_text(json_text, "t.json"); });
  EXPECT_NE(err.find("t.json: token id 1073741823 is far beyond the 2 tokens"), std::string::npos)
      << err;
  EXPECT_NE(err.find("would need "), std::string::npos) << err;
}

TEST(Validation, AbsurdContextRefusedBeforeAllocating) {
  const Model m = tiny_model("llama");  // 2 layers, 2 key/value heads of 16
  const std::string p =
      gguf_with(m, {{"llama.context_length", GgufValue::of_u32(1u << 31)}}, "ctx-2-31");
  // 2 x 2 layers x 2^31 x 32 x 4 bytes
  expect_refused(p, {"llama.context_length 2147483648 exceeds the cap of 16777215 positions: a KV "
                     "cache of that many would need 1099511627776 bytes"});
  const std::string dir =
      folder_with(m, "ctx-hf", [](json& j) { j["max_position_embeddings"] = int64_t{1} << 31; });
  const std::string err = input_error([&] { load_model(dir); });
  EXPECT_NE(err.find(dir + "/config.json: max_position_embeddings 2147483648 exceeds the cap of "
                           "16777215 positions: a KV cache of that many would need 1099511627776 "
                           "bytes"),
            std::string::npos)
      << err;
}

TEST(Validation, AbsurdDimRefusedBeforeAllocating) {
  const Model m = tiny_model("llama");
  // embedding_length 2^20 (head_dim stays key_length's 16): the embedding it implies.
  const std::string p =
      gguf_with(m, {{"llama.embedding_length", GgufValue::of_u32(1u << 20)}}, "dim-2-20");
  expect_refused(p, {"tensor token_embd.weight has shape [64, 32], expected [1048576, 32] "
                     "(134217728 bytes of F32)"});
  // Hidden size, layer count and experts far beyond the tensors.
  expect_refused(gguf_with(m, {{"llama.feed_forward_length", GgufValue::of_u32(1u << 23)}}, "ffn"),
                 {"expected [64, 8388608] (2147483648 bytes of F32)"});
  expect_refused(gguf_with(m, {{"llama.block_count", GgufValue::of_u32(1u << 23)}}, "layers"),
                 {"llama.block_count 8388608 exceeds the"});
  // The runtime's buffers for a claim no file backs (a model made in code): refused with the
  // bytes before the cache or the activations are allocated.
  Model big = clone_model(m);
  big.config.dim = 1 << 20;
  big.config.hidden_dim = 1 << 22;
  ThreadPool pool(1);
  const std::string err = input_error([&] { Runtime rt(big, pool, 1 << 16); });
  EXPECT_NE(err.find("a forward pass over 65536 tokens needs "), std::string::npos) << err;
  EXPECT_NE(err.find("for dim 1048576 and FFN 4194304"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

}  // namespace
}  // namespace ss
