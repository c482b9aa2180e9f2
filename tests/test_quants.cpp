// Quantized GGUF tensor types: hand-derived golden blocks, an element-by-element decoder written
// from the layout text, the reference quantizers against their documented error bounds
// (ops/dequant.h), and matmul on weights of every type.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <vector>

#include "base/fp16.h"
#include "base/tensor.h"
#include "base/thread_pool.h"
#include "ops/dequant.h"
#include "ops/matmul.h"
#include "ops/quants.h"

namespace ss {
namespace {

const std::vector<DType> kBlockTypes = {
    DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K,
    DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::MXFP4};

std::vector<DType> all_types() {
  std::vector<DType> v = {DType::F32, DType::F16, DType::BF16};
  v.insert(v.end(), kBlockTypes.begin(), kBlockTypes.end());
  return v;
}

size_t elems(DType t) {
  return dtype_info(static_cast<uint32_t>(t))->block_elems;
}
size_t bytes(DType t) {
  return dtype_info(static_cast<uint32_t>(t))->block_bytes;
}

// Dequantizes a row from a deliberately misaligned copy (UBSan checks the reads).
std::vector<float> decode(DType t, const std::vector<uint8_t>& row) {
  std::vector<uint8_t> shifted(row.size() + 1);
  std::memcpy(shifted.data() + 1, row.data(), row.size());
  const size_t n = row.size() / bytes(t) * elems(t);
  std::vector<float> y(n);
  dequantize_row(t, shifted.data() + 1, y.data(), n);
  return y;
}

std::vector<uint8_t> encode(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(dtype_row_bytes(t, x.size()));
  quantize_row(t, x.data(), q.data(), x.size());
  return q;
}

// ---------------------------------------------------------------------------------------------
// An independent decoder: one element at a time, straight from the layout description.

float half_at(const uint8_t* b, size_t off) {
  return f16_to_f32(static_cast<uint16_t>(b[off] | (b[off + 1] << 8)));
}

float element(DType t, const uint8_t* b, size_t e) {
  const size_t h = e / 128, k = e % 128 / 32, l = e % 32;
  auto nib = [&](size_t qs_off) {  // 32-element blocks: e < 16 low nibble, else high
    return e < 16 ? b[qs_off + e] & 15 : b[qs_off + e - 16] >> 4;
  };
  auto bit = [&](size_t qh_off, size_t i) { return (b[qh_off + i / 8] >> (i % 8)) & 1; };
  switch (t) {
    case DType::Q4_0:
      return half_at(b, 0) * static_cast<float>(nib(2) - 8);
    case DType::Q4_1:
      return half_at(b, 0) * static_cast<float>(nib(4)) + half_at(b, 2);
    case DType::Q5_0:
      return half_at(b, 0) * static_cast<float>((nib(6) | (bit(2, e) << 4)) - 16);
    case DType::Q5_1:
      return half_at(b, 0) * static_cast<float>(nib(8) | (bit(4, e) << 4)) + half_at(b, 2);
    case DType::Q8_0:
      return half_at(b, 0) * static_cast<float>(static_cast<int8_t>(b[2 + e]));
    case DType::Q8_1:
      return half_at(b, 0) * static_cast<float>(static_cast<int8_t>(b[4 + e]));
    case DType::Q2_K: {
      const uint8_t sc = b[e / 16];
      const int q = (b[16 + 32 * h + l] >> (2 * k)) & 3;
      return half_at(b, 80) * static_cast<float>(sc & 15) * static_cast<float>(q) -
             half_at(b, 82) * static_cast<float>(sc >> 4);
    }
    case DType::Q3_K: {
      const size_t s = e / 16;
      const int lo = s < 8 ? b[96 + s] & 15 : b[96 + s - 8] >> 4;
      const int hi = (b[96 + 8 + s % 4] >> (2 * (s / 4))) & 3;
      const int q2 = (b[32 + 32 * h + l] >> (2 * k)) & 3;
      const int q = q2 - (((b[l] >> (4 * h + k)) & 1) ? 0 : 4);
      return half_at(b, 108) * static_cast<float>((lo | (hi << 4)) - 32) * static_cast<float>(q);
    }
    case DType::Q4_K:
    case DType::Q5_K: {
      const uint8_t* s = b + 4;
      const size_t j = e / 32;
      int sc, mn;
      if (j < 4) {
        sc = s[j] & 63;
        mn = s[j + 4] & 63;
      } else {
        sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
      }
      const size_t c = e / 64;
      const bool high = e % 64 >= 32;
      const size_t qs = t == DType::Q4_K ? 16 : 48;
      int q = high ? b[qs + 32 * c + l] >> 4 : b[qs + 32 * c + l] & 15;
      if (t == DType::Q5_K) q |= ((b[16 + l] >> (2 * c + (high ? 1 : 0))) & 1) << 4;
      return half_at(b, 0) * static_cast<float>(sc) * static_cast<float>(q) -
             half_at(b, 2) * static_cast<float>(mn);
    }
    case DType::Q6_K: {
      const uint8_t lq = b[64 * h + l + 32 * (k & 1)];
      const int low = k < 2 ? lq & 15 : lq >> 4;
      const int high = (b[128 + 32 * h + l] >> (2 * k)) & 3;
      const auto sc = static_cast<int8_t>(b[192 + e / 16]);
      return half_at(b, 208) * static_cast<float>(sc) *
             static_cast<float>((low | (high << 4)) - 32);
    }
    case DType::Q8_K: {
      float d;
      std::memcpy(&d, b, 4);
      return d * static_cast<float>(static_cast<int8_t>(b[4 + e]));
    }
    case DType::MXFP4: {
      // E2M1 from its fields: sign bit 3, exponent bits 1-2 (bias 1), mantissa bit 0.
      const int c = nib(1), ex = (c >> 1) & 3, m = c & 1;
      const float mag = ex == 0 ? 0.5f * static_cast<float>(m)
                                : std::ldexp(1.0f + 0.5f * static_cast<float>(m), ex - 1);
      return (c & 8 ? -mag : mag) * std::ldexp(1.0f, b[0] - 127);
    }
    default:
      ADD_FAILURE() << "no element decoder for " << dtype_name(t);
      return 0;
  }
}

std::vector<float> decode_elementwise(DType t, const std::vector<uint8_t>& row) {
  std::vector<float> y;
  for (size_t off = 0; off < row.size(); off += bytes(t))
    for (size_t e = 0; e < elems(t); ++e) y.push_back(element(t, row.data() + off, e));
  return y;
}

// Checks a hand-derived golden row: the listed elements exactly, every element against the
// elementwise decoder (exactly: the golden scales are powers of two, so no rounding happens).
void check_golden(DType t, const std::vector<uint8_t>& row, const std::vector<float>& expect) {
  ASSERT_EQ(row.size() % bytes(t), 0u);
  const std::vector<float> y = decode(t, row);
  ASSERT_EQ(y.size(), expect.size());
  const std::vector<float> z = decode_elementwise(t, row);
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_EQ(y[i], expect[i]) << dtype_name(t) << " element " << i;
    EXPECT_EQ(z[i], expect[i]) << dtype_name(t) << " element " << i << " (elementwise decoder)";
  }
}

void put_u16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v);
  b[off + 1] = static_cast<uint8_t>(v >> 8);
}

