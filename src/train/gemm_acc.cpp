#include "train/gemm_acc.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace ss::train {
namespace {

// One SIMD register of f32 and the four operations the kernel needs.
#if defined(__AVX512F__)
using Vec = __m512;
constexpr size_t kW = 16;
inline Vec vzero() {
  return _mm512_setzero_ps();
}
inline Vec vload(const float* p) {
  return _mm512_loadu_ps(p);
}
inline Vec vbroadcast(float x) {
  return _mm512_set1_ps(x);
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return _mm512_fmadd_ps(a, b, c);
}
inline void vadd_store(float* p, Vec v) {
  _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), v));
}
#define SS_PIN(v) __asm__("" : "+v"(v))
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr size_t kW = 8;
inline Vec vzero() {
  return _mm256_setzero_ps();
}
inline Vec vload(const float* p) {
  return _mm256_loadu_ps(p);
}
inline Vec vbroadcast(float x) {
  return _mm256_set1_ps(x);
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline void vadd_store(float* p, Vec v) {
  _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), v));
}
#define SS_PIN(v) __asm__("" : "+x"(v))
#else
using Vec = float;
constexpr size_t kW = 1;
inline Vec vzero() {
  return 0.0f;
}
inline Vec vload(const float* p) {
  return *p;
}
inline Vec vbroadcast(float x) {
  return x;
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return std::fma(a, b, c);
}
inline void vadd_store(float* p, Vec v) {
  *p += v;
}
#define SS_PIN(v) (void)0
#endif

// Register tile: kMR rows of C × kNV vectors (16 accumulators with AVX-512).
constexpr size_t kMR = 4, kNV = 4;
// Rows of C per parallel task: enough tiles to reuse each B panel from L2.
constexpr size_t kRowsPerTask = 32;

template <size_t MR, size_t NV>
void tile(const GemmOperands& g, size_t m0, size_t j0) {
  Vec acc[MR][NV];
  for (size_t r = 0; r < MR; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = vzero();
  const float* a0 = g.a + m0 * g.a_m;
  for (size_t k = 0; k < g.k_len; ++k) {
    const float* brow = g.b + k * g.ldb + j0;
    Vec bv[NV];
    for (size_t v = 0; v < NV; ++v) {
      bv[v] = vload(brow + v * kW);
      SS_PIN(bv[v]);  // keep B in registers: a folded load would be repeated for every row
    }
    const float* ak = a0 + k * g.a_k;
    for (size_t r = 0; r < MR; ++r) {
      const Vec a = vbroadcast(ak[r * g.a_m]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = vfma(a, bv[v], acc[r][v]);
    }
  }
  for (size_t r = 0; r < MR; ++r)
    for (size_t v = 0; v < NV; ++v) vadd_store(g.c + (m0 + r) * g.ldc + j0 + v * kW, acc[r][v]);
}

using TileFn = void (*)(const GemmOperands&, size_t, size_t);

template <size_t MR>
TileFn tile_for(size_t nv) {
  switch (nv) {
    case 1:
      return &tile<MR, 1>;
    case 2:
      return &tile<MR, 2>;
    case 3:
      return &tile<MR, 3>;
    default:
      return &tile<MR, kNV>;
  }
}

TileFn tile_fn(size_t mr, size_t nv) {
  switch (mr) {
    case 1:
      return tile_for<1>(nv);
    case 2:
      return tile_for<2>(nv);
    case 3:
      return tile_for<3>(nv);
    default:
      return tile_for<kMR>(nv);
  }
}

// One element the scalar way (columns past the last whole vector, and the reference).
inline void element(const GemmOperands& g, size_t m, size_t j) {
  float acc = 0.0f;
  for (size_t k = 0; k < g.k_len; ++k)
    acc = std::fma(g.a[m * g.a_m + k * g.a_k], g.b[k * g.ldb + j], acc);
  g.c[m * g.ldc + j] += acc;
}

}  // namespace

void gemm_accumulate(const GemmOperands& g, ThreadPool& pool) {
  const size_t vec_cols = g.n_cols / kW * kW;
  const size_t tasks = (g.m_rows + kRowsPerTask - 1) / kRowsPerTask;
  pool.parallel_for(tasks, [&](size_t t0, size_t t1, int) {
    const size_t m_begin = t0 * kRowsPerTask, m_end = std::min(g.m_rows, t1 * kRowsPerTask);
    // Panels of kNV vectors outermost: a panel of B (k_len × 64 floats) stays in L2 while every
    // row tile of this task passes over it.
    for (size_t j = 0; j < vec_cols; j += kNV * kW) {
      const size_t nv = std::min(kNV, (vec_cols - j) / kW);
      for (size_t m = m_begin; m < m_end; m += kMR) tile_fn(std::min(kMR, m_end - m), nv)(g, m, j);
    }
    for (size_t m = m_begin; m < m_end; ++m)
      for (size_t j = vec_cols; j < g.n_cols; ++j) element(g, m, j);
  });
}

void gemm_accumulate_reference(const GemmOperands& g) {
  for (size_t m = 0; m < g.m_rows; ++m)
    for (size_t j = 0; j < g.n_cols; ++j) element(g, m, j);
}

}  // namespace ss::train
