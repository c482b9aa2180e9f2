// Reads Hugging Face model folders (config.json + safetensors) into the internal Model. Tensor
// names and transformations follow llama.cpp's convert_hf_to_gguf.py (LlamaModel.permute,
// Gemma3Model's norm shift) and transformers' config classes (defaults of Gemma3TextConfig).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "format/safetensors.h"
#include "model/arch.h"
#include "model/fused.h"
#include "model/hf_config.h"
#include "model/hf_experts.h"
#include "model/hf_layout.h"
#include "model/hf_model.h"
#include "model/hf_names.h"
#include "ops/dequant.h"

namespace ss {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace hf;

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(path, "not valid JSON: " + one_line(e.what()));
  }
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
  return r + "]";
}

// ---- tensor names ----

// Each layer tensor's name after "model.layers.N."; Gemma's pre-FFN norm is ffn_norm and its
// post_attention_layernorm follows attention, where llama's post_attention_layernorm is the FFN
// norm (llama.cpp gguf-py tensor_mapping: FFN_NORM, FFN_PRE_NORM, ATTN_POST_NORM).
struct HfStorage {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
};

class Loader {
 public:
  Loader(Model& m, const std::string& dir) : m_(m), dir_(dir) {}

  // Opens model.safetensors, or every shard model.safetensors.index.json names.
  void open_weights(HfStorage& st) {
    const std::string index_path = join(dir_, "model.safetensors.index.json");
    const std::string single = join(dir_, "model.safetensors");
    if (fs::exists(index_path)) {
      listing_ = index_path;
      const json index = read_json_file(index_path);
      auto wm = index.is_object() ? index.find("weight_map") : index.end();
      if (!index.is_object() || wm == index.end() || !wm->is_object())
        throw InputError(index_path, "no weight_map object");
      std::map<std::string, const SafetensorsFile*> shards;
      for (const auto& [name, file] : wm->items()) {
        if (!file.is_string())
          throw InputError(index_path,
                           "weight_map entry of '" + one_line(name) + "' is not a file name");
        const std::string f = file.get<std::string>();
        if (f.empty() || f == "." || f == ".." || f.find('/') != std::string::npos ||
            f.find('\\') != std::string::npos)
          throw InputError(
              index_path, "weight_map names '" + one_line(f) + "', not a file in the model folder");
        auto it = shards.find(f);
        if (it == shards.end()) {
          st.files.push_back(std::make_unique<SafetensorsFile>(join(dir_, f)));
          it = shards.emplace(f, st.files.back().get()).first;
        }
        const SafetensorsTensor* t = it->second->find(name);
        if (!t)
          throw InputError(it->second->path(),
                           "missing tensor '" + one_line(name) + "' (listed in the index)");
        tensors_[name] = {t, it->second};
      }
    } else if (fs::exists(single)) {
      listing_ = single;
      st.files.push_back(std::make_unique<SafetensorsFile>(single));
      for (const SafetensorsTensor& t : st.files.back()->tensors())
        tensors_[t.name] = {&t, st.files.back().get()};
    } else {
      throw InputError(dir_, "no model.safetensors or model.safetensors.index.json in this folder");
    }
  }

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  size_t count() const { return tensors_.size(); }
  const std::string& listing() const { return listing_; }

