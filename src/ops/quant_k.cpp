// The 256-element super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K (layouts in ops/quants.h).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "base/fp16.h"
#include "ops/quants.h"

namespace ss {
namespace {

// ceil(v) clamped to [0, hi] (NaN gives hi).
int ceil_int(float v, int hi) {
  return static_cast<int>(std::fmax(std::fmin(std::ceil(v), static_cast<float>(hi)), 0.0f));
}

// Q2_K, Q4_K, Q5_K: y = d * sc[t] * q - dmin * mn[t] with q in [0, qmax], sc and mn in [0, smax],
// sub-blocks t of `sub` elements. Per sub-block the grid starts at -dmin * mn[t] <= min(0, min x)
// (the format's offset is never positive) and, with sc[t] rounded up, reaches past max x, so every
// value is within half a step of the grid: the bound in ops/dequant.h.
struct AffineK {
  uint16_t d, dmin;
  int sc[16], mn[16];
  uint8_t l[kQK];  // levels 0..qmax
};

void quantize_affine_k(const float* x, size_t sub, int qmax, int smax, AffineK& out) {
  const size_t nsub = kQK / sub;
  float lo[16], hi[16], offset_max = 0;
  for (size_t t = 0; t < nsub; ++t) {
    lo[t] = 0;
    hi[t] = x[t * sub];
    for (size_t i = 0; i < sub; ++i) {
      lo[t] = std::min(lo[t], x[t * sub + i]);
      hi[t] = std::max(hi[t], x[t * sub + i]);
    }
    offset_max = std::max(offset_max, -lo[t]);
  }
  out.dmin = f16_ceil(offset_max / static_cast<float>(smax));
  const float dmin = f16_to_f32(out.dmin);
  float ml[16], span[16], span_max = 0;
  for (size_t t = 0; t < nsub; ++t) {
    out.mn[t] = dmin > 0 ? ceil_int(-lo[t] / dmin, smax) : 0;
    ml[t] = dmin * static_cast<float>(out.mn[t]);
    span[t] = std::max(0.0f, hi[t] + ml[t]);
    span_max = std::max(span_max, span[t]);
  }
  out.d = f16_ceil(span_max / static_cast<float>(qmax * smax));
  const float d = f16_to_f32(out.d);
  for (size_t t = 0; t < nsub; ++t) {
    out.sc[t] = d > 0 ? ceil_int(span[t] / (static_cast<float>(qmax) * d), smax) : 0;
    const float dl = d * static_cast<float>(out.sc[t]);
    const float id = dl > 0 ? 1.0f / dl : 0.0f;
    for (size_t i = t * sub; i < (t + 1) * sub; ++i)
      out.l[i] = static_cast<uint8_t>(nearest((x[i] + ml[t]) * id, 0, qmax));
  }
}

// Q3_K, Q6_K: y = d * sc[t] * q with q in [-neg, neg - 1], |sc| <= smax, sub-blocks of 16. Each
// sub-block gets the smallest signed step covering its values (symmetric_step), rounded up in
// magnitude to a multiple of d.
struct SymmetricK {
  uint16_t d;
  int sc[16];
  int q[kQK];
};

void quantize_symmetric_k(const float* x, int neg, int smax, SymmetricK& out) {
  float s[16], s_max = 0;
  for (size_t t = 0; t < 16; ++t) {
    float mn = x[t * 16], mx = x[t * 16];
    for (size_t i = 1; i < 16; ++i) {
      mn = std::min(mn, x[t * 16 + i]);
      mx = std::max(mx, x[t * 16 + i]);
    }
    s[t] = symmetric_step(mn, mx, neg);
    s_max = std::max(s_max, std::fabs(s[t]));
  }
  out.d = f16_ceil(s_max / static_cast<float>(smax));
  const float d = f16_to_f32(out.d);
  for (size_t t = 0; t < 16; ++t) {
    const int mag = d > 0 ? ceil_int(std::fabs(s[t]) / d, smax) : 0;
    out.sc[t] = s[t] < 0 ? -mag : mag;
    const float dl = d * static_cast<float>(out.sc[t]);
    const float id = dl != 0 ? 1.0f / dl : 0.0f;
    for (size_t i = t * 16; i < t * 16 + 16; ++i) out.q[i] = nearest(x[i] * id, -neg, neg - 1);
  }
}

// The 12-byte packing of eight 6-bit scales and mins shared by Q4_K and Q5_K (see k4_scale_min).
void pack_k4_scales(const int* sc, const int* mn, uint8_t* s) {
  for (int t = 0; t < 4; ++t) {
    s[t] = static_cast<uint8_t>(sc[t] | ((sc[t + 4] >> 4) << 6));
    s[t + 4] = static_cast<uint8_t>(mn[t] | ((mn[t + 4] >> 4) << 6));
    s[t + 8] = static_cast<uint8_t>((sc[t + 4] & 15) | ((mn[t + 4] & 15) << 4));
  }
}

}  // namespace

void quantize_q2_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ2_K)) {
    AffineK a;
    quantize_affine_k(src, 16, 3, 15, a);
    std::memset(dst, 0, sizeof(BlockQ2_K));
    uint8_t* scales = dst + offsetof(BlockQ2_K, scales);
    uint8_t* qs = dst + offsetof(BlockQ2_K, qs);
    for (int t = 0; t < 16; ++t) scales[t] = static_cast<uint8_t>(a.sc[t] | (a.mn[t] << 4));
    for (size_t e = 0; e < kQK; ++e) {
      const size_t h = e / 128, k = e % 128 / 32, l = e % 32;
      qs[32 * h + l] = static_cast<uint8_t>(qs[32 * h + l] | (a.l[e] << (2 * k)));
    }
    store_u16(dst + offsetof(BlockQ2_K, d), a.d);
    store_u16(dst + offsetof(BlockQ2_K, dmin), a.dmin);
  }
}

