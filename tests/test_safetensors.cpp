// safetensors files and Hugging Face model folders: every architecture synthesized as GGUF,
// written as a folder (config.json + safetensors, single file or shards + index, F32/F16/BF16)
// and loaded back must give the GGUF model's logits; malformed headers, folders and configs give
// one-line errors naming the file; the CLI runs on a folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "model/arch.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "ops/dequant.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"
#include "tokenizer/pretokenizer.h"

using namespace ss;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Every architecture with Hugging Face folders.
const std::vector<std::string> kHfArchs = [] {
  std::vector<std::string> names;
  for (const ArchSpec* a : arch_specs())
    if (a->hf_write_type) names.emplace_back(a->name);
  return names;
}();

// A synthesized model per architecture, seed 11.
std::string synth_seed11(const std::string& arch, const std::string& extra = "") {
  return test::synth_model(arch, extra, 11);
}

using test::prompt_ids;

std::vector<float> prompt_logits(const Model& m) {
  return test::logits_of(m, prompt_ids(20));
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

using test::input_error;
using test::slurp;
using test::spit;

// An error names the file first and stays on one line.
void expect_error(const std::function<void()>& f, const std::string& file,
                  const std::string& part) {
  const std::string e = input_error(f);
  EXPECT_EQ(e.rfind(file + ": ", 0), 0u) << "error: " << e << "\nexpected file: " << file;
  EXPECT_NE(e.find(part), std::string::npos) << "error: " << e << "\nexpected: " << part;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

}  // namespace

// ---- the format ----

TEST(Safetensors, WriterReaderRoundTrip) {
  const std::string path = test::temp_dir() + "/a.safetensors";
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> b = {0x3c00, 0xc000};
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add_tensor("a", DType::F32, {2, 3}, a.data());
  w.add_tensor("b.bias", DType::BF16, {2}, b.data());
  w.add_tensor("empty", DType::F16, {0, 4}, nullptr);
  w.write(path);
  const std::string bytes = slurp(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);  // data starts aligned
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const SafetensorsTensor* t = f.find("a");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, DType::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(t->data, a.data(), 24), 0);
  EXPECT_EQ(f.find("b.bias")->type, DType::BF16);
  EXPECT_EQ(std::memcmp(f.find("b.bias")->data, b.data(), 4), 0);
  EXPECT_EQ(f.find("empty")->nbytes(), 0u);
  EXPECT_EQ(f.find("nope"), nullptr);
}

// A header in front of `data`, as the format lays it out.
std::string image(const std::string& header, const std::string& data, int64_t n = -1) {
  const uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + data;
}

TEST(Safetensors, MalformedHeadersGiveOneLineErrors) {
  const std::string dir = test::temp_dir();
  const std::string data(16, '\x01');
  auto parse = [&](const std::string& bytes) {
    const std::string path = dir + "/bad.safetensors";
    spit(path, bytes);
    return [path] { SafetensorsFile f(path); };
  };
  const std::string file = dir + "/bad.safetensors";
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  EXPECT_EQ(input_error(parse(image(ok, data))), "");

  struct Case {
    std::string bytes, part;
  };
  const std::vector<Case> cases = {
      {"1234", "truncated"},
      {image(ok, data).substr(0, 8 + ok.size() - 5), "truncated: header length"},
      {image(ok, data).substr(0, 8 + ok.size() + 10), "past the data section"},  // truncated data
      {image(ok, data, int64_t{1} << 40), "exceeds the limit"},
      {image(ok, data, static_cast<int64_t>(ok.size() + 17)), "truncated: header length"},
      {image(R"({"x":{"dtype":"F32",)", data), "not valid JSON"},
      {image("[1,2]", data), "does not start with '{'"},
      {image(R"({"x":1})", data), "not an object"},
      {image(std::string(10, '{'), data), "not valid JSON"},
      {image(std::string(1, '{') + std::string(5000, '['), data), "nests deeper"},
      {image(R"({"x":{"dtype":"Q9","shape":[4],"data_offsets":[0,16]}})", data),
       "unknown dtype 'Q9'"},
      {image(R"({"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", data),
       "dtype F64, which sinkscope does not read"},
      {image(R"({"x":{"dtype":"I8","shape":[16],"data_offsets":[0,16]}})", data), "dtype I8"},
      {image(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,17]}})", data),
       "past the data section"},
      {image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "reversed"},
      {image(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data), "need 12"},
      {image(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})",
             data),
       "too many elements"},
      {image(R"({"x":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data),
       "non-negative integer"},
      {image(R"({"x":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", data),
       "non-negative integer"},
      {image(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", data), "data_offsets"},
      {image(R"({"x":{"shape":[4],"data_offsets":[0,16]}})", data), "dtype"},
      {image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             data),
       "overlap"},
      {image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
             data),
       "duplicate tensor name 'x'"},
      {image(R"({"__metadata__":{"a":1}})", data), "__metadata__"},
      {image("{\"x\x01\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", data),
       "not valid JSON"},
  };
  for (const Case& c : cases) expect_error(parse(c.bytes), file, c.part);

  // In-memory images name what the caller passes.
  const std::string bytes =
      image(R"({"x":{"dtype":"BOOL","shape":[16],"data_offsets":[0,16]}})", data);
  expect_error(
      [&] {
        SafetensorsFile f(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                          "mem.safetensors");
      },
      "mem.safetensors", "dtype BOOL");
}