  // The tensor `name` with HF shape `shape`, of a float dtype (or U8 when `u8`); errors name the
  // file that lacks it or holds it.
  const SafetensorsTensor& get(const std::string& name, const std::vector<int64_t>& shape,
                               bool u8 = false) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw InputError(listing_, "missing tensor '" + name + "'");
    const auto& [t, file] = it->second;
    if (t->u8 != u8)
      throw InputError(
          file->path(),
          "tensor '" + name + "' has dtype " + (t->u8 ? "U8" : safetensors_dtype_name(t->type)) +
              (u8 ? ", MXFP4 blocks and scales are U8" : ", not a float type (F32, F16, BF16)"));
    if (t->shape != shape)
      throw InputError(file->path(), "tensor '" + name + "' has shape " + shape_string(t->shape) +
                                         ", config.json implies " + shape_string(shape));
    return *t;
  }

  // All values of a float tensor of HF shape `shape`, as f32.
  std::vector<float> floats(const std::string& name, const std::vector<int64_t>& shape) const {
    const SafetensorsTensor& t = get(name, shape);
    std::vector<uint8_t> raw(t.data, t.data + t.nbytes());  // aligned for dequantize_row
    std::vector<float> v(static_cast<size_t>(t.n_elements()));
    dequantize_row(t.type, raw.data(), v.data(), v.size());
    return v;
  }

  // A weight matrix stored [cols, rows] (GPT-2's Conv1D), transposed into an F32/F16/BF16 copy
  // of GGUF ne {cols, rows}.
  Tensor transposed_matrix(const std::string& name, const std::string& gguf_name, int64_t cols,
                           int64_t rows) {
    const SafetensorsTensor& t = get(name, {cols, rows});
    const size_t elem = t.type == DType::F32 ? 4 : 2;
    auto& buf = m_.owned.emplace_back(t.nbytes());
    transpose(t.data, buf.data(), cols, rows, elem);
    return Tensor{gguf_name, t.type, {cols, rows}, buf.data()};
  }

  // A weight matrix [rows, cols] (GGUF ne {cols, rows}); rows permuted for llama's rope when
  // permute_heads > 0. It stays in the mapping unless it must be reordered or is misaligned.
  Tensor matrix(const std::string& name, const std::string& gguf_name, int64_t cols, int64_t rows,
                int permute_heads) {
    const SafetensorsTensor& t = get(name, {rows, cols});
    Tensor out{gguf_name, t.type, {cols, rows}, t.data};
    const size_t elem = t.type == DType::F32 ? 4 : 2;
    const bool aligned = reinterpret_cast<uintptr_t>(t.data) % elem == 0;
    if (permute_heads > 0 || !aligned) {
      auto& buf = m_.owned.emplace_back(t.nbytes());
      if (permute_heads > 0)
        permute_rows(t.data, buf.data(), static_cast<size_t>(cols) * elem, rows, permute_heads,
                     false);
      else
        std::memcpy(buf.data(), t.data, t.nbytes());
      out.data = buf.data();
    }
    return out;
  }

  // A norm or bias of n values, as an F32 copy; `shift` is added to every value (Gemma norms).
  Tensor vector(const std::string& name, const std::string& gguf_name, int64_t n, float shift,
                int permute_heads) {
    const SafetensorsTensor& t = get(name, {n});
    std::vector<uint8_t> raw(t.data, t.data + t.nbytes());  // aligned for dequantize_row
    std::vector<float> v(static_cast<size_t>(n));
    dequantize_row(t.type, raw.data(), v.data(), static_cast<size_t>(n));
    for (float& x : v) x += shift;
    auto& buf = m_.owned.emplace_back(static_cast<size_t>(n) * sizeof(float));
    if (permute_heads > 0)
      permute_rows(reinterpret_cast<const uint8_t*>(v.data()), buf.data(), sizeof(float), n,
                   permute_heads, false);
    else
      std::memcpy(buf.data(), v.data(), buf.size());
    return Tensor{gguf_name, DType::F32, {n}, buf.data()};
  }

 private:
  Model& m_;
  std::string dir_, listing_;
  std::map<std::string, std::pair<const SafetensorsTensor*, const SafetensorsFile*>> tensors_;
};

// The architecture whose spec reads this model_type, or a one-line error listing them.
const ArchSpec& arch_for_type(const HfConfig& top, const std::string& type) {
  std::string known;
  for (const ArchSpec* a : arch_specs())
    for (const std::string& t : a->hf_model_types) {
      if (t == type && !a->hf_write_type)
        top.fail("model_type '" + t + "' (" + a->name +
                 "): its Hugging Face folders are not read yet; convert it to GGUF with "
                 "llama.cpp's convert_hf_to_gguf.py");
      if (t == type) return *a;
      known += (known.empty() ? "" : ", ") + t;
    }
  top.fail("unsupported model_type '" + one_line(type) + "' (supported: " + known + ")");
}

