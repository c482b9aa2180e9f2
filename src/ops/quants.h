#pragma once
// Block layouts of the quantized GGUF/ggml tensor types and the per-type row converters that
// quantize_row (ops/dequant.h) dispatches to.
//
// Every layout is little-endian and packed; f16 fields hold IEEE half bits. The structs document
// the byte layout and give sizeof for the checks against dtype_info; the converters read and write
// the bytes through offsetof, never through a struct pointer, so rows need no particular alignment.
//
// Element numbering inside a block (y = dequantized values, e = element index):
// clang-format off
//   Q4_0  y[e] = d * (q - 8),   q = low nibble of qs[e] for e < 16, high nibble of qs[e - 16] else
//   Q4_1  y[e] = d * q + m,     q as Q4_0
//   Q5_0  y[e] = d * (q - 16),  q = Q4_0's nibble | bit e of qh (a little-endian u32) << 4
//   Q5_1  y[e] = d * q + m,     q as Q5_0
//   Q8_0  y[e] = d * qs[e]
//   Q8_1  y[e] = d * qs[e]      (s = d * sum(qs) is for dot products, not read here)
// K-quants: 256 elements in sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K, Q5_K); sub-block
// t = e / 16 (or e / 32). With h = e / 128, k = (e % 128) / 32, l = e % 32:
//   Q2_K  y = d * (scales[t] & 15) * q - dmin * (scales[t] >> 4),  q = (qs[32h + l] >> 2k) & 3
//   Q3_K  y = d * (sc[t] - 32) * q, sc[t] 6-bit (q3k_scale), q in [-4, 3]:
//         q = ((qs[32h + l] >> 2k) & 3) + 4 * ((hmask[l] >> (4h + k)) & 1) - 4
//   Q4_K  y = d * sc[t] * q - dmin * mn[t], sc/mn 6-bit (k4_scale_min); with c = e / 64:
//         q = low nibble of qs[32c + l] for e % 64 < 32, its high nibble else
//   Q5_K  as Q4_K, plus 16 * ((qh[l] >> (2c + (e % 64 >= 32))) & 1)
//   Q6_K  y = d * scales[t] * (q - 32),  q = low4 | high2 << 4:
//         low4  = ql[64h + l + 32 * (k & 1)], its low nibble for k < 2, high nibble else
//         high2 = (qh[32h + l] >> 2k) & 3
//   Q8_K  y = d * qs[e], d an f32 (bsums[g] = sum of qs[16g .. 16g + 15], not read here)
// MXFP4 (OCP microscaling FP4, gpt-oss; 32 elements):
//   MXFP4 y[e] = 2^(s - 127) * E2M1(q),  s the E8M0 scale byte, q = Q4_0's nibble: bit 3 the sign,
//         bits 0-2 the magnitude 0, 0.5, 1, 1.5, 2, 3, 4, 6
// clang-format on
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "base/fp16.h"

namespace ss {

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
// Q8_0 block: f16 scale d, 32 int8 q; value = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ8_1 {
  uint16_t d, s;
  int8_t qs[32];
};

constexpr size_t kQK = 256;  // elements in a K-quant super-block

struct BlockQ2_K {
  uint8_t scales[16];  // per 16 elements: low nibble scale, high nibble min
  uint8_t qs[64];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];  // 16 six-bit scales, biased by 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};

struct BlockMXFP4 {
  uint8_t e;  // E8M0: 2^(e - 127); 0xFF is NaN
  uint8_t qs[16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockMXFP4) == 17);

// Six-bit scale t (0..15) of a Q3_K block, 0..63 (the format subtracts 32): the low four bits are
// the low (t < 8) or high (t >= 8) nibble of byte t % 8; the top two bits are bits 2*(t/4)..+1 of
// byte 8 + t % 4.
inline int q3k_scale(const uint8_t* s, int t) {
  int lo = (s[t & 7] >> (4 * (t >> 3))) & 15;
  int hi = (s[8 + (t & 3)] >> (2 * (t >> 2))) & 3;
  return lo | (hi << 4);
}

// Six-bit scale and min of sub-block t (0..7) of a Q4_K/Q5_K block: for t < 4 the low six bits of
// bytes t and t + 4; for t >= 4 the low (scale) and high (min) nibble of byte t + 4, topped by the
// two high bits of bytes t - 4 (scale) and t (min).
inline void k4_scale_min(const uint8_t* s, int t, int& sc, int& mn) {
  if (t < 4) {
    sc = s[t] & 63;
    mn = s[t + 4] & 63;
  } else {
    sc = (s[t + 4] & 15) | ((s[t - 4] >> 6) << 4);
    mn = (s[t + 4] >> 4) | ((s[t] >> 6) << 4);
  }
}