// ---- Hugging Face folders ----

// The folder of an architecture with its own HF layout holds its tensors as transformers has
// them: GPT-2's Conv1D weights [in, out], GPT-NeoX's qkv per head, Phi-3's gate and up fused.
void check_layout_folder(const std::string& arch, const Model& g, const SafetensorsFile& st,
                         const json& config) {
  const ModelConfig& c = g.config;
  auto value = [](const uint8_t* p, size_t i) {
    float v;
    std::memcpy(&v, p + i * 4, 4);
    return v;
  };
  const size_t D = static_cast<size_t>(c.dim);
  if (arch == "gpt2") {
    EXPECT_EQ(config["n_embd"], c.dim);
    EXPECT_EQ(config["activation_function"], "gelu_new");
    const SafetensorsTensor* qkv = st.find("transformer.h.0.attn.c_attn.weight");
    ASSERT_TRUE(qkv);
    EXPECT_EQ(qkv->shape, (std::vector<int64_t>{c.dim, 3 * c.dim}));
    // HF [in][out]: element (in 0, out D + 1) is the k row 1's first value.
    EXPECT_EQ(value(qkv->data, D + 1), value(g.layers[0].wk.data, D));
    EXPECT_NE(st.find("transformer.wpe.weight"), nullptr);
    EXPECT_NE(st.find("transformer.ln_f.bias"), nullptr);
    EXPECT_EQ(st.find("lm_head.weight"), nullptr);
  } else if (arch == "gptneox") {
    EXPECT_EQ(config["rotary_pct"], 0.25);
    EXPECT_EQ(config["use_parallel_residual"], true);
    const SafetensorsTensor* qkv = st.find("gpt_neox.layers.0.attention.query_key_value.weight");
    ASSERT_TRUE(qkv);
    // Per head [q, k, v]: HF row head_dim is head 0's first k row, row 3·head_dim head 1's q.
    const size_t hd = static_cast<size_t>(c.head_dim);
    EXPECT_EQ(value(qkv->data, hd * D), value(g.layers[0].wk.data, 0));
    EXPECT_EQ(value(qkv->data, 3 * hd * D), value(g.layers[0].wq.data, hd * D));
    const SafetensorsTensor* bias = st.find("gpt_neox.layers.0.attention.query_key_value.bias");
    ASSERT_TRUE(bias);
    EXPECT_EQ(value(bias->data, 2 * hd), value(g.layers[0].bv.data, 0));
    EXPECT_NE(st.find("embed_out.weight"), nullptr);
  } else if (arch == "phi3") {
    const SafetensorsTensor* gate_up = st.find("model.layers.0.mlp.gate_up_proj.weight");
    ASSERT_TRUE(gate_up);
    EXPECT_EQ(gate_up->shape, (std::vector<int64_t>{2 * c.hidden_dim, c.dim}));
    EXPECT_EQ(value(gate_up->data, static_cast<size_t>(c.hidden_dim) * D),
              value(g.layers[0].w_up.data, 0));
    EXPECT_EQ(config["rope_scaling"]["type"], "longrope");
    EXPECT_NE(st.find("model.layers.0.self_attn.qkv_proj.weight"), nullptr);
  } else {
    ADD_FAILURE() << "no folder check for " << arch;
  }
}

