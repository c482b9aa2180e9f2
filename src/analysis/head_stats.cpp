#include "analysis/head_stats.h"

#include <algorithm>
#include <cmath>

#include "analysis/statistics.h"
#include "ops/dequant.h"
#include "ops/simd/kernels.h"

namespace ss {

const std::vector<std::string>& head_stat_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Statistic& s : statistics()) n.emplace_back(s.name);
    return n;
  }();
  return names;
}

SinkStatsObserver::SinkStatsObserver(const Model& model, SinkStatsOptions opt)
    : model_(model),
      sink_column_(has_sink_column(model)),
      opt_(opt),
      add_row_(kernels().add_f32_to_f64) {
  const ModelConfig& c = model.config;
  gram_.assign(static_cast<size_t>(c.n_layers) * c.n_heads * c.head_dim * c.head_dim, 0.0);
  gram_done_.assign(static_cast<size_t>(c.n_layers), false);
}

// ‖W_O^(h) z‖² = zᵀ G_h z with G_h = W_O^(h)ᵀ W_O^(h): hd² work per token instead of dim·hd.
// Made when a layer's first z arrives, on the pool (a 1B model's take seconds on one core).
void SinkStatsObserver::make_gram(int layer) {
  const ModelConfig& c = model_.config;
  const int hd = c.head_dim;
  const Tensor& wo = model_.layers[layer].wo;
  const auto axpy = kernels().axpy_f32_f64;
  // A layer's own heads (per-layer head counts: the others are absent and stay zero).
  parallel_for(static_cast<size_t>(c.heads(layer)), [&](size_t h0, size_t h1, int) {
    std::vector<float> row(c.q_dim(layer));
    for (int r = 0; r < c.dim; ++r) {
      dequantize_row(wo.type, wo.row(r), row.data(), c.q_dim(layer));
      for (size_t h = h0; h < h1; ++h) {
        double* g = gram_.data() + (static_cast<size_t>(layer) * c.n_heads + h) * hd * hd;
        const float* w = row.data() + h * hd;
        // The upper triangle (G is symmetric); a product of two floats is exact in double, so
        // the fused multiply-add gives the bits of a multiply then add.
        for (int i = 0; i < hd; ++i) axpy(g + i * hd + i, w + i, w[i], static_cast<size_t>(hd - i));
      }
    }
    for (size_t h = h0; h < h1; ++h) {
      double* g = gram_.data() + (static_cast<size_t>(layer) * c.n_heads + h) * hd * hd;
      for (int i = 0; i < hd; ++i)
        for (int j = 0; j < i; ++j) g[i * hd + j] = g[j * hd + i];
    }
  });
  gram_done_[static_cast<size_t>(layer)] = true;
}

void SinkStatsObserver::begin_window(int T) {
  const ModelConfig& c = model_.config;
  T_ = T;
  heads_.assign(static_cast<size_t>(c.n_layers) * c.n_heads, Accum{});
  for (auto& a : heads_) a.received.assign(T, 0.0);
  kv_.assign(static_cast<size_t>(c.n_layers) * c.n_kv_heads, KvAccum{});
}

// Rows from the runtime carry the kernel's entropy; rows from elsewhere (tests) compute it here.
void SinkStatsObserver::on_pattern(int layer, int head, int pos, std::span<const float> row) {
  double entropy = 0;
  for (float p : row)
    if (p > 0) entropy -= static_cast<double>(p) * std::log(static_cast<double>(p));
  on_pattern_row(layer, head, pos, row, entropy);
}

void SinkStatsObserver::on_pattern_row(int layer, int head, int pos, std::span<const float> row,
                                       double entropy) {
  Accum& a = heads_[static_cast<size_t>(layer) * model_.config.n_heads + head];
  const double bos = row[0];
  double first_k = 0;
  const size_t k_end = std::min(row.size(), static_cast<size_t>(opt_.sink_tokens));
  for (size_t k = 0; k < k_end; ++k) first_k += row[k];
  add_row_(a.received.data(), row.data(), row.size());
  // A sink column takes p_sink = 1 − Σ_k α of the row (SPEC §Learned sinks): the kernel's own
  // value where the runtime gave it (so a sink of −∞ adds exactly 0 and the row's statistics are
  // plain softmax's bit for bit), else the sum in double over the f32 probabilities (exact to
  // about 1e-7).
  if (sink_column_) {
    double keys = 0;
    for (float p : row) keys += p;
    const double p_sink = a.next_sink >= 0 ? a.next_sink : 1.0 - keys;
    a.next_sink = -1;
    a.sink_mass += p_sink;
    a.bos_keys += p_sink == 0 ? bos : keys > 0 ? bos / keys : 0.0;
  } else {
    a.bos_keys += bos;
  }
  a.bos_all += bos;
  a.first_k += first_k;
  a.entropy_all += entropy;
  if (pos >= 1) {
    a.bos_q1 += bos;
    a.entropy_q1 += entropy;
  }
}

void SinkStatsObserver::on_sink_row(int layer, int head, int, double p_sink) {
  heads_[static_cast<size_t>(layer) * model_.config.n_heads + head].next_sink = p_sink;
}

