#include "model/model_export.h"

#include <cmath>
#include <cstdio>
#include <deque>
#include <vector>

#include "format/gguf.h"
#include "model/arch.h"
#include "model/attention_kind.h"
#include "model/fused.h"
#include "model/yarn_rope.h"
#include "ops/dequant.h"

namespace ss {

GgufMetadata vocab_metadata(const Vocab& vocab) {
  std::vector<int32_t> types(vocab.types.size());
  for (size_t i = 0; i < types.size(); ++i) types[i] = static_cast<int32_t>(vocab.types[i]);
  return {
      {"tokenizer.ggml.model", GgufValue::of_string(vocab.model)},
      {"tokenizer.ggml.tokens", GgufValue::of_strings(vocab.tokens)},
      {"tokenizer.ggml.scores", GgufValue::of_f32s(vocab.scores)},
      {"tokenizer.ggml.token_type", GgufValue::of_i32s(types)},
      {"tokenizer.ggml.bos_token_id", GgufValue::of_u32(vocab.bos_id)},
      {"tokenizer.ggml.eos_token_id", GgufValue::of_u32(vocab.eos_id)},
      {"tokenizer.ggml.unknown_token_id", GgufValue::of_u32(vocab.unk_id)},
      {"tokenizer.ggml.add_bos_token", GgufValue::of_bool(vocab.add_bos)},
      {"tokenizer.ggml.add_eos_token", GgufValue::of_bool(false)},
      {"tokenizer.ggml.add_space_prefix", GgufValue::of_bool(vocab.add_space_prefix)},
  };
}

GgufMetadata tokenizer_metadata(const GgufFile& gguf) {
  GgufMetadata out;
  for (const auto& [key, value] : gguf.metadata())
    if (key.rfind("tokenizer.", 0) == 0) out.emplace_back(key, value);
  return out;
}

namespace {

// One tensor of the file and the model tensors it is made of (several for a fused one).
struct FileTensor {
  std::string name;
  std::vector<const Tensor*> parts;
  bool matrix;
};

// The file's tensors in the order written: the one walk of the model that both
// model_gguf_tensors and write_model_gguf use.
std::vector<FileTensor> file_tensors(const Model& model) {
  const ArchSpec& arch = arch_of(model.config);
  std::vector<FileTensor> out;
  out.push_back({"token_embd.weight", {&model.token_embd}, true});
  out.push_back({"output_norm.weight", {&model.output_norm}, false});
  if (!model.tied_output) out.push_back({"output.weight", {&model.output}, true});
  for (const GlobalSlot& s : global_slots())
    if ((model.*s.member).data)
      out.push_back({s.gguf_name, {&(model.*s.member)}, s.member == &Model::position_embd});
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const LayerWeights& lw = model.layers[l];
    for (const LayerSlot& s : layer_slots()) {
      const Tensor& t = lw.*s.member;
      if (t.data && !is_fused_part(arch, s.member) && gguf_slot_name(s, arch))
        out.push_back({b + gguf_slot_name(s, arch), {&t}, s.matrix});
    }
    for (const FusedSlot& f : gguf_fused_slots(arch)) {
      FileTensor ft{b + f.gguf_name, {}, (lw.*f.parts[0]).ne.size() == 2};
      for (auto m : f.parts) ft.parts.push_back(&(lw.*m));
      out.push_back(std::move(ft));
    }
  }
  return out;
}

GgufTensorInfo info_of(const FileTensor& f) {
  const Tensor& first = *f.parts[0];
  std::vector<int64_t> ne = first.ne;
  if (f.parts.size() > 1) {  // fused: the parts' rows (or a bias's values) one after another
    int64_t n = 0;
    for (const Tensor* t : f.parts) n += t->ne.size() == 1 ? t->cols() : t->rows();
    ne = first.ne.size() == 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{first.cols(), n};
  }
  return {f.name, ne, first.type, f.matrix};
}

}  // namespace

std::vector<GgufTensorInfo> model_gguf_tensors(const Model& model) {
  std::vector<GgufTensorInfo> out;
  for (const FileTensor& f : file_tensors(model)) out.push_back(info_of(f));
  return out;
}