TEST(HfModel, EveryArchitectureMatchesItsGguf) {
  for (const std::string& arch : kHfArchs) {
    SCOPED_TRACE(arch);
    const Model g = load_model(synth_seed11(arch));
    const std::string dir = test::temp_dir() + "/" + arch;
    write_hf_model(g, dir);
    EXPECT_TRUE(fs::exists(dir + "/config.json"));
    EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
    const Model h = load_model(dir);
    EXPECT_EQ(h.config.arch, arch);
    EXPECT_EQ(h.config.dim, g.config.dim);
    EXPECT_EQ(h.config.head_dim, g.config.head_dim);
    EXPECT_EQ(h.config.n_kv_heads, g.config.n_kv_heads);
    EXPECT_EQ(h.config.rope_style, g.config.rope_style);
    EXPECT_EQ(h.config.sliding_window, g.config.sliding_window);
    EXPECT_EQ(h.config.global_every, g.config.global_every);
    EXPECT_EQ(h.config.query_scale, g.config.query_scale);
    EXPECT_EQ(h.config.rope_scale, g.config.rope_scale);
    EXPECT_EQ(h.config.norm_eps, g.config.norm_eps);
    EXPECT_EQ(h.config.rope_theta, g.config.rope_theta);
    EXPECT_EQ(h.tied_output, g.tied_output);
    EXPECT_EQ(prompt_logits(h), prompt_logits(g));
    // Matrices that need no reordering are read from the mapping.
    EXPECT_EQ(h.layers[0].wv.type, DType::F32);

    // What the folder holds is what transformers expects: HF names, rotate-half q/k rows,
    // Gemma norms without the 1.
    const json config = json::parse(slurp(dir + "/config.json"));
    SafetensorsFile st(dir + "/model.safetensors");
    const ArchSpec& spec = *find_arch(arch);
    if (spec.hf_layout) {
      check_layout_folder(arch, g, st, config);
    } else {
      const SafetensorsTensor* q = st.find("model.layers.0.self_attn.q_proj.weight");
      ASSERT_TRUE(q);
      EXPECT_EQ(q->shape, (std::vector<int64_t>{g.config.q_dim(), g.config.dim}));
      const size_t row = static_cast<size_t>(g.config.dim) * 4;
      const int hd = g.config.head_dim;
      // HF row hd/2 (the partner of row 0 under rotate-half) is GGUF row 1 for llama only.
      const int gguf_row = arch == "llama" ? 1 : hd / 2;
      EXPECT_EQ(std::memcmp(q->data + static_cast<size_t>(hd / 2) * row,
                            g.layers[0].wq.data + static_cast<size_t>(gguf_row) * row, row),
                0);
      // The first norm of the block: before attention, or after it (OLMo 2).
      const SafetensorsTensor* norm =
          st.find(spec.pre_norms ? "model.layers.0.input_layernorm.weight"
                                 : "model.layers.0.post_attention_layernorm.weight");
      ASSERT_TRUE(norm);
      float hf0, gguf0;
      std::memcpy(&hf0, norm->data, 4);
      std::memcpy(&gguf0,
                  (spec.pre_norms ? g.layers[0].attn_norm : g.layers[0].post_attn_norm).data, 4);
      EXPECT_EQ(st.find("model.layers.0.input_layernorm.weight") != nullptr, spec.pre_norms);
      EXPECT_EQ(hf0, spec.hf_norm_plus_one ? gguf0 - 1.0f : gguf0);
      if (arch == "gemma3") {
        EXPECT_EQ(config["model_type"], "gemma3_text");
        EXPECT_NE(st.find("model.layers.0.pre_feedforward_layernorm.weight"), nullptr);
        EXPECT_NE(st.find("model.layers.0.post_feedforward_layernorm.weight"), nullptr);
        EXPECT_EQ(config["query_pre_attn_scalar"], hd);
        EXPECT_EQ(config["sliding_window"], 8);
        EXPECT_EQ(config["rope_scaling"]["rope_type"], "linear");
      }
      if (arch == "gemma2") {
        EXPECT_EQ(config["model_type"], "gemma2");
        EXPECT_EQ(config["attn_logit_softcapping"], 50.0);
        EXPECT_EQ(config["final_logit_softcapping"], 30.0);
        EXPECT_EQ(config["layer_types"], json({"sliding_attention", "full_attention"}));
        EXPECT_EQ(h.config.attn_logit_softcap, 50.0f);
      }
      EXPECT_EQ(st.find("model.layers.1.self_attn.k_proj.bias") != nullptr,
                arch == "qwen2" || arch == "gpt-oss");
      EXPECT_EQ(st.find("model.layers.1.self_attn.k_norm.weight") != nullptr, spec.qk_norm);
      EXPECT_EQ(st.find("lm_head.weight") != nullptr, !spec.synth_tied);
    }

    // And back to GGUF with identical logits.
    const std::string back = dir + "/back.gguf";
    write_model_gguf(h, tokenizer_metadata(GgufFile(g.path)), back);
    EXPECT_EQ(prompt_logits(load_model(back)), prompt_logits(g));
  }
}

TEST(HfModel, LlamaRopeScalingAndSoftcap) {
  // Llama-3 rope: the divisors become rope_scaling "llama3" and are recomputed on load.
  const Model a = load_model(synth_seed11("llama", "--llama3-rope 8,1,4,64"));
  ASSERT_TRUE(a.rope_freqs.data);
  const std::string dir = test::temp_dir() + "/l3";
  write_hf_model(a, dir);
  const json config = json::parse(slurp(dir + "/config.json"));
  EXPECT_EQ(config["rope_scaling"]["rope_type"], "llama3");
  EXPECT_EQ(config["rope_scaling"]["factor"], 8.0);
  const Model b = load_model(dir);
  ASSERT_TRUE(b.rope_freqs.data);
  EXPECT_EQ(std::memcmp(a.rope_freqs.data, b.rope_freqs.data, a.rope_freqs.row_bytes()), 0);
  EXPECT_EQ(prompt_logits(a), prompt_logits(b));
  // Final logit soft-capping and a gemma3 without sliding layers.
  const Model c = load_model(synth_seed11("gemma3", "--softcap 3 --sliding-window 0"));
  const std::string dir2 = test::temp_dir() + "/g";
  write_hf_model(c, dir2);
  const Model d = load_model(dir2);
  EXPECT_EQ(d.config.final_logit_softcap, 3.0f);
  EXPECT_EQ(d.config.sliding_window, 0);
  EXPECT_EQ(prompt_logits(c), prompt_logits(d));
}

