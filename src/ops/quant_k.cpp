// The 256-element super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K (layouts in ops/quants.h).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "ops/fp16.h"
#include "ops/quants.h"

namespace ss {
namespace {

float load_f16(const uint8_t* p) {
  return half_to_f32(load_u16(p));
}

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

// The dequantizers run in vectorizable passes per super-block: unpack the quants into one byte per
// element with byte-wide operations (on local copies of the packed arrays, which cannot alias dst),
// convert all 256 to f32 in one long loop, then scale each group of 16 with its f32 scale (and
// min). GCC vectorizes a loop with one vector size for all its types, so byte and f32 work mixed in
// one short loop ran on 4-lane vectors; and it fully unrolls 16-step loops and then vectorizes
// across groups with shuffles, which `unroll 1` prevents. Each change was 2-4x.

namespace {

// y[G t + i] = scale[t] * q[G t + i] - mins[t] for the 256 / G groups of a super-block.
template <int G, class Q>
void scale_groups(const Q* q, const float* scale, const float* mins, float* y) {
  float f[kQK];
  for (size_t e = 0; e < kQK; ++e) f[e] = static_cast<float>(q[e]);
  for (int t = 0; t < static_cast<int>(kQK) / G; ++t) {
    const float s = scale[t], m = mins[t];
#pragma GCC unroll 1
    for (int i = 0; i < G; ++i) y[G * t + i] = s * f[G * t + i] - m;
  }
}

// y[16t + i] = scale[t] * q[16t + i].
template <class Q>
void scale_groups(const Q* q, const float* scale, float* y) {
  float f[kQK];
  for (size_t e = 0; e < kQK; ++e) f[e] = static_cast<float>(q[e]);
  for (int t = 0; t < 16; ++t) {
    const float s = scale[t];
#pragma GCC unroll 1
    for (int i = 0; i < 16; ++i) y[16 * t + i] = s * f[16 * t + i];
  }
}

}  // namespace

void dequantize_q2_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ2_K), dst += kQK) {
    uint8_t scales[16], qs[64], q[kQK];
    std::memcpy(scales, src + offsetof(BlockQ2_K, scales), sizeof scales);
    std::memcpy(qs, src + offsetof(BlockQ2_K, qs), sizeof qs);
    const float d = load_f16(src + offsetof(BlockQ2_K, d));
    const float dmin = load_f16(src + offsetof(BlockQ2_K, dmin));
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l)
          q[128 * h + 32 * k + l] = static_cast<uint8_t>((qs[32 * h + l] >> (2 * k)) & 3);
    float sc[16], mn[16];
    for (int t = 0; t < 16; ++t) {
      sc[t] = d * static_cast<float>(scales[t] & 15);
      mn[t] = dmin * static_cast<float>(scales[t] >> 4);
    }
    scale_groups<16>(q, sc, mn, dst);
  }
}

void dequantize_q3_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ3_K), dst += kQK) {
    uint8_t hmask[32], qs[64], scales[12];
    int8_t q[kQK];
    std::memcpy(hmask, src + offsetof(BlockQ3_K, hmask), sizeof hmask);
    std::memcpy(qs, src + offsetof(BlockQ3_K, qs), sizeof qs);
    std::memcpy(scales, src + offsetof(BlockQ3_K, scales), sizeof scales);
    const float d = load_f16(src + offsetof(BlockQ3_K, d));
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l) {
          const int v = ((qs[32 * h + l] >> (2 * k)) & 3) | (((hmask[l] >> (4 * h + k)) & 1) << 2);
          q[128 * h + 32 * k + l] = static_cast<int8_t>(v - 4);
        }
    float sc[16];
    for (int t = 0; t < 16; ++t) sc[t] = d * static_cast<float>(q3k_scale(scales, t) - 32);
    scale_groups(q, sc, dst);
  }
}

