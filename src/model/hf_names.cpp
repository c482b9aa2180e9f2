#include "model/hf_names.h"

#include <cstring>
#include <filesystem>

namespace ss::hf {

std::string join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

const char* hf_layer_name(Tensor LayerWeights::*m, const ArchSpec& a) {
  using L = LayerWeights;
  if (m == &L::attn_norm) return "input_layernorm.weight";
  if (m == &L::wq) return "self_attn.q_proj.weight";
  if (m == &L::bq) return "self_attn.q_proj.bias";
  if (m == &L::wk) return "self_attn.k_proj.weight";
  if (m == &L::bk) return "self_attn.k_proj.bias";
  if (m == &L::wv) return "self_attn.v_proj.weight";
  if (m == &L::bv) return "self_attn.v_proj.bias";
  if (m == &L::q_norm) return "self_attn.q_norm.weight";
  if (m == &L::k_norm) return "self_attn.k_norm.weight";
  if (m == &L::wo) return "self_attn.o_proj.weight";
  if (m == &L::bo) return "self_attn.o_proj.bias";
  if (m == &L::post_attn_norm) return "post_attention_layernorm.weight";
  if (m == &L::ffn_norm) return a.hf_ffn_norm;
  if (m == &L::w_gate) return "mlp.gate_proj.weight";
  if (m == &L::w_up) return "mlp.up_proj.weight";
  if (m == &L::w_down) return "mlp.down_proj.weight";
  if (m == &L::post_ffn_norm) return "post_feedforward_layernorm.weight";
  if (m == &L::attn_sinks) return "self_attn.sinks";
  if (m == &L::router) return "mlp.router.weight";
  if (m == &L::router_b) return "mlp.router.bias";
  return nullptr;  // gpt-oss's experts (model/hf_experts.h) and slots without a HF tensor
}

// GGUF-order shape (cols, rows) of a layer tensor, as validate_model checks it.
std::pair<int64_t, int64_t> slot_shape(Tensor LayerWeights::*m, const ModelConfig& c) {
  using L = LayerWeights;
  if (m == &L::wq) return {c.dim, c.q_dim()};
  if (m == &L::wk || m == &L::wv) return {c.dim, c.kv_dim()};
  if (m == &L::wo) return {c.q_dim(), c.dim};
  if (m == &L::w_gate || m == &L::w_up) return {c.dim, c.hidden_dim};
  if (m == &L::w_down) return {c.hidden_dim, c.dim};
  if (m == &L::bq) return {c.q_dim(), 1};
  if (m == &L::b_up) return {c.hidden_dim, 1};
  if (m == &L::bk || m == &L::bv) return {c.kv_dim(), 1};
  if (m == &L::router) return {c.dim, c.n_experts};
  if (m == &L::router_b) return {c.n_experts, 1};
  if (m == &L::attn_sinks) return {c.n_heads, 1};
  if (m == &L::q_norm) return {q_norm_width(arch_of(c), c), 1};
  if (m == &L::k_norm) return {k_norm_width(arch_of(c), c), 1};
  return {c.dim, 1};  // the dim-wide norms and bo
}

// Heads whose rows the llama rope permutation reorders (0: none).
int permuted_heads(Tensor LayerWeights::*m, const ModelConfig& c) {
  if (!arch_of(c).hf_rope_permuted) return 0;
  if (m == &LayerWeights::wq || m == &LayerWeights::bq) return c.n_heads;
  if (m == &LayerWeights::wk || m == &LayerWeights::bk) return c.n_kv_heads;
  return 0;
}

bool is_norm(Tensor LayerWeights::*m) {
  using L = LayerWeights;
  return m == &L::attn_norm || m == &L::ffn_norm || m == &L::post_attn_norm ||
         m == &L::post_ffn_norm || m == &L::q_norm || m == &L::k_norm;
}

bool is_expert(Tensor LayerWeights::*m) {
  using L = LayerWeights;
  return m == &L::exp_gate || m == &L::exp_up || m == &L::exp_down || m == &L::exp_gate_b ||
         m == &L::exp_up_b || m == &L::exp_down_b;
}

// convert_hf_to_gguf.py's LlamaModel.permute: within each head, the rotate-half row order of
// transformers (i and i + head_dim/2 form a rotary pair) becomes adjacent pairs (2i, 2i+1):
// GGUF row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i. to_hf undoes it.
void permute_rows(const uint8_t* src, uint8_t* dst, size_t row_bytes, int64_t rows, int n_heads,
                  bool to_hf) {
  const int64_t hd = rows / n_heads, half = hd / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t g = h * hd + 2 * i + j, f = h * hd + j * half + i;
        const int64_t from = to_hf ? g : f, to = to_hf ? f : g;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, row_bytes);
      }
}

void transpose(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols, size_t elem) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      std::memcpy(dst + (k * rows + r) * elem, src + (r * cols + k) * elem, elem);
}

void qkv_per_head(const uint8_t* src, uint8_t* dst, size_t row_bytes, int n_heads, int head_dim,
                  bool to_hf) {
  for (int h = 0; h < n_heads; ++h)
    for (int j = 0; j < 3; ++j)
      for (int d = 0; d < head_dim; ++d) {
        const int64_t hf_row = (static_cast<int64_t>(h) * 3 + j) * head_dim + d;
        const int64_t stacked = (static_cast<int64_t>(j) * n_heads + h) * head_dim + d;
        const int64_t from = to_hf ? stacked : hf_row, to = to_hf ? hf_row : stacked;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, row_bytes);
      }
}

}  // namespace ss::hf