void quantize_q3_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ3_K)) {
    SymmetricK s;
    quantize_symmetric_k(src, 4, 31, s);
    std::memset(dst, 0, sizeof(BlockQ3_K));
    uint8_t* hmask = dst + offsetof(BlockQ3_K, hmask);
    uint8_t* qs = dst + offsetof(BlockQ3_K, qs);
    uint8_t* scales = dst + offsetof(BlockQ3_K, scales);
    for (int t = 0; t < 16; ++t) {
      const int v = s.sc[t] + 32;  // 1..63
      scales[t & 7] = static_cast<uint8_t>(scales[t & 7] | ((v & 15) << (4 * (t >> 3))));
      scales[8 + (t & 3)] =
          static_cast<uint8_t>(scales[8 + (t & 3)] | ((v >> 4) << (2 * (t >> 2))));
    }
    for (size_t e = 0; e < kQK; ++e) {
      const size_t h = e / 128, k = e % 128 / 32, l = e % 32;
      const int v = s.q[e] + 4;  // 0..7
      qs[32 * h + l] = static_cast<uint8_t>(qs[32 * h + l] | ((v & 3) << (2 * k)));
      hmask[l] = static_cast<uint8_t>(hmask[l] | ((v >> 2) << (4 * h + k)));
    }
    store_u16(dst + offsetof(BlockQ3_K, d), s.d);
  }
}

void quantize_q4_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ4_K)) {
    AffineK a;
    quantize_affine_k(src, 32, 15, 63, a);
    store_u16(dst + offsetof(BlockQ4_K, d), a.d);
    store_u16(dst + offsetof(BlockQ4_K, dmin), a.dmin);
    pack_k4_scales(a.sc, a.mn, dst + offsetof(BlockQ4_K, scales));
    uint8_t* qs = dst + offsetof(BlockQ4_K, qs);
    for (size_t c = 0; c < 4; ++c)
      for (size_t l = 0; l < 32; ++l)
        qs[32 * c + l] = static_cast<uint8_t>(a.l[64 * c + l] | (a.l[64 * c + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ5_K)) {
    AffineK a;
    quantize_affine_k(src, 32, 31, 63, a);
    store_u16(dst + offsetof(BlockQ5_K, d), a.d);
    store_u16(dst + offsetof(BlockQ5_K, dmin), a.dmin);
    pack_k4_scales(a.sc, a.mn, dst + offsetof(BlockQ5_K, scales));
    uint8_t* qh = dst + offsetof(BlockQ5_K, qh);
    uint8_t* qs = dst + offsetof(BlockQ5_K, qs);
    std::memset(qh, 0, 32);
    for (size_t c = 0; c < 4; ++c) {
      for (size_t l = 0; l < 32; ++l) {
        const int v0 = a.l[64 * c + l], v1 = a.l[64 * c + 32 + l];
        qs[32 * c + l] = static_cast<uint8_t>((v0 & 15) | ((v1 & 15) << 4));
        qh[l] = static_cast<uint8_t>(qh[l] | ((v0 >> 4) << (2 * c)) | ((v1 >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_q6_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ6_K)) {
    SymmetricK s;
    quantize_symmetric_k(src, 32, 127, s);
    std::memset(dst, 0, sizeof(BlockQ6_K));
    uint8_t* ql = dst + offsetof(BlockQ6_K, ql);
    uint8_t* qh = dst + offsetof(BlockQ6_K, qh);
    auto* scales = reinterpret_cast<int8_t*>(dst + offsetof(BlockQ6_K, scales));
    for (int t = 0; t < 16; ++t) scales[t] = static_cast<int8_t>(s.sc[t]);
    for (size_t e = 0; e < kQK; ++e) {
      const size_t h = e / 128, k = e % 128 / 32, l = e % 32;
      const int v = s.q[e] + 32;  // 0..63
      const size_t li = 64 * h + l + 32 * (k & 1);
      ql[li] = static_cast<uint8_t>(ql[li] | ((v & 15) << (4 * (k >> 1))));
      qh[32 * h + l] = static_cast<uint8_t>(qh[32 * h + l] | ((v >> 4) << (2 * k)));
    }
    store_u16(dst + offsetof(BlockQ6_K, d), s.d);
  }
}

void quantize_q8_k(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kQK, dst += sizeof(BlockQ8_K)) {
    float amax = 0;
    for (size_t j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int8_t q[kQK];
    for (size_t j = 0; j < kQK; ++j) q[j] = static_cast<int8_t>(nearest(src[j] * id, -127, 127));
    std::memcpy(dst + offsetof(BlockQ8_K, d), &d, sizeof d);
    std::memcpy(dst + offsetof(BlockQ8_K, qs), q, kQK);
    for (size_t g = 0; g < 16; ++g) {
      int sum = 0;
      for (size_t j = 0; j < 16; ++j) sum += q[16 * g + j];
      const auto s = static_cast<int16_t>(sum);
      std::memcpy(dst + offsetof(BlockQ8_K, bsums) + 2 * g, &s, 2);
    }
  }
}

}  // namespace ss