// Half bits used below: 0x3400 = 0.25, 0x3800 = 0.5, 0x3c00 = 1, 0x4000 = 2, 0xbc00 = -1,
// 0xc000 = -2.

TEST(QuantGolden, Q4_0) {
  // Block 0: d = 0.5, filler byte 0x88 (both nibbles 8 -> value 0).
  std::vector<uint8_t> b(36, 0x88);
  put_u16(b, 0, 0x3800);
  b[2 + 0] = 0x1F;   // e0: low 15 -> 0.5*(15-8) = 3.5; e16: high 1 -> 0.5*(1-8) = -3.5
  b[2 + 1] = 0x80;   // e1: 0 -> -4;                    e17: 8 -> 0
  b[2 + 15] = 0xA3;  // e15: 3 -> -2.5;                 e31: 10 -> 1
  // Block 1: d = -2, all nibbles 0 -> -2*(0-8) = 16.
  put_u16(b, 18, 0xc000);
  std::fill(b.begin() + 20, b.end(), 0);
  std::vector<float> e(64, 0.0f);
  e[0] = 3.5f, e[16] = -3.5f, e[1] = -4, e[17] = 0, e[15] = -2.5f, e[31] = 1;
  std::fill(e.begin() + 32, e.end(), 16.0f);
  check_golden(DType::Q4_0, b, e);
}

TEST(QuantGolden, Q4_1) {
  std::vector<uint8_t> b(40, 0);
  put_u16(b, 0, 0x3800);   // d = 0.5
  put_u16(b, 2, 0xbc00);   // m = -1
  b[4 + 0] = 0x1F;         // e0: 0.5*15-1 = 6.5; e16: 0.5*1-1 = -0.5
  b[4 + 5] = 0x20;         // e5: -1;             e21: 0.5*2-1 = 0
  put_u16(b, 20, 0x4000);  // block 1: d = 2, m = 1, every byte 0x21: low 1 -> 3, high 2 -> 5
  put_u16(b, 22, 0x3c00);
  std::fill(b.begin() + 24, b.end(), 0x21);
  std::vector<float> e(64, -1.0f);
  e[0] = 6.5f, e[16] = -0.5f, e[21] = 0;
  std::fill(e.begin() + 32, e.begin() + 48, 3.0f);
  std::fill(e.begin() + 48, e.end(), 5.0f);
  check_golden(DType::Q4_1, b, e);
}

TEST(QuantGolden, Q5_0) {
  std::vector<uint8_t> b(44, 0);
  put_u16(b, 0, 0x3400);  // d = 0.25
  // qh = 0x40008001 little-endian: fifth bits of e0, e15 and e30.
  b[2] = 0x01, b[3] = 0x80, b[4] = 0x00, b[5] = 0x40;
  b[6 + 0] = 0x2F;   // e0: 15|16 -> 15 -> 3.75;  e16: 2 -> -14 -> -3.5
  b[6 + 15] = 0x03;  // e15: 3|16 -> 3 -> 0.75;   e31: 0 -> -16 -> -4
  b[6 + 14] = 0xF0;  // e14: 0 -> -4;             e30: 15|16 -> 15 -> 3.75
  // Block 1: d = 1, every bit set: q = 31 -> 15.
  put_u16(b, 22, 0x3c00);
  std::fill(b.begin() + 24, b.end(), 0xFF);
  std::vector<float> e(64, -4.0f);  // q = 0 without fifth bit: 0.25*(0-16)
  e[0] = 3.75f, e[16] = -3.5f, e[15] = 0.75f, e[30] = 3.75f;
  std::fill(e.begin() + 32, e.end(), 15.0f);
  check_golden(DType::Q5_0, b, e);
}

