#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/simd/kernels.h"

namespace ss {
namespace {

int first_key(int pos, int window) {
  return window > 0 ? std::max(0, pos - window + 1) : 0;
}

}  // namespace

double softcap_score(double score, double cap) {
  return cap * std::tanh(score / cap);
}

double sink_key_score(const double* q, const AttentionShape& s) {
  double dot = 0;
  for (int d = 0; d < s.head_dim; ++d) dot += q[d] * static_cast<double>(s.sink_key[d]);
  const double score = dot * s.scale;
  return s.softcap > 0 ? softcap_score(score, s.softcap) : score;
}

double sigmoid_row(const double* scores, int k0, int pos, float* weights, float* shares) {
  std::fill(weights, weights + k0, 0.0f);
  std::fill(shares, shares + k0, 0.0f);
  double sum = 0;
  for (int k = k0; k <= pos; ++k) {
    const double w = 1.0 / (1.0 + std::exp(-scores[k]));
    weights[k] = static_cast<float>(w);
    sum += w;
  }
  double entropy = 0;
  for (int k = k0; k <= pos; ++k) {
    const double share = (1.0 / (1.0 + std::exp(-scores[k]))) / sum;
    shares[k] = static_cast<float>(share);
    if (share > 0) entropy -= share * std::log(share);
  }
  return entropy;
}

// The fast path is ops/attention-inl.h, compiled once per SIMD variant.
void attend_head(const float* q, const float* k, const float* v, int pos0, int n,
                 const AttentionShape& s, float* z, const PatternFn& on_row) {
  kernels().attend_head(q, k, v, pos0, n, s, z, on_row);
}

void attend_head_reference(const float* q, const float* k, const float* v, int pos0, int n,
                           const AttentionShape& s, float* z, const PatternFn& on_row) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  std::vector<double> scores(static_cast<size_t>(pos0 + n));
  std::vector<float> att(scores.size());
  std::vector<double> q_double(hd);
  for (int i = 0; i < n; ++i) {
    const int pos = pos0 + i, k0 = first_key(pos, s.window);
    const float* qi = q + static_cast<size_t>(i) * s.q_stride;
    std::copy_n(qi, hd, q_double.data());
    const double sink = s.sink_key ? sink_key_score(q_double.data(), s) : s.sink;
    double mx = -INFINITY, sum = 0;
    for (int kk = k0; kk <= pos; ++kk) {
      double dot = 0;
      for (size_t d = 0; d < hd; ++d) dot += static_cast<double>(qi[d]) * k[d * s.k_stride + kk];
      scores[kk] = dot * s.scale;
      if (s.softcap > 0) scores[kk] = softcap_score(scores[kk], s.softcap);
      mx = std::max(mx, scores[kk]);
    }
    if (s.sigmoid) {  // σ in double; observers get each row's shares
      double total = 0;
      for (int kk = k0; kk <= pos; ++kk) total += scores[kk] = 1.0 / (1.0 + std::exp(-scores[kk]));
      std::fill(att.begin(), att.begin() + k0, 0.0f);
      double entropy = 0;
      for (int kk = k0; kk <= pos; ++kk) {
        const double share = scores[kk] / total;
        att[kk] = static_cast<float>(share);
        if (share > 0) entropy -= share * std::log(share);
      }
      if (s.sink_probs) s.sink_probs[i] = 0.0f;
      if (on_row) on_row(i, pos, {att.data(), static_cast<size_t>(pos + 1)}, entropy);
      float* zi = z + static_cast<size_t>(i) * s.z_stride;
      for (size_t d = 0; d < hd; ++d) {
        double acc = 0;
        for (int kk = k0; kk <= pos; ++kk)
          acc += scores[kk] * v[static_cast<size_t>(kk) * s.v_stride + d];
        zi[d] = static_cast<float>(acc);
      }
      continue;
    }
    const bool has_sink = sink > -INFINITY;
    if (has_sink) mx = std::max(mx, sink);
    for (int kk = k0; kk <= pos; ++kk) sum += scores[kk] = std::exp(scores[kk] - mx);
    const double sink_e = has_sink ? std::exp(sink - mx) : 0.0;
    sum += sink_e;
    std::fill(att.begin(), att.begin() + k0, 0.0f);
    double entropy = 0;
    for (int kk = k0; kk <= pos; ++kk) {
      const double p = scores[kk] / sum;
      att[kk] = static_cast<float>(p);
      if (p > 0) entropy -= p * std::log(p);
    }
    if (s.sink_probs) s.sink_probs[i] = static_cast<float>(sink_e / sum);
    if (on_row) on_row(i, pos, {att.data(), static_cast<size_t>(pos + 1)}, entropy);
    // z in double from the double probabilities (and the sink-kv value's share).
    float* zi = z + static_cast<size_t>(i) * s.z_stride;
    for (size_t d = 0; d < hd; ++d) {
      double acc = 0;
      for (int kk = k0; kk <= pos; ++kk)
        acc += scores[kk] / sum * v[static_cast<size_t>(kk) * s.v_stride + d];
      if (s.sink_value) acc += sink_e / sum * s.sink_value[d];
      zi[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace ss
