// Writes the internal Model as a Hugging Face folder (config.json, safetensors shards and index,
// the tokenizer), the inverse of hf_load.cpp.

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
#include "model/attention_kind.h"
#include "model/fused.h"
#include "model/hf_config.h"
#include "model/hf_experts.h"
#include "model/hf_layout.h"
#include "model/hf_model.h"
#include "model/hf_names.h"
#include "ops/dequant.h"

namespace ss {

using json = nlohmann::json;
namespace fs = std::filesystem;
using namespace hf;

namespace {

const char* torch_dtype(DType t) {
  return t == DType::F16 ? "float16" : t == DType::BF16 ? "bfloat16" : "float32";
}

// Llama-3 rope parameters that reproduce the divisors exactly, searched over the usual values.
std::optional<Llama3RopeScaling> recover_llama3(const Tensor& freqs, const ModelConfig& c) {
  std::vector<float> want(static_cast<size_t>(freqs.cols()));
  std::memcpy(want.data(), freqs.data, want.size() * sizeof(float));
  float largest = 1;
  for (float x : want) largest = std::max(largest, x);
  for (double factor : {static_cast<double>(largest), 8.0, 16.0, 32.0, 4.0, 2.0})
    for (int ctx = 16; ctx <= (1 << 21); ctx *= 2)
      for (double low : {1.0, 0.5, 2.0})
        for (double high : {4.0, 2.0, 8.0, 1.0}) {
          if (high <= low) continue;
          Llama3RopeScaling s{factor, low, high, ctx};
          if (llama3_rope_divisors(c.head_dim, c.rope_theta, s) == want) return s;
        }
  return std::nullopt;
}

json write_config(const Model& model, const HfWriteOptions& o, DType weight_type,
                  const std::string& dir) {
  const ModelConfig& c = model.config;
  const ArchSpec& a = arch_of(c);
  json j = {{"architectures", {a.hf_class}},
            {"model_type", a.hf_write_type},
            {"hidden_size", c.dim},
            {"intermediate_size", c.hidden_dim},
            {"num_hidden_layers", c.n_layers},
            {"num_attention_heads", c.n_heads},
            {"num_key_value_heads", c.n_kv_heads},
            {"head_dim", c.head_dim},
            {"vocab_size", c.vocab_size},
            {"max_position_embeddings", c.max_seq_len},
            {"rms_norm_eps", hf_float(c.norm_eps)},
            {"rope_theta", hf_float(c.rope_theta)},
            {"tie_word_embeddings", model.tied_output},
            {"torch_dtype", torch_dtype(weight_type)},
            {"rope_scaling", nullptr},
            {a.hf_act_key, a.hf_act}};
  // sinkscope's own keys (transformers has none): a physically pruned model's per-layer head
  // counts, num_attention_heads and num_key_value_heads being their largest.
  if (!c.uniform_heads()) {
    j["num_attention_heads_per_layer"] = c.layer_n_heads;
    j["num_key_value_heads_per_layer"] = c.layer_n_kv_heads;
  }
  if (a.hf_writes_attention_bias) j["attention_bias"] = model.layers[0].bq.data != nullptr;
  if (a.hf_writes_use_sliding_window) j["use_sliding_window"] = false;
  // Soft-capping: the value, or null where the config class would default to one.
  if (c.final_logit_softcap > 0)
    j["final_logit_softcapping"] = hf_float(c.final_logit_softcap);
  else if (a.hf_defaults.final_logit_softcapping > 0)
    j["final_logit_softcapping"] = nullptr;
  if (c.attn_logit_softcap > 0)
    j["attn_logit_softcapping"] = hf_float(c.attn_logit_softcap);
  else if (a.hf_defaults.attn_logit_softcapping > 0)
    j["attn_logit_softcapping"] = nullptr;

  if (model.rope_freqs.data) {
    require(a.llama3_rope && c.rope_scale == 1.0f, dir,
            "rope_freqs.weight has no Hugging Face equivalent for " + c.arch +
                (c.rope_scale != 1.0f ? " with linear rope scaling" : ""));
    std::optional<Llama3RopeScaling> s = o.llama3_rope;
    if (!s) s = recover_llama3(model.rope_freqs, c);
    require(s.has_value(), dir,
            "rope_freqs.weight matches no Llama-3 rope_scaling (factor, low/high frequency "
            "factors, original context): pass them explicitly");
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", s->factor},
                         {"low_freq_factor", s->low_freq_factor},
                         {"high_freq_factor", s->high_freq_factor},
                         {"original_max_position_embeddings", s->original_context}};
  } else if (c.rope_scale != 1.0f) {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", hf_float(c.rope_scale)}};
  }
  require(a.sliding || c.sliding_window == 0, dir,
          "sliding-window layers are not written for " + c.arch);
  if (const HfLayout* lay = a.hf_layout) {  // the config class's own key names
    const std::pair<const char*, const char*> renames[] = {
        {"hidden_size", lay->hidden_size},
        {"intermediate_size", lay->intermediate_size},
        {"num_hidden_layers", lay->num_hidden_layers},
        {"num_attention_heads", lay->num_attention_heads},
        {"max_position_embeddings", lay->max_position_embeddings},
        {"rms_norm_eps", lay->norm_eps},
        {"rope_theta", lay->rope_theta}};
    for (const auto& [from, to] : renames) {
      json v = j[from];
      j.erase(from);
      j[to] = v;
    }
  }
  if (a.hf_write) a.hf_write(model, j);
  return j;
}

}  // namespace

