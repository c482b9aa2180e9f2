#pragma once
// f32 dot product: a SIMD version and the plain references it is tested against.
//
// `dot` gives bit-identical results on AVX-512, AVX2+FMA and plain builds: element i always
// accumulates into f32 lane i % 32 with a fused multiply-add, the 32 lanes are summed in double in
// lane order, and the n % 32 tail is added in double. Together with -ffp-contract=off this makes
// results independent of the machine the project is built on, so a number measured here is the
// number CI sees. Each lane sums only n/32 products, and the double reduction keeps the rest exact
// enough to match the float64 golden attention to 1e-6.
#include <cmath>
#include <cstddef>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace ss {

inline constexpr size_t kDotLanes = 32;

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

// Scalar statement of the lane layout `dot` implements with SIMD.
inline float dot_lanes_reference(const float* a, const float* b, size_t n) {
  float lanes[kDotLanes] = {};
  size_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes)
    for (size_t l = 0; l < kDotLanes; ++l) lanes[l] = std::fma(a[i + l], b[i + l], lanes[l]);
  double sum = 0;
  for (float v : lanes) sum += v;
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

inline float dot(const float* a, const float* b, size_t n) {
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  alignas(64) float lanes[kDotLanes];
  _mm512_store_ps(lanes, acc0);
  _mm512_store_ps(lanes + 16, acc1);
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  alignas(32) float lanes[kDotLanes];
  _mm256_store_ps(lanes, acc0);
  _mm256_store_ps(lanes + 8, acc1);
  _mm256_store_ps(lanes + 16, acc2);
  _mm256_store_ps(lanes + 24, acc3);
#else
  return dot_lanes_reference(a, b, n);
#endif
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
  double sum = 0;
  for (float v : lanes) sum += v;
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
#endif
}

}  // namespace ss
