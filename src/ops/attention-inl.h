// The attention kernel of ops/attention.h for one SIMD variant: included inside a variant's target
// region after ops/simd/lanes-inl.h. Every variant gives the bits of every other (the reasons are
// at each step), and tests/test_kernels.cpp holds them to it.

inline int attention_first_key(int pos, int window) {
  return window > 0 ? std::max(0, pos - window + 1) : 0;
}

// Softmax of one row of double scores over keys k0..pos into att (zero before k0), with a learned
// sink logit as one more column when it is finite; returns the row's entropy over the keys,
// −Σ_k p_k log p_k = log Σe · Σ_k p_k − Σ_k p_k·x_k with x = s − max s (SPEC: the key
// probabilities as they are, summing to 1 − p_sink), exact up to the f32 exp's error.
// exp_nonpositive, sum_f64 and dot_f64_lanes (ops/exp.h) have a fixed arithmetic in every lane.
// A sink of −∞ takes no branch that a row without one does not, so it gives the same bits.
struct AttentionSoftmax {
  std::vector<float> x, e;
  float sink_p = 0;  // the last row's sink probability (0 without a sink)
  double run(const double* scores, int k0, int pos, double sink, float* att) {
    const size_t cnt = static_cast<size_t>(pos - k0 + 1);
    x.resize(cnt);
    e.resize(cnt);
    const bool has_sink = sink > -INFINITY;
    double mx = scores[k0];
    for (int k = k0 + 1; k <= pos; ++k) mx = std::max(mx, scores[k]);
    if (has_sink) mx = std::max(mx, sink);
    float* const xs = x.data();
    float* const es = e.data();
    for (size_t j = 0; j < cnt; ++j) xs[j] = static_cast<float>(scores[k0 + j] - mx);
    for (size_t j = 0; j < cnt; ++j) es[j] = exp_nonpositive(xs[j]);
    const double keys = sum_f64(es, cnt);
    const double sink_e = has_sink ? exp_nonpositive(static_cast<float>(sink - mx)) : 0.0;
    const double sum = keys + sink_e;
    const double inv = 1.0 / sum;
    sink_p = static_cast<float>(sink_e * inv);
    std::fill(att, att + k0, 0.0f);
    for (size_t j = 0; j < cnt; ++j) att[k0 + j] = static_cast<float>(es[j] * inv);
    // keys / sum is exactly 1 without a sink.
    return std::log(sum) * (keys / sum) - dot_f64_lanes(es, xs, cnt) * inv;
  }
};

inline constexpr int kQueryTile = 4;
inline constexpr int kKeyTile = static_cast<int>(kKeyPad);

// Scores of NQ queries (qd: their vectors in double, hd apart) against the kKeyTile keys from
// kk: scores[a * ld + kk + j] = (Σ_d qd[a][d] · k[d][kk + j], in order of d) · scale. The
// products of two floats are exact in double, so a fused multiply-add and a multiply then add
// give the same bits, on any variant.
template <int NQ>
void score_tile(const double* qd, size_t hd, const float* k, size_t ks, int kk, double scale,
                double* scores, size_t ld) {
#if SS_ISA_LEVEL >= 2
  __m512d acc[NQ][2];
  for (int a = 0; a < NQ; ++a) acc[a][0] = acc[a][1] = _mm512_setzero_pd();
  for (size_t d = 0; d < hd; ++d) {
    const float* kd = k + d * ks + kk;
    const __m512d k0 = _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(kd));
    const __m512d k1 = _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(kd + 8));
    for (int a = 0; a < NQ; ++a) {
      const __m512d qa = _mm512_set1_pd(qd[a * hd + d]);
      acc[a][0] = _mm512_fmadd_pd(qa, k0, acc[a][0]);
      acc[a][1] = _mm512_fmadd_pd(qa, k1, acc[a][1]);
    }
  }
  const __m512d sc = _mm512_set1_pd(scale);
  for (int a = 0; a < NQ; ++a) {
    _mm512_storeu_pd(scores + a * ld + kk, _mm512_mul_pd(acc[a][0], sc));
    _mm512_storeu_pd(scores + a * ld + kk + 8, _mm512_mul_pd(acc[a][1], sc));
  }
