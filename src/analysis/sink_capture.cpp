#include "analysis/sink_capture.h"

#include <algorithm>
#include <cmath>

#include "ops/dequant.h"

namespace ss {

TopChannel top_channel(std::span<const float> v) {
  TopChannel t;
  double total = 0;
  for (size_t c = 0; c < v.size(); ++c) {
    const double a = std::abs(static_cast<double>(v[c]));
    total += a * a;
    if (a > t.max_abs) t.max_abs = a, t.channel = static_cast<int>(c);
  }
  t.share = total > 0 ? t.max_abs * t.max_abs / total : 0.0;
  return t;
}

SinkCaptureObserver::SinkCaptureObserver(const Model& model, int baseline_pos)
    : model_(model), baseline_(baseline_pos) {}

void SinkCaptureObserver::begin_window() {
  const ModelConfig& c = model_.config;
  const size_t L = c.n_layers, KV = c.kv_dim();
  w_ = {};
  w_.sink_max_abs.assign(L + 1, 0.0);
  w_.sink_channel.assign(L + 1, 0);
  w_.norm_share.assign(L, 0.0);
  w_.base_norm_share.assign(L, 0.0);
  w_.share_channel.assign(L, 0);
  w_.resid_share.assign(L, 0.0);
  w_.sink_keys.assign(L * KV, 0.0);
  w_.base_keys.assign(L * KV, 0.0);
}

void SinkCaptureObserver::on_resid_pre(int layer, int pos0, int n, const float* x) {
  if (pos0 != 0 || n < 1) return;  // the sink is position 0
  const TopChannel t = top_channel({x, static_cast<size_t>(model_.config.dim)});
  w_.resid_share[layer] = t.share;
  if (layer == 0) w_.sink_max_abs[0] = t.max_abs, w_.sink_channel[0] = t.channel;
}

void SinkCaptureObserver::on_resid_post(int layer, int pos0, int n, const float* x) {
  if (pos0 != 0 || n < 1) return;
  const TopChannel t = top_channel({x, static_cast<size_t>(model_.config.dim)});
  w_.sink_max_abs[layer + 1] = t.max_abs;
  w_.sink_channel[layer + 1] = t.channel;
}

const float* SinkCaptureObserver::transform(int layer, LinearSite site, int pos0, int n,
                                            size_t width, const float* x, float*) {
  if (site != LinearSite::AttnIn) return x;
  const size_t KV = model_.config.kv_dim();
  if (pos0 == 0 && n >= 1) {
    const TopChannel t = top_channel({x, width});
    w_.norm_share[layer] = t.share;
    w_.share_channel[layer] = t.channel;
    keys(layer, x, &w_.sink_keys[layer * KV]);
  }
  if (baseline_ >= pos0 && baseline_ < pos0 + n) {
    const float* a = x + static_cast<size_t>(baseline_ - pos0) * width;
    w_.base_norm_share[layer] = top_channel({a, width}).share;
    keys(layer, a, &w_.base_keys[layer * KV]);
  }
  return x;
}

// The runtime's keys before rotary encoding, in double: W_k a + b_k, then the k norm (over each
// head or the whole projection, as its width says); then each head scaled to unit length.
void SinkCaptureObserver::keys(int layer, const float* a, double* out) const {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[layer];
  // A layer with fewer KV heads (per-layer head counts) leaves the absent heads' keys zero.
  const size_t D = c.dim, KV = c.kv_dim(layer), HD = c.head_dim;
  std::fill(out + KV, out + c.kv_dim(), 0.0);
  std::vector<float> row(D);
  for (size_t r = 0; r < KV; ++r) {
    dequantize_row(w.wk.type, w.wk.row(static_cast<int64_t>(r)), row.data(), D);
    double s = 0;
    for (size_t d = 0; d < D; ++d) s += static_cast<double>(row[d]) * a[d];
    out[r] = s + (w.bk.data ? w.bk.f32()[r] : 0.0);
  }
  if (w.k_norm.data) {
    const size_t width = static_cast<size_t>(w.k_norm.cols());
    const float* g = w.k_norm.f32();
    for (size_t b = 0; b < KV; b += width) {
      double ss = 0;
      for (size_t i = 0; i < width; ++i) ss += out[b + i] * out[b + i];
      const double inv = 1.0 / std::sqrt(ss / width + c.norm_eps);
      for (size_t i = 0; i < width; ++i) out[b + i] *= inv * g[i];
    }
  }
  for (size_t h = 0; h < KV; h += HD) {
    double ss = 0;
    for (size_t i = 0; i < HD; ++i) ss += out[h + i] * out[h + i];
    const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    for (size_t i = 0; i < HD; ++i) out[h + i] *= inv;
  }
}

const float* FfnInputCapture::transform(int layer, LinearSite site, int pos0, int n, size_t width,
                                        const float* x, float*) {
  if (layer == layer_ && site == LinearSite::FfnIn && pos_ >= pos0 && pos_ < pos0 + n) {
    const float* row = x + static_cast<size_t>(pos_ - pos0) * width;
    input_.assign(row, row + width);
  }
  return x;
}

}  // namespace ss
