#include "io/model_export.h"

#include <vector>

#include "io/gguf.h"
#include "ops/dequant.h"

namespace ss {

void write_llama_gguf(const Model& model, const Vocab& vocab, const std::string& path,
                      std::optional<DType> weight_type, const std::string& name,
                      const std::vector<std::pair<std::string, GgufValue>>& extra) {
  const ModelConfig& c = model.config;
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("general.name", GgufValue::of_string(name.empty() ? "sinkscope export" : name));
  w.set("general.alignment", GgufValue::of_u32(32));
  w.set("llama.context_length", GgufValue::of_u32(c.max_seq_len));
  w.set("llama.embedding_length", GgufValue::of_u32(c.dim));
  w.set("llama.block_count", GgufValue::of_u32(c.n_layers));
  w.set("llama.feed_forward_length", GgufValue::of_u32(c.hidden_dim));
  w.set("llama.rope.dimension_count", GgufValue::of_u32(c.head_dim));
  w.set("llama.attention.head_count", GgufValue::of_u32(c.n_heads));
  w.set("llama.attention.head_count_kv", GgufValue::of_u32(c.n_kv_heads));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(c.norm_eps));
  w.set("llama.rope.freq_base", GgufValue::of_f32(c.rope_theta));
  w.set("llama.vocab_size", GgufValue::of_u32(c.vocab_size));

  w.set("tokenizer.ggml.model", GgufValue::of_string(vocab.model));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings(vocab.tokens));
  w.set("tokenizer.ggml.scores", GgufValue::of_f32s(vocab.scores));
  std::vector<int32_t> types(vocab.types.size());
  for (size_t i = 0; i < types.size(); ++i) types[i] = static_cast<int32_t>(vocab.types[i]);
  w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::of_u32(vocab.bos_id));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(vocab.eos_id));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::of_u32(vocab.unk_id));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(vocab.add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::of_bool(false));
  w.set("tokenizer.ggml.add_space_prefix", GgufValue::of_bool(vocab.add_space_prefix));

  for (const auto& [key, value] : extra) w.set(key, value);

  // Converted tensors need storage that outlives write().
  std::vector<std::vector<uint8_t>> buffers;
  auto add = [&](const std::string& gguf_name, const Tensor& t, bool is_matrix) {
    DType out = is_matrix ? weight_type.value_or(t.type) : DType::F32;
    std::vector<uint64_t> ne;
    for (auto d : t.ne) ne.push_back(static_cast<uint64_t>(d));
    if (out == t.type) {
      w.add_tensor(gguf_name, out, ne, t.data);
      return;
    }
    const size_t cols = static_cast<size_t>(t.cols()), rows = static_cast<size_t>(t.rows());
    std::vector<float> row(cols);
    auto& buf = buffers.emplace_back(dtype_row_bytes(out, cols) * rows);
    for (size_t r = 0; r < rows; ++r) {
      dequantize_row(t.type, t.row(static_cast<int64_t>(r)), row.data(), cols);
      quantize_row(out, row.data(), buf.data() + r * dtype_row_bytes(out, cols), cols);
    }
    w.add_tensor(gguf_name, out, ne, buf.data());
  };
  buffers.reserve(4 + 9 * model.layers.size());
  add("token_embd.weight", model.token_embd, true);
  add("output_norm.weight", model.output_norm, false);
  if (!model.tied_output) add("output.weight", model.output, true);
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const LayerWeights& L = model.layers[l];
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", L.attn_norm, false);
    add(b + "attn_q.weight", L.wq, true);
    add(b + "attn_k.weight", L.wk, true);
    add(b + "attn_v.weight", L.wv, true);
    add(b + "attn_output.weight", L.wo, true);
    if (L.bo.data) add(b + "attn_output.bias", L.bo, false);
    add(b + "ffn_norm.weight", L.ffn_norm, false);
    add(b + "ffn_gate.weight", L.w_gate, true);
    add(b + "ffn_down.weight", L.w_down, true);
    add(b + "ffn_up.weight", L.w_up, true);
  }
  w.write(path);
}

}  // namespace ss