namespace {

// Scales and mins of the eight 32-element sub-blocks of a Q4_K/Q5_K block.
void k4_group_scales(const uint8_t* scales, float d, float dmin, float* sc, float* mn) {
  for (int t = 0; t < 8; ++t) {
    int s, m;
    k4_scale_min(scales, t, s, m);
    sc[t] = d * static_cast<float>(s);
    mn[t] = dmin * static_cast<float>(m);
  }
}

}  // namespace

void dequantize_q4_k(const uint8_t* src, float* dst, size_t nb) {
  // One pass: each loop step reads one byte and writes two f32 with 32 steps, which GCC
  // vectorizes well (faster here than the three passes).
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ4_K), dst += kQK) {
    uint8_t scales[12], qs[128];
    std::memcpy(scales, src + offsetof(BlockQ4_K, scales), sizeof scales);
    std::memcpy(qs, src + offsetof(BlockQ4_K, qs), sizeof qs);
    float sc[8], mn[8];
    k4_group_scales(scales, load_f16(src + offsetof(BlockQ4_K, d)),
                    load_f16(src + offsetof(BlockQ4_K, dmin)), sc, mn);
    for (int c = 0; c < 4; ++c) {
      const float d0 = sc[2 * c], m0 = mn[2 * c], d1 = sc[2 * c + 1], m1 = mn[2 * c + 1];
      const uint8_t* q = qs + 32 * c;
      float* y = dst + 64 * c;
      for (int l = 0; l < 32; ++l) {
        y[l] = d0 * static_cast<float>(q[l] & 15) - m0;
        y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - m1;
      }
    }
  }
}

void dequantize_q5_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ5_K), dst += kQK) {
    uint8_t scales[12], qh[32], qs[128], q[kQK];
    std::memcpy(scales, src + offsetof(BlockQ5_K, scales), sizeof scales);
    std::memcpy(qh, src + offsetof(BlockQ5_K, qh), sizeof qh);
    std::memcpy(qs, src + offsetof(BlockQ5_K, qs), sizeof qs);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        q[64 * c + l] =
            static_cast<uint8_t>((qs[32 * c + l] & 15) | (((qh[l] >> (2 * c)) & 1) << 4));
        q[64 * c + 32 + l] =
            static_cast<uint8_t>((qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4));
      }
    float sc[8], mn[8];
    k4_group_scales(scales, load_f16(src + offsetof(BlockQ5_K, d)),
                    load_f16(src + offsetof(BlockQ5_K, dmin)), sc, mn);
    scale_groups<32>(q, sc, mn, dst);
  }
}

void dequantize_q6_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ6_K), dst += kQK) {
    uint8_t ql[128], qh[64];
    int8_t scales[16], q[kQK];
    std::memcpy(ql, src + offsetof(BlockQ6_K, ql), sizeof ql);
    std::memcpy(qh, src + offsetof(BlockQ6_K, qh), sizeof qh);
    std::memcpy(scales, src + offsetof(BlockQ6_K, scales), sizeof scales);
    const float d = load_f16(src + offsetof(BlockQ6_K, d));
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = ql[64 * h + l], hi = ql[64 * h + 32 + l], top = qh[32 * h + l];
        int8_t* y = q + 128 * h + l;
        y[0] = static_cast<int8_t>(((lo & 15) | ((top & 3) << 4)) - 32);
        y[32] = static_cast<int8_t>(((hi & 15) | (((top >> 2) & 3) << 4)) - 32);
        y[64] = static_cast<int8_t>(((lo >> 4) | (((top >> 4) & 3) << 4)) - 32);
        y[96] = static_cast<int8_t>(((hi >> 4) | ((top >> 6) << 4)) - 32);
      }
    float sc[16];
    for (int t = 0; t < 16; ++t) sc[t] = d * static_cast<float>(scales[t]);
    scale_groups(q, sc, dst);
  }
}

void dequantize_q8_k(const uint8_t* src, float* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += sizeof(BlockQ8_K), dst += kQK) {
    float d;
    int8_t qs[kQK];
    std::memcpy(&d, src + offsetof(BlockQ8_K, d), sizeof d);
    std::memcpy(qs, src + offsetof(BlockQ8_K, qs), kQK);
    for (size_t j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

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