void write_model_gguf(const Model& model, const GgufMetadata& tokenizer, const std::string& path,
                      const TensorTypeFn& type_of, const std::string& name,
                      const GgufMetadata& extra) {
  const ModelConfig& c = model.config;
  const std::string p = c.arch + ".";
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string(c.arch));
  w.set("general.name", GgufValue::of_string(name.empty() ? "sinkscope export" : name));
  w.set("general.alignment", GgufValue::of_u32(32));
  w.set(p + "context_length", GgufValue::of_u32(c.max_seq_len));
  w.set(p + "embedding_length", GgufValue::of_u32(c.dim));
  w.set(p + "block_count", GgufValue::of_u32(c.n_layers));
  w.set(p + "feed_forward_length", GgufValue::of_u32(c.hidden_dim));
  if (c.n_experts > 0) {
    w.set(p + "expert_feed_forward_length", GgufValue::of_u32(c.hidden_dim));
    w.set(p + "expert_count", GgufValue::of_u32(c.n_experts));
    w.set(p + "expert_used_count", GgufValue::of_u32(c.n_experts_used));
  }
  const ArchSpec& arch = arch_of(c);
  if (!arch.learned_positions && c.positional == PositionKind::Rope)
    w.set(p + "rope.dimension_count", GgufValue::of_u32(c.rotated_dims()));
  if (c.uniform_heads()) {
    w.set(p + "attention.head_count", GgufValue::of_u32(c.n_heads));
    w.set(p + "attention.head_count_kv", GgufValue::of_u32(c.n_kv_heads));
  } else {
    // One count per layer, as llama.cpp writes OpenELM's (see prune/remove_heads.h for who reads
    // these).
    w.set(p + "attention.head_count", GgufValue::of_i32s(c.layer_n_heads));
    w.set(p + "attention.head_count_kv", GgufValue::of_i32s(c.layer_n_kv_heads));
  }
  w.set(p + "attention.key_length", GgufValue::of_u32(c.head_dim));
  w.set(p + "attention.value_length", GgufValue::of_u32(c.head_dim));
  w.set(p + (c.norm == NormKind::Layer ? "attention.layer_norm_epsilon"
                                       : "attention.layer_norm_rms_epsilon"),
        GgufValue::of_f32(c.norm_eps));
  w.set(p + "rope.freq_base", GgufValue::of_f32(c.rope_theta));
  if (c.rope_scale != 1.0f) {
    w.set(p + "rope.scaling.type", GgufValue::of_string("linear"));
    w.set(p + "rope.scaling.factor", GgufValue::of_f32(c.rope_scale));
  }
  if (c.yarn_factor > 0) {
    w.set(p + "rope.scaling.type", GgufValue::of_string("yarn"));
    w.set(p + "rope.scaling.factor", GgufValue::of_f32(c.yarn_factor));
    w.set(p + "rope.scaling.original_context_length", GgufValue::of_u32(c.yarn_orig_ctx));
    w.set(p + "rope.scaling.yarn_beta_fast", GgufValue::of_f32(c.yarn_beta_fast));
    w.set(p + "rope.scaling.yarn_beta_slow", GgufValue::of_f32(c.yarn_beta_slow));
    const double attn = c.rope_attn_factor / yarn_attention_factor(c.yarn_factor);
    if (std::fabs(attn - 1.0) > 1e-7)
      w.set(p + "rope.scaling.attn_factor", GgufValue::of_f32(static_cast<float>(attn)));
    if (!c.yarn_truncate) {  // transformers' truncate false: llama.cpp always rounds
      w.set("sinkscope.rope.scaling.yarn_truncate", GgufValue::of_bool(false));
      std::fprintf(stderr,
                   "warning: %s: YaRN without rounding the ramp's ends (transformers' truncate "
                   "false) is kept in sinkscope.rope.scaling.yarn_truncate, which llama.cpp "
                   "ignores\n",
                   path.c_str());
    }
  }
  if (c.sliding_window > 0) {
    w.set(p + "attention.sliding_window", GgufValue::of_u32(c.sliding_window));
    if (c.swa_local_rope) w.set(p + "rope.freq_base_swa", GgufValue::of_f32(c.rope_theta_swa));
  }
  if (c.final_logit_softcap > 0)
    w.set(p + "final_logit_softcapping", GgufValue::of_f32(c.final_logit_softcap));
  if (c.attn_logit_softcap > 0)
    w.set(p + "attn_logit_softcapping", GgufValue::of_f32(c.attn_logit_softcap));
  if (c.query_scale != default_query_scale(c)) {
    w.set("sinkscope.query_scale", GgufValue::of_f32(c.query_scale));
    std::fprintf(stderr,
                 "warning: %s: query scale %g is not the one %s GGUF readers derive; it is kept "
                 "in sinkscope.query_scale, which llama.cpp ignores\n",
                 path.c_str(), static_cast<double>(c.query_scale), c.arch.c_str());
  }
  // Other readers (llama.cpp) ignore the key and would run such a model as plain softmax.
  if (c.attention != AttentionKind::Softmax)
    w.set(kAttentionKey, GgufValue::of_string(attention_kind_name(c.attention)));
  if (c.norm_placement != NormPlacement::Pre)
    w.set(kNormKey, GgufValue::of_string(norm_placement_name(c.norm_placement)));
  if (c.positional != PositionKind::Rope)
    w.set(kPositionalKey, GgufValue::of_string(position_kind_name(c.positional)));
  if (arch.gguf_write) arch.gguf_write(c, w);
  w.set(p + "vocab_size", GgufValue::of_u32(c.vocab_size));
  for (const auto& [key, value] : tokenizer) w.set(key, value);
  for (const auto& [key, value] : extra) w.set(key, value);

  // Converted and fused tensors need storage that outlives write() (a deque keeps them put).
  std::deque<std::vector<uint8_t>> buffers;
  // t in the dtype `out`: the model's own bytes, or a converted copy.
  auto encode = [&](const Tensor& t, DType out) {
    if (out == t.type) return t;
    // every row of every matrix of a 3-D expert stack
    const size_t cols = static_cast<size_t>(t.cols()), rows = t.nbytes() / t.row_bytes();
    std::vector<float> row(cols);
    auto& buf = buffers.emplace_back(dtype_row_bytes(out, cols) * rows);
    for (size_t r = 0; r < rows; ++r) {
      dequantize_row(t.type, t.row(static_cast<int64_t>(r)), row.data(), cols);
      quantize_row(out, row.data(), buf.data() + r * dtype_row_bytes(out, cols), cols);
    }
    Tensor c = t;
    c.type = out;
    c.data = buf.data();
    return c;
  };
  for (const FileTensor& f : file_tensors(model)) {
    const DType out = type_of(info_of(f));
    std::vector<Tensor> parts;
    for (const Tensor* t : f.parts) parts.push_back(encode(*t, out));
    Tensor t = parts[0];
    if (parts.size() > 1) {
      std::vector<const Tensor*> ptrs;
      for (const Tensor& p : parts) ptrs.push_back(&p);
      t.data = buffers.emplace_back(concat_parts(ptrs, t.ne)).data();
    }
    std::vector<uint64_t> ne;
    for (auto d : t.ne) ne.push_back(static_cast<uint64_t>(d));
    w.add_tensor(f.name, t.type, ne, t.data);
  }
  w.write(path);
}

void write_model_gguf(const Model& model, const GgufMetadata& tokenizer, const std::string& path,
                      std::optional<DType> weight_type, const std::string& name,
                      const GgufMetadata& extra) {
  auto type_of = [&](const GgufTensorInfo& t) {
    return t.matrix ? weight_type.value_or(t.type) : DType::F32;
  };
  write_model_gguf(model, tokenizer, path, TensorTypeFn(type_of), name, extra);
}

void write_llama_gguf(const Model& model, const Vocab& vocab, const std::string& path,
                      std::optional<DType> weight_type, const std::string& name,
                      const std::vector<std::pair<std::string, GgufValue>>& extra) {
  write_model_gguf(model, vocab_metadata(vocab), path, weight_type, name, extra);
}

}  // namespace ss