// gpt-oss's experts (model/hf_experts.h): MXFP4 blocks and scales, or dense [E, in, out]
// matrices, with gate and up interleaved in gate_up_proj; copied into GGUF-layout stacks.
void read_experts(const Loader& ld, Model& m, int l, const std::string& b) {
  const ModelConfig& c = m.config;
  const int64_t E = c.n_experts, D = c.dim, F = c.hidden_dim;
  const std::string g = "blk." + std::to_string(l) + ".";
  const std::string gate_up = b + "mlp.experts.gate_up_proj", down = b + "mlp.experts.down_proj";
  LayerWeights& w = m.layers[static_cast<size_t>(l)];
  auto stack = [&](const std::string& hf, const std::string& gguf_name, int64_t in, int64_t hf_out,
                   Outputs pick) {
    const int64_t out = picked(hf_out, pick);
    if (ld.has(hf + "_blocks")) {
      if (in % 32 != 0)
        throw InputError(m.path, "tensor '" + hf + "_blocks': MXFP4 needs inputs (" +
                                     std::to_string(in) + ") in blocks of 32");
      const SafetensorsTensor& bl = ld.get(hf + "_blocks", {E, hf_out, in / 32, 16}, true);
      const SafetensorsTensor& sc = ld.get(hf + "_scales", {E, hf_out, in / 32}, true);
      auto& buf = m.owned.emplace_back(static_cast<size_t>(E * out * (in / 32)) * 17);
      mxfp4_experts_from_hf(bl.data, sc.data, E, hf_out, in, pick, buf.data());
      return Tensor{gguf_name, DType::MXFP4, {in, out, E}, buf.data()};
    }
    const SafetensorsTensor& t = ld.get(hf, {E, in, hf_out});
    const size_t elem = t.type == DType::F32 ? 4 : 2;
    auto& buf = m.owned.emplace_back(static_cast<size_t>(E * out * in) * elem);
    dense_experts(t.data, buf.data(), E, in, hf_out, pick, elem, false);
    return Tensor{gguf_name, t.type, {in, out, E}, buf.data()};
  };
  auto bias = [&](const std::string& hf, const std::string& gguf_name, int64_t hf_n, Outputs pick) {
    const std::vector<float> v = ld.floats(hf, {E, hf_n});
    const int64_t n = picked(hf_n, pick);
    auto& buf = m.owned.emplace_back(static_cast<size_t>(E * n) * sizeof(float));
    auto* dst = reinterpret_cast<float*>(buf.data());
    for (int64_t e = 0; e < E; ++e)
      for (int64_t r = 0; r < n; ++r)
        dst[e * n + r] = v[static_cast<size_t>(e * hf_n + hf_output(r, pick))];
    return Tensor{gguf_name, DType::F32, {n, E}, buf.data()};
  };
  w.exp_gate = stack(gate_up, g + "ffn_gate_exps.weight", D, 2 * F, Outputs::Even);
  w.exp_up = stack(gate_up, g + "ffn_up_exps.weight", D, 2 * F, Outputs::Odd);
  w.exp_down = stack(down, g + "ffn_down_exps.weight", F, D, Outputs::All);
  w.exp_gate_b = bias(gate_up + "_bias", g + "ffn_gate_exps.bias", 2 * F, Outputs::Even);
  w.exp_up_b = bias(gate_up + "_bias", g + "ffn_up_exps.bias", 2 * F, Outputs::Odd);
  w.exp_down_b = bias(down + "_bias", g + "ffn_down_exps.bias", D, Outputs::All);
}

// sinkscope's own keys num_attention_heads_per_layer and num_key_value_heads_per_layer (a
// physically pruned model, hf_save.cpp): one count per layer, whose largest are
// num_attention_heads and num_key_value_heads.
void read_layer_heads(const HfConfig& cfg, const HfLayout& k, ModelConfig& c) {
  const char* keys[] = {"num_attention_heads_per_layer", "num_key_value_heads_per_layer"};
  if (!cfg.find(keys[0]) && !cfg.find(keys[1])) return;
  std::vector<int> counts[2];
  for (int i = 0; i < 2; ++i) {
    const json* v = cfg.find(keys[i]);
    if (!v || !v->is_array() || static_cast<int>(v->size()) != c.n_layers)
      cfg.fail(cfg.name(keys[i]) + " must be a list of " + std::to_string(c.n_layers) +
               " head counts (one per layer), got " + (v ? one_line(v->dump()) : "none"));
    for (const json& e : *v) {
      if (!e.is_number_integer() || e.get<int64_t>() <= 0 || e.get<int64_t>() >= kMaxDim)
        cfg.fail(cfg.name(keys[i]) + " must hold integers in 1.." + std::to_string(kMaxDim - 1) +
                 ", got " + one_line(e.dump()));
      counts[i].push_back(e.get<int>());
    }
  }
  for (int l = 0; l < c.n_layers; ++l)
    if (counts[0][l] % counts[1][l] != 0)
      cfg.fail("layer " + std::to_string(l) + " has " + std::to_string(counts[0][l]) +
               " query heads, not a multiple of its " + std::to_string(counts[1][l]) +
               " key/value heads (" + cfg.name(keys[0]) + ", " + cfg.name(keys[1]) + ")");
  const int q = c.n_heads, kv = c.n_kv_heads;
  c.set_layer_heads(std::move(counts[0]), std::move(counts[1]));
  if (c.n_heads != q || c.n_kv_heads != kv)
    cfg.fail(cfg.name(k.num_attention_heads) + " and num_key_value_heads must be the largest of " +
             cfg.name(keys[0]) + " and " + cfg.name(keys[1]));
  if (!cfg.find("head_dim")) cfg.fail("per-layer head counts need head_dim");
}