TEST(HfModel, ShardedFolderWithIndex) {
  for (const std::string& arch : {std::string("llama"), std::string("gemma3")}) {
    const Model g = load_model(synth_seed11(arch));
    const std::string dir = test::temp_dir() + "/sharded";
    HfWriteOptions o;
    o.shards = 2;
    write_hf_model(g, dir, o);
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
    EXPECT_TRUE(fs::exists(dir + "/model-00001-of-00002.safetensors"));
    EXPECT_TRUE(fs::exists(dir + "/model-00002-of-00002.safetensors"));
    const json index = json::parse(slurp(dir + "/model.safetensors.index.json"));
    std::set<std::string> files;
    for (const auto& [name, file] : index["weight_map"].items()) files.insert(file);
    EXPECT_EQ(files.size(), 2u);
    EXPECT_EQ(prompt_logits(load_model(dir)), prompt_logits(g));
    // Rewritten as one file, the folder keeps no stale index (and the other way round).
    write_hf_model(g, dir);
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
    EXPECT_EQ(prompt_logits(load_model(dir)), prompt_logits(g));
    o.shards = 3;
    write_hf_model(g, dir, o);
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
    EXPECT_TRUE(fs::exists(dir + "/model-00003-of-00003.safetensors"));
    EXPECT_EQ(prompt_logits(load_model(dir)), prompt_logits(g));
  }
}

TEST(HfModel, HalfPrecisionTensors) {
  for (const std::string dtype : {"bf16", "f16"}) {
    SCOPED_TRACE(dtype);
    // Half-precision matrices stay as they are: the same computation as the GGUF.
    const Model g = load_model(synth_seed11("qwen3", "--dtype " + dtype));
    const DType type = dtype == "bf16" ? DType::BF16 : DType::F16;
    ASSERT_EQ(g.layers[0].wq.type, type);
    const std::string dir = test::temp_dir() + "/" + dtype;
    write_hf_model(g, dir);
    const Model h = load_model(dir);
    EXPECT_EQ(h.layers[0].wq.type, type);
    EXPECT_EQ(json::parse(slurp(dir + "/config.json"))["torch_dtype"],
              dtype == "bf16" ? "bfloat16" : "float16");
    EXPECT_EQ(prompt_logits(h), prompt_logits(g));
  }
  // Checkpoints as published: every tensor BF16, norms and biases too (and Gemma's norms as w).
  for (const std::string arch : {"gemma3", "qwen2", "llama"}) {
    SCOPED_TRACE(arch);
    const Model g = load_model(synth_seed11(arch));
    const std::string dir = test::temp_dir() + "/all-bf16";
    HfWriteOptions o;
    o.weight_type = DType::BF16;
    o.norm_type = DType::BF16;
    write_hf_model(g, dir, o);
    const Model h = load_model(dir);
    EXPECT_EQ(h.layers[0].wq.type, DType::BF16);
    ASSERT_EQ(h.layers[0].attn_norm.type, DType::F32);  // norms are widened
    SafetensorsFile st(dir + "/model.safetensors");
    const SafetensorsTensor* n = st.find("model.layers.0.input_layernorm.weight");
    ASSERT_EQ(n->type, DType::BF16);
    float w;
    dequantize_row(DType::BF16, n->data, &w, 1);
    EXPECT_EQ(h.layers[0].attn_norm.f32()[0], w + (arch == "gemma3" ? 1.0f : 0.0f));
    if (arch == "qwen2") {
      ASSERT_TRUE(h.layers[0].bq.data);
      EXPECT_EQ(h.layers[0].bq.type, DType::F32);
    }
    // BF16 rounding moves the logits a little, not more.
    const float diff = max_abs_diff(prompt_logits(h), prompt_logits(g));
    EXPECT_GT(diff, 0.0f);
    EXPECT_LT(diff, 0.2f);
  }
}

TEST(HfModel, QuantizedModelsAreWrittenAsFloat) {
  const Model g = load_model(synth_seed11("llama", "--shape small --dtype q8_0"));
  const std::string dir = test::temp_dir() + "/q8";
  write_hf_model(g, dir);
  const Model h = load_model(dir);
  EXPECT_EQ(h.layers[0].wq.type, DType::F32);
  EXPECT_LT(max_abs_diff(prompt_logits(h), prompt_logits(g)), 1e-4f);
}

// Multimodal Gemma 3 configs nest the text model's config and prefix its tensors; configs
// leave out what equals transformers' defaults.
TEST(HfModel, Gemma3MultimodalLayoutAndDefaults) {
  const Model g = load_model(synth_seed11("gemma3"));
  const std::string dir = test::temp_dir() + "/mm";
  write_hf_model(g, dir);
  json text = json::parse(slurp(dir + "/config.json"));
  text.erase("layer_types");
  text.erase("sliding_window_pattern");
  text.erase("rope_local_base_freq");  // default 10000, as synth uses
  text.erase("hidden_activation");
  text.erase("final_logit_softcapping");
  text.erase("attn_logit_softcapping");
  json root = {{"model_type", "gemma3"},
               {"architectures", {"Gemma3ForConditionalGeneration"}},
               {"text_config", text},
               {"vision_config", {{"hidden_size", 1152}}}};
  spit(dir + "/config.json", root.dump());
  // Rename every tensor to the language_model prefix of transformers >= 4.52.
  SafetensorsFile st(dir + "/model.safetensors");
  SafetensorsWriter w;
  for (const SafetensorsTensor& t : st.tensors()) {
    std::string name = t.name;
    name.replace(0, 6, "model.language_model.");
    w.add_tensor(name, t.type, t.shape, t.data);
  }
  std::vector<float> vision(4, 1.0f);
  w.add_tensor("vision_tower.patch_embedding.weight", DType::F32, {4}, vision.data());
  w.write(dir + "/model2.safetensors");
  fs::rename(dir + "/model2.safetensors", dir + "/model.safetensors");
  const Model h = load_model(dir);
  EXPECT_EQ(h.config.sliding_window, 8);
  EXPECT_EQ(prompt_logits(h), prompt_logits(g));
}

