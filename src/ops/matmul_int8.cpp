#include "ops/matmul_int8.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/quants.h"
#include "ops/simd/kernels.h"

namespace ss {
namespace {

void require_covered(const Tensor& w, const char* who) {
  const int64_t block = w.type == DType::Q8_0 ? 32 : static_cast<int64_t>(kQK);
  if (!int8_dot_type(w.type) || w.cols() % block != 0)
    throw std::invalid_argument(std::string(who) + ": " + w.name +
                                " is not Q4_K or Q8_0 with whole blocks to a row");
}

// v rounded to the nearest integer, ties to even, for |v| < 2^22: adding 1.5 · 2^23 leaves no
// fraction bits (rounded to nearest even, the default mode), and subtracting it again is exact.
// nearbyint's result without a library call per element.
float round_even(float v) {
  constexpr float kShift = 12582912.0f;
  return (v + kShift) - kShift;
}

}  // namespace

bool int8_dot_type(DType type) {
  return type == DType::Q4_K || type == DType::Q8_0;
}

void quantize_act_q8(const float* x, size_t n, ActQ8* out) {
  for (size_t b = 0; b < n / kQK; ++b, x += kQK) {
    ActQ8& a = out[b];
    a = ActQ8{};
    float amax = 0, m = 0;
    bool finite = true;
    for (size_t i = 0; i < kQK; ++i) {
      finite &= std::isfinite(x[i]);
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        m = x[i];
      }
    }
    if (!finite) {
      a.d = std::nanf("");  // so the block's outputs are NaN
      continue;
    }
    const float s = -127.0f / m;
    if (!std::isfinite(s)) continue;  // all zero, or below 127 / FLT_MAX: d = 0, q = 0
    for (size_t i = 0; i < kQK; ++i)
      a.q[i] = static_cast<int8_t>(round_even(x[i] * s));  // |x_i · s| <= 127 (+ rounding)
    a.d = 1.0f / s;
    for (int t = 0; t < 8; ++t) {
      int sum = 0;
      for (int i = 0; i < 32; ++i) sum += a.q[32 * t + i];
      a.bsums[t] = static_cast<int16_t>(sum);
    }
  }
}

void quantize_act_q8_0(const float* x, size_t n, ActQ8_0* out) {
  for (size_t b = 0; b < n / 32; ++b, x += 32) {
    ActQ8_0& a = out[b];
    a = ActQ8_0{};
    float amax = 0;
    bool finite = true;
    for (size_t i = 0; i < 32; ++i) {
      finite &= std::isfinite(x[i]);
      amax = std::max(amax, std::fabs(x[i]));
    }
    if (!finite) {
      a.d = std::nanf("");  // so the block's outputs are NaN
      continue;
    }
    a.d = f16_to_f32(f32_to_f16(amax / 127.0f));
    const float s = 127.0f / amax;
    if (!std::isfinite(s)) continue;  // all zero, or below 127 / FLT_MAX: q = 0
    for (size_t i = 0; i < 32; ++i)
      a.q[i] = static_cast<int8_t>(round_even(x[i] * s));  // |x_i · s| <= 127 (+ rounding)
  }
}

// The fast path is ops/int8dot-inl.h, in the AVX2 and AVX-512 variants.
void matmul_int8(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  require_covered(w, "matmul_int8");
  kernels().matmul_int8(w, x, n_tokens, y, pool);
}

namespace {

// Step 3: the blocks' terms summed in the stated order, rounded to f32 once.
float sum_terms(const std::vector<double>& terms) {
  const size_t blocks = terms.size(), whole = blocks / 4 * 4;
  double lanes[4] = {};
  for (size_t b = 0; b < whole; ++b) lanes[b % 4] += terms[b];
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (size_t b = whole; b < blocks; ++b) sum += terms[b];
  return static_cast<float>(sum);
}

void reference_q8_0(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t blocks = cols / 32;
  std::vector<ActQ8_0> act(blocks);
  std::vector<double> terms(blocks);
  for (size_t t = 0; t < n_tokens; ++t) {
    quantize_act_q8_0(x + t * cols, cols, act.data());
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* row = w.row(static_cast<int64_t>(r));
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + b * sizeof(BlockQ8_0);
        const auto* qs = reinterpret_cast<const int8_t*>(blk + offsetof(BlockQ8_0, qs));
        int32_t sumi = 0;
        for (int i = 0; i < 32; ++i) sumi += qs[i] * act[b].q[i];
        terms[b] = q8_0_block_term(act[b].d, load_u16(blk + offsetof(BlockQ8_0, d)), sumi);
      }
      y[t * rows + r] = sum_terms(terms);
    }
  }
}

}  // namespace

void matmul_int8_reference(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  require_covered(w, "matmul_int8_reference");
  if (w.type == DType::Q8_0) return reference_q8_0(w, x, n_tokens, y);
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t blocks = cols / kQK;
  std::vector<ActQ8> act(blocks);
  std::vector<double> terms(blocks);
  for (size_t t = 0; t < n_tokens; ++t) {
    quantize_act_q8(x + t * cols, cols, act.data());
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* row = w.row(static_cast<int64_t>(r));
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* blk = row + b * sizeof(BlockQ4_K);
        const uint8_t* qs = blk + offsetof(BlockQ4_K, qs);
        int32_t sumi = 0, summ = 0;
        for (int sub = 0; sub < 8; ++sub) {
          int sc = 0, mn = 0;
          k4_scale_min(blk + offsetof(BlockQ4_K, scales), sub, sc, mn);
          int32_t dot = 0;
          for (int l = 0; l < 32; ++l) {
            // sub-block 2c holds the low nibbles of qs[32c ..], 2c + 1 the high ones
            const uint8_t byte = qs[32 * (sub / 2) + l];
            dot += (sub % 2 ? byte >> 4 : byte & 15) * act[b].q[32 * sub + l];
          }
          sumi += sc * dot;
          summ += mn * act[b].bsums[sub];
        }
        terms[b] = q4k_block_term(act[b].d, load_u16(blk + offsetof(BlockQ4_K, d)),
                                  load_u16(blk + offsetof(BlockQ4_K, dmin)), sumi, summ);
      }
      y[t * rows + r] = sum_terms(terms);
    }
  }
}

}  // namespace ss
