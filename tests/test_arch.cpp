// The architectures beyond llama (qwen2, qwen3, gemma3, Llama-3 rope) end to end on synthesized
// models: dims in `info`, export/reload with identical logits, KV-cache decoding, head masks,
// sliding-window attention rows and statistics, analyze/perplexity (also Q4_K). Their numbers
// against float64 references are checked by tests/arch_reference.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <vector>

#include "analysis/head_stats.h"
#include "analysis/rank_correlation.h"
#include "base/error.h"
#include "base/text_file.h"
#include "eval/perplexity.h"
#include "experiments/analyze.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "model/arch.h"
#include "model/layer_plan.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "model/yarn_rope.h"
#include "report/analysis_json.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

using namespace ss;

namespace {

// Every registered architecture: a new spec is tested here without editing this file.
const std::vector<std::string> kArchs = [] {
  std::vector<std::string> names;
  for (const ArchSpec* a : arch_specs()) names.emplace_back(a->name);
  return names;
}();

// A synthesized model per architecture (and extra options), written once per test binary.
std::string synth(const std::string& arch, const std::string& extra = "") {
  return test::synth_model(arch, extra, 7);
}

using test::logits_of;
using test::prompt_ids;

// Attention rows by (layer, head, pos) for positions < T; rows of different heads arrive from
// different threads, so each goes to its own preallocated slot.
class RowRecorder : public Observer {
 public:
  RowRecorder(const ModelConfig& c, int T) : heads_(c.n_heads), T_(T) {
    rows_.resize(static_cast<size_t>(c.n_layers) * c.n_heads * T);
  }
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override {
    rows_[index(layer, head, pos)].assign(row.begin(), row.end());
  }
  const std::vector<float>& row(int layer, int head, int pos) const {
    return rows_[index(layer, head, pos)];
  }

 private:
  size_t index(int layer, int head, int pos) const {
    return (static_cast<size_t>(layer) * heads_ + head) * T_ + pos;
  }
  int heads_, T_;
  std::vector<std::vector<float>> rows_;
};

// The first ~2 KB of the TinyStories sample: enough windows, quick to tokenize.
std::string short_text() {
  static const std::string path = [] {
    std::ifstream in(test::shared("data/text/tinystories-valid-sample.txt"));
    std::string text(2048, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) text.pop_back();
    std::string p = test::temp_dir() + "/short.txt";
    std::ofstream(p) << text;
    return p;
  }();
  return path;
}

}  // namespace

TEST(Arch, InfoPrintsDims) {
  struct Want {
    std::string arch, lines;
  };
  const std::vector<Want> wants{
      {"llama", "layers        2\n[\\s\\S]*head_dim      16\n[\\s\\S]*rope_style    adjacent"},
      {"qwen2", "head_dim      16\n[\\s\\S]*rope_style    neox\n[\\s\\S]*swiglu"},
      {"qwen3", "heads         4\n[\\s\\S]*kv_heads      2\n[\\s\\S]*head_dim      32\n"},
      {"gemma2",
       "layers        2\n[\\s\\S]*head_dim      32\n[\\s\\S]*geglu-tanh\n[\\s\\S]*sliding     "
       "  window 8, layers 0, rope_theta 10000\n[\\s\\S]*embed_scale   8\n"
       "logit_softcap 30\nattn_softcap  50\n"},
      {"gemma3",
       "layers        6\n[\\s\\S]*head_dim      32\n[\\s\\S]*geglu-tanh\n[\\s\\S]*sliding     "
       "  window "
       "8, layers 0,1,2,3,4, rope_theta 10000\n[\\s\\S]*embed_scale   8"},
      {"olmo2",
       "head_dim      16\n[\\s\\S]*rope_theta    500000\n[\\s\\S]*norms         post only\n"
       "qk_norm       whole projection\nrope_style    neox\n[\\s\\S]*swiglu"},
      {"gpt2",
       "kv_heads      4\n[\\s\\S]*norms         pre \\(LayerNorm with bias\\)\n"
       "rope_style    none\npositions     learned[\\s\\S]*ffn           gelu-tanh\n"
       "[\\s\\S]*classifier    tied"},
      {"gptneox",
       "rope_style    neox\nrope_dims     4 of 16 per head\n[\\s\\S]*ffn           "
       "gelu-erf\nresidual      parallel[\\s\\S]*classifier    separate"},
      {"phi3",
       "kv_heads      4\n[\\s\\S]*rope_style    neox\nrope_factors  longrope, long beyond "
       "256 tokens, attn_factor 1\nffn           swiglu\n"},
      {"gpt-oss",
       "kv_heads      2\nhead_dim      32\n[\\s\\S]*ffn           mixture of experts\nexperts      "
       " 4, "
       "top 2, clamped swiglu\nrope_scaling  yarn, factor 4, original context 64, attn_factor "
       "1.13863\nsinks         learned logits \\(attn_sinks.weight\\)\nsliding       window 8, "
       "layers 0,"}};
  std::vector<std::string> covered;  // an architecture registered without a line here fails
  for (const Want& w : wants) covered.push_back(w.arch);
  EXPECT_EQ(covered, kArchs);
  for (const Want& w : wants) {
    auto r = test::run_cli("info -m " + synth(w.arch));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture  " + w.arch + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dim           64\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("vocab         512\n"), std::string::npos) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex(w.lines))) << w.arch << "\n" << r.out;
  }
  // A real tokenizer's vocabulary (GPT-2's byte-level BPE) sets the vocabulary size.
  std::string path = test::temp_dir() + "/qwen2-gpt2.gguf";
  auto r = test::run_cli("synth --arch qwen2 -q --vocab " +
                         test::shared("models/vocab/ggml-vocab-gpt-2.gguf") + " -o " + path);
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli("info -m " + path);
  EXPECT_NE(r.out.find("vocab         50257\n"), std::string::npos) << r.out;
  GgufFile g(path);
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_FALSE(g.get_string_array("tokenizer.ggml.merges").empty());
}