// Gemma2Config's defaults where a config.json leaves keys out: caps 50 and 30, a 4096 window on
// alternating layers, query_pre_attn_scalar 256; an explicit null cap means none.
TEST(HfModel, Gemma2DefaultsAndNullCaps) {
  const Model g = load_model(synth_seed11("gemma2"));
  const std::string dir = test::temp_dir() + "/gemma2-defaults";
  write_hf_model(g, dir);
  json config = json::parse(slurp(dir + "/config.json"));
  for (const char* key : {"layer_types", "sliding_window", "attn_logit_softcapping",
                          "final_logit_softcapping", "query_pre_attn_scalar", "hidden_activation"})
    config.erase(key);
  spit(dir + "/config.json", config.dump());
  Model h = load_model(dir);
  EXPECT_EQ(h.config.attn_logit_softcap, 50.0f);
  EXPECT_EQ(h.config.final_logit_softcap, 30.0f);
  EXPECT_EQ(h.config.sliding_window, 4096);
  EXPECT_TRUE(h.config.is_sliding(0));
  EXPECT_FALSE(h.config.is_sliding(1));
  EXPECT_EQ(h.config.query_scale, 1.0f / 16.0f);
  config["attn_logit_softcapping"] = nullptr;
  config["final_logit_softcapping"] = nullptr;
  config["layer_types"] = {"full_attention", "sliding_attention"};
  spit(dir + "/config.json", config.dump());
  try {
    load_model(dir);
    FAIL() << "loaded layer_types against the alternating pattern";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("alternating"), std::string::npos) << e.what();
  }
  config.erase("layer_types");
  spit(dir + "/config.json", config.dump());
  h = load_model(dir);
  EXPECT_EQ(h.config.attn_logit_softcap, 0.0f);
  EXPECT_EQ(h.config.final_logit_softcap, 0.0f);
}

// A query_pre_attn_scalar other than llama.cpp's rule survives the GGUF in sinkscope.query_scale.
TEST(HfModel, Gemma2QueryScaleOutsideTheGgufRuleIsKept) {
  const Model g = load_model(synth_seed11("gemma2"));
  const std::string dir = test::temp_dir() + "/gemma2-scalar";
  write_hf_model(g, dir);
  json config = json::parse(slurp(dir + "/config.json"));
  config["query_pre_attn_scalar"] = 224;
  spit(dir + "/config.json", config.dump());
  const Model h = load_model(dir);
  EXPECT_EQ(h.config.query_scale, static_cast<float>(1.0 / std::sqrt(224.0)));
  const std::string back = dir + "/back.gguf";
  write_model_gguf(h, tokenizer_metadata(GgufFile(g.path)), back);
  GgufFile file(back);
  EXPECT_EQ(file.get_float("sinkscope.query_scale", 0), h.config.query_scale);
  const Model b = load_model(back);
  EXPECT_EQ(b.config.query_scale, h.config.query_scale);
  EXPECT_EQ(prompt_logits(b), prompt_logits(h));
  EXPECT_NE(prompt_logits(b), prompt_logits(g));
}