// Fills m.config from config.json; returns the Llama-3 rope scaling when the config asks for it.
std::optional<Llama3RopeScaling> read_config(const std::string& dir, Model& m, bool& tied,
                                             bool& attention_bias) {
  const std::string path = join(dir, "config.json");
  if (!fs::exists(path)) throw InputError(dir, "no config.json in this folder");
  const json root = read_json_file(path);
  if (!root.is_object()) throw InputError(path, "the top level is not a JSON object");
  HfConfig top(root, path, "");
  const std::string type = top.string("model_type", "");
  const ArchSpec& a = arch_for_type(top, type);
  const json* text = &root;
  std::string where;
  if (a.hf_multimodal_type && type == a.hf_multimodal_type) {
    if (const json* tc = top.find("text_config")) {
      if (!tc->is_object()) top.fail("text_config is not an object");
      text = tc;
      where = "text_config.";
    }
  }
  HfConfig cfg(*text, path, where);
  const HfDefaults& d = a.hf_defaults;
  static const HfLayout kLlamaLayout;
  const HfLayout& k = a.hf_layout ? *a.hf_layout : kLlamaLayout;  // the key names

  ModelConfig& c = m.config;
  c.arch = a.name;
  c.dim = cfg.dim(k.hidden_size, d.hidden_size);
  c.hidden_dim = cfg.dim(k.intermediate_size, d.intermediate_size);
  c.n_layers = cfg.dim(k.num_hidden_layers, d.num_hidden_layers);
  c.n_heads = cfg.dim(k.num_attention_heads, d.num_attention_heads);
  c.n_kv_heads = cfg.dim("num_key_value_heads", d.num_key_value_heads.value_or(c.n_heads));
  c.vocab_size = cfg.dim("vocab_size", d.vocab_size);
  if (c.n_heads % c.n_kv_heads != 0 && !cfg.find("num_key_value_heads_per_layer"))
    cfg.fail(cfg.name(k.num_attention_heads) + " " + std::to_string(c.n_heads) +
             " is not a multiple of num_key_value_heads " + std::to_string(c.n_kv_heads));
  if (!d.head_dim && !cfg.find("head_dim") && c.dim % c.n_heads != 0)
    cfg.fail(cfg.name(k.hidden_size) + " is not a multiple of " + k.num_attention_heads);
  c.head_dim = cfg.dim("head_dim", d.head_dim.value_or(c.dim / c.n_heads));
  read_layer_heads(cfg, k, c);
  // A context beyond the cap says what its KV cache would need.
  if (const json* ctx = cfg.find(k.max_position_embeddings);
      ctx && ctx->is_number_integer() && ctx->get<int64_t>() >= kMaxDim)
    cfg.fail(context_beyond_cap(cfg.name(k.max_position_embeddings), ctx->get<int64_t>(), c));
  c.max_seq_len = cfg.dim(k.max_position_embeddings, d.max_position_embeddings);
  // Special-token ids (an id, a list of ids, or null) inside the vocabulary; -1 stands for none.
  for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id",
                          "unk_token_id", "decoder_start_token_id"}) {
    const json* v = cfg.find(key);
    if (!v) continue;
    for (const json& id : v->is_array() ? *v : json::array({*v}))
      if (!id.is_number_integer() || id.get<int64_t>() < -1 || id.get<int64_t>() >= c.vocab_size)
        cfg.fail(cfg.name(key) + " " + one_line(id.dump()) +
                 " is outside the vocabulary (vocab_size " + std::to_string(c.vocab_size) + ")");
  }
  c.norm_eps = static_cast<float>(cfg.number(k.norm_eps, d.rms_norm_eps));
  c.rope_theta = static_cast<float>(cfg.number(k.rope_theta, d.rope_theta));
  // Soft-capping: absent takes the config class's default, an explicit null means none.
  auto softcap = [&](const char* key, double dflt) {
    const bool null = text->contains(key) && (*text)[key].is_null();
    return static_cast<float>(null ? 0.0 : cfg.number(key, dflt));
  };
  c.final_logit_softcap = softcap("final_logit_softcapping", d.final_logit_softcapping);
  c.attn_logit_softcap = softcap("attn_logit_softcapping", d.attn_logit_softcapping);
  auto check = [&](const char* key, float v, bool allow_zero) {
    if (!std::isfinite(v) || v < 0 || (v == 0 && !allow_zero))
      cfg.fail(cfg.name(key) + " must be a finite number " + (allow_zero ? ">= 0" : "> 0") +
               ", got " + std::to_string(v));
  };
  check(k.norm_eps, c.norm_eps, false);
  if (c.norm_eps > 1)
    cfg.fail(cfg.name(k.norm_eps) + " must be at most 1, got " + std::to_string(c.norm_eps));
  check(k.rope_theta, c.rope_theta, false);
  check("final_logit_softcapping", c.final_logit_softcap, true);
  check("attn_logit_softcapping", c.attn_logit_softcap, true);
  tied = cfg.flag("tie_word_embeddings", top.flag("tie_word_embeddings", d.tie_word_embeddings));
  attention_bias = cfg.flag("attention_bias", false);

  const std::string act_key = a.hf_act_key;
  const std::string act =
      cfg.string(act_key, act_key == "hidden_act" ? a.hf_act : cfg.string("hidden_act", a.hf_act));
  if (act != a.hf_act)
    cfg.fail(cfg.name(act_key) + " '" + one_line(act) + "' is not supported for " + a.name);
  if (!a.sliding && cfg.flag("use_sliding_window", false))
    cfg.fail(cfg.name("use_sliding_window") + " is not supported for " + a.name);
  if (cfg.flag("mlp_bias", false)) cfg.fail(cfg.name("mlp_bias") + " is not supported");

  std::optional<Llama3RopeScaling> llama3;
  const json* arch_scaling = nullptr;  // a rope_scaling the architecture reads itself
  if (const json* rs = cfg.find("rope_scaling")) {
    if (!rs->is_object()) cfg.fail(cfg.name("rope_scaling") + " is not an object");
    HfConfig r(*rs, path, cfg.name("rope_scaling."));
    const std::string rt = r.string("rope_type", r.string("type", "default"));
    if (rt == "linear") {
      c.rope_scale = static_cast<float>(r.number("factor", 1.0));
      if (!(c.rope_scale > 0) || !std::isfinite(c.rope_scale))
        r.fail(r.name("factor") + " must be a finite number > 0, got " +
               std::to_string(c.rope_scale));
    } else if (rt == "llama3" && a.llama3_rope) {
      Llama3RopeScaling s;
      s.factor = r.number("factor", s.factor);
      s.low_freq_factor = r.number("low_freq_factor", s.low_freq_factor);
      s.high_freq_factor = r.number("high_freq_factor", s.high_freq_factor);
      s.original_context = r.dim("original_max_position_embeddings", s.original_context);
      for (const auto& [key, v] : {std::pair{"factor", s.factor},
                                   {"low_freq_factor", s.low_freq_factor},
                                   {"high_freq_factor", s.high_freq_factor}})
        if (!(v > 0) || !std::isfinite(v))
          r.fail(r.name(key) + " must be a finite number > 0, got " + std::to_string(v));
      if (!(s.high_freq_factor > s.low_freq_factor))
        r.fail(r.name("high_freq_factor") + " must exceed low_freq_factor");
      llama3 = s;
    } else if (std::find(a.hf_rope_types.begin(), a.hf_rope_types.end(), rt) !=
               a.hf_rope_types.end()) {
      arch_scaling = rs;
    } else if (rt != "default") {
      std::string supported = "linear";
      if (a.llama3_rope) supported += ", llama3";
      for (const std::string& t : a.hf_rope_types) supported += ", " + t;
      r.fail("unsupported rope_scaling type '" + one_line(rt) + "' for " + a.name +
             " (supported: " + supported + ")");
    }
  }
  if (a.hf_read) a.hf_read(cfg, *text, c);
  apply_arch(c);
  if (c.rotated_dims() % 2 != 0)
    cfg.fail((cfg.find("head_dim") ? cfg.name("head_dim")
                                   : cfg.name(k.hidden_size) + " / " + k.num_attention_heads) +
             " gives an odd head dimension " + std::to_string(c.head_dim) +
             ": the rotary embedding needs an even one");
  if (arch_scaling) a.hf_read_tensors(cfg, *arch_scaling, m);
  return llama3;
}