void SinkStatsObserver::on_values(int layer, int pos0, int n, const float* v) {
  const ModelConfig& c = model_.config;
  for (int t = 0; t < n; ++t)
    for (int g = 0; g < c.n_kv_heads; ++g) {
      const float* vg = v + static_cast<size_t>(t) * c.kv_dim() + g * c.head_dim;
      double s = 0;
      for (int d = 0; d < c.head_dim; ++d) s += static_cast<double>(vg[d]) * vg[d];
      const double norm = std::sqrt(s);
      KvAccum& a = kv_[static_cast<size_t>(layer) * c.n_kv_heads + g];
      a.v_norm_sum += norm;
      if (pos0 + t == 0)
        a.v0_norm = norm;
      else
        a.v_norm_sum_k1 += norm;
    }
}

void SinkStatsObserver::on_z(int layer, int pos0, int n, const float* z) {
  const ModelConfig& c = model_.config;
  const int hd = c.head_dim;
  if (!gram_done_[static_cast<size_t>(layer)]) make_gram(layer);
  const auto axpy = kernels().axpy_f64;  // gz[i] = fma(z_j, G[j][i], gz[i])
  // Heads are independent (each its own accumulator, tokens in order): one per task.
  parallel_for(static_cast<size_t>(c.n_heads), [&](size_t h0, size_t h1, int) {
    std::vector<double> gz;
    for (int h = static_cast<int>(h0); h < static_cast<int>(h1); ++h) {
      Accum& a = heads_[static_cast<size_t>(layer) * c.n_heads + h];
      const double* g = gram_.data() + (static_cast<size_t>(layer) * c.n_heads + h) * hd * hd;
      for (int t = 0; t < n; ++t) {
        const float* zh = z + static_cast<size_t>(t) * c.q_dim() + h * hd;
        // quad = zᵀ G z with G symmetric: gz = Σ_j z_j G[j] row by row (element-wise, so it
        // vectorizes), then one dot product.
        gz.assign(static_cast<size_t>(hd), 0.0);
        for (int j = 0; j < hd; ++j)
          axpy(gz.data(), g + static_cast<size_t>(j) * hd, zh[j], static_cast<size_t>(hd));
        double zz = 0, quad = 0;
        for (int i = 0; i < hd; ++i) {
          zz += static_cast<double>(zh[i]) * zh[i];
          quad += zh[i] * gz[i];
        }
        const double z_norm = std::sqrt(zz);
        a.z_norm += z_norm;
        a.contrib_norm += std::sqrt(std::max(0.0, quad));
        if (pos0 + t == T_ - 1) a.last_z_norm = z_norm;
      }
    }
  });
}

HeadTable SinkStatsObserver::finish_window() const {
  const ModelConfig& c = model_.config;
  const int L = c.n_layers, H = c.n_heads;
  HeadTable out;
  for (const auto& name : head_stat_names()) out[name].assign(static_cast<size_t>(L) * H, 0.0);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      const size_t i = static_cast<size_t>(l) * H + h;
      const Accum& a = heads_[i];
      // A head the layer lacks (per-layer head counts) has no rows: its statistics stay 0.
      if (h >= c.heads(l)) continue;
      const KvAccum& kv = kv_[static_cast<size_t>(l) * c.n_kv_heads + h / c.kv_group(l)];
      HeadWindow w;
      w.T = T_;
      w.Tq1 = std::max(1, T_ - 1);
      w.bos_all = a.bos_all, w.bos_q1 = a.bos_q1, w.first_k = a.first_k;
      w.entropy_all = a.entropy_all, w.entropy_q1 = a.entropy_q1;
      w.sink_mass = a.sink_mass, w.bos_keys = a.bos_keys;
      w.z_norm = a.z_norm, w.contrib_norm = a.contrib_norm, w.last_z_norm = a.last_z_norm;
      w.v0_norm = kv.v0_norm, w.v_norm_sum = kv.v_norm_sum;
      w.v_mean_k1 = T_ > 1 ? kv.v_norm_sum_k1 / (w.T - 1) : 0.0;
      // sink_score_k averages over the queries that can see key k: on a sliding-window layer
      // only the `window` queries from k on.
      const int window = c.window(l);
      for (int k = 1; k < T_; ++k) {
        const int seen = window > 0 ? std::min(T_, k + window) - k : T_ - k;
        const double s = a.received[k] / seen;
        if (s > w.top_key_score) w.top_key_score = s, w.top_key = k;
      }
      for (const Statistic& s : statistics())
        if (s.finish) out[std::string(s.name)][i] = s.finish(w);
    }
  // "(LN)": divided by the mean of the same score over the heads of the layer.
  for (const Statistic& s : statistics()) {
    if (s.layer_normalised.empty()) continue;
    const auto& src = out[std::string(s.layer_normalised)];
    auto& dst = out[std::string(s.name)];
    for (int l = 0; l < L; ++l) {
      double mean = 0;
      for (int h = 0; h < c.heads(l); ++h) mean += src[static_cast<size_t>(l) * H + h];
      mean /= c.heads(l);
      for (int h = 0; h < c.heads(l); ++h)
        dst[static_cast<size_t>(l) * H + h] =
            mean > 0 ? src[static_cast<size_t>(l) * H + h] / mean : 0.0;
    }
  }
  return out;
}

}  // namespace ss
