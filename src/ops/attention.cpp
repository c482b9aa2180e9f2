#include "ops/attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "ops/dot.h"
#include "ops/dot_tiles.h"
#include "ops/exp.h"

namespace ss {
namespace {

int first_key(int pos, int window) {
  return window > 0 ? std::max(0, pos - window + 1) : 0;
}

// Softmax of one row of double scores over keys k0..pos into att (zero before k0); returns the
// row's entropy −Σ p log p = log Σe − Σ p·x with x = s − max s, exact up to the f32 exp's error.
struct Softmax {
  std::vector<float> x, e;
  double run(const double* scores, int k0, int pos, float* att) {
    const size_t cnt = static_cast<size_t>(pos - k0 + 1);
    x.resize(cnt);
    e.resize(cnt);
    double mx = scores[k0];
    for (int k = k0 + 1; k <= pos; ++k) mx = std::max(mx, scores[k]);
    for (size_t j = 0; j < cnt; ++j) x[j] = static_cast<float>(scores[k0 + j] - mx);
    exp_nonpositive(x.data(), e.data(), cnt);
    const double sum = sum_f64(e.data(), cnt), inv = 1.0 / sum;
    std::fill(att, att + k0, 0.0f);
    for (size_t j = 0; j < cnt; ++j) att[k0 + j] = static_cast<float>(e[j] * inv);
    return std::log(sum) - dot_f64_lanes(e.data(), x.data(), cnt) * inv;
  }
};

// z_a = Σ_k p_a,k v_k for the NQ queries of a block over keys k0..k1, in f32 FMAs: element-wise
// over the head dimension (so it vectorizes) and in order of k (so it gives the same bits on any
// ISA and for any block, since keys a query does not see have p = 0 and add exact zeros). Each
// value row is loaded once for all NQ queries; a chunk of dimensions × NQ accumulators stays in
// registers across keys.
template <int NQ>
void weighted_values(const float* att, size_t T, int k0, int k1, const float* v,
                     const AttentionShape& s, float* z) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  constexpr size_t kChunk = 16 * static_cast<size_t>(kTileRows);
  size_t d0 = 0;
  for (; d0 + kChunk <= hd; d0 += kChunk) {
    float acc[NQ][kChunk] = {};
    for (int k = k0; k <= k1; ++k) {
      const float* vk = v + static_cast<size_t>(k) * s.kv_stride + d0;
      for (int a = 0; a < NQ; ++a) {
        const float p = att[a * T + k];
        for (size_t d = 0; d < kChunk; ++d) acc[a][d] = std::fma(p, vk[d], acc[a][d]);
      }
    }
    for (int a = 0; a < NQ; ++a) std::copy_n(acc[a], kChunk, z + a * s.z_stride + d0);
  }
  if (d0 == hd) return;
  for (int a = 0; a < NQ; ++a) std::fill(z + a * s.z_stride + d0, z + a * s.z_stride + hd, 0.0f);
  for (int k = k0; k <= k1; ++k) {
    const float* vk = v + static_cast<size_t>(k) * s.kv_stride;
    for (int a = 0; a < NQ; ++a) {
      const float p = att[a * T + k];
      float* za = z + a * s.z_stride;
      for (size_t d = d0; d < hd; ++d) za[d] = std::fma(p, vk[d], za[d]);
    }
  }
}

using ValuesFn = void (*)(const float*, size_t, int, int, const float*, const AttentionShape&,
                          float*);

template <size_t... I>
constexpr std::array<ValuesFn, sizeof...(I)> make_values_table(std::index_sequence<I...>) {
  return {&weighted_values<static_cast<int>(I) + 1>...};
}
constexpr auto kValuesTable = make_values_table(std::make_index_sequence<kTileRows>());

}  // namespace

void attend_head(const float* q, const float* k, const float* v, int pos0, int n,
                 const AttentionShape& s, float* z, const PatternFn& on_row) {
  const size_t hd = static_cast<size_t>(s.head_dim), hd16 = hd / kDotLanes * kDotLanes;
  const size_t T = static_cast<size_t>(pos0 + n);
  thread_local std::vector<double> scores;
  thread_local std::vector<float> att, acc;  // att: the block's probability rows
  thread_local Softmax softmax;
  scores.resize(kTileRows * T);
  att.resize(kTileRows * T);
  acc.resize(kTileRows * kTileCols * kDotLanes);
  for (int i0 = 0; i0 < n; i0 += kTileRows) {
    const int nq = std::min(kTileRows, n - i0);
    const int last = pos0 + i0 + nq - 1;
    const float* qb = q + static_cast<size_t>(i0) * s.q_stride;
    // Scores of the block's queries against every key any of them sees, a register tile at a
    // time; entries past a query's own position are computed and ignored.
    for (int kk = first_key(pos0 + i0, s.window); kk <= last; kk += kTileCols) {
      const int nk = std::min(kTileCols, last + 1 - kk);
      const float* kb = k + static_cast<size_t>(kk) * s.kv_stride;
      std::fill(acc.begin(), acc.end(), 0.0f);
      tile_fn(nq, nk)(qb, s.q_stride, kb, s.kv_stride, 0, hd16, acc.data());
      for (int a = 0; a < nq; ++a)
        for (int b = 0; b < nk; ++b)
          scores[a * T + kk + b] =
              finish_dot_f64(acc.data() + (a * nk + b) * kDotLanes, qb + a * s.q_stride,
                             kb + b * s.kv_stride, hd16, hd) *
              s.scale;
    }
    for (int a = 0; a < nq; ++a) {
      const int i = i0 + a, pos = pos0 + i, k0 = first_key(pos, s.window);
      float* row = att.data() + a * T;
      const double entropy = softmax.run(scores.data() + a * T, k0, pos, row);
      std::fill(row + pos + 1, row + last + 1, 0.0f);
      if (on_row) on_row(i, pos, {row, static_cast<size_t>(pos + 1)}, entropy);
    }
    kValuesTable[nq - 1](att.data(), T, first_key(pos0 + i0, s.window), last, v, s,
                         z + static_cast<size_t>(i0) * s.z_stride);
  }
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
      scores[kk] = dot_f64(qi, k + static_cast<size_t>(kk) * s.kv_stride, hd) * s.scale;
      mx = std::max(mx, scores[kk]);
    }
    for (int kk = k0; kk <= pos; ++kk) sum += scores[kk] = std::exp(scores[kk] - mx);
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
        acc += scores[kk] / sum * v[static_cast<size_t>(kk) * s.kv_stride + d];
      zi[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace ss