TEST(Arch, BadInputIsOneLineError) {
  auto r = test::run_cli("synth --arch gpt5 --vocab " + test::tok_bin() + " -o /tmp/x.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown architecture 'gpt5'"), std::string::npos) << r.err;
  r = test::run_cli("synth --arch qwen2 --dtype q4_k --vocab " + test::tok_bin() +
                    " -o /tmp/x.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("multiple of 256"), std::string::npos) << r.err;
  // A qwen3 file without its q/k head norms names the file and the tensor.
  Model m = load_model(synth("qwen3"));
  for (auto& l : m.layers) l.q_norm = Tensor{};
  std::string path = test::temp_dir() + "/broken.gguf";
  write_model_gguf(m, tokenizer_metadata(GgufFile(synth("qwen3"))), path);
  try {
    load_model(path);
    FAIL() << "loaded a qwen3 model without attn_q_norm";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": missing tensor blk.0.attn_q_norm.weight"),
              std::string::npos)
        << e.what();
  }
}

// The zoo's own ways to be broken, each one line naming the file and the tensor or key: a GGUF
// gpt2 without its learned positions, a fused attn_qkv of the wrong size, longrope factors of
// the wrong length, an odd partial rotary count; positions past GPT-2's learned ones; Hugging
// Face folders with a missing or mis-shaped fused tensor and a bad longrope config.
TEST(Arch, ZooBadInputNamesTheFileAndTensor) {
  auto expect_error = [](const std::string& path, const std::string& want) {
    try {
      load_model(path);
      ADD_FAILURE() << "loaded " << path << ", wanted: " << want;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(want), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const std::string dir = test::temp_dir();
  auto rewrite = [&](const std::string& arch, const std::function<void(Model&)>& edit,
                     const GgufMetadata& extra = {}) {
    const std::string src = synth(arch, arch == "phi3" ? "--shape small" : "");
    Model m = clone_model(load_model(src));
    edit(m);
    const std::string path = dir + "/" + arch + "-broken.gguf";
    write_model_gguf(m, tokenizer_metadata(GgufFile(src)), path, std::nullopt, "", extra);
    return path;
  };
  std::string p = rewrite("gpt2", [](Model& m) { m.position_embd = Tensor{}; });
  expect_error(p, p + ": missing tensor position_embd.weight");
  p = rewrite("gptneox", [](Model& m) { --m.layers[1].wv.ne[1]; });
  expect_error(p, p + ": tensor blk.1.attn_qkv.weight has 191 rows, expected 192");
  p = rewrite("phi3", [](Model& m) { --m.rope_factors_long.ne[0]; });
  expect_error(p, p + ": tensor rope_factors_long.weight has shape [15, 1], expected [16, 1]");
  p = rewrite("gptneox", [](Model&) {}, {{"gptneox.rope.dimension_count", GgufValue::of_u32(3)}});
  expect_error(p, p + ": gptneox.rope.dimension_count 3 must be even and at most the head");
  // 300 positions of a GPT-2 that learned 256.
  const std::string gpt2 = synth("gpt2");
  auto r = test::run_cli("perplexity -m " + gpt2 + " -f " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 300 --chunks 1 --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(gpt2 + ": position 256 is beyond the 256 learned positions of "
                              "position_embd.weight"),
            std::string::npos)
      << r.err;

  // gpt-oss: expert counts the tensors do not have, top-k above the count, a short sink vector.
  const std::string oss = synth("gpt-oss");
  p = rewrite("gpt-oss", [](Model&) {}, {{"gpt-oss.expert_count", GgufValue::of_u32(5)}});
  expect_error(p, p + ": tensor blk.0.ffn_gate_inp.weight has shape [64, 4], expected [64, 5]");
  p = rewrite("gpt-oss", [](Model&) {}, {{"gpt-oss.expert_used_count", GgufValue::of_u32(9)}});
  expect_error(p, p + ": gpt-oss.expert_used_count 9 exceeds expert_count 4");
  p = rewrite("gpt-oss", [](Model& m) { --m.layers[1].attn_sinks.ne[0]; });
  expect_error(p, p + ": tensor blk.1.attn_sinks.weight has shape [3, 1], expected [4, 1]");
  {  // An MXFP4 expert stack whose third block has E8M0's NaN scale.
    const std::string src = synth("gpt-oss", "--shape small --dtype mxfp4");
    Model m = clone_model(load_model(src));
    mutable_data(m, m.layers[1].exp_up)[2 * 17] = 255;
    p = dir + "/oss-nan.gguf";
    write_model_gguf(m, tokenizer_metadata(GgufFile(src)), p, std::nullopt);
    expect_error(p, p + ": tensor blk.1.ffn_up_exps.weight: MXFP4 block 2 has scale byte 255");
  }
  p = rewrite("gpt-oss", [](Model& m) { m.layers[0].exp_down_b = Tensor{}; });
  expect_error(p, p + ": missing tensor blk.0.ffn_down_exps.bias");
  // A gpt-oss folder whose config.json claims more experts than its tensors hold, or top-k
  // above the count.
  r = test::run_cli("convert -m " + oss + " --format safetensors -o " + dir + "/oss-hf --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string oss_config = dir + "/oss-hf/config.json";
  nlohmann::json oc = nlohmann::json::parse(std::ifstream(oss_config));
  oc["num_local_experts"] = 5;
  std::ofstream(oss_config) << oc.dump();
  r = test::run_cli("info -m " + dir + "/oss-hf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("oss-hf/model.safetensors: tensor 'model.layers.0.mlp.router.weight' has "
                       "shape [4, "),
            std::string::npos)
      << r.err;
  oc["num_local_experts"] = 4;
  oc["num_experts_per_tok"] = 6;
  std::ofstream(oss_config) << oc.dump();
  r = test::run_cli("info -m " + dir + "/oss-hf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("config.json: num_experts_per_tok 6 exceeds num_local_experts 4"),
            std::string::npos)
      << r.err;

  // Hugging Face folders.
  for (const std::string arch : {"gpt2", "gptneox", "phi3"}) {
    const std::string hf = dir + "/" + arch + "-hf";
    r = test::run_cli("convert -m " + synth(arch, "--shape small") + " --format safetensors -o " +
                      hf + " --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  auto edit_config = [](const std::string& hf, const std::function<void(nlohmann::json&)>& f) {
    nlohmann::json j = nlohmann::json::parse(std::ifstream(hf + "/config.json"));
    f(j);
    std::ofstream(hf + "/config.json") << j.dump();
  };
  const std::string g2 = dir + "/gpt2-hf";
  edit_config(g2, [](nlohmann::json& j) { j["n_inner"] = 100; });
  expect_error(g2, g2 + "/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.weight' has "
                        "shape [256, 1024], config.json implies [256, 100]");
  edit_config(g2, [](nlohmann::json& j) { j["model_type"] = "gpt3"; });
  expect_error(g2, g2 + "/config.json: unsupported model_type 'gpt3'");
  const std::string phi = dir + "/phi3-hf";
  edit_config(phi, [](nlohmann::json& j) { j["rope_scaling"]["long_factor"] = {1.0, 2.0}; });
  expect_error(phi, phi + "/config.json: rope_scaling.long_factor must be an array of 16 numbers");
  edit_config(phi, [](nlohmann::json& j) { j["rope_scaling"]["type"] = "yarn"; });
  expect_error(phi,
               "unsupported rope_scaling type 'yarn' for phi3 (supported: linear, "
               "longrope, su)");
  // A folder whose fused qkv is missing.
  const std::string nx = dir + "/gptneox-hf";
  {
    SafetensorsFile f(nx + "/model.safetensors");
    SafetensorsWriter out;
    for (const SafetensorsTensor& t : f.tensors())
      if (t.name != "gpt_neox.layers.2.attention.query_key_value.weight")
        out.add_tensor(t.name, t.type, t.shape, t.data);
    out.write(nx + "/tmp.safetensors");
  }
  std::filesystem::rename(nx + "/tmp.safetensors", nx + "/model.safetensors");
  expect_error(nx, "missing tensor 'gpt_neox.layers.2.attention.query_key_value.weight'");
}

// Hyper-parameters that used to run into a silent wrong number (issue 21's examples): a negative
// or infinite epsilon, a rope dimension other than the head's, a vocabulary shorter than the
// embedding. Each is one line naming the file and the key.
TEST(Arch, HyperParametersOutOfRangeNameTheKey) {
  const std::string src = synth("llama");
  const Model m = load_model(src);
  const GgufMetadata tok = tokenizer_metadata(GgufFile(src));
  auto expect_refused = [&](const GgufMetadata& tokenizer, const GgufMetadata& extra,
                            const std::string& want) {
    const std::string path = test::temp_dir() + "/hyper.gguf";
    write_model_gguf(m, tokenizer, path, std::nullopt, "", extra);
    try {
      load_model(path);
      ADD_FAILURE() << "loaded a model with " << want;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
      EXPECT_NE(what.find(want), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  expect_refused(tok, {{"llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(-1)}},
                 "invalid llama.attention.layer_norm_rms_epsilon");
  expect_refused(tok, {{"llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(INFINITY)}},
                 "invalid llama.attention.layer_norm_rms_epsilon");
  expect_refused(tok, {{"llama.rope.freq_base", GgufValue::of_f32(NAN)}},
                 "invalid llama.rope.freq_base");
  expect_refused(tok, {{"llama.rope.dimension_count", GgufValue::of_u32(999)}},
                 "llama.rope.dimension_count 999 differs from the head dimension 16");
  GgufMetadata short_vocab;
  for (const auto& [key, value] : tok)
    short_vocab.emplace_back(key, key == "tokenizer.ggml.tokens"
                                      ? GgufValue::of_strings({"<unk>", "<s>", "</s>"})
                                      : value);
  expect_refused(short_vocab, {},
                 "tokenizer.ggml.tokens has 3 entries, token_embd.weight 512 rows");
}

// A NaN in a weight stops the command with one line naming the layer, not a NaN perplexity.
TEST(Arch, NonFiniteWeightIsAnErrorNamingTheLayer) {
  const std::string src = synth("qwen2");
  Model m = clone_model(load_model(src));
  reinterpret_cast<float*>(mutable_data(m, m.layers[1].wo))[5] = NAN;
  const std::string path = test::temp_dir() + "/nan.gguf";
  write_model_gguf(m, tokenizer_metadata(GgufFile(src)), path);
  auto r = test::run_cli("perplexity -m " + path + " -f " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 32 --chunks 1 --quiet");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find(path + ": non-finite value (nan) in the residual stream after layer 1"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

TEST(Arch, ConvertReloadsWithIdenticalLogits) {
  for (const auto& arch : kArchs) {
    const std::string src = synth(arch), dst = test::temp_dir() + "/" + arch + ".gguf";
    auto r = test::run_cli("convert -m " + src + " -o " + dst + " --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    Model a = load_model(src), b = load_model(dst);
    EXPECT_EQ(b.config.arch, arch);
    EXPECT_EQ(b.all_tensors().size(), a.all_tensors().size());
    EXPECT_EQ(logits_of(a, prompt_ids(20)), logits_of(b, prompt_ids(20))) << arch;
  }
  // A byte-level BPE vocabulary (GPT-2's) survives conversion, merges and all.
  const std::string gpt2 = test::temp_dir() + "/qwen2-gpt2.gguf", out = gpt2 + ".converted";
  auto r = test::run_cli("synth --arch qwen2 -q --vocab " +
                         test::shared("models/vocab/ggml-vocab-gpt-2.gguf") + " -o " + gpt2);
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli("convert -m " + gpt2 + " -o " + out + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(GgufFile(out).get_string_array("tokenizer.ggml.merges"),
            GgufFile(gpt2).get_string_array("tokenizer.ggml.merges"));
  EXPECT_EQ(logits_of(load_model(gpt2), prompt_ids(8)), logits_of(load_model(out), prompt_ids(8)));
  // Llama-3 rope divisors travel as rope_freqs.weight.
  Model a = load_model(synth("llama", "--llama3-rope 8,1,4,64"));
  ASSERT_TRUE(a.rope_freqs.data);
  std::string dst = test::temp_dir() + "/l3.gguf";
  write_model_gguf(a, tokenizer_metadata(GgufFile(a.path)), dst);
  Model b = load_model(dst);
  ASSERT_TRUE(b.rope_freqs.data);
  EXPECT_EQ(logits_of(a, prompt_ids(20)), logits_of(b, prompt_ids(20)));
  EXPECT_NE(logits_of(a, prompt_ids(20)), logits_of(load_model(synth("llama")), prompt_ids(20)));
}

// A qwen2 model with GPT-2's byte-level BPE vocabulary: the CLI tokenizes with BPE and adds no
// BOS (tokenizer.ggml.add_bos_token defaults to false for gpt2, as in llama.cpp).
TEST(Arch, ByteLevelBpeVocabularyThroughTheCli) {
  const std::string model = test::temp_dir() + "/qwen2-gpt2.gguf";
  auto r = test::run_cli("synth --arch qwen2 -q --vocab " +
                         test::shared("models/vocab/ggml-vocab-gpt-2.gguf") + " -o " + model);
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli("forward -m " + model + " -p \"Hello world, it's a test\" --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"],
            nlohmann::json::parse("[15496, 995, 11, 340, 338, 257, 1332]"));
  r = test::run_cli("generate -m " + model + " -p \"Once upon a time\" -n 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
  r = test::run_cli("perplexity -m " + model + " -f " + short_text() +
                    " --ctx 32 --chunks 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["tokens_scored"], 62);
  r = test::run_cli("analyze -m " + model + " -f " + short_text() +
                    " --ctx 24 --chunks 1 --quiet --out " + test::temp_dir() + "/run");
  EXPECT_EQ(r.code, 0) << r.err;
  // Pruning a BPE model: the exported GGUF keeps its byte-level vocabulary and scores as the
  // sweep's point with the same heads.
  const std::string dir = test::temp_dir();
  const std::string calib = " --calib " + short_text() + " --calib-ctx 24 --calib-chunks 1";
  r = test::run_cli("prune -m " + model + " --criteria bos-sink --ratios 0.25" + calib +
                    " --eval ppl:" + short_text() +
                    " --eval-ctx 32 --eval-chunks 2 --quiet --out " + dir + "/sweep");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto sweep = nlohmann::json::parse(std::ifstream(dir + "/sweep/sweep.json"));
  r = test::run_cli("export -m " + model + " --criterion bos-sink --ratio 0.25" + calib + " -o " +
                    dir + "/pruned.gguf --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(GgufFile(dir + "/pruned.gguf").get_string("tokenizer.ggml.model"), "gpt2");
  r = test::run_cli("perplexity -m " + dir + "/pruned.gguf -f " + short_text() +
                    " --ctx 32 --chunks 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NEAR(
      nlohmann::json::parse(r.out)["nll_mean"].get<double>(),
      sweep["points"][0]["ppl:" + std::filesystem::path(short_text()).stem().string() + ".nll_mean"]
          .get<double>(),
      1e-5)
      << sweep.dump();
}

TEST(Arch, IncrementalDecodingMatchesBatch) {
  for (const auto& arch : kArchs) {
    Model m = load_model(synth(arch));
    const std::vector<int> ids = prompt_ids(20);
    std::vector<float> all = logits_of(m, ids);
    ThreadPool pool(2);
    Runtime rt(m, pool, 64);
    rt.forward(std::span(ids).first(13), 0, Logits::None);
    const size_t V = m.config.vocab_size;
    for (int i = 13; i < 20; ++i) {
      std::vector<float> last = rt.forward(std::span(ids).subspan(i, 1), i, Logits::Last);
      for (size_t v = 0; v < V; ++v) ASSERT_NEAR(last[v], all[i * V + v], 1e-5) << arch << " " << i;
    }
  }
}

TEST(Arch, SlidingWindowRowsAndSinkScores) {
  Model m = load_model(synth("gemma3"));
  const ModelConfig& c = m.config;
  ASSERT_EQ(c.sliding_window, 8);
  const int T = 20;
  ThreadPool pool(2);
  Runtime rt(m, pool, 64);
  RowRecorder rec(c, T);
  SinkStatsObserver stats(m, {});
  rt.add_observer(&rec);
  rt.add_observer(&stats);
  stats.begin_window(T);
  rt.forward(prompt_ids(T), 0, Logits::None);
  HeadTable table = stats.finish_window();
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) {
      std::vector<double> received(T, 0.0);
      for (int t = 0; t < T; ++t) {
        const auto& row = rec.row(l, h, t);
        ASSERT_EQ(row.size(), static_cast<size_t>(t + 1));
        double sum = 0;
        for (int k = 0; k <= t; ++k) {
          const bool visible = l == 5 || t - k < 8;
          if (visible) {
            EXPECT_GT(row[k], 0.0f);
          } else {
            EXPECT_EQ(row[k], 0.0f) << l << ":" << h << " " << t << "," << k;
          }
          sum += row[k];
          received[k] += row[k];
        }
        EXPECT_NEAR(sum, 1.0, 1e-6);
      }
      // sink_score_k averages over the queries whose window holds key k.
      double top = 0;
      for (int k = 1; k < T; ++k)
        top = std::max(top, received[k] / (l == 5 ? T - k : std::min(T, k + 8) - k));
      EXPECT_NEAR(table["top_key_score"][l * c.n_heads + h], top, 1e-9) << l << ":" << h;
    }
}

// (l + 1) % global_every == 0 marks the global layers; 0 makes every layer slide (Mistral), which
// the old rule l % p < p - 1 could not say.
TEST(Arch, SlidingRuleSaysWhichLayersSlide) {
  ModelConfig c;
  c.n_layers = 6;
  c.rope_theta = 1e6f;
  auto sliding = [&](int window, int every) {
    c.sliding_window = window;
    c.global_every = every;
    std::string s;
    for (int l = 0; l < c.n_layers; ++l) s += c.is_sliding(l) ? 'S' : 'G';
    return s;
  };
  EXPECT_EQ(sliding(8, 6), "SSSSSG");  // Gemma 3
  EXPECT_EQ(sliding(8, 2), "SGSGSG");  // Gemma 2, gpt-oss
  EXPECT_EQ(sliding(8, 0), "SSSSSS");  // Mistral
  EXPECT_EQ(sliding(0, 6), "GGGGGG");  // no window
  EXPECT_EQ(layer_plan(c, 5).window, 0);
  sliding(8, 0);
  EXPECT_EQ(layer_plan(c, 5).window, 8);
  EXPECT_EQ(layer_plan(c, 5).rope_theta, 1e6f);  // Gemma 2: one rope base
  c.swa_local_rope = true;
  EXPECT_EQ(layer_plan(c, 5).rope_theta, 10000.0f);  // Gemma 3: the sliding layers' own
}

// The runtime follows the rule: with every layer sliding, gemma3's global layer 5 loses its
// keys older than the window too.
TEST(Arch, EveryLayerSlidesWhenNoneIsGlobal) {
  Model m = load_model(synth("gemma3"));
  m.config.global_every = 0;
  const ModelConfig& c = m.config;
  const int T = 20;
  ThreadPool pool(2);
  Runtime rt(m, pool, 64);
  RowRecorder rec(c, T);
  rt.add_observer(&rec);
  rt.forward(prompt_ids(T), 0, Logits::None);
  for (int l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < T; ++t) {
      const auto& row = rec.row(l, 0, t);
      for (int k = 0; k <= t; ++k)
        if (t - k < 8)
          EXPECT_GT(row[k], 0.0f) << l << " " << t << "," << k;
        else
          EXPECT_EQ(row[k], 0.0f) << l << " " << t << "," << k;
    }
}

// --ablate-sinks: a head whose learned sink is removed computes what a model whose sink logit is
// −∞ computes, bit for bit; removing every sink changes the logits; a model without sinks refuses.
TEST(Arch, AblatedSinksAreMinusInfinitySinks) {
  const std::string src = synth("gpt-oss");
  const Model m = load_model(src);
  Model no_sinks = clone_model(m);
  for (auto& l : no_sinks.layers) {
    float* s = reinterpret_cast<float*>(mutable_data(no_sinks, l.attn_sinks));
    for (int h = 0; h < m.config.n_heads; ++h) s[h] = -INFINITY;
  }
  const std::vector<int> ids = prompt_ids(40);
  ThreadPool pool(2);
  HeadMask mask(m.config);
  for (int l = 0; l < m.config.n_layers; ++l)
    for (int h = 0; h < m.config.n_heads; ++h) mask.remove_sink(l, h);
  Runtime rt(m, pool, 64);
  rt.set_head_mask(&mask);
  const std::vector<float> ablated = rt.forward(ids, 0, Logits::All);
  EXPECT_EQ(ablated, logits_of(no_sinks, ids));
  EXPECT_NE(ablated, logits_of(m, ids));
  // One head through the CLI.
  auto r =
      test::run_cli("forward -m " + src + " -p \"Once upon a time\" --json --ablate-sinks 1:2");
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli("forward -m " + synth("llama") + " -p \"Once\" --ablate-sinks all");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ablate-sinks: llama has no learned sink logits"), std::string::npos)
      << r.err;
}

// analyze on a model with learned sinks: learned_sink_mass is a probability in (0, 1) on every
// head, and each run reports Spearman ρ of it against bos_sink_score over all heads and per layer
// type, as computed here from the same heads; a model without sinks has neither.
TEST(Arch, LearnedSinkMassAndItsRankCorrelationWithBos) {
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string out = test::temp_dir() + "/oss-analyze";
  auto r = test::run_cli("analyze -m " + synth("gpt-oss") + " -f " + text +
                         " --ctx 32 --chunks 2 --quiet --threads 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(out + "/analysis.json"));
  for (const auto& run : j["runs"]) {
    std::vector<double> learned[3], bos[3];
    for (const auto& h : run["heads"]) {
      const double m = h["learned_sink_mass"];
      EXPECT_GT(m, 0.0);
      EXPECT_LT(m, 1.0);
      // BOS over the keys only is at least BOS's share of the whole row.
      EXPECT_GE(h["bos_sink_score_keys"].get<double>(), h["bos_sink_score"].get<double>());
      const int layer = h["layer"];
      for (int g : {0, layer % 2 == 0 ? 1 : 2}) {  // even layers slide
        learned[g].push_back(m);
        bos[g].push_back(h["bos_sink_score"]);
      }
    }
    const auto& rho = run["learned_sink_vs_bos_spearman"];
    EXPECT_DOUBLE_EQ(rho["all"].get<double>(), spearman(learned[0], bos[0]));
    EXPECT_DOUBLE_EQ(rho["sliding"].get<double>(), spearman(learned[1], bos[1]));
    EXPECT_DOUBLE_EQ(rho["full"].get<double>(), spearman(learned[2], bos[2]));
  }
  const std::string plain = test::temp_dir() + "/llama-analyze";
  r = test::run_cli("analyze -m " + synth("llama") + " -f " + text +
                    " --ctx 32 --chunks 1 --quiet --threads 2 --out " + plain);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto k = nlohmann::json::parse(std::ifstream(plain + "/analysis.json"));
  EXPECT_FALSE(k["runs"][0].contains("learned_sink_vs_bos_spearman"));
  for (const auto& h : k["runs"][0]["heads"]) {
    EXPECT_EQ(h["learned_sink_mass"].get<double>(), 0.0);
    EXPECT_EQ(h["bos_sink_score_keys"], h["bos_sink_score"]);
  }
}

// Issue 21, absurd sizes: a KV cache larger than the machine's memory is refused before it is
// allocated, saying what it would need; forward and generate size theirs to the tokens they run,
// not to a context the file claims.
TEST(Arch, AbsurdContextIsRefusedBeforeAllocating) {
  const Model m = load_model(synth("llama"));
  ThreadPool pool(1);
  try {
    Runtime rt(m, pool, 1 << 30);
    ADD_FAILURE() << "allocated a KV cache of 2^30 tokens";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("a KV cache of 1073741824 tokens needs 512.0 GiB (2 layers x 32 key/value "
                        "values x 2 x 4 bytes per token)"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
  // A file claiming 2^24 − 1 positions still runs a short prompt.
  Model big = clone_model(m);
  big.config.max_seq_len = (1 << 24) - 1;
  const std::string path = test::temp_dir() + "/long-context.gguf";
  write_model_gguf(big, tokenizer_metadata(GgufFile(synth("llama"))), path, std::nullopt);
  auto r = test::run_cli("forward -m " + path + " -p \"Once upon a time\" --json");
  EXPECT_EQ(r.code, 0) << r.err;
  r = test::run_cli("generate -m " + path + " -p \"Once\" -n 3");
  EXPECT_EQ(r.code, 0) << r.err;
}

// YaRN's ramp for gpt-oss's own parameters (64 rotated dims, base 150000, original context
// 4096, factor 32): llama.cpp's rounded ends are dims 8 and 18, transformers' unrounded ones
// 8.0928 and 17.398 (ggml_rope_yarn_corr_dims; transformers' _compute_yarn_parameters).
TEST(Arch, YarnDivisorsFollowTheRamp) {
  YarnRopeScaling s;
  s.factor = 32;
  s.original_context = 4096;
  const std::vector<double> d = yarn_rope_divisors(64, 150000, s);
  ASSERT_EQ(d.size(), 32u);
  for (int i = 0; i <= 8; ++i) EXPECT_EQ(d[i], 1.0) << i;
  for (int i = 18; i < 32; ++i) EXPECT_NEAR(d[i], 32.0, 1e-12) << i;
  EXPECT_NEAR(d[13], 1.0 / (0.5 / 32 + 0.5), 1e-12);  // halfway
  s.truncate = false;
  const std::vector<double> u = yarn_rope_divisors(64, 150000, s);
  const double pi = 3.14159265358979323846;
  auto corr = [&](double r) {
    return 64 * std::log(4096 / (r * 2 * pi)) / (2 * std::log(150000.0));
  };
  const double low = corr(32), high = corr(1);
  EXPECT_NEAR(low, 8.0928, 1e-4);
  EXPECT_NEAR(high, 17.398, 1e-3);
  const double ramp = (12 - low) / (high - low);
  EXPECT_NEAR(u[12], 1.0 / (ramp / 32 + (1 - ramp)), 1e-12);
  EXPECT_NEAR(yarn_attention_factor(32), 1 + 0.1 * std::log(32.0), 1e-15);
  EXPECT_EQ(yarn_attention_factor(1), 1.0);
}

TEST(Arch, RegistryNamesEachSpecOnce) {
  std::set<std::string> names(kArchs.begin(), kArchs.end());
  EXPECT_EQ(names.size(), kArchs.size());
  EXPECT_EQ(supported_archs(),
            "llama, qwen2, qwen3, gemma2, gemma3, olmo2, gpt2, gptneox, phi3, gpt-oss");
  for (const std::string& n : kArchs) {
    const ArchSpec* a = find_arch(n);
    ASSERT_NE(a, nullptr) << n;
    EXPECT_FALSE(a->hf_model_types.empty()) << n;
  }
  EXPECT_EQ(find_arch("mistral"), nullptr);
}

TEST(Arch, HeadMaskZeroesOneHeadOnEachArch) {
  for (const auto& arch : kArchs) {
    Model m = load_model(synth(arch));
    const std::vector<int> ids = prompt_ids(12);
    HeadMask mask(m.config);
    mask.set(1, 2, HeadAction::Zero);
    ThreadPool pool(2);
    Runtime rt(m, pool, 64);
    rt.set_head_mask(&mask);
    std::vector<float> masked = rt.forward(ids, 0, Logits::All);
    EXPECT_NE(masked, logits_of(m, ids)) << arch;
    // Zeroing W_O's columns of the head gives the same model (pruned export).
    std::string path = test::temp_dir() + "/pruned.gguf";
    auto r =
        test::run_cli("export -m " + synth(arch) + " --prune-heads 1:2 -o " + path + " --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<float> exported = logits_of(load_model(path), ids);
    for (size_t i = 0; i < masked.size(); ++i) ASSERT_NEAR(exported[i], masked[i], 1e-5) << arch;
  }
}

// Perplexity, analyze, eval and prune through the CLI on every architecture's model made with
// `extra`; with `folder`, on its Hugging Face safetensors form (vocabulary from the GGUF).
void run_perplexity_and_analyze(const std::string& extra, bool folder = false) {
  const std::string text = short_text();
  for (const auto& arch : kArchs) {
    if (folder && !find_arch(arch)->hf_write_type) continue;  // no HF folders yet
    std::string model = synth(arch, extra);
    if (folder) {
      const std::string dir = test::temp_dir() + "/" + arch + "-hf";
      auto c =
          test::run_cli("convert -m " + model + " --format safetensors -o " + dir + " --quiet");
      ASSERT_EQ(c.code, 0) << arch << ": " << c.err;
      model = dir + " --tokenizer " + model;
    }
    auto r = test::run_cli("perplexity -m " + model + " -f " + text +
                           " --ctx 32 --chunks 2 --json --threads 2");
    ASSERT_EQ(r.code, 0) << arch << " " << extra << ": " << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(std::isfinite(j["nll_mean"].get<double>())) << arch;
    // Random weights over 512 tokens: near ln 512 = 6.24, far from a broken model's.
    EXPECT_LT(j["nll_mean"].get<double>(), 12.0) << arch;
    const std::string out = test::temp_dir() + "/run";
    r = test::run_cli("analyze -m " + model + " -f " + text +
                      " --ctx 24 --chunks 1 --quiet --threads 2 --out " + out);
    ASSERT_EQ(r.code, 0) << arch << " " << extra << ": " << r.err;
    EXPECT_TRUE(std::filesystem::exists(out + "/heads.csv"));
    if (!folder) {
      // The CLI's numbers are the library's: perplexity and the whole analysis in process, on the
      // same ids, give the same values to the last bit.
      const Model m = load_model(model);
      const auto tok = load_text_tokenizer(model, "");
      const std::string body = read_text(text).text;
      ThreadPool pool(2);
      Runtime rt(m, pool, 32);
      const PerplexityResult p = perplexity(rt, tok->encode(body, tok->add_bos()), 32,
                                            tok->add_bos() ? tok->bos_id() : -1, 2);
      EXPECT_EQ(p.nll_mean, j["nll_mean"].get<double>()) << arch << " " << extra;
      AnalyzeOptions opt;
      opt.contexts = {24};
      opt.chunks = 1;
      opt.modes = {{"on", tok->bos_id()}};
      const nlohmann::json in_process = to_json(analyze(m, pool, tok->encode(body, false), opt));
      const auto cli = nlohmann::json::parse(std::ifstream(out + "/analysis.json"));
      EXPECT_EQ(in_process["runs"], cli["runs"]) << arch << " " << extra;
      EXPECT_EQ(in_process["stat_names"], cli["stat_names"]);
    }
    r = test::run_cli("eval -m " + model + " --task " + test::shared("data/mc/piqa.jsonl") +
                      " --limit 3 --json --threads 2");
    ASSERT_EQ(r.code, 0) << arch << " " << extra << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["tasks"][0]["n"], 3) << r.out;
    const std::string sweep = test::temp_dir() + "/sweep";
    r = test::run_cli("prune -m " + model +
                      " --criteria bos-sink,weight-magnitude --ratios 0,0.25" + " --calib " + text +
                      " --calib-ctx 24 --calib-chunks 1 --eval ppl:" + text +
                      " --eval-ctx 24 --eval-chunks 2 --quiet --threads 2 --out " + sweep);
    ASSERT_EQ(r.code, 0) << arch << " " << extra << ": " << r.err;
    const auto points = nlohmann::json::parse(std::ifstream(sweep + "/sweep.json"));
    EXPECT_EQ(points["points"].size(), 4u) << arch;
  }
}

TEST(Arch, AnalyzeAndPerplexityRunOnEach) {
  run_perplexity_and_analyze("");
}

TEST(Arch, AnalyzeAndPerplexityRunOnEachSafetensorsFolder) {
  run_perplexity_and_analyze("", true);
}

TEST(Arch, AnalyzeAndPerplexityRunOnEachQ4K) {
  run_perplexity_and_analyze("--shape small --dtype q4_k");
  GgufFile g(synth("gemma3", "--shape small --dtype q4_k"));
  EXPECT_EQ(g.find_tensor("blk.0.attn_q.weight")->type, DType::Q4_K);
  EXPECT_EQ(g.find_tensor("blk.0.attn_q_norm.weight")->type, DType::F32);
}
