// The 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 (layouts in ops/quants.h).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "base/fp16.h"
#include "ops/quants.h"

namespace ss {

uint16_t f16_ceil(float v) {
  uint16_t h = f32_to_f16(v);
  if (f16_to_f32(h) >= v) return h;
  // Rounded down: the next half toward +inf (a smaller magnitude for a negative one).
  return static_cast<uint16_t>((h & 0x8000) ? h - 1 : h + 1);
}

uint16_t f16_floor(float v) {
  return static_cast<uint16_t>(f16_ceil(-v) ^ 0x8000);
}

namespace {

constexpr size_t kQ = 32;  // elements per block

void min_max(const float* x, size_t n, float& mn, float& mx) {
  mn = x[0];
  mx = x[0];
  for (size_t i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
}

// Symmetric types: q in [-neg, neg - 1] stored as q + neg; fills the stored levels l and returns
// the f16 bits of d. Two candidate scales, keeping the one with the smaller largest error (then the
// smaller squared error): the smallest step that covers the block within half a step
// (symmetric_step, magnitude rounded up to f16), which guarantees the documented bound, and the
// step that puts the value of largest magnitude exactly on level -neg (as ggml does), which is
// often better and reproduces values already on such a grid exactly.
uint16_t quantize_symmetric(const float* x, int neg, uint8_t* l) {
  float mn, mx;
  min_max(x, kQ, mn, mx);
  const float s = symmetric_step(mn, mx, neg);
  const float extreme = std::fabs(mn) > std::fabs(mx) ? mn : mx;
  const uint16_t candidates[2] = {s < 0 ? f16_floor(s) : f16_ceil(s),
                                  f32_to_f16(extreme / static_cast<float>(-neg))};
  uint16_t best = candidates[0];
  float best_max = INFINITY, best_sq = INFINITY;
  for (uint16_t bits : candidates) {
    const float d = f16_to_f32(bits);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    float err_max = 0, err_sq = 0;
    for (size_t j = 0; j < kQ; ++j) {
      const float e = x[j] - d * static_cast<float>(nearest(x[j] * id, -neg, neg - 1));
      err_max = std::max(err_max, std::fabs(e));
      err_sq += e * e;
    }
    if (err_max < best_max || (err_max == best_max && err_sq < best_sq)) {
      best = bits;
      best_max = err_max;
      best_sq = err_sq;
    }
  }
  const float d = f16_to_f32(best);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (size_t j = 0; j < kQ; ++j)
    l[j] = static_cast<uint8_t>(nearest(x[j] * id, -neg, neg - 1) + neg);
  return best;
}

// Asymmetric types: y = d * q + m with q in [0, qmax]; m <= min, d * qmax >= max - m.
void quantize_affine(const float* x, int qmax, uint8_t* l, uint16_t& d_bits, uint16_t& m_bits) {
  float mn, mx;
  min_max(x, kQ, mn, mx);
  m_bits = f16_floor(mn);
  const float m = f16_to_f32(m_bits);
  d_bits = f16_ceil((mx - m) / static_cast<float>(qmax));
  const float d = f16_to_f32(d_bits);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (size_t j = 0; j < kQ; ++j) l[j] = static_cast<uint8_t>(nearest((x[j] - m) * id, 0, qmax));
}

}  // namespace

void quantize_q4_0(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ4_0)) {
    uint8_t l[kQ];
    const uint16_t d = quantize_symmetric(src, 8, l);
    store_u16(dst + offsetof(BlockQ4_0, d), d);
    uint8_t* qs = dst + offsetof(BlockQ4_0, qs);
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(l[j] | (l[j + 16] << 4));
  }
}

void quantize_q4_1(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ4_1)) {
    uint8_t l[kQ];
    uint16_t d, m;
    quantize_affine(src, 15, l, d, m);
    store_u16(dst + offsetof(BlockQ4_1, d), d);
    store_u16(dst + offsetof(BlockQ4_1, m), m);
    uint8_t* qs = dst + offsetof(BlockQ4_1, qs);
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(l[j] | (l[j + 16] << 4));
  }
}

namespace {

// Low nibbles into qs, bit 4 of element j into bit j of the little-endian u32 at qh.
void pack5(const uint8_t* l, uint8_t* qh, uint8_t* qs) {
  uint32_t h = 0;
  for (int j = 0; j < 32; ++j) h |= static_cast<uint32_t>((l[j] >> 4) & 1) << j;
  for (int i = 0; i < 4; ++i) qh[i] = static_cast<uint8_t>(h >> (8 * i));
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((l[j] & 15) | ((l[j + 16] & 15) << 4));
}

}  // namespace

void quantize_q5_0(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ5_0)) {
    uint8_t l[kQ];
    const uint16_t d = quantize_symmetric(src, 16, l);
    store_u16(dst + offsetof(BlockQ5_0, d), d);
    pack5(l, dst + offsetof(BlockQ5_0, qh), dst + offsetof(BlockQ5_0, qs));
  }
}

void quantize_q5_1(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ5_1)) {
    uint8_t l[kQ];
    uint16_t d, m;
    quantize_affine(src, 31, l, d, m);
    store_u16(dst + offsetof(BlockQ5_1, d), d);
    store_u16(dst + offsetof(BlockQ5_1, m), m);
    pack5(l, dst + offsetof(BlockQ5_1, qh), dst + offsetof(BlockQ5_1, qs));
  }
}

namespace {

// Q8_0/Q8_1: d = max|x| / 127 rounded to the nearest half, q = round(x / d). |x| / d stays below
// 127.5 because the half is within 2^-11 of max|x| / 127, so no clamp is needed.
uint16_t quantize_q8(const float* x, int8_t* q, int& sum) {
  float amax = 0;
  for (size_t j = 0; j < kQ; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const uint16_t d_bits = f32_to_f16(amax / 127.0f);
  const float d = f16_to_f32(d_bits);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  sum = 0;
  for (size_t j = 0; j < kQ; ++j) {
    q[j] = static_cast<int8_t>(nearest(x[j] * id, -127, 127));
    sum += q[j];
  }
  return d_bits;
}

}  // namespace

void quantize_q8_0(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ8_0)) {
    int8_t q[kQ];
    int sum;
    store_u16(dst + offsetof(BlockQ8_0, d), quantize_q8(src, q, sum));
    std::memcpy(dst + offsetof(BlockQ8_0, qs), q, kQ);
  }
}

void quantize_q8_1(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQ, dst += sizeof(BlockQ8_1)) {
    int8_t q[kQ];
    int sum;
    const uint16_t d = quantize_q8(src, q, sum);
    store_u16(dst + offsetof(BlockQ8_1, d), d);
    store_u16(dst + offsetof(BlockQ8_1, s), f32_to_f16(f16_to_f32(d) * static_cast<float>(sum)));
    std::memcpy(dst + offsetof(BlockQ8_1, qs), q, kQ);
  }
}

}  // namespace ss