// The tensors of an architecture with its own Hugging Face layout (GPT-2, GPT-NeoX, Phi-3): each
// file tensor is read, transposed or reordered as the layout says, and split into the layer
// tensors it holds.
void read_by_layout(Loader& ld, Model& m, const HfLayout& lay, bool tied) {
  ModelConfig& c = m.config;
  const ArchSpec& a = arch_of(c);
  // GPT-2's original checkpoints were saved from the base model, without "transformer.".
  std::string strip;
  if (const std::string e = lay.embed;
      !ld.has(e) && e.find('.') != std::string::npos && ld.has(e.substr(e.find('.') + 1)))
    strip = e.substr(0, e.find('.') + 1);
  auto name = [&](const std::string& n) {
    return !strip.empty() && n.rfind(strip, 0) == 0 ? n.substr(strip.size()) : n;
  };
  // [head][q, k, v] rows hold as many key/value heads as query heads.
  if (lay.qkv_per_head && c.n_kv_heads != c.n_heads)
    throw InputError(join(m.path, "config.json"),
                     "num_key_value_heads " + std::to_string(c.n_kv_heads) +
                         " differs from the attention heads " + std::to_string(c.n_heads) + " (" +
                         c.arch + " has no grouped-query attention)");
  const std::string norm = lay.final_norm;
  m.token_embd = ld.matrix(name(lay.embed), "token_embd.weight", c.dim, c.vocab_size, 0);
  if (lay.positions)
    m.position_embd =
        ld.matrix(name(lay.positions), "position_embd.weight", c.dim, c.max_seq_len, 0);
  m.output_norm = ld.vector(name(norm + ".weight"), "output_norm.weight", c.dim, 0, 0);
  if (c.norm == NormKind::Layer)
    m.output_norm_b = ld.vector(name(norm + ".bias"), "output_norm.bias", c.dim, 0, 0);
  if (!tied) m.output = ld.matrix(lay.lm_head, "output.weight", c.dim, c.vocab_size, 0);

  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = name(lay.layers + std::to_string(l) + ".");
    const std::string g = "blk." + std::to_string(l) + ".";
    LayerWeights& w = m.layers[l];
    for (const HfLayout::Entry& e : lay.layer) {
      bool required = false, matrix = false;
      std::vector<int64_t> sizes;
      std::vector<std::string> names;
      int64_t cols = 0;
      for (auto part : e.parts) {
        required = required || tensor_required(a, part);
        for (const LayerSlot& s : layer_slots())
          if (s.member == part) {
            matrix = s.matrix;
            names.push_back(g + s.gguf_name);
          }
        const auto [part_cols, part_rows] = slot_shape(part, c);
        cols = part_cols;
        sizes.push_back(matrix ? part_rows : part_cols);
      }
      const std::string hf_name = b + e.name;
      if (!required && !ld.has(hf_name)) continue;
      int64_t total = 0;
      for (int64_t n : sizes) total += n;
      Tensor whole;
      if (!matrix)
        whole = ld.vector(hf_name, names[0], total, 0, 0);
      else if (lay.conv1d)
        whole = ld.transposed_matrix(hf_name, names[0], cols, total);
      else
        whole = ld.matrix(hf_name, names[0], cols, total, 0);
      if (lay.qkv_per_head && e.parts.size() == 3) {  // [head][q, k, v] rows to [q; k; v]
        const size_t row_bytes = matrix ? whole.row_bytes() : sizeof(float);
        auto& buf = m.owned.emplace_back(row_bytes * static_cast<size_t>(total));
        qkv_per_head(whole.data, buf.data(), row_bytes, c.n_heads, c.head_dim, false);
        whole.data = buf.data();
      }
      const std::vector<Tensor> views = split_fused(whole, sizes, names, hf_name);
      for (size_t i = 0; i < views.size(); ++i) w.*e.parts[i] = views[i];
    }
  }
}

}  // namespace