TEST(HfModel, MalformedFoldersGiveOneLineErrorsNamingTheFile) {
  const Model g = load_model(synth_seed11("qwen2"));
  const std::string dir = test::temp_dir() + "/bad";
  write_hf_model(g, dir);
  const std::string config = slurp(dir + "/config.json");
  const std::string weights = slurp(dir + "/model.safetensors");
  auto restore = [&] {
    spit(dir + "/config.json", config);
    spit(dir + "/model.safetensors", weights);
    fs::remove(dir + "/model.safetensors.index.json");
  };
  auto load = [&] { load_model(dir); };
  auto edit_config = [&](const std::function<void(json&)>& f) {
    json j = json::parse(config);
    f(j);
    spit(dir + "/config.json", j.dump());
  };
  const std::string st = dir + "/model.safetensors", cfg = dir + "/config.json";

  restore();
  EXPECT_NO_THROW(load());
  // Truncated weights.
  spit(st, weights.substr(0, weights.size() - 100));
  expect_error(load, st, "past the data section");
  restore();
  // Header length beyond the file.
  std::string w = weights;
  const uint64_t big = weights.size();
  std::memcpy(w.data(), &big, 8);
  spit(st, w);
  expect_error(load, st, "truncated: header length");
  restore();
  // Bad JSON in the header.
  w = weights;
  w[8] = '[';
  spit(st, w);
  expect_error(load, st, "does not start with '{'");
  w[8] = '{';
  w[9] = '{';
  spit(st, w);
  expect_error(load, st, "not valid JSON");
  restore();
  // Header edits: unknown dtype; offsets out of range, reversed, overlapping.
  auto edit_header = [&](const std::function<void(json&)>& f) {
    uint64_t n;
    std::memcpy(&n, weights.data(), 8);
    json h = json::parse(weights.substr(8, n));
    f(h);
    spit(st, image(h.dump(), weights.substr(8 + n)));
  };
  const std::string q = "model.layers.0.self_attn.q_proj.weight";
  edit_header([&](json& h) { h[q]["dtype"] = "Q32"; });
  expect_error(load, st, "tensor '" + q + "' has unknown dtype 'Q32'");
  edit_header([&](json& h) { h[q]["dtype"] = "F8_E4M3"; });
  expect_error(load, st, "dtype F8_E4M3, which sinkscope does not read (F32, F16, BF16, U8)");
  edit_header([&](json& h) {
    h[q]["data_offsets"][0] = uint64_t{1} << 40;
    h[q]["data_offsets"][1] = (uint64_t{1} << 40) + 16384;
  });
  expect_error(load, st, "past the data section");
  edit_header([&](json& h) { std::swap(h[q]["data_offsets"][0], h[q]["data_offsets"][1]); });
  expect_error(load, st, "reversed");
  edit_header([&](json& h) {
    const std::string k = "model.layers.0.self_attn.k_proj.weight";
    h[k]["data_offsets"] = h[q]["data_offsets"];
    h[k]["shape"] = h[q]["shape"];
  });
  expect_error(load, st, "overlap");
  edit_header([&](json& h) { h[q]["shape"] = {128, 32}; });
  expect_error(load, st, "tensor '" + q + "' has shape [128, 32], config.json implies [64, 64]");
  restore();
  // Shape vs config.
  edit_config([](json& j) { j["intermediate_size"] = 256; });
  expect_error(load, st, "config.json implies");
  edit_config([](json& j) { j["vocab_size"] = 100; });
  expect_error(load, st, "model.embed_tokens.weight' has shape [512, 64], config.json implies");
  restore();
  // Missing tensor: rewrite the file without one.
  {
    SafetensorsFile f(st);
    SafetensorsWriter out;
    for (const SafetensorsTensor& t : f.tensors())
      if (t.name != "model.layers.1.mlp.up_proj.weight")
        out.add_tensor(t.name, t.type, t.shape, t.data);
    out.write(dir + "/tmp.safetensors");
  }
  fs::rename(dir + "/tmp.safetensors", st);
  expect_error(load, st, "missing tensor 'model.layers.1.mlp.up_proj.weight'");
  restore();
  // config.json problems.
  edit_config([](json& j) { j["model_type"] = "mamba"; });
  expect_error(load, cfg, "unsupported model_type 'mamba'");
  edit_config([](json& j) { j["num_attention_heads"] = -4; });
  expect_error(load, cfg, "num_attention_heads must be an integer in 1..16777215");
  edit_config([](json& j) { j.erase("hidden_size"); });
  expect_error(load, cfg, "missing hidden_size");
  edit_config([](json& j) { j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4}}; });
  expect_error(load, cfg, "unsupported rope_scaling type 'yarn'");
  spit(cfg, "{\"model_type\": ");
  expect_error(load, cfg, "not valid JSON");
  fs::remove(cfg);
  expect_error(load, dir, "no config.json");
  restore();
  // Index problems.
  fs::remove(st);
  expect_error(load, dir, "no model.safetensors");
  spit(dir + "/model.safetensors.index.json", R"({"weight_map": {"a": "../x.safetensors"}})");
  expect_error(load, dir + "/model.safetensors.index.json", "not a file in the model folder");
  spit(dir + "/model.safetensors.index.json", R"({"weight_map": {"a": "gone.safetensors"}})");
  expect_error(load, dir + "/gone.safetensors", "cannot open");
  spit(dir + "/model.safetensors.index.json", R"({"weights": {}})");
  expect_error(load, dir + "/model.safetensors.index.json", "no weight_map");
  restore();
  // An index naming a tensor its shard lacks; a tensor the index does not list.
  HfWriteOptions o;
  o.shards = 2;
  const std::string sdir = test::temp_dir() + "/bad-shards";
  write_hf_model(g, sdir, o);
  const std::string index_path = sdir + "/model.safetensors.index.json";
  json index = json::parse(slurp(index_path));
  index["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
  spit(index_path, index.dump());
  expect_error([&] { load_model(sdir); }, sdir + "/model-00001-of-00002.safetensors",
               "missing tensor 'model.norm.weight' (listed in the index)");
  index["weight_map"].erase("model.norm.weight");
  spit(index_path, index.dump());
  expect_error([&] { load_model(sdir); }, index_path, "missing tensor 'model.norm.weight'");
}

// ---- the CLI on a folder ----

// A byte-level BPE tokenizer.json: the 256 byte characters and a few merges (ids below 512,
// the synthesized models' vocabulary).
json byte_level_tokenizer() {
  const std::string G = "\xc4\xa0";
  return test::byte_level_tokenizer_json(
      {{G, "t"}, {"h", "e"}, {G + "t", "he"}, {"e", "d"}, {G, "a"}, {"i", "n"}});
}

