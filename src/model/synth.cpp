#include "model/synth.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "base/error.h"
#include "model/arch.h"
#include "ops/dequant.h"

namespace ss {
namespace {

// Gives each tensor its own buffer in m.owned and points the view at it.
Tensor own(Model& m, std::string name, DType type, std::vector<int64_t> ne, const float* values) {
  Tensor t{std::move(name), type, std::move(ne), nullptr};
  const size_t cols = static_cast<size_t>(t.cols());
  const size_t rows = static_cast<size_t>(t.n_elements() / t.cols());  // 3-D stacks too
  auto& buf = m.owned.emplace_back(dtype_row_bytes(type, cols) * rows);
  for (size_t r = 0; r < rows; ++r)
    quantize_row(type, values + r * cols, buf.data() + r * dtype_row_bytes(type, cols), cols);
  t.data = buf.data();
  return t;
}

}  // namespace

ModelConfig synth_shape(const std::string& arch, const std::string& shape) {
  const bool tiny = shape == "tiny", big = shape == "280m";
  if (!tiny && !big && shape != "small")
    throw InputError("--shape", "unknown shape '" + shape + "' (tiny, small, 280m)");
  ModelConfig c;
  c.arch = arch;
  c.dim = tiny ? 64 : 256;
  c.hidden_dim = tiny ? 128 : 512;
  c.n_heads = tiny ? 4 : 8;
  c.n_kv_heads = tiny ? 2 : 4;
  c.head_dim = tiny ? 16 : 32;
  c.n_layers = tiny ? 2 : 4;
  c.max_seq_len = tiny ? 256 : 1024;
  if (big) {  // the layers of bench's llama-280m: about 240M parameters besides the vocabulary
    c.dim = 1024, c.hidden_dim = 4096, c.n_heads = 16, c.n_kv_heads = 4, c.head_dim = 64;
    c.n_layers = 16;
  }
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  if (const ArchSpec& a = arch_of(c); a.synth_shape) a.synth_shape(c, tiny);
  return c;
}

Model make_random_model(const ModelConfig& c, uint64_t seed, DType weight_type, bool tied) {
  Model m;
  m.path = "synthetic";
  m.config = c;
  m.owned.reserve(8 + layer_slots().size() * static_cast<size_t>(c.n_layers));
  std::mt19937_64 rng(seed);
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
    std::normal_distribution<float> dist(0.0f, 1.0f / std::sqrt(static_cast<float>(cols)));
    std::vector<float> v(static_cast<size_t>(cols * rows));
    for (float& x : v) x = dist(rng);
    return own(m, name, weight_type, {cols, rows}, v.data());
  };
  auto vec = [&](const std::string& name, int n, float mean, float sd) {
    std::normal_distribution<float> dist(mean, sd);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return own(m, name, DType::F32, {n}, v.data());
  };
  auto norm = [&](const std::string& name) { return vec(name, c.dim, 1.0f, 0.1f); };
  // n matrices (rows > 0, weight_type) or n f32 bias vectors (rows 0) stacked, as MoE experts.
  auto stack = [&](const std::string& name, int64_t cols, int64_t rows, int64_t n, float sd) {
    std::normal_distribution<float> dist(0.0f,
                                         rows ? 1.0f / std::sqrt(static_cast<float>(cols)) : sd);
    std::vector<float> v(static_cast<size_t>(cols * std::max<int64_t>(rows, 1) * n));
    for (float& x : v) x = dist(rng);
    return rows ? own(m, name, weight_type, {cols, rows, n}, v.data())
                : own(m, name, DType::F32, {cols, n}, v.data());
  };
  const ArchSpec* arch = find_arch(c.arch);
  if (!arch) throw std::invalid_argument("make_random_model: unknown architecture " + c.arch);
  m.token_embd = matrix("token_embd.weight", c.dim, c.vocab_size);
  m.output_norm = norm("output_norm.weight");
  m.tied_output = tied;
  m.output = tied ? m.token_embd : matrix("output.weight", c.dim, c.vocab_size);
  m.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights& w = m.layers[l];
    if (arch->pre_norms) w.attn_norm = norm(b + "attn_norm.weight");
    w.wq = matrix(b + "attn_q.weight", c.dim, c.q_dim());
    w.wk = matrix(b + "attn_k.weight", c.dim, c.kv_dim());
    w.wv = matrix(b + "attn_v.weight", c.dim, c.kv_dim());
    w.wo = matrix(b + "attn_output.weight", c.q_dim(), c.dim);
    if (arch->pre_norms) w.ffn_norm = norm(b + "ffn_norm.weight");
    if (!arch->moe) {
      if (c.ffn_gated) w.w_gate = matrix(b + "ffn_gate.weight", c.dim, c.hidden_dim);
      w.w_down = matrix(b + "ffn_down.weight", c.hidden_dim, c.dim);
      w.w_up = matrix(b + "ffn_up.weight", c.dim, c.hidden_dim);
    }
    // Tensors of the other architectures come after, so llama models keep their weights.
    if (arch->qkv_bias) {
      w.bq = vec(b + "attn_q.bias", c.q_dim(), 0.0f, 0.5f);
      w.bk = vec(b + "attn_k.bias", c.kv_dim(), 0.0f, 0.5f);
      w.bv = vec(b + "attn_v.bias", c.kv_dim(), 0.0f, 0.5f);
    }
    if (arch->qk_norm) {
      w.q_norm = vec(b + "attn_q_norm.weight", q_norm_width(*arch, c), 1.0f, 0.1f);
      w.k_norm = vec(b + "attn_k_norm.weight", k_norm_width(*arch, c), 1.0f, 0.1f);
    }
    if (arch->post_norms) {
      w.post_attn_norm = norm(b + "post_attention_norm.weight");
      w.post_ffn_norm = norm(b + "post_ffw_norm.weight");
    }
    if (arch->attn_out_bias) w.bo = vec(b + "attn_output.bias", c.dim, 0.0f, 0.1f);
    if (arch->attn_sinks || c.attention == AttentionKind::SinkLogit)
      w.attn_sinks = vec(b + "attn_sinks.weight", c.n_heads, 0.0f, 1.0f);
    if (c.attention == AttentionKind::SinkKv) {  // key and value as large as the others
      w.attn_sink_k = stack(b + "attn_sink_k.weight", c.head_dim, 0, c.n_kv_heads, 1.0f);
      w.attn_sink_v = stack(b + "attn_sink_v.weight", c.head_dim, 0, c.n_kv_heads, 1.0f);
    }
    if (arch->moe) {
      const int64_t E = c.n_experts;
      w.router = matrix(b + "ffn_gate_inp.weight", c.dim, E);
      w.router_b = vec(b + "ffn_gate_inp.bias", static_cast<int>(E), 0.0f, 0.5f);
      w.exp_gate = stack(b + "ffn_gate_exps.weight", c.dim, c.hidden_dim, E, 0);
      w.exp_gate_b = stack(b + "ffn_gate_exps.bias", c.hidden_dim, 0, E, 0.5f);
      w.exp_up = stack(b + "ffn_up_exps.weight", c.dim, c.hidden_dim, E, 0);
      w.exp_up_b = stack(b + "ffn_up_exps.bias", c.hidden_dim, 0, E, 0.5f);
      w.exp_down = stack(b + "ffn_down_exps.weight", c.hidden_dim, c.dim, E, 0);
      w.exp_down_b = stack(b + "ffn_down_exps.bias", c.dim, 0, E, 0.1f);
    }
    if (c.norm == NormKind::Layer) {
      w.attn_norm_b = vec(b + "attn_norm.bias", c.dim, 0.0f, 0.1f);
      w.ffn_norm_b = vec(b + "ffn_norm.bias", c.dim, 0.0f, 0.1f);
    }
    if (arch->linear_biases) {
      w.bo = vec(b + "attn_output.bias", c.dim, 0.0f, 0.1f);
      w.b_up = vec(b + "ffn_up.bias", c.hidden_dim, 0.0f, 0.5f);
      w.b_down = vec(b + "ffn_down.bias", c.dim, 0.0f, 0.1f);
    }
  }
  if (c.norm == NormKind::Layer) m.output_norm_b = vec("output_norm.bias", c.dim, 0.0f, 0.1f);
  if (arch->learned_positions)
    m.position_embd = matrix("position_embd.weight", c.dim, c.max_seq_len);
  if (c.rope_orig_ctx > 0) {  // Phi-3 longrope: short factors near 1, long ones growing
    const int n = c.rotated_dims() / 2;
    std::vector<float> s(n), l(n);
    std::uniform_real_distribution<float> jitter(0.0f, 0.2f);
    for (int i = 0; i < n; ++i) {
      s[i] = 1.0f + jitter(rng);
      l[i] = 1.0f + 3.0f * static_cast<float>(i) / static_cast<float>(n) + jitter(rng);
    }
    m.rope_factors_short = own(m, "rope_factors_short.weight", DType::F32, {n}, s.data());
    m.rope_factors_long = own(m, "rope_factors_long.weight", DType::F32, {n}, l.data());
  }
  validate_model(m);
  return m;
}

