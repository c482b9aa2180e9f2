#pragma once
// e^x in f32 for the softmax arguments x = s - max(s) ≤ 0, written so that the compiler vectorizes
// the array form, with the same operations (explicit FMAs, no libm) in every lane: results are
// bit-identical scalar or SIMD, on any ISA. Relative error below 3e-7 for x in [-87, 0]
// (tested against std::exp); below -87 the result is ~1e-38, not the subnormal e^x.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ss {

inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  // x = n·ln2 + r with |r| ≤ ln2/2; n rounded to nearest by the 1.5·2^23 trick.
  constexpr float kLog2e = 1.44269504f, kRound = 12582912.0f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln2 = hi + lo (Cody-Waite)
  const float n = (x * kLog2e + kRound) - kRound;
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  // Taylor series of e^r to r^7 (truncation below 6e-9 for |r| ≤ 0.347), Horner with FMAs.
  float p = 1.0f / 5040;
  p = std::fma(p, r, 1.0f / 720);
  p = std::fma(p, r, 1.0f / 120);
  p = std::fma(p, r, 1.0f / 24);
  p = std::fma(p, r, 1.0f / 6);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  // A NaN x (from NaN weights or activations) stays NaN through p; n is taken as 0 for it, since
  // converting NaN to an integer is undefined behaviour.
  const float n_int = n == n ? n : 0.0f;
  const float two_n =
      std::bit_cast<float>(static_cast<int32_t>((static_cast<int32_t>(n_int) + 127) << 23));
  return p * two_n;
}

inline void exp_nonpositive(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = exp_nonpositive(x[i]);
}

// Σ x[i] in double with a fixed layout (8 lanes, i % 8, pairwise tree, then the tail), so the
// compiler may vectorize it without changing the result.
inline double sum_f64(const float* x, size_t n) {
  double l[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) l[j] += x[i + j];
  for (int j = 0; j < 4; ++j) l[j] += l[j + 4];
  double s = (l[0] + l[2]) + (l[1] + l[3]);
  for (; i < n; ++i) s += x[i];
  return s;
}

// Σ a[i]·b[i] in double with the same fixed layout as sum_f64.
inline double dot_f64_lanes(const float* a, const float* b, size_t n) {
  double l[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) l[j] += static_cast<double>(a[i + j]) * b[i + j];
  for (int j = 0; j < 4; ++j) l[j] += l[j + 4];
  double s = (l[0] + l[2]) + (l[1] + l[3]);
  for (; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace ss