TEST(HfModel, CliRunsOnAFolder) {
  const std::string tmp = test::temp_dir();
  const std::string tok = tmp + "/tokenizer.json";
  spit(tok, byte_level_tokenizer().dump());
  std::string text_path = tmp + "/text.txt";
  {
    std::ifstream in(test::shared("data/text/tinystories-valid-sample.txt"));
    std::string text(1500, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) text.pop_back();
    spit(text_path, text);
  }
  for (const std::string& arch : kHfArchs) {
    SCOPED_TRACE(arch);
    const std::string dir = tmp + "/" + arch;
    auto r =
        test::run_cli("convert -m " + synth_seed11(arch) + " --format safetensors --shards 2 -o " +
                      dir + " --tokenizer " + tok + " --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir + "/tokenizer.json"));
    r = test::run_cli("info -m " + dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture  " + arch + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dim           64\n"), std::string::npos) << r.out;
    r = test::run_cli("perplexity -m " + dir + " -f " + text_path + " --ctx 32 --chunks 2 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const json ppl = json::parse(r.out);
    // The GGUF with the same tokenizer gives the same perplexity.
    auto g = test::run_cli("perplexity -m " + synth_seed11(arch) + " --tokenizer " + tok + " -f " +
                           text_path + " --ctx 32 --chunks 2 --json");
    ASSERT_EQ(g.code, 0) << g.err;
    EXPECT_EQ(ppl["ppl"], json::parse(g.out)["ppl"]);
    EXPECT_GT(ppl["tokens_scored"].get<int>(), 0);
    r = test::run_cli("analyze -m " + dir + " -f " + text_path +
                      " --ctx 24 --chunks 1 --bos off --quiet --out " + tmp + "/run-" + arch);
    EXPECT_EQ(r.code, 0) << r.err;
    // run.json hashes the folder's files (not an empty read of the directory).
    const json run = json::parse(slurp(tmp + "/run-" + arch + "/run.json"));
    EXPECT_EQ(run["model"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_NE(run["model"]["sha256"],
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
  // Back from a folder to a folder (its tokenizer.json comes along) and to GGUF.
  auto r = test::run_cli("convert -m " + tmp + "/llama --format safetensors --dtype bf16 -o " +
                         tmp + "/llama-bf16 --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp + "/llama-bf16/tokenizer.json"));
  r = test::run_cli("convert -m " + tmp + "/llama --tokenizer " + test::tok_bin() + " -o " + tmp +
                    "/llama.gguf --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(prompt_logits(load_model(tmp + "/llama.gguf")),
            prompt_logits(load_model(synth_seed11("llama"))));
  // A folder without tokenizer.json needs --tokenizer; a broken one is a one-line error, exit 2.
  fs::remove(tmp + "/qwen3/tokenizer.json");
  r = test::run_cli("perplexity -m " + tmp + "/qwen3 -f " + text_path + " --ctx 32");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no tokenizer.json"), std::string::npos) << r.err;
  spit(tmp + "/qwen3/model-00002-of-00002.safetensors", "garbage!");
  r = test::run_cli("info -m " + tmp + "/qwen3");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("sinkscope: " + tmp + "/qwen3/model-00002-of-00002.safetensors: ", 0), 0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// gpt-oss folders as transformers has them: experts as gate_up_proj [E, in, 2F] with gate at
// even and up at odd outputs (and the same in gate_up_proj_bias), down_proj [E, F, in]; MXFP4
// experts as U8 blocks [E, out, in/32, 16] (input 2j in byte j's low nibble) and scales; YaRN,
// experts and layer types in config.json.
TEST(HfModel, GptOssExpertsInterleavedAndMxfp4) {
  const Model g = load_model(synth_seed11("gpt-oss"));
  const ModelConfig& c = g.config;
  const int64_t E = c.n_experts, D = c.dim, F = c.hidden_dim;
  const std::string dir = test::temp_dir() + "/gpt-oss-layout";
  write_hf_model(g, dir);
  const json config = json::parse(slurp(dir + "/config.json"));
  EXPECT_EQ(config["model_type"], "gpt_oss");
  EXPECT_EQ(config["num_local_experts"], E);
  EXPECT_EQ(config["num_experts_per_tok"], c.n_experts_used);
  EXPECT_EQ(config["layer_types"][0], "sliding_attention");
  EXPECT_EQ(config["layer_types"][1], "full_attention");
  EXPECT_EQ(config["rope_scaling"]["rope_type"], "yarn");
  EXPECT_EQ(config["rope_scaling"]["factor"], 4.0);
  EXPECT_FALSE(config.contains("quantization_config"));
  SafetensorsFile st(dir + "/model.safetensors");
  const SafetensorsTensor* gu = st.find("model.layers.1.mlp.experts.gate_up_proj");
  const SafetensorsTensor* gub = st.find("model.layers.1.mlp.experts.gate_up_proj_bias");
  const SafetensorsTensor* dn = st.find("model.layers.1.mlp.experts.down_proj");
  ASSERT_TRUE(gu && gub && dn && st.find("model.layers.1.self_attn.sinks") &&
              st.find("model.layers.1.mlp.router.bias"));
  EXPECT_EQ(gu->shape, (std::vector<int64_t>{E, D, 2 * F}));
  EXPECT_EQ(dn->shape, (std::vector<int64_t>{E, F, D}));
  const LayerWeights& w = g.layers[1];
  auto at = [](const SafetensorsTensor* t, int64_t i) {
    float v;
    std::memcpy(&v, t->data + 4 * i, 4);
    return v;
  };
  const int64_t e = E - 1, f = F - 2, i = 3;
  EXPECT_EQ(at(gu, (e * D + i) * 2 * F + 2 * f), w.exp_gate.f32()[(e * F + f) * D + i]);
  EXPECT_EQ(at(gu, (e * D + i) * 2 * F + 2 * f + 1), w.exp_up.f32()[(e * F + f) * D + i]);
  EXPECT_EQ(at(gub, e * 2 * F + 2 * f + 1), w.exp_up_b.f32()[e * F + f]);
  EXPECT_EQ(at(dn, (e * F + f) * D + i), w.exp_down.f32()[(e * D + i) * F + f]);

  // transformers' own truncate = false comes back; the ramp moves, so the logits do too.
  json edited = config;
  edited["rope_scaling"]["truncate"] = false;
  spit(dir + "/config.json", edited.dump());
  EXPECT_FALSE(load_model(dir).config.yarn_truncate);
  EXPECT_TRUE(load_model(synth_seed11("gpt-oss")).config.yarn_truncate);

  // MXFP4 experts stay MXFP4, byte for byte, and read back to the same logits.
  const Model q = load_model(synth_seed11("gpt-oss", "--shape small --dtype mxfp4"));
  ASSERT_EQ(q.layers[0].exp_up.type, DType::MXFP4);
  const std::string qdir = test::temp_dir() + "/gpt-oss-mxfp4";
  write_hf_model(q, qdir);
  EXPECT_EQ(json::parse(slurp(qdir + "/config.json"))["quantization_config"]["quant_method"],
            "mxfp4");
  SafetensorsFile qs(qdir + "/model.safetensors");
  const SafetensorsTensor* blocks = qs.find("model.layers.0.mlp.experts.gate_up_proj_blocks");
  const SafetensorsTensor* scales = qs.find("model.layers.0.mlp.experts.gate_up_proj_scales");
  ASSERT_TRUE(blocks && scales);
  EXPECT_TRUE(blocks->u8 && scales->u8);
  const int64_t qD = q.config.dim, qF = q.config.hidden_dim;
  EXPECT_EQ(blocks->shape, (std::vector<int64_t>{q.config.n_experts, 2 * qF, qD / 32, 16}));
  // Up row 5 of expert 1 is HF output 11; decode its second block as transformers does.
  const float lut[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  const int64_t row = (1 * 2 * qF + 11) * (qD / 32) + 1;
  std::vector<float> ours(static_cast<size_t>(qD));
  dequantize_row(DType::MXFP4,
                 q.layers[0].exp_up.data + (1 * qF + 5) * q.layers[0].exp_up.row_bytes(),
                 ours.data(), ours.size());
  for (int j = 0; j < 16; ++j) {
    const uint8_t byte = blocks->data[row * 16 + j];
    const float scale = std::ldexp(1.0f, scales->data[row] - 127);
    EXPECT_EQ(lut[byte & 15] * scale, ours[32 + 2 * j]) << j;
    EXPECT_EQ(lut[byte >> 4] * scale, ours[32 + 2 * j + 1]) << j;
  }
  const Model qh = load_model(qdir);
  EXPECT_EQ(qh.layers[0].exp_up.type, DType::MXFP4);
  EXPECT_EQ(
      std::memcmp(qh.layers[0].exp_up.data, q.layers[0].exp_up.data, q.layers[0].exp_up.nbytes()),
      0);
  EXPECT_EQ(prompt_logits(qh), prompt_logits(q));

  // Blocks that are not U8, and a missing scales tensor: one-line errors naming the file.
  const std::string weights = slurp(qdir + "/model.safetensors");
  uint64_t n;
  std::memcpy(&n, weights.data(), 8);
  const std::string name = "model.layers.0.mlp.experts.down_proj_blocks";
  json h = json::parse(weights.substr(8, n));
  h[name]["dtype"] = "I8";
  auto rewrite = [&](const json& header) {
    std::string text = header.dump();
    const uint64_t len = text.size();
    spit(qdir + "/model.safetensors",
         std::string(reinterpret_cast<const char*>(&len), 8) + text + weights.substr(8 + n));
  };
  rewrite(h);
  expect_error([&] { load_model(qdir); }, qdir + "/model.safetensors", "dtype I8");
  h = json::parse(weights.substr(8, n));
  h[name]["dtype"] = "F16";
  h[name]["shape"] = json{q.config.n_experts, qD, qF / 32, 8};
  rewrite(h);
  expect_error([&] { load_model(qdir); }, qdir + "/model.safetensors",
               "'" + name + "' has dtype F16, MXFP4 blocks and scales are U8");
  h = json::parse(weights.substr(8, n));
  h.erase("model.layers.0.mlp.experts.down_proj_scales");
  rewrite(h);
  expect_error([&] { load_model(qdir); }, qdir + "/model.safetensors",
               "missing tensor 'model.layers.0.mlp.experts.down_proj_scales'");
}