#elif SS_ISA_LEVEL == 1
  // Half the tile's keys per pass (4 queries × 8 keys in 8 ymm accumulators); each score is the
  // same sum in the same order of d.
  const __m256d sc = _mm256_set1_pd(scale);
  for (int half = 0; half < 2; ++half) {
    __m256d acc[NQ][2];
    for (int a = 0; a < NQ; ++a) acc[a][0] = acc[a][1] = _mm256_setzero_pd();
    for (size_t d = 0; d < hd; ++d) {
      const float* kd = k + d * ks + kk + 8 * half;
      const __m256d k0 = _mm256_cvtps_pd(_mm_loadu_ps(kd));
      const __m256d k1 = _mm256_cvtps_pd(_mm_loadu_ps(kd + 4));
      for (int a = 0; a < NQ; ++a) {
        const __m256d qa = _mm256_set1_pd(qd[a * hd + d]);
        acc[a][0] = _mm256_fmadd_pd(qa, k0, acc[a][0]);
        acc[a][1] = _mm256_fmadd_pd(qa, k1, acc[a][1]);
      }
    }
    for (int a = 0; a < NQ; ++a) {
      _mm256_storeu_pd(scores + a * ld + kk + 8 * half, _mm256_mul_pd(acc[a][0], sc));
      _mm256_storeu_pd(scores + a * ld + kk + 8 * half + 4, _mm256_mul_pd(acc[a][1], sc));
    }
  }
#else
  double acc[NQ][kKeyTile] = {};
  for (size_t d = 0; d < hd; ++d) {
    const float* kd = k + d * ks + kk;
    for (int a = 0; a < NQ; ++a)
      for (int j = 0; j < kKeyTile; ++j) acc[a][j] += qd[a * hd + d] * static_cast<double>(kd[j]);
  }
  for (int a = 0; a < NQ; ++a)
    for (int j = 0; j < kKeyTile; ++j) scores[a * ld + kk + j] = acc[a][j] * scale;
#endif
}

// z_a = Σ_k p_a,k v_k for the NQ queries of a block over keys k0..k1, in f32 FMAs: element-wise
// over the head dimension (so it vectorizes) and in order of k (so it gives the same bits on any
// variant and for any block, since keys a query does not see have p = 0 and add exact zeros).
// Each value row is loaded once for all NQ queries; a chunk of dimensions × NQ accumulators stays
// in registers across keys.
template <int NQ>
void weighted_values(const float* att, size_t T, int k0, int k1, const float* v,
                     const AttentionShape& s, float* z) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  // NQ × kChunk accumulators fill the vector registers: 4 × 4 zmm, 4 × 4 ymm.
  constexpr size_t kChunk = SS_ISA_LEVEL >= 2 ? 64 : SS_ISA_LEVEL == 1 ? 32 : 16;
  size_t d0 = 0;
  for (; d0 + kChunk <= hd; d0 += kChunk) {
    float acc[NQ][kChunk] = {};
    for (int k = k0; k <= k1; ++k) {
      const float* vk = v + static_cast<size_t>(k) * s.v_stride + d0;
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
    const float* vk = v + static_cast<size_t>(k) * s.v_stride;
    for (int a = 0; a < NQ; ++a) {
      const float p = att[a * T + k];
      float* za = z + a * s.z_stride;
      for (size_t d = d0; d < hd; ++d) za[d] = std::fma(p, vk[d], za[d]);
    }
  }
}