TEST(QuantGolden, Q5_1) {
  std::vector<uint8_t> b(48, 0);
  put_u16(b, 0, 0x3800);                               // d = 0.5
  put_u16(b, 2, 0x4000);                               // m = 2
  b[4] = 0x00, b[5] = 0x00, b[6] = 0x01, b[7] = 0x80;  // fifth bits of e16 and e31
  b[8 + 0] = 0x1F;                                     // e0: 15 -> 9.5; e16: 1|16 = 17 -> 10.5
  b[8 + 15] = 0xF0;                                    // e15: 0 -> 2;   e31: 15|16 = 31 -> 17.5
  // Block 1: d = 1, m = -2, fifth bits of e0..e15, nibbles 0: 16 - 2 = 14, then -2.
  put_u16(b, 24, 0x3c00);
  put_u16(b, 26, 0xc000);
  b[28] = 0xFF, b[29] = 0xFF;
  std::vector<float> e(64, 2.0f);
  e[0] = 9.5f, e[16] = 10.5f, e[31] = 17.5f;
  std::fill(e.begin() + 32, e.begin() + 48, 14.0f);
  std::fill(e.begin() + 48, e.end(), -2.0f);
  check_golden(DType::Q5_1, b, e);
}

TEST(QuantGolden, Q8_0AndQ8_1) {
  std::vector<uint8_t> b(68, 0);
  put_u16(b, 0, 0x3800);  // d = 0.5, q = 3j - 50
  std::vector<float> e(64, 0.0f);
  for (int j = 0; j < 32; ++j) {
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(3 * j - 50));
    e[j] = 0.5f * static_cast<float>(3 * j - 50);
  }
  put_u16(b, 34, 0xbc00);  // d = -1: q0 = -128 -> 128, q1 = 127 -> -127
  b[36] = 0x80, b[37] = 0x7F;
  e[32] = 128, e[33] = -127;
  check_golden(DType::Q8_0, b, e);

  std::vector<uint8_t> c(36, 0);
  put_u16(c, 0, 0x3400);  // d = 0.25
  put_u16(c, 2, 0x1234);  // s: not used by dequantization
  std::vector<float> f(32);
  for (int j = 0; j < 32; ++j) {
    c[4 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
    f[j] = 0.25f * static_cast<float>(j - 16);
  }
  check_golden(DType::Q8_1, c, f);
}

TEST(QuantGolden, Q2_K) {
  // scales[16] | qs[64] | d | dmin. d = 1, dmin = 0.5.
  std::vector<uint8_t> b(2 * 84, 0);
  std::fill(b.begin(), b.begin() + 16, 0x11);  // scale 1, min 1 unless set below
  b[0] = 0x21, b[1] = 0x03, b[5] = 0x12, b[8] = 0xF4, b[15] = 0x57;
  b[16 + 0] = 0xE4;   // 2-bit fields 0,1,2,3 for e0, e32, e64, e96
  b[16 + 16] = 0x03;  // e16: 3 (e48, e80, e112: 0)
  b[16 + 32] = 0x40;  // second half, l = 0: e128: 0, e224: 1
  b[16 + 63] = 0xC0;  // second half, l = 31: e159: 0, e255: 3
  put_u16(b, 80, 0x3c00);
  put_u16(b, 82, 0x3800);
  // Per sub-block value of q = 0: -0.5 * min.
  std::vector<float> e(512);
  for (size_t i = 0; i < 256; ++i) e[i] = -0.5f;  // min 1
  for (size_t i = 0; i < 16; ++i) e[i] = -1.0f;   // sub-block 0: min 2
  for (size_t i = 16; i < 32; ++i) e[i] = 0.0f;   // sub-block 1: min 0
  for (size_t i = 128; i < 144; ++i) e[i] = -7.5f;
  for (size_t i = 240; i < 256; ++i) e[i] = -2.5f;
  e[0] = 1 * 1 * 0 - 1.0f;    // sub-block 0: scale 1, min 2
  e[32] = 1 * 1 * 1 - 0.5f;   // sub-block 2
  e[64] = 1 * 1 * 2 - 0.5f;   // sub-block 4
  e[96] = 1 * 1 * 3 - 0.5f;   // sub-block 6
  e[16] = 1 * 3 * 3 - 0.0f;   // sub-block 1: scale 3, min 0
  e[224] = 1 * 1 * 1 - 0.5f;  // sub-block 14
  e[255] = 1 * 7 * 3 - 2.5f;  // sub-block 15: scale 7, min 5 -> 18.5
  // Block 1: d = 2, dmin = 0, scales 1, every field 3 -> 6.
  std::fill(b.begin() + 84, b.begin() + 100, 0x01);
  std::fill(b.begin() + 100, b.begin() + 164, 0xFF);
  put_u16(b, 84 + 80, 0x4000);
  std::fill(e.begin() + 256, e.end(), 6.0f);
  check_golden(DType::Q2_K, b, e);
}

