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
  for (int i = 0; i < n; ++i) {
    const int pos = pos0 + i, k0 = first_key(pos, s.window);
    const float* qi = q + static_cast<size_t>(i) * s.q_stride;
    double mx = -INFINITY, sum = 0;
    for (int kk = k0; kk <= pos; ++kk) {
      double dot = 0;
      for (size_t d = 0; d < hd; ++d) dot += static_cast<double>(qi[d]) * k[d * s.k_stride + kk];
      scores[kk] = dot * s.scale;
      if (s.softcap > 0) scores[kk] = softcap_score(scores[kk], s.softcap);
      mx = std::max(mx, scores[kk]);
    }
    const bool has_sink = s.sink > -INFINITY;
    if (has_sink) mx = std::max(mx, s.sink);
    for (int kk = k0; kk <= pos; ++kk) sum += scores[kk] = std::exp(scores[kk] - mx);
    const double sink_e = has_sink ? std::exp(s.sink - mx) : 0.0;
    sum += sink_e;
    std::fill(att.begin(), att.begin() + k0, 0.0f);
    double entropy = 0;
    for (int kk = k0; kk <= pos; ++kk) {
      const double p = scores[kk] / sum;
      att[kk] = static_cast<float>(p);
      if (p > 0) entropy -= p * std::log(p);
    }
    if (on_row) on_row(i, pos, {att.data(), static_cast<size_t>(pos + 1)}, entropy);
    // z in double from the double probabilities.
    float* zi = z + static_cast<size_t>(i) * s.z_stride;
    for (size_t d = 0; d < hd; ++d) {
      double acc = 0;
      for (int kk = k0; kk <= pos; ++kk)
        acc += scores[kk] / sum * v[static_cast<size_t>(kk) * s.v_stride + d];
      zi[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace ss