inline void attend_head(const float* q, const float* k, const float* v, int pos0, int n,
                        const AttentionShape& s, float* z, const PatternFn& on_row) {
  using ScoreFn =
      void (*)(const double*, size_t, const float*, size_t, int, double, double*, size_t);
  using ValuesFn =
      void (*)(const float*, size_t, int, int, const float*, const AttentionShape&, float*);
  static constexpr auto kScores = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<ScoreFn, sizeof...(I)>{&score_tile<static_cast<int>(I) + 1>...};
  }
  (std::make_index_sequence<kQueryTile>());
  static constexpr auto kValues = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<ValuesFn, sizeof...(I)>{&weighted_values<static_cast<int>(I) + 1>...};
  }
  (std::make_index_sequence<kQueryTile>());

  const size_t hd = static_cast<size_t>(s.head_dim);
  const size_t T = static_cast<size_t>(pos0 + n);
  const size_t ld = T + kKeyPad;  // a score row, with room for the last tile's overhang
  thread_local std::vector<double> scores, qd;
  thread_local std::vector<float> att;  // the block's probability rows
  thread_local AttentionSoftmax softmax;
  thread_local std::vector<float> shares;  // a sigmoid row's shares, for the observers
  float sink_p[kQueryTile] = {};
  scores.resize(kQueryTile * ld);
  qd.resize(kQueryTile * hd);
  att.resize(kQueryTile * T);
  if (s.sigmoid) shares.resize(T);
  for (int i0 = 0; i0 < n; i0 += kQueryTile) {
    const int nq = std::min(kQueryTile, n - i0);
    const int last = pos0 + i0 + nq - 1;
    for (int a = 0; a < nq; ++a)
      for (size_t d = 0; d < hd; ++d)
        qd[a * hd + d] = q[static_cast<size_t>(i0 + a) * s.q_stride + d];
    // Scores of the block's queries against every key any of them sees, kKeyTile keys at a time;
    // entries past a query's own position (or the last key) are computed and ignored.
    for (int kk = attention_first_key(pos0 + i0, s.window); kk <= last; kk += kKeyTile)
      kScores[nq - 1](qd.data(), hd, k, s.k_stride, kk, s.scale, scores.data(), ld);
    for (int a = 0; a < nq; ++a) {
      const int i = i0 + a, pos = pos0 + i, k0 = attention_first_key(pos, s.window);
      float* row = att.data() + a * T;
      double* const sa = scores.data() + a * ld;
      if (s.softcap > 0)
        for (int kk = k0; kk <= pos; ++kk) sa[kk] = softcap_score(sa[kk], s.softcap);
      if (s.sigmoid) {
        const double entropy = sigmoid_row(sa, k0, pos, row, shares.data());
        if (s.sink_probs) s.sink_probs[i] = 0.0f;
        std::fill(row + pos + 1, row + last + 1, 0.0f);
        if (on_row) on_row(i, pos, {shares.data(), static_cast<size_t>(pos + 1)}, entropy);
        continue;
      }
      const double sink = s.sink_key ? sink_key_score(qd.data() + a * hd, s) : s.sink;
      const double entropy = softmax.run(sa, k0, pos, sink, row);
      sink_p[a] = softmax.sink_p;
      if (s.sink_probs) s.sink_probs[i] = softmax.sink_p;
      std::fill(row + pos + 1, row + last + 1, 0.0f);
      if (on_row) on_row(i, pos, {row, static_cast<size_t>(pos + 1)}, entropy);
    }
    float* const zb = z + static_cast<size_t>(i0) * s.z_stride;
    kValues[nq - 1](att.data(), T, attention_first_key(pos0 + i0, s.window), last, v, s, zb);
    // The sink-kv value last, after every key, in an f32 FMA per element as the keys' are.
    if (s.sink_value)
      for (int a = 0; a < nq; ++a)
        for (size_t d = 0; d < hd; ++d)
          zb[a * s.z_stride + d] = std::fma(sink_p[a], s.sink_value[d], zb[a * s.z_stride + d]);
  }
}