TEST(QuantGolden, Q3_K) {
  // hmask[32] | qs[64] | scales[12] | d. d = 0.5.
  std::vector<uint8_t> b(2 * 110, 0);
  const uint8_t sc[12] = {0x21, 0x11, 0x11, 0x11, 0x5F, 0x11, 0x11, 0x11, 0xE4, 0xAA, 0xAA, 0xAA};
  std::memcpy(b.data() + 96, sc, 12);
  // 6-bit scales (low nibble | top two bits << 4), minus 32:
  //   s0 = 1 | 0 << 4 = 1 -> -31     s4 = 15 | 1 << 4 = 31 -> -1
  //   s8 = 2 | 2 << 4 = 34 -> 2      s12 = 5 | 3 << 4 = 53 -> 21     all others 1 | 2 << 4 -> 1
  put_u16(b, 108, 0x3800);
  b[32 + 0] = 0xE7;   // l = 0, first half: fields 3, 1, 2, 3 for e0, e32, e64, e96
  b[0] = 0x05;        // hmask[0]: high bit of e0 (bit 0) and e64 (bit 2)
  b[32 + 49] = 0xC0;  // second half, l = 17: field 3 for e241 (k = 3)
  b[17] = 0x80;       // hmask[17] bit 7 = 4h + k for h = 1, k = 3: e241
  // q = field - 4 without the high bit; value 0.5 * scale * q. Defaults q = -4: -2 * scale.
  std::vector<float> e(512, -2.0f);
  for (size_t i = 0; i < 16; ++i) e[i] = 62;      // scale -31
  for (size_t i = 64; i < 80; ++i) e[i] = 2;      // scale -1
  for (size_t i = 128; i < 144; ++i) e[i] = -4;   // scale 2
  for (size_t i = 192; i < 208; ++i) e[i] = -42;  // scale 21
  e[0] = 0.5f * -31 * 3;                          // field 3, high bit -> q = 3: -46.5
  e[32] = 0.5f * 1 * (1 - 4);                     // -1.5
  e[64] = 0.5f * -1 * 2;                          // field 2, high bit: -1
  e[96] = 0.5f * 1 * (3 - 4);                     // -0.5
  e[241] = 0.5f * 1 * 3;                          // 1.5
  // Block 1: d = 1, every scale 33 (-> 1), every field 1 with the high bit: q = 1.
  std::fill(b.begin() + 110, b.begin() + 142, 0xFF);
  std::fill(b.begin() + 142, b.begin() + 206, 0x55);
  std::fill(b.begin() + 206, b.begin() + 214, 0x11);
  std::fill(b.begin() + 214, b.begin() + 218, 0xAA);
  put_u16(b, 218, 0x3c00);
  std::fill(e.begin() + 256, e.end(), 1.0f);
  check_golden(DType::Q3_K, b, e);
}

// Scale bytes shared by the Q4_K and Q5_K goldens: sub-block (scale, min) =
// 0: (1, 3)  1-3: (2, 0)  4: (2 | 1 << 4 = 18, 5 | 3 << 4 = 53)  5-7: (1, 1).
const uint8_t kK4Scales[12] = {0x41, 0x02, 0x02, 0x02, 0xC3, 0x00,
                               0x00, 0x00, 0x52, 0x11, 0x11, 0x11};

std::vector<float> k4_defaults() {  // q = 0 everywhere: -min (dmin = 1)
  std::vector<float> e(512, 0.0f);
  for (size_t i = 0; i < 32; ++i) e[i] = -3;
  for (size_t i = 128; i < 160; ++i) e[i] = -53;
  for (size_t i = 160; i < 256; ++i) e[i] = -1;
  return e;
}

TEST(QuantGolden, Q4_K) {
  // d | dmin | scales[12] | qs[128]. d = 0.5, dmin = 1.
  std::vector<uint8_t> b(2 * 144, 0);
  put_u16(b, 0, 0x3800);
  put_u16(b, 2, 0x3c00);
  std::memcpy(b.data() + 4, kK4Scales, 12);
  b[16 + 0] = 0xA7;    // e0 (low): 7;     e32 (high): 10
  b[16 + 64] = 0x0F;   // e128 (low): 15;  e160 (high): 0
  b[16 + 127] = 0xF1;  // e223 (low): 1;   e255 (high): 15
  std::vector<float> e = k4_defaults();
  e[0] = 0.5f * 1 * 7 - 3;       // 0.5
  e[32] = 0.5f * 2 * 10 - 0;     // 10
  e[128] = 0.5f * 18 * 15 - 53;  // 82
  e[223] = 0.5f * 1 * 1 - 1;     // -0.5
  e[255] = 0.5f * 1 * 15 - 1;    // 6.5
  // Block 1: d = 1, dmin = 0, scales 1, bytes 0x52: low 2 (e % 64 < 32), high 5.
  put_u16(b, 144, 0x3c00);
  const uint8_t ones[12] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
  std::memcpy(b.data() + 148, ones, 12);
  std::fill(b.begin() + 160, b.end(), 0x52);
  for (size_t i = 256; i < 512; ++i) e[i] = (i % 64 < 32) ? 2.0f : 5.0f;
  check_golden(DType::Q4_K, b, e);
}

TEST(QuantGolden, Q5_K) {
  // d | dmin | scales[12] | qh[32] | qs[128]. d = 0.5, dmin = 1.
  std::vector<uint8_t> b(2 * 176, 0);
  put_u16(b, 0, 0x3800);
  put_u16(b, 2, 0x3c00);
  std::memcpy(b.data() + 4, kK4Scales, 12);
  b[16 + 0] = 0x12;    // qh[0]: bit 1 (e32) and bit 4 (e128)
  b[16 + 31] = 0x80;   // qh[31]: bit 7 (e255)
  b[48 + 0] = 0xA7;    // e0: 7;  e32: 10 + 16
  b[48 + 64] = 0x0F;   // e128: 15 + 16;  e160: 0
  b[48 + 127] = 0xF1;  // e223: 1;  e255: 15 + 16
  std::vector<float> e = k4_defaults();
  e[0] = 0.5f * 1 * 7 - 3;       // 0.5
  e[32] = 0.5f * 2 * 26 - 0;     // 26
  e[128] = 0.5f * 18 * 31 - 53;  // 226
  e[223] = 0.5f * 1 * 1 - 1;     // -0.5
  e[255] = 0.5f * 1 * 31 - 1;    // 14.5
  // Block 1: d = 1, dmin = 1, scales and mins 1, all fifth bits, nibbles 0: 16 - 1 = 15.
  put_u16(b, 176, 0x3c00);
  put_u16(b, 178, 0x3c00);
  const uint8_t ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 0x11, 0x11, 0x11, 0x11};
  std::memcpy(b.data() + 180, ones, 12);
  std::fill(b.begin() + 192, b.begin() + 224, 0xFF);
  std::fill(e.begin() + 256, e.end(), 15.0f);
  check_golden(DType::Q5_K, b, e);
}

