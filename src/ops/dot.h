#pragma once
// f32 dot products: the SIMD kernels (a register tile of dot products for GEMM) and the plain
// references they are tested against.
//
// Every dot product in sinkscope's matmuls follows one arithmetic layout, whatever the ISA, tile
// shape, token count or thread count:
//   1. element i accumulates into f32 lane i % 16 with a fused multiply-add, in order of i;
//   2. the 16 lanes are summed in double by a fixed tree (sum_lanes);
//   3. the n % 16 tail is added in double, and the sum is rounded to f32 once.
// With -ffp-contract=off elsewhere this makes results bit-identical between AVX-512, AVX2 and plain
// builds (a number measured here is the number CI sees), and between prefill, decode and any
// tiling or blocking of the GEMM.
#include <algorithm>
#include <cmath>
#include <cstddef>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace ss {

inline constexpr size_t kDotLanes = 16;

inline double dot_f64(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// The obvious f32 running sum, for comparison in tests and benchmarks.
inline float dot_scalar(const float* a, const float* b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Step 2 in scalar form: halves added pairwise, 16 → 8 → 4 → 2 → 1, in double.
inline double sum_lanes_reference(const float* lanes) {
  double s[8];
  for (int j = 0; j < 8; ++j) s[j] = static_cast<double>(lanes[j]) + lanes[j + 8];
  for (int j = 0; j < 4; ++j) s[j] += s[j + 4];
  for (int j = 0; j < 2; ++j) s[j] += s[j + 2];
  return s[0] + s[1];
}

// Step 2 with SIMD, the same tree.
inline double sum_lanes(const float* lanes) {
  // In registers throughout (a 512-bit store reloaded as two halves stalls store forwarding).
#if defined(__AVX2__) && defined(__FMA__)
  const __m256d a =
      _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(lanes)), _mm256_cvtps_pd(_mm_loadu_ps(lanes + 8)));
  const __m256d b = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(lanes + 4)),
                                  _mm256_cvtps_pd(_mm_loadu_ps(lanes + 12)));
  const __m256d s4 = _mm256_add_pd(a, b);
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
#else
  return sum_lanes_reference(lanes);
#endif
}

// sum_lanes for 8 dot products at once (lanes: 8 × 16 floats, one after another), bit for bit the
// same tree: across outputs in vector registers, where one at a time spends most of its
// instructions on moving between halves of a register.
inline void sum_lanes_x8(const float* lanes, double* out) {
#if defined(__AVX512F__)
  __m512d d[8];  // d[o][j] = lane j + lane j+8 of output o
  for (int o = 0; o < 8; ++o) {
    d[o] = _mm512_add_pd(_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(lanes + 16 * o)),
                         _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(lanes + 16 * o + 8)));
  }
  // Level 2 for outputs (2p, 2p+1): [j 0..3 of one, j 0..3 of the other] + [j 4..7, j 4..7].
  // (Two-source permutes: GCC 12's shuffle_f64x2 trips -Wmaybe-uninitialized.)
  const __m512i lo4 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11),
                hi4 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
  __m512d g[4];
  for (int p = 0; p < 4; ++p)
    g[p] = _mm512_add_pd(_mm512_permutex2var_pd(d[2 * p], lo4, d[2 * p + 1]),
                         _mm512_permutex2var_pd(d[2 * p], hi4, d[2 * p + 1]));
  // Level 3 for four outputs: j 0,1 + j 2,3 of each.
  const __m512i even2 = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13),
                odd2 = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
  __m512d m[2];
  for (int p = 0; p < 2; ++p)
    m[p] = _mm512_add_pd(_mm512_permutex2var_pd(g[2 * p], even2, g[2 * p + 1]),
                         _mm512_permutex2var_pd(g[2 * p], odd2, g[2 * p + 1]));
  // Level 4: j 0 + j 1; the sums come out as outputs 0 4 1 5 2 6 3 7.
  // (maskz forms: GCC 12's plain ones read an "undefined" register that -Wuninitialized reports.)
  const __m512d sum = _mm512_add_pd(_mm512_maskz_unpacklo_pd(0xFF, m[0], m[1]),
                                    _mm512_maskz_unpackhi_pd(0xFF, m[0], m[1]));
  _mm512_storeu_pd(
      out, _mm512_maskz_permutexvar_pd(0xFF, _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), sum));