// MXFP4 decodes as ggml does: the E2M1 values doubled (integers) times 2^(e - 128), so every
// product is exact and no variant can differ.
inline constexpr float kMxfp4Doubled[16] = {0, 1,  2,  3,  4,  6,  8,  12,
                                            0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128) from its bits: a subnormal for e < 2.
inline float mxfp4_half_scale(uint8_t e) {
  return std::bit_cast<float>(e < 2 ? 1u << (21 + e) : (e - 1u) << 23);
}

// The largest MXFP4 scale byte sinkscope reads: from 253 up (2^126 and more; 255 is E8M0's NaN)
// the larger codes are not finite in f32.
inline constexpr uint8_t kMxfp4MaxScale = 252;

// Index of the first of n_blocks MXFP4 blocks at data whose scale is above kMxfp4MaxScale; n_blocks
// when there is none. (ggml reads 255 as the scale 2^128, most codes then as infinity; a weight
// file with such a scale is malformed, and the loader says so rather than compute NaNs.)
size_t check_mxfp4_scales(const uint8_t* data, size_t n_blocks);

// Hugging Face gpt-oss checkpoints hold MXFP4 as `*_blocks` (16 bytes per 32 values: byte j has
// element 2j in its low nibble, 2j + 1 in its high one) and `*_scales` (one byte per block, the
// same E8M0 byte). These repack one block to the GGUF layout above and back, losslessly.
void mxfp4_block_from_hf(uint8_t scale, const uint8_t hf[16], uint8_t out[17]);
void mxfp4_block_to_hf(const uint8_t in[17], uint8_t& scale, uint8_t hf[16]);

// The dequantizers are kernels, compiled per SIMD variant (ops/dequant-inl.h); dequantize_row
// (ops/dequant.h) runs the variant in use.

// Reference quantizers (round to nearest on a grid chosen per block; bounds in ops/dequant.h).
void quantize_q4_0(const float* src, uint8_t* dst, size_t nb);
void quantize_q4_1(const float* src, uint8_t* dst, size_t nb);
void quantize_q5_0(const float* src, uint8_t* dst, size_t nb);
void quantize_q5_1(const float* src, uint8_t* dst, size_t nb);
void quantize_q8_0(const float* src, uint8_t* dst, size_t nb);
void quantize_q8_1(const float* src, uint8_t* dst, size_t nb);
void quantize_q2_k(const float* src, uint8_t* dst, size_t nb);
void quantize_q3_k(const float* src, uint8_t* dst, size_t nb);
void quantize_q4_k(const float* src, uint8_t* dst, size_t nb);
void quantize_q5_k(const float* src, uint8_t* dst, size_t nb);
void quantize_q6_k(const float* src, uint8_t* dst, size_t nb);
void quantize_q8_k(const float* src, uint8_t* dst, size_t nb);
void quantize_mxfp4(const float* src, uint8_t* dst, size_t nb);

// Shared by the quantizers: f16 bits of the smallest half >= v (f16_ceil) or largest <= v
// (f16_floor), for finite v; so a scale stored as f16 never shrinks the range it must cover.
uint16_t f16_ceil(float v);
uint16_t f16_floor(float v);

// The signed step s of the symmetric grid s * {-neg, ..., pos} (pos = neg - 1) that covers values
// in [mn, mx] with every value at most s/2 from a grid point and the smallest |s|: positive s needs
// s >= mx / (pos + 1/2) and s >= -mn / (neg + 1/2); negative s mirrors the grid. 0 for an all-zero
// range.
inline float symmetric_step(float mn, float mx, int neg) {
  const float hp = static_cast<float>(neg) - 0.5f, hn = static_cast<float>(neg) + 0.5f;
  const float up = mx / hp > -mn / hn ? mx / hp : -mn / hn;
  const float down = -mn / hp > mx / hn ? -mn / hp : mx / hn;
  return down < up ? -down : up;
}

// v rounded half away from zero (as the original Q8_0 quantizer did), clamped to [lo, hi] (NaN
// gives lo).
inline int nearest(float v, int lo, int hi) {
  v = std::fmin(std::fmax(v, static_cast<float>(lo)), static_cast<float>(hi));
  return static_cast<int>(std::lround(v));
}

// f16 bits to f32 (a block's scales).
inline float half_to_f32(uint16_t h) {
  return f16_to_f32(h);
}

// Reading and writing f16 and u32 fields of a block at any byte address.
inline uint16_t load_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace ss