TEST(QuantGolden, Q6_K) {
  // ql[128] | qh[64] | scales[16] (int8) | d. d = 0.5, scales 1, -2, 3, -4, ..., 15, -16.
  std::vector<uint8_t> b(2 * 210, 0);
  for (int t = 0; t < 16; ++t)
    b[192 + t] = static_cast<uint8_t>(static_cast<int8_t>(t % 2 ? -(t + 1) : t + 1));
  put_u16(b, 208, 0x3800);
  b[0] = 0x5A, b[32] = 0x3F, b[128] = 0xE4;  // first half, l = 0
  b[95] = 0xF0, b[128 + 63] = 0xC3;          // second half, l = 31 (ql[64 + 31], qh[32 + 31])
  std::vector<float> e(512);
  for (size_t i = 0; i < 256; ++i) {  // q = 0 -> -32: -16 * scale
    const int t = static_cast<int>(i / 16);
    e[i] = -16.0f * static_cast<float>(t % 2 ? -(t + 1) : t + 1);
  }
  e[0] = 0.5f * 1 * (10 - 32);          // ql[0] low 10, qh bits 0-1: 0 -> -11
  e[32] = 0.5f * 3 * ((15 | 16) - 32);  // ql[32] low 15, qh bits 2-3: 1 -> -1.5
  e[64] = 0.5f * 5 * ((5 | 32) - 32);   // ql[0] high 5, qh bits 4-5: 2 -> 12.5
  e[96] = 0.5f * 7 * ((3 | 48) - 32);   // ql[32] high 3, qh bits 6-7: 3 -> 66.5
  e[159] = 0.5f * -10 * (48 - 32);      // ql[95] low 0, qh[63] bits 0-1: 3 -> -80
  e[223] = 0.5f * -14 * (15 - 32);      // ql[95] high 15, qh bits 4-5: 0 -> 119
  e[255] = 0.5f * -16 * (48 - 32);      // ql[127] high 0, qh bits 6-7: 3 -> -128
  // Block 1: d = 1, scales 1, every bit set: q = 63 - 32 = 31.
  std::fill(b.begin() + 210, b.begin() + 210 + 192, 0xFF);
  std::fill(b.begin() + 210 + 192, b.begin() + 210 + 208, 0x01);
  put_u16(b, 210 + 208, 0x3c00);
  std::fill(e.begin() + 256, e.end(), 31.0f);
  check_golden(DType::Q6_K, b, e);
}

TEST(QuantGolden, Q8_K) {
  // f32 d | int8 qs[256] | int16 bsums[16]. Block 0: d = 0.25, q = j - 128; block 1: d = -1, q = 1.
  std::vector<uint8_t> b(2 * 292, 0);
  const float d0 = 0.25f, d1 = -1.0f;
  std::memcpy(b.data(), &d0, 4);
  std::memcpy(b.data() + 292, &d1, 4);
  std::vector<float> e(512);
  for (int j = 0; j < 256; ++j) {
    b[4 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 128));
    b[292 + 4 + j] = 1;
    e[j] = 0.25f * static_cast<float>(j - 128);
    e[256 + j] = -1;
  }
  check_golden(DType::Q8_K, b, e);
}

TEST(QuantLayout, BlockBytesMatchStructs) {
  const struct {
    DType t;
    size_t size, elems;
  } cases[] = {
      {DType::Q4_0, sizeof(BlockQ4_0), 32},   {DType::Q4_1, sizeof(BlockQ4_1), 32},
      {DType::Q5_0, sizeof(BlockQ5_0), 32},   {DType::Q5_1, sizeof(BlockQ5_1), 32},
      {DType::Q8_0, sizeof(BlockQ8_0), 32},   {DType::Q8_1, sizeof(BlockQ8_1), 32},
      {DType::Q2_K, sizeof(BlockQ2_K), 256},  {DType::Q3_K, sizeof(BlockQ3_K), 256},
      {DType::Q4_K, sizeof(BlockQ4_K), 256},  {DType::Q5_K, sizeof(BlockQ5_K), 256},
      {DType::Q6_K, sizeof(BlockQ6_K), 256},  {DType::Q8_K, sizeof(BlockQ8_K), 256},
      {DType::MXFP4, sizeof(BlockMXFP4), 32},
  };
  for (const auto& c : cases) {
    auto info = dtype_info(static_cast<uint32_t>(c.t));
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->block_bytes, c.size) << info->name;
    EXPECT_EQ(info->block_elems, c.elems) << info->name;
    EXPECT_TRUE(can_dequantize(c.t)) << info->name;
  }
  for (DType t : {DType::F32, DType::F16, DType::BF16}) EXPECT_TRUE(can_dequantize(t));
  EXPECT_FALSE(can_dequantize(static_cast<DType>(20)));
}

TEST(QuantLayout, RandomBlocksMatchElementwiseDecoder) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-2, 2);
  for (DType t : kBlockTypes) {
    std::vector<uint8_t> row(3 * bytes(t));
    for (auto& v : row) v = static_cast<uint8_t>(byte(rng));
    // Finite scales where the layout keeps them.
    for (size_t off = 0; off < row.size(); off += bytes(t)) {
      auto set_half = [&](size_t at) { put_u16(row, off + at, f32_to_f16(scale(rng))); };
      switch (t) {
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
          set_half(0);
          break;
        case DType::Q4_1:
        case DType::Q5_1:
        case DType::Q8_1:
        case DType::Q4_K:
        case DType::Q5_K:
          set_half(0), set_half(2);
          break;
        case DType::Q2_K:
          set_half(80), set_half(82);
          break;
        case DType::Q3_K:
          set_half(108);
          break;
        case DType::Q6_K:
          set_half(208);
          break;
        case DType::MXFP4:  // scales 2^-27 .. 2^23
          row[off] = static_cast<uint8_t>(100 + byte(rng) % 51);
          break;
        default: {
          const float d = scale(rng);
          std::memcpy(row.data() + off, &d, 4);
        }
      }
    }
    const std::vector<float> y = decode(t, row), z = decode_elementwise(t, row);
    float mag = 0;
    for (float v : z) mag = std::max(mag, std::fabs(v));
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], z[i], 1e-6f * mag) << dtype_name(t) << " element " << i;
  }
}