bool is_model_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

Model load_hf_model(const std::string& dir) {
  Model m;
  m.path = dir;
  bool tied = false, attention_bias = false;
  const std::optional<Llama3RopeScaling> llama3 = read_config(dir, m, tied, attention_bias);
  ModelConfig& c = m.config;
  const ArchSpec& a = arch_of(c);
  const float shift = a.hf_norm_plus_one ? 1.0f : 0.0f;

  auto storage = std::make_shared<HfStorage>();
  m.storage = storage;
  Loader ld(m, dir);
  ld.open_weights(*storage);
  // Every layer has tensors of its own: a layer count beyond the folder's tensor count is refused
  // before the layers are allocated.
  if (static_cast<size_t>(c.n_layers) > ld.count())
    throw InputError(join(dir, "config.json"), "the layer count " + std::to_string(c.n_layers) +
                                                   " exceeds the " + std::to_string(ld.count()) +
                                                   " tensors of " + ld.listing());

  if (a.hf_layout) {
    m.layers.resize(c.n_layers);
    read_by_layout(ld, m, *a.hf_layout, tied);
    if (tied) {
      m.output = m.token_embd;
      m.output.name = "output.weight (tied to token_embd.weight)";
    }
    m.tied_output = tied;
    validate_model(m);
    return m;
  }

  // Gemma 3's multimodal checkpoints keep the language model under a prefix (older and newer
  // transformers name it differently); llama.cpp drops "language_model." from names.
  std::string prefix = "model.";
  for (const char* p : {"model.", "language_model.model.", "model.language_model."})
    if (ld.has(std::string(p) + "embed_tokens.weight")) {
      prefix = p;
      break;
    }

  m.layers.resize(c.n_layers);
  m.owned.reserve(4 + layer_slots().size() * static_cast<size_t>(c.n_layers));
  m.token_embd =
      ld.matrix(prefix + "embed_tokens.weight", "token_embd.weight", c.dim, c.vocab_size, 0);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = prefix + "layers." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    const ModelConfig layer_c = c.layer_view(l);  // its own head counts
    for (const LayerSlot& s : layer_slots()) {
      Tensor LayerWeights::*mem = s.member;
      const bool post_norm =
          mem == &LayerWeights::post_attn_norm || mem == &LayerWeights::post_ffn_norm;
      if (post_norm && !a.post_norms) continue;  // its HF name is the FFN norm's there
      const bool bias =
          mem == &LayerWeights::bq || mem == &LayerWeights::bk || mem == &LayerWeights::bv;
      const bool required = tensor_required(a, mem) || (bias && attention_bias);
      if (!hf_layer_name(s.member, a)) continue;  // none in this family's folders
      const std::string name = b + hf_layer_name(s.member, a);
      if (!required && !ld.has(name)) continue;
      const auto [cols, rows] = slot_shape(s.member, layer_c);
      const int heads = permuted_heads(s.member, layer_c);
      const std::string gguf = g + (gguf_slot_name(s, a) ? gguf_slot_name(s, a) : s.gguf_name);
      m.layers[l].*s.member =
          s.matrix ? ld.matrix(name, gguf, cols, rows, heads)
                   : ld.vector(name, gguf, cols, is_norm(s.member) ? shift : 0, heads);
    }
    if (a.moe) read_experts(ld, m, l, b);
  }
  m.output_norm = ld.vector(prefix + "norm.weight", "output_norm.weight", c.dim, shift, 0);
  m.tied_output = tied;
  if (tied) {
    m.output = m.token_embd;
    m.output.name = "output.weight (tied to token_embd.weight)";
  } else {
    std::string head = "lm_head.weight";
    if (!ld.has(head) && ld.has("language_model.lm_head.weight"))
      head = "language_model.lm_head.weight";
    m.output = ld.matrix(head, "output.weight", c.dim, c.vocab_size, 0);
  }
  if (llama3) {
    const std::vector<float> div = llama3_rope_divisors(c.head_dim, c.rope_theta, *llama3);
    auto& buf = m.owned.emplace_back(div.size() * sizeof(float));
    std::memcpy(buf.data(), div.data(), buf.size());
    m.rope_freqs = Tensor{"rope_freqs.weight", DType::F32, {c.head_dim / 2}, buf.data()};
  }
  validate_model(m);
  return m;
}

// ---- writing ----

}  // namespace ss