Model clone_model(const Model& src) {
  Model m;
  m.path = src.path;
  m.config = src.config;
  m.tied_output = src.tied_output;
  m.owned.reserve(8 + layer_slots().size() * src.layers.size());
  auto copy = [&](const Tensor& t) {
    Tensor out = t;
    auto& buf = m.owned.emplace_back(t.nbytes());
    std::memcpy(buf.data(), t.data, buf.size());
    out.data = buf.data();
    return out;
  };
  m.token_embd = copy(src.token_embd);
  m.output_norm = copy(src.output_norm);
  m.output = src.tied_output ? m.token_embd : copy(src.output);
  m.output.name = src.output.name;
  for (const GlobalSlot& s : global_slots())
    if ((src.*s.member).data) m.*s.member = copy(src.*s.member);
  for (const auto& l : src.layers) {
    LayerWeights& w = m.layers.emplace_back();
    for (const LayerSlot& s : layer_slots())
      if ((l.*s.member).data) w.*s.member = copy(l.*s.member);
  }
  return m;
}

Tensor add_owned_f32(Model& m, const std::string& name, std::vector<int64_t> ne,
                     const std::vector<float>& values) {
  return own(m, name, DType::F32, std::move(ne), values.data());
}

uint8_t* mutable_data(Model& m, const Tensor& t) {
  for (auto& buf : m.owned)
    if (buf.data() == t.data) return buf.data();
  throw std::logic_error("tensor " + t.name + " is not owned by the model");
}

}  // namespace ss