TEST(QuantLayout, RejectsPartialBlocksAndUnknownTypes) {
  std::vector<uint8_t> q(1024);
  std::vector<float> y(512);
  EXPECT_THROW(dequantize_row(DType::Q4_K, q.data(), y.data(), 128), std::invalid_argument);
  EXPECT_THROW(dequantize_row(DType::Q4_0, q.data(), y.data(), 48), std::invalid_argument);
  EXPECT_THROW(quantize_row(DType::Q6_K, y.data(), q.data(), 300), std::invalid_argument);
  EXPECT_THROW(dequantize_row(static_cast<DType>(20), q.data(), y.data(), 32),
               std::invalid_argument);
  EXPECT_NO_THROW(dequantize_row(DType::Q4_K, q.data(), y.data(), 0));
}

TEST(QuantLayout, F16RowMatchesScalarConversionForEveryHalf) {
  std::vector<uint8_t> row(2 * 65536);
  for (uint32_t h = 0; h < 65536; ++h) put_u16(row, 2 * h, static_cast<uint16_t>(h));
  std::vector<float> y(65536);
  dequantize_row(DType::F16, row.data() + 0, y.data(), 65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float want = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(want))
      ASSERT_TRUE(std::isnan(y[h])) << h;
    else
      ASSERT_EQ(f32_to_bits(y[h]), f32_to_bits(want)) << h;
  }
}

// ---------------------------------------------------------------------------------------------
// Error bounds, as documented in ops/dequant.h, computed from the input alone.

constexpr float kE = 1.0f / 1024;
constexpr float kTiny = 1.0f / 16777216;  // 2^-24: the f16 subnormal spacing

// Smallest |s| with a grid s * {-neg .. neg-1} (either orientation) within s/2 of [mn, mx].
float sym_step(float mn, float mx, int neg) {
  const float hp = static_cast<float>(neg) - 0.5f, hn = static_cast<float>(neg) + 0.5f;
  return std::min(std::max(mx / hp, -mn / hn), std::max(-mn / hp, mx / hn));
}

std::vector<float> error_bounds(DType t, const std::vector<float>& x) {
  std::vector<float> bound(x.size());
  const size_t n_block = elems(t);
  for (size_t b0 = 0; b0 < x.size(); b0 += n_block) {
    const float* v = x.data() + b0;
    float* out = bound.data() + b0;
    float mn = v[0], mx = v[0], amax = 0;
    for (size_t i = 0; i < n_block; ++i) {
      mn = std::min(mn, v[i]);
      mx = std::max(mx, v[i]);
      amax = std::max(amax, std::fabs(v[i]));
    }
    auto fill = [&](size_t from, size_t n, float value) {
      std::fill(out + from, out + from + n, value);
    };
    switch (t) {
      case DType::F32:
        fill(0, n_block, 0);
        break;
      case DType::F16:
        out[0] = std::fabs(v[0]) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25);
        break;
      case DType::BF16:
        out[0] = std::fabs(v[0]) * std::ldexp(1.0f, -8);
        break;
      case DType::Q8_0:
      case DType::Q8_1:
        // Plus 127 * 2^-25 where d = amax / 127 is an f16 subnormal (rounded to nearest, it may
        // fall short of covering amax).
        fill(0, n_block, amax / 254 * (1 + kE) + kTiny + (amax / 127 < 0x1p-14f ? 0x1p-18f : 0.0f));
        break;
      case DType::Q8_K:
        fill(0, n_block, amax / 254);
        break;
      case DType::Q4_0:
      case DType::Q5_0:
        fill(0, n_block, sym_step(mn, mx, t == DType::Q4_0 ? 8 : 16) / 2 * (1 + kE) + kTiny);
        break;
      case DType::Q4_1:
      case DType::Q5_1: {
        const float q = t == DType::Q4_1 ? 15 : 31;
        fill(0, n_block, (mx - mn + kE * std::fabs(mn) + kTiny) / (2 * q) * (1 + kE) + kTiny);
        break;
      }
      case DType::Q2_K:
      case DType::Q4_K:
      case DType::Q5_K: {
        const size_t sub = t == DType::Q2_K ? 16 : 32;
        const float q = t == DType::Q2_K ? 3 : t == DType::Q4_K ? 15 : 31;
        const float s = t == DType::Q2_K ? 15 : 63;
        std::vector<float> r(n_block / sub);
        float offset_max = 0, r_max = 0;
        for (size_t j = 0; j < r.size(); ++j) {
          float lo = 0, hi = v[j * sub];
          for (size_t i = j * sub; i < (j + 1) * sub; ++i) {
            lo = std::min(lo, v[i]);
            hi = std::max(hi, v[i]);
          }
          r[j] = hi - lo;
          offset_max = std::max(offset_max, -lo);
          r_max = std::max(r_max, r[j]);
        }
        const float dm = offset_max / s * (1 + kE) + kTiny;
        const float d = (r_max + dm) / (q * s) * (1 + kE) + kTiny;
        for (size_t j = 0; j < r.size(); ++j) fill(j * sub, sub, ((r[j] + dm) / q + d) / 2);
        break;
      }
      case DType::Q3_K:
      case DType::Q6_K: {
        const int neg = t == DType::Q3_K ? 4 : 32;
        const float smax = t == DType::Q3_K ? 31 : 127;
        float st[16], s_max = 0;
        for (size_t j = 0; j < 16; ++j) {
          float lo = v[16 * j], hi = v[16 * j];
          for (size_t i = 16 * j; i < 16 * j + 16; ++i) {
            lo = std::min(lo, v[i]);
            hi = std::max(hi, v[i]);
          }
          st[j] = sym_step(lo, hi, neg);
          s_max = std::max(s_max, st[j]);
        }
        const float d = s_max / smax * (1 + kE) + kTiny;
        for (size_t j = 0; j < 16; ++j) fill(16 * j, 16, (st[j] + d) / 2);
        break;
      }
      case DType::MXFP4: {
        float sc = std::ldexp(1.0f, -127);  // smallest power of two with 6 sc >= amax
        while (6 * sc < amax) sc *= 2;
        for (size_t i = 0; i < n_block; ++i) {
          const float a = std::fabs(v[i]);
          out[i] = a <= 2 * sc ? sc / 4 : a <= 4 * sc ? sc / 2 : sc;
        }
        break;
      }
      default:
        ADD_FAILURE() << "no bound for " << dtype_name(t);
    }
    // f32 rounding of the arithmetic on either side.
    for (size_t i = 0; i < n_block; ++i) out[i] = out[i] * (1 + 1e-5f) + amax * 1e-6f;
  }
  return bound;
}