void write_hf_model(const Model& model, const std::string& dir, const HfWriteOptions& o) {
  const ModelConfig& c = model.config;
  require(find_arch(c.arch) != nullptr, dir, "unknown architecture " + c.arch);
  require(c.attention == AttentionKind::Softmax, dir,
          std::string("transformers has no ") + attention_kind_name(c.attention) + " attention (" +
              kAttentionKey + ")");
  require(c.norm_placement == NormPlacement::Pre, dir,
          "transformers has no Post-LN " + c.arch + " (" + kNormKey + " post)");
  require(c.positional == PositionKind::Rope, dir,
          "transformers has no " + c.arch + " without rotary positions (" + kPositionalKey + " " +
              position_kind_name(c.positional) + ")");
  const ArchSpec& a = arch_of(c);
  require(a.hf_write_type != nullptr, dir,
          c.arch + " models cannot be written as Hugging Face folders yet");
  for (DType t : {o.weight_type.value_or(DType::F32), o.norm_type})
    require(t == DType::F32 || t == DType::F16 || t == DType::BF16, dir,
            "safetensors holds F32, F16 or BF16 weights, not " + dtype_name(t));
  require(o.shards >= 1 && o.shards <= 99999, dir, "shard count must be 1 to 99999");
  const DType weight_type = o.weight_type.value_or(model.token_embd.type == DType::F16 ||
                                                           model.token_embd.type == DType::BF16
                                                       ? model.token_embd.type
                                                       : DType::F32);
  ensure_output_dir(dir);
  const json config = write_config(model, o, weight_type, dir);

  // Converted tensors need storage that outlives the writers.
  std::deque<std::vector<uint8_t>> buffers;
  struct Item {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t nbytes;
    bool u8 = false;  // raw bytes (MXFP4 blocks and scales)
  };
  std::vector<Item> items;
  // t in the written matrix type: its own bytes, or a converted copy.
  auto convert = [&](const Tensor& t) {
    const DType out = o.weight_type.value_or(
        t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16 ? t.type
                                                                              : DType::F32);
    if (out == t.type) return t;
    const size_t cols = static_cast<size_t>(t.cols()), rows = static_cast<size_t>(t.rows());
    const size_t rb = dtype_row_bytes(out, cols);
    auto& buf = buffers.emplace_back(rb * rows);
    std::vector<float> row(cols);
    for (size_t r = 0; r < rows; ++r) {
      dequantize_row(t.type, t.row(static_cast<int64_t>(r)), row.data(), cols);
      quantize_row(out, row.data(), buf.data() + r * rb, cols);
    }
    Tensor c = t;
    c.type = out;
    c.data = buf.data();
    return c;
  };
  auto add_matrix = [&](const std::string& name, const Tensor& tensor, int permute_heads) {
    const Tensor t = convert(tensor);
    const size_t cols = static_cast<size_t>(t.cols()), rows = static_cast<size_t>(t.rows());
    const size_t rb = t.row_bytes();
    const uint8_t* data = t.data;
    if (permute_heads > 0) {
      auto& buf = buffers.emplace_back(rb * rows);
      permute_rows(data, buf.data(), rb, static_cast<int64_t>(rows), permute_heads, true);
      data = buf.data();
    }
    items.push_back(
        {name, t.type, {static_cast<int64_t>(rows), static_cast<int64_t>(cols)}, data, rb * rows});
  };
  auto add_vector = [&](const std::string& name, const Tensor& t, float shift, int permute_heads) {
    const size_t n = static_cast<size_t>(t.n_elements());
    std::vector<float> v(n);
    dequantize_row(t.type, t.data, v.data(), n);
    for (float& x : v) x -= shift;
    std::vector<float> p(n);
    if (permute_heads > 0)
      permute_rows(reinterpret_cast<const uint8_t*>(v.data()), reinterpret_cast<uint8_t*>(p.data()),
                   sizeof(float), static_cast<int64_t>(n), permute_heads, true);
    else
      p = v;
    const size_t bytes = dtype_row_bytes(o.norm_type, n);
    auto& buf = buffers.emplace_back(bytes);
    quantize_row(o.norm_type, p.data(), buf.data(), n);
    items.push_back({name, o.norm_type, {static_cast<int64_t>(n)}, buf.data(), bytes});
  };

  // gpt-oss's experts (model/hf_experts.h): MXFP4 stays MXFP4 as U8 blocks and scales, other
  // types become dense [E, in, out] matrices of the written type; gate and up interleave.
  auto add_experts = [&](const LayerWeights& w, const std::string& b) {
    const int64_t E = c.n_experts, D = c.dim, F = c.hidden_dim;
    const std::string gate_up = b + "mlp.experts.gate_up_proj", down = b + "mlp.experts.down_proj";
    auto stacks = [&](const std::string& name, std::vector<std::pair<const Tensor*, Outputs>> parts,
                      int64_t in, int64_t hf_out) {
      if (parts[0].first->type == DType::MXFP4) {
        auto& blocks = buffers.emplace_back(static_cast<size_t>(E * hf_out * in / 2));
        auto& scales = buffers.emplace_back(static_cast<size_t>(E * hf_out * in / 32));
        for (const auto& [t, pick] : parts) {
          require(t->type == DType::MXFP4, dir,
                  "tensor " + t->name + " is not MXFP4 like its pair");
          mxfp4_experts_to_hf(t->data, E, hf_out, in, pick, blocks.data(), scales.data());
        }
        items.push_back({name + "_blocks",
                         DType::F32,
                         {E, hf_out, in / 32, 16},
                         blocks.data(),
                         blocks.size(),
                         true});
        items.push_back({name + "_scales",
                         DType::F32,
                         {E, hf_out, in / 32},
                         scales.data(),
                         scales.size(),
                         true});
        return;
      }
      const DType out = o.weight_type.value_or(weight_type);
      const size_t elem = dtype_row_bytes(out, 1);
      auto& bytes = buffers.emplace_back(static_cast<size_t>(E * in * hf_out) * elem);
      std::vector<float> row(static_cast<size_t>(in));
      std::vector<uint8_t> packed(static_cast<size_t>(in) * elem);
      for (const auto& [t, pick] : parts) {
        const int64_t rows = picked(hf_out, pick);
        std::vector<uint8_t> mine(static_cast<size_t>(E * rows * in) * elem);
        for (int64_t r = 0; r < E * rows; ++r) {
          dequantize_row(t->type, t->data + static_cast<size_t>(r) * t->row_bytes(), row.data(),
                         row.size());
          quantize_row(out, row.data(), mine.data() + static_cast<size_t>(r * in) * elem,
                       row.size());
        }
        dense_experts(mine.data(), bytes.data(), E, in, hf_out, pick, elem, true);
      }
      items.push_back({name, out, {E, in, hf_out}, bytes.data(), bytes.size()});
    };
    stacks(gate_up, {{&w.exp_gate, Outputs::Even}, {&w.exp_up, Outputs::Odd}}, D, 2 * F);
    stacks(down, {{&w.exp_down, Outputs::All}}, F, D);
    auto biases = [&](const std::string& name, std::vector<std::pair<const Tensor*, Outputs>> parts,
                      int64_t hf_n) {
      std::vector<float> v(static_cast<size_t>(E * hf_n));
      for (const auto& [t, pick] : parts) {
        const int64_t n = picked(hf_n, pick);
        for (int64_t e = 0; e < E; ++e)
          for (int64_t r = 0; r < n; ++r)
            v[static_cast<size_t>(e * hf_n + hf_output(r, pick))] = t->f32()[e * n + r];
      }
      const size_t bytes = dtype_row_bytes(o.norm_type, v.size());
      auto& buf = buffers.emplace_back(bytes);
      quantize_row(o.norm_type, v.data(), buf.data(), v.size());
      items.push_back({name, o.norm_type, {E, hf_n}, buf.data(), bytes});
    };
    biases(gate_up + "_bias", {{&w.exp_gate_b, Outputs::Even}, {&w.exp_up_b, Outputs::Odd}}, 2 * F);
    biases(down + "_bias", {{&w.exp_down_b, Outputs::All}}, D);
  };

  const float shift = a.hf_norm_plus_one ? 1.0f : 0.0f;
  if (const HfLayout* lay = a.hf_layout) {
    require(!lay->qkv_per_head || c.n_kv_heads == c.n_heads, dir,
            c.arch + " has no grouped-query attention in Hugging Face folders: " +
                std::to_string(c.n_kv_heads) + " key/value heads for " + std::to_string(c.n_heads) +
                " query heads");
    // The inverse of hf_load.cpp's read_by_layout: parts concatenated, reordered per head,
    // transposed for Conv1D.
    add_matrix(lay->embed, model.token_embd, 0);
    if (lay->positions) add_matrix(lay->positions, model.position_embd, 0);
    for (size_t l = 0; l < model.layers.size(); ++l) {
      const std::string b = lay->layers + std::to_string(l) + ".";
      const LayerWeights& w = model.layers[l];
      for (const HfLayout::Entry& e : lay->layer) {
        if (!(w.*e.parts[0]).data) continue;
        const bool matrix = (w.*e.parts[0]).ne.size() == 2;
        std::vector<Tensor> parts;  // matrices in the written type, biases as they are
        for (auto p : e.parts) parts.push_back(matrix ? convert(w.*p) : w.*p);
        std::vector<const Tensor*> ptrs;
        for (const Tensor& t : parts) ptrs.push_back(&t);
        std::vector<int64_t> ne;
        std::vector<uint8_t>* bytes = &buffers.emplace_back(concat_parts(ptrs, ne));
        const int64_t total = ne.size() == 1 ? ne[0] : ne[1];
        if (lay->qkv_per_head && e.parts.size() == 3) {
          const size_t row_bytes = bytes->size() / static_cast<size_t>(total);
          auto& out = buffers.emplace_back(bytes->size());
          qkv_per_head(bytes->data(), out.data(), row_bytes, c.n_heads, c.head_dim, true);
          bytes = &out;
        }
        const Tensor whole{b + e.name, parts[0].type, ne, bytes->data()};
        if (!matrix) {
          add_vector(b + e.name, whole, 0, 0);
        } else if (lay->conv1d) {
          const size_t elem = whole.type == DType::F32 ? 4 : 2;
          auto& out = buffers.emplace_back(bytes->size());
          transpose(bytes->data(), out.data(), total, ne[0], elem);
          items.push_back({b + e.name, whole.type, {ne[0], total}, out.data(), out.size()});
        } else {
          items.push_back({b + e.name, whole.type, {total, ne[0]}, bytes->data(), bytes->size()});
        }
      }
    }
    const std::string norm = lay->final_norm;
    add_vector(norm + ".weight", model.output_norm, 0, 0);
    if (model.output_norm_b.data) add_vector(norm + ".bias", model.output_norm_b, 0, 0);
    if (!model.tied_output) add_matrix(lay->lm_head, model.output, 0);
  } else {
    add_matrix("model.embed_tokens.weight", model.token_embd, 0);
    for (size_t l = 0; l < model.layers.size(); ++l) {
      const std::string b = "model.layers." + std::to_string(l) + ".";
      const ModelConfig layer_c = c.layer_view(static_cast<int>(l));  // its own head counts
      for (const LayerSlot& s : layer_slots()) {
        const Tensor& t = model.layers[l].*s.member;
        if (!t.data || is_expert(s.member)) continue;
        require(hf_layer_name(s.member, a) != nullptr, dir,
                "tensor " + t.name + " has no Hugging Face name for " + c.arch);
        const std::string name = b + hf_layer_name(s.member, a);
        const int heads = permuted_heads(s.member, layer_c);
        if (s.matrix)
          add_matrix(name, t, heads);
        else
          add_vector(name, t, is_norm(s.member) ? shift : 0, heads);
      }
      if (a.moe) add_experts(model.layers[l], b);
    }
    add_vector("model.norm.weight", model.output_norm, shift, 0);
    if (!model.tied_output) add_matrix("lm_head.weight", model.output, 0);
  }

  // Shards: consecutive runs of tensors of about equal size.
  uint64_t total = 0;
  for (const Item& it : items) total += it.nbytes;
  const int n = std::min<int>(o.shards, static_cast<int>(items.size()));
  std::vector<SafetensorsWriter> writers(static_cast<size_t>(n));
  std::vector<std::string> files(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, n);
    files[k] = n == 1 ? "model.safetensors" : name;
    writers[k].set_metadata("format", "pt");
  }
  json weight_map = json::object();
  uint64_t before = 0;
  int shard = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    const Item& it = items[k];
    // Move on once this shard holds its share, keeping one tensor for each shard left.
    while (shard + 1 < n &&
           (before >= total / static_cast<uint64_t>(n) * static_cast<uint64_t>(shard + 1) ||
            items.size() - k <= static_cast<size_t>(n - 1 - shard)) &&
           writers[shard].data_bytes() > 0)
      ++shard;
    if (it.u8)
      writers[shard].add_u8(it.name, it.shape, it.data);
    else
      writers[shard].add_tensor(it.name, it.type, it.shape, it.data);
    weight_map[it.name] = files[shard];
    before += it.nbytes;
  }
  for (int k = 0; k < n; ++k) writers[k].write(join(dir, files[k]));
  // A folder written before with the other layout must not keep a stale index or file.
  std::error_code ec;
  if (n > 1) {
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomic(join(dir, "model.safetensors.index.json"), index.dump(2) + "\n");
    fs::remove(join(dir, "model.safetensors"), ec);
  } else {
    fs::remove(join(dir, "model.safetensors.index.json"), ec);
  }
  write_file_atomic(join(dir, "config.json"), config.dump(2) + "\n");

  if (!o.tokenizer_json.empty()) {
    auto copy = [&](const std::string& from, const std::string& to) {
      std::ifstream in(from, std::ios::binary);
      if (!in) throw InputError(from, "cannot open");
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      write_file_atomic(join(dir, to), text);
    };
    copy(o.tokenizer_json, "tokenizer.json");
    const fs::path cfg = fs::path(o.tokenizer_json).parent_path() / "tokenizer_config.json";
    if (fs::exists(cfg)) copy(cfg.string(), "tokenizer_config.json");
  }
}

}  // namespace ss
