#pragma once
// f32 dot products: the one arithmetic layout of every matmul in sinkscope, stated in scalar
// form. The SIMD kernels (ops/simd/lanes-inl.h, one variant per ISA) are tested against these
// statements bit for bit.
//
// Every dot product follows this layout, whatever the ISA, tile shape, token count or thread
// count:
//   1. element i accumulates into f32 lane i % 16 with a fused multiply-add, in order of i;
//   2. the 16 lanes are summed in double by a fixed tree (sum_lanes_reference);
//   3. the n % 16 tail is added in double, and the sum is rounded to f32 once.
// With -ffp-contract=off elsewhere this makes results bit-identical between the scalar, AVX2 and
// AVX-512 variants (a number measured here is the number any other machine sees), and between
// prefill, decode and any tiling or blocking of the GEMM.
#include <cmath>
#include <cstddef>

namespace ss {

inline constexpr size_t kDotLanes = 16;

inline double dot_f64(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Step 2: halves added pairwise, 16 → 8 → 4 → 2 → 1, in double.
inline double sum_lanes_reference(const float* lanes) {
  double s[8];
  for (int j = 0; j < 8; ++j) s[j] = static_cast<double>(lanes[j]) + lanes[j + 8];
  for (int j = 0; j < 4; ++j) s[j] += s[j + 4];
  for (int j = 0; j < 2; ++j) s[j] += s[j + 2];
  return s[0] + s[1];
}

// The whole layout.
inline float dot_lanes_reference(const float* a, const float* b, size_t n) {
  float lanes[kDotLanes] = {};
  size_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes)
    for (size_t l = 0; l < kDotLanes; ++l) lanes[l] = std::fma(a[i + l], b[i + l], lanes[l]);
  double sum = sum_lanes_reference(lanes);
  for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

// One dot product with the layout, by the SIMD variant in use (decode-sized work; matmul tiles
// many of them).
float dot(const float* a, const float* b, size_t n);

}  // namespace ss