// Round trip of x through t; returns the relative RMS error and checks every element's bound.
double check_round_trip(DType t, const std::vector<float>& x, const char* what) {
  const std::vector<float> y = decode(t, encode(t, x));
  const std::vector<float> bound = error_bounds(t, x);
  double err2 = 0, sig2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float err = std::fabs(y[i] - x[i]);
    EXPECT_LE(err, bound[i]) << dtype_name(t) << " " << what << " element " << i << " x=" << x[i]
                             << " y=" << y[i];
    if (err > bound[i]) break;
    err2 += static_cast<double>(err) * err;
    sig2 += static_cast<double>(x[i]) * x[i];
  }
  return sig2 > 0 ? std::sqrt(err2 / sig2) : 0.0;
}

TEST(QuantRoundTrip, KnownValuesWithinBound) {
  // A smooth ramp, a sine with a slowly growing amplitude, a block with a lone spike, a constant
  // positive and a constant negative stretch: 1024 values (4 super-blocks, 32 small blocks).
  std::vector<float> x(1024);
  for (size_t i = 0; i < x.size(); ++i) {
    const float fi = static_cast<float>(i);
    if (i < 256)
      x[i] = -1.0f + fi / 128.0f;
    else if (i < 512)
      x[i] = std::sin(0.37f * fi) * (1.0f + fi / 512.0f);
    else if (i < 768)
      x[i] = i == 600 ? 9.0f : 0.01f * static_cast<float>(static_cast<int>(i % 7) - 3);
    else
      x[i] = i < 896 ? 0.75f : -1.25f;
  }
  for (DType t : all_types()) check_round_trip(t, x, "known");
}

TEST(QuantRoundTrip, ZerosAndGridValuesAreExact) {
  std::vector<float> zeros(512, 0.0f);
  for (DType t : all_types()) {
    for (float v : decode(t, encode(t, zeros))) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
  // Values on the format's own grid come back exactly where the quantizer picks that grid: Q4_0
  // and Q5_0 with the largest magnitude on level -8 / -16, Q4_1 and Q5_1 spanning every level.
  std::vector<float> x(64);
  for (size_t i = 0; i < 64; ++i) x[i] = 0.25f * static_cast<float>(static_cast<int>(i % 16) - 8);
  EXPECT_EQ(decode(DType::Q4_0, encode(DType::Q4_0, x)), x);
  for (size_t i = 0; i < 64; ++i) x[i] = -0.5f * static_cast<float>(static_cast<int>(i % 32) - 16);
  EXPECT_EQ(decode(DType::Q5_0, encode(DType::Q5_0, x)), x);
  for (size_t i = 0; i < 64; ++i) x[i] = 1.5f + 0.125f * static_cast<float>(i % 16);
  EXPECT_EQ(decode(DType::Q4_1, encode(DType::Q4_1, x)), x);
  for (size_t i = 0; i < 64; ++i) x[i] = -3.0f + 0.5f * static_cast<float>((i * 7) % 32);
  EXPECT_EQ(decode(DType::Q5_1, encode(DType::Q5_1, x)), x);
}

TEST(QuantRoundTrip, RandomDataWithinBound) {
  std::mt19937 rng(7);
  const size_t n = 4096;
  struct Case {
    const char* name;
    std::function<float()> gen;
  };
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  const Case cases[] = {
      {"normal", [&] { return normal(rng); }},
      {"weights", [&] { return 0.02f * normal(rng); }},
      {"tiny", [&] { return 1e-4f * normal(rng); }},
      {"skewed", [&] { return -3.0f + 8.0f * uni(rng); }},
      {"positive", [&] { return 2.0f + uni(rng); }},
      {"negative", [&] { return -2.0f - 3.0f * uni(rng); }},
      {"outliers", [&] { return uni(rng) < 0.01f ? 50.0f * normal(rng) : normal(rng); }},
      {"sparse", [&] { return uni(rng) < 0.9f ? 0.0f : normal(rng); }},
  };
  for (const Case& c : cases) {
    std::vector<float> x(n);
    for (float& v : x) v = c.gen();
    for (DType t : all_types()) check_round_trip(t, x, c.name);
  }
}

TEST(QuantRoundTrip, RelativeErrorOnGaussianData) {
  // Not a bound of the format, a guard against valid but needlessly coarse quantizers: relative
  // RMS error on N(0, 1) data well under the step a plain per-block min/max grid would give.
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(1 << 14);
  for (float& v : x) v = normal(rng);
  const struct {
    DType t;
    double max_rel;
  } limits[] = {
      {DType::F16, 3e-4},  {DType::BF16, 3e-3}, {DType::Q8_0, 0.01},  {DType::Q8_1, 0.01},
      {DType::Q8_K, 0.01}, {DType::Q6_K, 0.04}, {DType::Q5_0, 0.06},  {DType::Q5_1, 0.06},
      {DType::Q5_K, 0.06}, {DType::Q4_0, 0.12}, {DType::Q4_1, 0.12},  {DType::Q4_K, 0.12},
      {DType::Q3_K, 0.25}, {DType::Q2_K, 0.5},  {DType::MXFP4, 0.15},
  };
  for (const auto& l : limits) {
    const double rel = check_round_trip(l.t, x, "gaussian");
    EXPECT_LT(rel, l.max_rel) << dtype_name(l.t);
    RecordProperty(dtype_name(l.t) + "_rel_rms", std::to_string(rel));
  }
}

TEST(QuantRoundTrip, Q8AuxiliarySums) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(512);
  for (float& v : x) v = normal(rng);
  const std::vector<uint8_t> k = encode(DType::Q8_K, x);
  for (size_t b = 0; b < 2; ++b) {
    const uint8_t* blk = k.data() + b * sizeof(BlockQ8_K);
    for (size_t g = 0; g < 16; ++g) {
      int sum = 0;
      for (size_t j = 0; j < 16; ++j)
        sum += static_cast<int8_t>(blk[offsetof(BlockQ8_K, qs) + 16 * g + j]);
      int16_t stored;
      std::memcpy(&stored, blk + offsetof(BlockQ8_K, bsums) + 2 * g, 2);
      EXPECT_EQ(stored, sum) << "block " << b << " group " << g;
    }
  }
  const std::vector<uint8_t> q = encode(DType::Q8_1, x);
  for (size_t b = 0; b < 16; ++b) {
    const uint8_t* blk = q.data() + b * sizeof(BlockQ8_1);
    const float d = half_at(blk, 0), s = half_at(blk, 2);
    int sum = 0;
    for (size_t j = 0; j < 32; ++j) sum += static_cast<int8_t>(blk[4 + j]);
    EXPECT_NEAR(s, d * static_cast<float>(sum),
                std::fabs(d * static_cast<float>(sum)) / 1024 + 1e-6)
        << "block " << b;
  }
}