#else
  for (int o = 0; o < 8; ++o) out[o] = sum_lanes(lanes + 16 * o);
#endif
}

// Steps 2 and 3: lanes hold the sums of a[0..i) · b[0..i) (i a multiple of 16). The double sum
// before its final rounding, for callers that go on in double (attention scores).
inline double finish_dot_f64(const float* lanes, const float* a, const float* b, size_t i,
                             size_t n) {
  double sum = sum_lanes(lanes);
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

inline float finish_dot(const float* lanes, const float* a, const float* b, size_t i, size_t n) {
  return static_cast<float>(finish_dot_f64(lanes, a, b, i, n));
}

// Scalar statement of the whole layout.
inline float dot_lanes_reference(const float* a, const float* b, size_t n) {
  float lanes[kDotLanes] = {};
  size_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes)
    for (size_t l = 0; l < kDotLanes; ++l) lanes[l] = std::fma(a[i + l], b[i + l], lanes[l]);
  double sum = sum_lanes_reference(lanes);
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

// Step 1 for a register tile: M rows of w (row stride ldw) against N rows of x (stride ldx) over
// elements [i0, i1), a range of whole 16-element groups. acc holds M × N × 16 lanes (pair (r, t)
// at (r * N + t) * 16) and is loaded and stored, so a long dot product can be split into
// cache-sized blocks without changing a bit. In registers, each loaded weight vector serves N
// tokens and each token vector M rows: this lifts the GEMM from load-bound to FMA-bound.
template <int M, int N>
inline void dot_tile(const float* w, size_t ldw, const float* x, size_t ldx, size_t i0, size_t i1,
                     float* acc) {
#if defined(__AVX512F__)
  __m512 a[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) a[r][t] = _mm512_loadu_ps(acc + (r * N + t) * 16);
  for (size_t i = i0; i < i1; i += 16) {
    __m512 wv[M];
    // The empty asm statements pin loaded vectors in registers: GCC otherwise folds a load into
    // each FMA that uses it, and M × N loads per step make the kernel load-bound.
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm512_loadu_ps(w + r * ldw + i);
      __asm__("" : "+v"(wv[r]));
    }
    for (int t = 0; t < N; ++t) {
      __m512 xv = _mm512_loadu_ps(x + t * ldx + i);
      __asm__("" : "+v"(xv));
      for (int r = 0; r < M; ++r) a[r][t] = _mm512_fmadd_ps(wv[r], xv, a[r][t]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) _mm512_storeu_ps(acc + (r * N + t) * 16, a[r][t]);
#elif defined(__AVX2__) && defined(__FMA__)
  // Lanes 0-7 and 8-15 of each dot product live in two registers.
  __m256 lo[M][N], hi[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) {
      lo[r][t] = _mm256_loadu_ps(acc + (r * N + t) * 16);
      hi[r][t] = _mm256_loadu_ps(acc + (r * N + t) * 16 + 8);
    }
  for (size_t i = i0; i < i1; i += 16) {
    __m256 wv[M];
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm256_loadu_ps(w + r * ldw + i);
      __asm__("" : "+x"(wv[r]));  // as above
    }
    for (int t = 0; t < N; ++t) {
      __m256 xv = _mm256_loadu_ps(x + t * ldx + i);
      __asm__("" : "+x"(xv));
      for (int r = 0; r < M; ++r) lo[r][t] = _mm256_fmadd_ps(wv[r], xv, lo[r][t]);
    }
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm256_loadu_ps(w + r * ldw + i + 8);
      __asm__("" : "+x"(wv[r]));
    }
    for (int t = 0; t < N; ++t) {
      __m256 xv = _mm256_loadu_ps(x + t * ldx + i + 8);
      __asm__("" : "+x"(xv));
      for (int r = 0; r < M; ++r) hi[r][t] = _mm256_fmadd_ps(wv[r], xv, hi[r][t]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) {
      _mm256_storeu_ps(acc + (r * N + t) * 16, lo[r][t]);
      _mm256_storeu_ps(acc + (r * N + t) * 16 + 8, hi[r][t]);
    }
#else
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) {
      float* lanes = acc + (r * N + t) * 16;
      for (size_t i = i0; i < i1; i += 16)
        for (size_t l = 0; l < kDotLanes; ++l)
          lanes[l] = std::fma(w[r * ldw + i + l], x[t * ldx + i + l], lanes[l]);
    }
#endif
}

// dot_tile on packed operands, the GEMM's inner kernel (accumulate: false starts the lanes at
// zero instead of loading acc). For each 16-element group g, wp holds the
// M rows' 16 elements one after another (wp[(g * M + r) * 16 + l]) and xp the N tokens' likewise,
// so both are read front to back, one cache line per vector, whatever the rows' stride; the
// arithmetic is dot_tile's, lane for lane.
template <int M, int N>
inline void dot_tile_packed(const float* wp, const float* xp, size_t n_groups, float* acc,
                            bool accumulate) {
#if defined(__AVX512F__)
  __m512 a[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t)
      a[r][t] = accumulate ? _mm512_loadu_ps(acc + (r * N + t) * 16) : _mm512_setzero_ps();
  for (size_t g = 0; g < n_groups; ++g, wp += M * 16, xp += N * 16) {
    __m512 wv[M];
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm512_loadu_ps(wp + r * 16);
      __asm__("" : "+v"(wv[r]));  // as in dot_tile
    }
    for (int t = 0; t < N; ++t) {
      __m512 xv = _mm512_loadu_ps(xp + t * 16);
      __asm__("" : "+v"(xv));
      for (int r = 0; r < M; ++r) a[r][t] = _mm512_fmadd_ps(wv[r], xv, a[r][t]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) _mm512_storeu_ps(acc + (r * N + t) * 16, a[r][t]);
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 lo[M][N], hi[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) {
      lo[r][t] = accumulate ? _mm256_loadu_ps(acc + (r * N + t) * 16) : _mm256_setzero_ps();
      hi[r][t] = accumulate ? _mm256_loadu_ps(acc + (r * N + t) * 16 + 8) : _mm256_setzero_ps();
    }
  for (size_t g = 0; g < n_groups; ++g, wp += M * 16, xp += N * 16) {
    __m256 wv[M];
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm256_loadu_ps(wp + r * 16);
      __asm__("" : "+x"(wv[r]));
    }
    for (int t = 0; t < N; ++t) {
      __m256 xv = _mm256_loadu_ps(xp + t * 16);
      __asm__("" : "+x"(xv));
      for (int r = 0; r < M; ++r) lo[r][t] = _mm256_fmadd_ps(wv[r], xv, lo[r][t]);
    }
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm256_loadu_ps(wp + r * 16 + 8);
      __asm__("" : "+x"(wv[r]));
    }
    for (int t = 0; t < N; ++t) {
      __m256 xv = _mm256_loadu_ps(xp + t * 16 + 8);
      __asm__("" : "+x"(xv));
      for (int r = 0; r < M; ++r) hi[r][t] = _mm256_fmadd_ps(wv[r], xv, hi[r][t]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) {
      _mm256_storeu_ps(acc + (r * N + t) * 16, lo[r][t]);
      _mm256_storeu_ps(acc + (r * N + t) * 16 + 8, hi[r][t]);
    }
#else
  if (!accumulate) std::fill(acc, acc + M * N * 16, 0.0f);
  for (size_t g = 0; g < n_groups; ++g, wp += M * 16, xp += N * 16)
    for (int r = 0; r < M; ++r)
      for (int t = 0; t < N; ++t) {
        float* lanes = acc + (r * N + t) * 16;
        for (size_t l = 0; l < kDotLanes; ++l)
          lanes[l] = std::fma(wp[r * 16 + l], xp[t * 16 + l], lanes[l]);
      }
#endif
}

// One dot product with the layout (decode-sized work; matmul tiles many of them).
inline float dot(const float* a, const float* b, size_t n) {
  alignas(64) float lanes[kDotLanes] = {};
  const size_t n16 = n / kDotLanes * kDotLanes;
  dot_tile<1, 1>(a, 0, b, 0, 0, n16, lanes);
  return finish_dot(lanes, a, b, n16, n);
}

}  // namespace ss
