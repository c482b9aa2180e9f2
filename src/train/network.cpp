#include "train/network.h"

#include <algorithm>

namespace ss::train {

namespace {
void zero(std::vector<float>& v) {
  std::fill(v.begin(), v.end(), 0.0f);
}
void add(std::vector<float>& x, const std::vector<float>& y) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

// The layer's attention variant parameters in P (or their gradients in G).
AttnVariant variant_of(const ModelConfig& c, const LayerOffsets& o, const float* P) {
  AttnVariant v;
  v.kind = c.attention;
  if (o.sink_logit != kNoParam) v.sink_logit = P + o.sink_logit;
  if (o.sink_k != kNoParam) v.sink_k = P + o.sink_k, v.sink_v = P + o.sink_v;
  return v;
}
AttnVariantGrads variant_grads(const LayerOffsets& o, float* G) {
  AttnVariantGrads g;
  if (o.sink_logit != kNoParam) g.sink_logit = G + o.sink_logit;
  if (o.sink_k != kNoParam) g.sink_k = G + o.sink_k, g.sink_v = G + o.sink_v;
  return g;
}
}  // namespace

Network::Network(const ParamLayout& layout, ThreadPool& pool)
    : l_(layout),
      pool_(pool),
      rope_(layout.config.max_seq_len, layout.config.head_dim, layout.config.rope_theta) {}

void Network::resize(int batch, int seq) {
  if (batch == batch_ && seq == seq_) return;
  batch_ = batch;
  seq_ = seq;
  const ModelConfig& c = l_.config;
  const size_t n = static_cast<size_t>(batch) * seq, d = c.dim, hid = c.hidden_dim;
  const size_t qd = c.q_dim(), kvd = c.kv_dim();
  acts_.assign(c.n_layers, {});
  for (auto& a : acts_) {
    a.xin.resize(n * d), a.xn1.resize(n * d), a.r1.resize(n);
    a.q.resize(n * qd), a.k.resize(n * kvd), a.v.resize(n * kvd);
    a.p.resize(static_cast<size_t>(batch) * c.n_heads * seq * seq);
    a.p_sink.resize(static_cast<size_t>(batch) * c.n_heads * seq);
    a.z.resize(n * qd), a.xmid.resize(n * d), a.xn2.resize(n * d), a.r2.resize(n);
    a.g.resize(n * hid), a.u.resize(n * hid), a.h.resize(n * hid);
  }
  xf_.resize(n * d), xnf_.resize(n * d), rf_.resize(n);
  logits_.resize(n * c.vocab_size), dlogits_.resize(n * c.vocab_size);
  dx_.resize(n * d), dtmp_.resize(n * d), dxn_.resize(n * d);
  dh_.resize(n * hid), dg_.resize(n * hid), du_.resize(n * hid);
  dz_.resize(n * qd), dq_.resize(n * qd), dk_.resize(n * kvd), dv_.resize(n * kvd);
}

double Network::step(const float* P, float* G, const Batch& b) {
  const ModelConfig& c = l_.config;
  resize(b.batch, b.seq);
  const size_t n = static_cast<size_t>(b.batch) * b.seq, d = c.dim, hid = c.hidden_dim;
  const size_t qd = c.q_dim(), kvd = c.kv_dim(), V = c.vocab_size;
  const AttnShape shape{b.batch, b.seq, c.n_heads, c.n_kv_heads, c.head_dim};
  const bool post = c.norm_placement == NormPlacement::Post;
  const bool rope = c.positional == PositionKind::Rope;
  auto rope_rows = [&](float* m, int heads, size_t width, bool inverse) {
    for (size_t t = 0; t < n; ++t)
      rope_apply(m + t * width, heads, static_cast<int>(t % b.seq), rope_, inverse);
  };

  // ---- forward ----
  std::vector<float> x(n * d);
  for (size_t t = 0; t < n; ++t)
    std::copy_n(P + l_.embd + static_cast<size_t>(b.tokens[t]) * d, d, x.data() + t * d);
  if (l_.position != kNoParam)  // learned absolute positions, row t % seq of the table
    for (size_t t = 0; t < n; ++t) {
      const float* row = P + l_.position + (t % b.seq) * d;
      for (size_t i = 0; i < d; ++i) x[t * d + i] += row[i];
    }
  // Pre-LN: each branch reads its norm of x. Post-LN: the branches read x itself and each
  // residual sum is normed; xin and xmid are then the sums, xn1 the layer's input, xn2 h.
  for (int li = 0; li < c.n_layers; ++li) {
    LayerActs& a = acts_[li];
    const LayerOffsets& o = l_.layers[li];
    if (post) {
      a.xn1 = x;
    } else {
      a.xin = x;
      rmsnorm_fwd(a.xn1.data(), a.r1.data(), x.data(), P + o.attn_norm, n, d, c.norm_eps);
    }
    linear_fwd(a.q.data(), a.xn1.data(), P + o.wq, n, d, qd, pool_);
    linear_fwd(a.k.data(), a.xn1.data(), P + o.wk, n, d, kvd, pool_);
    linear_fwd(a.v.data(), a.xn1.data(), P + o.wv, n, d, kvd, pool_);
    if (rope) {
      rope_rows(a.q.data(), c.n_heads, qd, false);
      rope_rows(a.k.data(), c.n_kv_heads, kvd, false);
    }
    attention_fwd(a.z.data(), a.p.data(), a.q.data(), a.k.data(), a.v.data(), shape, pool_,
                  variant_of(c, o, P), a.p_sink.data());
    linear_fwd(dtmp_.data(), a.z.data(), P + o.wo, n, qd, d, pool_);
    for (size_t i = 0; i < n * d; ++i) x[i] += dtmp_[i];
    if (post) {
      a.xin = x;
      rmsnorm_fwd(a.xn2.data(), a.r1.data(), x.data(), P + o.attn_norm, n, d, c.norm_eps);
      x = a.xn2;
    } else {
      a.xmid = x;
      rmsnorm_fwd(a.xn2.data(), a.r2.data(), x.data(), P + o.ffn_norm, n, d, c.norm_eps);
    }
    linear_fwd(a.g.data(), a.xn2.data(), P + o.w_gate, n, d, hid, pool_);
    linear_fwd(a.u.data(), a.xn2.data(), P + o.w_up, n, d, hid, pool_);
    swiglu_fwd(a.h.data(), a.g.data(), a.u.data(), n * hid);
    linear_fwd(dtmp_.data(), a.h.data(), P + o.w_down, n, hid, d, pool_);
    for (size_t i = 0; i < n * d; ++i) x[i] += dtmp_[i];
    if (post) {
      a.xmid = x;
      rmsnorm_fwd(x.data(), a.r2.data(), a.xmid.data(), P + o.ffn_norm, n, d, c.norm_eps);
    }
  }
  // The final norm stays under Post-LN too (docs/architecture.md): the file and every reader
  // keep one layout, and on an already normed stream it starts as the identity.
  xf_ = x;
  rmsnorm_fwd(xnf_.data(), rf_.data(), xf_.data(), P + l_.output_norm, n, d, c.norm_eps);
  linear_fwd(logits_.data(), xnf_.data(), P + l_.output, n, d, V, pool_);
  double norm = 0;
  for (float w : b.weight) norm += w;
  if (norm == 0) return 0;
  const double total = cross_entropy(dlogits_.data(), logits_.data(), b.targets.data(),
                                     b.weight.data(), n, V, norm, pool_);
  if (!G) return total / norm;

  // ---- backward ----
  zero(dxn_);
  linear_bwd(dxn_.data(), G + l_.output, dlogits_.data(), xnf_.data(), P + l_.output, n, d, V,
             pool_);
  zero(dx_);
  rmsnorm_bwd(dx_.data(), G + l_.output_norm, dxn_.data(), xf_.data(), rf_.data(),
              P + l_.output_norm, n, d);
  for (int li = c.n_layers - 1; li >= 0; --li) {
    LayerActs& a = acts_[li];
    const LayerOffsets& o = l_.layers[li];
    if (post) {  // x_out = Norm(xmid): dx_ becomes ∂/∂xmid
      zero(dtmp_);
      rmsnorm_bwd(dtmp_.data(), G + o.ffn_norm, dx_.data(), a.xmid.data(), a.r2.data(),
                  P + o.ffn_norm, n, d);
      std::swap(dx_, dtmp_);
    }
    // FFN branch: x_out = xmid + down(swiglu(gate(xn2), up(xn2))) (Pre-LN; Post-LN: xmid = xn2 +
    // down(...)); dx_ is ∂/∂x_out (∂/∂xmid).
    zero(dh_);
    linear_bwd(dh_.data(), G + o.w_down, dx_.data(), a.h.data(), P + o.w_down, n, hid, d, pool_);
    swiglu_bwd(dg_.data(), du_.data(), dh_.data(), a.g.data(), a.u.data(), n * hid);
    zero(dxn_);
    linear_bwd(dxn_.data(), G + o.w_gate, dg_.data(), a.xn2.data(), P + o.w_gate, n, d, hid, pool_);
    linear_bwd(dxn_.data(), G + o.w_up, du_.data(), a.xn2.data(), P + o.w_up, n, d, hid, pool_);
    if (post) {  // h = xn2 feeds the FFN and the residual; then h = Norm(xin)
      add(dx_, dxn_);
      zero(dtmp_);
      rmsnorm_bwd(dtmp_.data(), G + o.attn_norm, dx_.data(), a.xin.data(), a.r1.data(),
                  P + o.attn_norm, n, d);
      std::swap(dx_, dtmp_);
    } else {
      rmsnorm_bwd(dx_.data(), G + o.ffn_norm, dxn_.data(), a.xmid.data(), a.r2.data(),
                  P + o.ffn_norm, n, d);
    }
    // Attention branch: xmid = xin + wo(attn(rope(q), rope(k), v)); dx_ is now ∂/∂xmid.
    zero(dz_);
    linear_bwd(dz_.data(), G + o.wo, dx_.data(), a.z.data(), P + o.wo, n, qd, d, pool_);
    zero(dq_), zero(dk_), zero(dv_);
    attention_bwd(dq_.data(), dk_.data(), dv_.data(), dz_.data(), a.p.data(), a.q.data(),
                  a.k.data(), a.v.data(), shape, pool_, variant_of(c, o, P), a.p_sink.data(),
                  variant_grads(o, G));
    if (rope) {
      rope_rows(dq_.data(), c.n_heads, qd, true);
      rope_rows(dk_.data(), c.n_kv_heads, kvd, true);
    }
    zero(dxn_);
    linear_bwd(dxn_.data(), G + o.wq, dq_.data(), a.xn1.data(), P + o.wq, n, d, qd, pool_);
    linear_bwd(dxn_.data(), G + o.wk, dk_.data(), a.xn1.data(), P + o.wk, n, d, kvd, pool_);
    linear_bwd(dxn_.data(), G + o.wv, dv_.data(), a.xn1.data(), P + o.wv, n, d, kvd, pool_);
    if (post)
      add(dx_, dxn_);
    else
      rmsnorm_bwd(dx_.data(), G + o.attn_norm, dxn_.data(), a.xin.data(), a.r1.data(),
                  P + o.attn_norm, n, d);
  }
  // Embedding rows, in token order (serial: the same row may appear many times).
  for (size_t t = 0; t < n; ++t) {
    float* row = G + l_.embd + static_cast<size_t>(b.tokens[t]) * d;
    for (size_t i = 0; i < d; ++i) row[i] += dx_[t * d + i];
  }
  if (l_.position != kNoParam)
    for (size_t t = 0; t < n; ++t) {
      float* row = G + l_.position + (t % b.seq) * d;
      for (size_t i = 0; i < d; ++i) row[i] += dx_[t * d + i];
    }
  return total / norm;
}

}  // namespace ss::train