// ---------------------------------------------------------------------------------------------
// Matmul on weights of every type.

TEST(QuantMatmul, EveryTypeMatchesReferenceDequantizedF32AndBound) {
  std::mt19937 rng(13);
  std::normal_distribution<float> wdist(0.0f, 0.05f);
  std::uniform_real_distribution<float> xdist(-1, 1);
  const size_t rows = 37, cols = 512, tokens = 5;  // rows: two full 16-row blocks and a partial
  std::vector<float> wf(rows * cols), x(tokens * cols);
  for (float& v : wf) v = wdist(rng);
  for (float& v : x) v = xdist(rng);
  ThreadPool p1(1), p3(3);
  for (DType t : all_types()) {
    const size_t rb = dtype_row_bytes(t, cols);
    std::vector<uint8_t> wq(rb * rows);
    std::vector<float> deq(rows * cols), bound(rows * cols);
    for (size_t r = 0; r < rows; ++r) {
      const std::vector<float> row(wf.begin() + r * cols, wf.begin() + (r + 1) * cols);
      quantize_row(t, row.data(), wq.data() + r * rb, cols);
      dequantize_row(t, wq.data() + r * rb, deq.data() + r * cols, cols);
      const std::vector<float> b = error_bounds(t, row);
      std::copy(b.begin(), b.end(), bound.begin() + r * cols);
    }
    const auto ne = std::vector<int64_t>{static_cast<int64_t>(cols), static_cast<int64_t>(rows)};
    Tensor w{"w", t, ne, wq.data()};
    Tensor wd{"w_f32", DType::F32, ne, reinterpret_cast<const uint8_t*>(deq.data())};
    std::vector<float> ref(tokens * rows), y1(tokens * rows), y3(tokens * rows), yd(tokens * rows);
    matmul_reference(w, x.data(), tokens, ref.data());
    matmul(w, x.data(), tokens, y1.data(), p1);
    matmul(w, x.data(), tokens, y3.data(), p3);
    matmul(wd, x.data(), tokens, yd.data(), p1);
    for (size_t tk = 0; tk < tokens; ++tk) {
      for (size_t r = 0; r < rows; ++r) {
        const size_t i = tk * rows + r;
        double abs_sum = 0, exact = 0, err_bound = 0;
        for (size_t c = 0; c < cols; ++c) {
          const double xv = x[tk * cols + c];
          abs_sum += std::fabs(deq[r * cols + c] * xv);
          exact += wf[r * cols + c] * xv;
          err_bound += bound[r * cols + c] * std::fabs(xv);
        }
        // Same floats through the same kernel: identical. Against the one-thread scalar sum: a
        // running f32 sum of 512 terms is within 512 * 2^-24 of the exact one, relative to
        // sum |w x|.
        ASSERT_EQ(y1[i], yd[i]) << dtype_name(t) << " token " << tk << " row " << r;
        ASSERT_EQ(y1[i], y3[i]) << dtype_name(t) << ": thread count changed the result";
        ASSERT_NEAR(y1[i], ref[i], 4e-5 * abs_sum + 1e-7) << dtype_name(t);
        // Against the unquantized weights: within sum |x| * (per-weight bound).
        ASSERT_NEAR(y1[i], exact, err_bound * 1.0001 + 4e-5 * abs_sum + 1e-6) << dtype_name(t);
      }
    }
  }
}

}  // namespace
}  // namespace ss
