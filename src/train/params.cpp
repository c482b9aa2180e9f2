#include "train/params.h"

#include <cmath>
#include <random>

#include "base/error.h"
#include "ops/dequant.h"

namespace ss::train {

ParamLayout make_layout(const ModelConfig& c, bool tied) {
  ParamLayout l;
  l.config = c;
  l.tied = tied;
  auto add = [&](const std::string& name, std::vector<int64_t> ne, bool decay,
                 ParamInit init = ParamInit::Normal) {
    ParamTensor t{name, std::move(ne), l.total, 0, decay, init};
    t.size = 1;
    for (auto d : t.ne) t.size *= static_cast<size_t>(d);
    l.total += t.size;
    l.tensors.push_back(t);
    return t.offset;
  };
  const int64_t d = c.dim, h = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim();
  l.embd = add("token_embd.weight", {d, c.vocab_size}, true);
  l.output_norm = add("output_norm.weight", {d}, false, ParamInit::One);
  l.output = tied ? l.embd : add("output.weight", {d, c.vocab_size}, true);
  // Learned absolute positions after the output, as the GGUF file orders them.
  if (c.positional == PositionKind::Learned)
    l.position = add("position_embd.weight", {d, c.max_seq_len}, true);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    LayerOffsets o{};
    o.attn_norm = add(b + "attn_norm.weight", {d}, false, ParamInit::One);
    o.wq = add(b + "attn_q.weight", {d, q}, true);
    o.wk = add(b + "attn_k.weight", {d, kv}, true);
    o.wv = add(b + "attn_v.weight", {d, kv}, true);
    o.wo = add(b + "attn_output.weight", {q, d}, true);
    o.ffn_norm = add(b + "ffn_norm.weight", {d}, false, ParamInit::One);
    o.w_gate = add(b + "ffn_gate.weight", {d, h}, true);
    o.w_up = add(b + "ffn_up.weight", {d, h}, true);
    o.w_down = add(b + "ffn_down.weight", {h, d}, true);
    // The attention variant's own tensors after the layer's llama ones (GGUF order too).
    if (c.attention == AttentionKind::SinkLogit)
      o.sink_logit = add(b + "attn_sinks.weight", {c.n_heads}, false, ParamInit::Zero);
    if (c.attention == AttentionKind::SinkKv) {
      o.sink_k = add(b + "attn_sink_k.weight", {c.head_dim, c.n_kv_heads}, false);
      o.sink_v = add(b + "attn_sink_v.weight", {c.head_dim, c.n_kv_heads}, false);
    }
    l.layers.push_back(o);
  }
  return l;
}

std::vector<float> init_params(const ParamLayout& l, uint64_t seed) {
  std::vector<float> p(l.total);
  std::mt19937_64 rng(seed);
  const float resid = 0.02f / std::sqrt(2.0f * static_cast<float>(l.config.n_layers));
  for (const ParamTensor& t : l.tensors) {
    float* x = p.data() + t.offset;
    if (t.init != ParamInit::Normal) {
      std::fill(x, x + t.size, t.init == ParamInit::One ? 1.0f : 0.0f);
      continue;
    }
    const bool is_resid = t.name.find("attn_output") != std::string::npos ||
                          t.name.find("ffn_down") != std::string::npos;
    std::normal_distribution<float> dist(0.0f, is_resid ? resid : 0.02f);
    for (size_t i = 0; i < t.size; ++i) x[i] = dist(rng);
  }
  return p;
}

Model model_view(const ParamLayout& l, const float* data) {
  Model m;
  m.path = "training";
  m.config = l.config;
  auto view = [&](size_t index) {
    const ParamTensor& t = l.tensors[index];
    return Tensor{t.name, DType::F32, t.ne, reinterpret_cast<const uint8_t*>(data + t.offset)};
  };
  size_t i = 0;
  m.token_embd = view(i++);
  m.output_norm = view(i++);
  m.tied_output = l.tied;
  m.output = l.tied ? m.token_embd : view(i++);
  if (l.position != kNoParam) m.position_embd = view(i++);
  m.layers.resize(l.layers.size());
  for (auto& w : m.layers) {
    w.attn_norm = view(i++);
    w.wq = view(i++);
    w.wk = view(i++);
    w.wv = view(i++);
    w.wo = view(i++);
    w.ffn_norm = view(i++);
    w.w_gate = view(i++);
    w.w_up = view(i++);
    w.w_down = view(i++);
    if (m.config.attention == AttentionKind::SinkLogit) w.attn_sinks = view(i++);
    if (m.config.attention == AttentionKind::SinkKv) {
      w.attn_sink_k = view(i++);
      w.attn_sink_v = view(i++);
    }
  }
  return m;
}

ParamLayout layout_of(const Model& m) {
  return make_layout(m.config, m.tied_output);
}

std::vector<float> params_of(const Model& m, const ParamLayout& l) {
  require(m.config.arch == "llama", m.path, "training needs a llama model, not " + m.config.arch);
  require(m.config.uniform_heads(), m.path,
          "has per-layer head counts (physically pruned): training needs one head count for every "
          "layer");
  for (const auto& w : m.layers)
    require(w.bo.data == nullptr, m.path, "models with an attn_output bias cannot be trained");
  std::vector<float> p(l.total);
  auto copy = [&](const Tensor& t, size_t offset) {
    const size_t cols = static_cast<size_t>(t.cols());
    for (int64_t r = 0; r < t.rows(); ++r)
      dequantize_row(t.type, t.row(r), p.data() + offset + static_cast<size_t>(r) * cols, cols);
  };
  copy(m.token_embd, l.embd);
  copy(m.output_norm, l.output_norm);
  if (!l.tied) copy(m.output, l.output);
  if (l.position != kNoParam) copy(m.position_embd, l.position);
  for (size_t i = 0; i < l.layers.size(); ++i) {
    const LayerWeights& w = m.layers[i];
    const LayerOffsets& o = l.layers[i];
    copy(w.attn_norm, o.attn_norm);
    copy(w.wq, o.wq);
    copy(w.wk, o.wk);
    copy(w.wv, o.wv);
    copy(w.wo, o.wo);
    copy(w.ffn_norm, o.ffn_norm);
    copy(w.w_gate, o.w_gate);
    copy(w.w_up, o.w_up);
    copy(w.w_down, o.w_down);
    if (o.sink_logit != kNoParam) copy(w.attn_sinks, o.sink_logit);
    if (o.sink_k != kNoParam) {
      copy(w.attn_sink_k, o.sink_k);
      copy(w.attn_sink_v, o.sink_v);
    }
  }
  return p;
}

}  // namespace ss::train
