// MXFP4 (gpt-oss): hand-derived GGUF and Hugging Face blocks, the reference quantizer's scale and
// rounding, the scale check, the SIMD variants and matmul against a double reference. The generic
// checks of every type (elementwise decoder, error bounds) are in test_quants.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "base/dtype.h"
#include "base/tensor.h"
#include "base/thread_pool.h"
#include "ops/dequant.h"
#include "ops/matmul.h"
#include "ops/quants.h"
#include "ops/simd/isa.h"
#include "ops/simd/kernels.h"

namespace ss {
namespace {

std::vector<float> decode_mxfp4(const std::vector<uint8_t>& row) {
  std::vector<float> y(row.size() / 17 * 32);
  dequantize_row(DType::MXFP4, row.data(), y.data(), y.size());
  return y;
}

TEST(Mxfp4, TypeIsKnownAndReadable) {
  const auto info = dtype_info(39);
  ASSERT_TRUE(info.has_value());
  EXPECT_STREQ(info->name, "MXFP4");
  EXPECT_EQ(info->block_elems, 32u);
  EXPECT_EQ(info->block_bytes, 17u);
  EXPECT_TRUE(can_dequantize(DType::MXFP4));
  EXPECT_EQ(dtype_row_bytes(DType::MXFP4, 96), 51u);
  std::vector<uint8_t> q(34);
  std::vector<float> y(64);
  EXPECT_THROW(dequantize_row(DType::MXFP4, q.data(), y.data(), 48), std::invalid_argument);
}

// E2M1 codes (value in units of the scale): 0 0, 1 0.5, 2 1, 3 1.5, 4 2, 5 3, 6 4, 7 6; 8-15 the
// same negated. Element j < 16 is the low nibble of byte 1 + j, element j + 16 its high nibble.
TEST(Mxfp4, HandDerivedBlocks) {
  std::vector<uint8_t> b(4 * 17, 0);
  std::vector<float> e(4 * 32, 0.0f);
  // Block 0: e = 128, scale 2^1 = 2.
  b[0] = 128;
  const uint8_t qs0[8] = {0x71, 0xF2, 0x83, 0xA4, 0x95, 0xB6, 0xCE, 0xDD};
  std::memcpy(b.data() + 1, qs0, 8);
  e[0] = 1, e[16] = 12;   // 0x71: code 1 -> 0.5 * 2; code 7 -> 6 * 2
  e[1] = 2, e[17] = -12;  // 0xF2: code 2 -> 1 * 2; code 15 -> -6 * 2
  e[2] = 3, e[18] = 0;    // 0x83: code 3 -> 1.5 * 2; code 8 -> -0 (reads as 0)
  e[3] = 4, e[19] = -2;   // 0xA4: code 4 -> 2 * 2; code 10 -> -1 * 2
  e[4] = 6, e[20] = -1;   // 0x95: code 5 -> 3 * 2; code 9 -> -0.5 * 2
  e[5] = 8, e[21] = -3;   // 0xB6: code 6 -> 4 * 2; code 11 -> -1.5 * 2
  e[6] = -8, e[22] = -4;  // 0xCE: code 14 -> -4 * 2; code 12 -> -2 * 2
  e[7] = -6, e[23] = -6;  // 0xDD: code 13 -> -3 * 2 twice
  // Block 1: e = 124, scale 2^-3; every byte 0x7F: low 15 -> -6/8, high 7 -> 6/8.
  b[17] = 124;
  std::fill(b.begin() + 18, b.begin() + 34, 0x7F);
  std::fill(e.begin() + 32, e.begin() + 48, -0.75f);
  std::fill(e.begin() + 48, e.begin() + 64, 0.75f);
  // Block 2: e = 0, scale 2^-127 (an f32 subnormal): e64 = 0.5 * 2^-127, e95 = 6 * 2^-127.
  b[34] = 0;
  b[35] = 0x01, b[50] = 0x70;
  e[64] = std::ldexp(1.0f, -128);
  e[95] = std::ldexp(1.5f, -125);
  // Block 3: e = 252, the largest accepted scale 2^125: e96 = 6 * 2^125 = 1.5 * 2^127 (finite).
  b[51] = 252;
  b[52] = 0x07;
  e[96] = std::ldexp(1.5f, 127);
  const std::vector<float> y = decode_mxfp4(b);
  ASSERT_EQ(y.size(), e.size());
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], e[i]) << "element " << i;
  EXPECT_TRUE(std::isfinite(y[96]));
  EXPECT_FALSE(std::signbit(y[18]));  // code 8 reads as +0, as in ggml
}

TEST(Mxfp4, QuantizerScaleAndRounding) {
  std::vector<float> x(64, 0.0f);
  // Block 0: max |x| = 3 -> scale 0.5 (6 * 0.5 = 3; 0.25 would clamp), byte 126.
  x[0] = 3;        // 6 * 0.5, code 7
  x[1] = 0.125f;   // 0.25 scale units: the midpoint of 0 and 0.5, ties to the smaller: 0
  x[2] = -0.375f;  // 0.75 units: midpoint of 0.5 and 1 -> 0.5 units = -0.25, code 9
  x[3] = 1.26f;    // 2.52 units: above the 2.5 midpoint -> 3 units = 1.5, code 5
  x[4] = -0.1f;    // 0.2 units -> 0, code 0 (zero keeps a clear sign bit)
  x[17] = -2.4f;   // 4.8 units: below the 5 midpoint -> 4 units = -2, code 14
  // Block 1: max |x| = 1.9. ggml picks 2^(floor(log2 1.9) - 2) = 0.25 and clamps 1.9 to 1.5; the
  // smallest power of two that covers it is 0.5 (byte 126): 3.8 units -> 4 units = 2.
  x[32] = 1.9f;
  x[33] = -0.6f;  // 1.2 units -> 1 unit = -0.5, code 10
  std::vector<uint8_t> q(34);
  quantize_row(DType::MXFP4, x.data(), q.data(), 64);
  EXPECT_EQ(q[0], 126);
  EXPECT_EQ(q[1], 0x07);  // e0 code 7, e16 code 0
  EXPECT_EQ(q[2], 0xE0);  // e1 code 0, e17 code 14
  EXPECT_EQ(q[3], 0x09);
  EXPECT_EQ(q[4], 0x05);
  EXPECT_EQ(q[5], 0x00);
  EXPECT_EQ(q[17], 126);
  EXPECT_EQ(q[18], 0x06);
  EXPECT_EQ(q[19], 0x0A);
  const std::vector<float> y = decode_mxfp4(q);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], -0.25f);
  EXPECT_EQ(y[3], 1.5f);
  EXPECT_EQ(y[17], -2.0f);
  EXPECT_EQ(y[32], 2.0f);
  EXPECT_EQ(y[33], -0.5f);
  // All zero: scale byte 0, every code 0.
  std::vector<float> z(32, 0.0f);
  quantize_row(DType::MXFP4, z.data(), q.data(), 32);
  for (size_t i = 0; i < 17; ++i) EXPECT_EQ(q[i], 0) << i;
  // Beyond 6 * 2^125 the scale stops at 252 and the codes clamp to +-6.
  z[0] = 3e38f, z[1] = -3e38f;
  quantize_row(DType::MXFP4, z.data(), q.data(), 32);
  EXPECT_EQ(q[0], kMxfp4MaxScale);
  EXPECT_EQ(q[1], 0x07);
  EXPECT_EQ(q[2], 0x0F);
}

TEST(Mxfp4, GridValuesComeBackExactly) {
  // Every code times a scale 2^k with a +-6 among them: the quantizer picks that scale.
  const float mag[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int k : {-127, -20, -1, 0, 3, 100, 125}) {
    std::vector<float> x(32);
    for (size_t i = 0; i < 32; ++i) x[i] = std::ldexp((i & 8 ? -1.0f : 1.0f) * mag[(i * 5) & 7], k);
    x[7] = std::ldexp(-6.0f, k);
    std::vector<uint8_t> q(17);
    quantize_row(DType::MXFP4, x.data(), q.data(), 32);
    EXPECT_EQ(q[0], k + 127);
    EXPECT_EQ(decode_mxfp4(q), x) << "scale 2^" << k;
  }
}

TEST(Mxfp4, MalformedScalesAreFound) {
  std::vector<uint8_t> b(4 * 17, 0);
  b[0] = 127, b[17] = 252, b[34] = 253, b[51] = 255;
  EXPECT_EQ(check_mxfp4_scales(b.data(), 4), 2u);  // 253: 4 * 2^126 overflows f32
  EXPECT_EQ(check_mxfp4_scales(b.data(), 2), 2u);  // none among the first two
  b[0] = 255;                                      // E8M0's NaN
  EXPECT_EQ(check_mxfp4_scales(b.data(), 4), 0u);
  EXPECT_EQ(check_mxfp4_scales(b.data(), 0), 0u);
  // Every accepted scale decodes every code to a finite value.
  for (int s = 0; s <= kMxfp4MaxScale; ++s) {
    std::vector<uint8_t> blk(17, 0x77);
    blk[0] = static_cast<uint8_t>(s);
    blk[1] = 0xFF;
    for (float v : decode_mxfp4(blk)) ASSERT_TRUE(std::isfinite(v)) << "scale byte " << s;
  }
}

// Hugging Face: byte j of a block holds element 2j (low nibble) and 2j + 1 (high nibble); value =
// FP4[code] * 2^(scale - 127) (transformers' convert_moe_packed_tensors).
TEST(Mxfp4, HuggingFaceBlockByHand) {
  uint8_t hf[16] = {};
  hf[0] = 0x21;   // e0: code 1, e1: code 2
  hf[1] = 0x9F;   // e2: code 15, e3: code 9
  hf[8] = 0x06;   // e16: code 6, e17: 0
  hf[15] = 0x70;  // e30: 0, e31: code 7
  uint8_t g[17];
  mxfp4_block_from_hf(128, hf, g);
  // GGUF byte 1 + j = element j | element j + 16 << 4.
  const uint8_t want[17] = {128, 0x61, 0x02, 0x0F, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x70};
  for (int i = 0; i < 17; ++i) EXPECT_EQ(g[i], want[i]) << "byte " << i;
  std::vector<float> e(32, 0.0f);  // scale 2^(128 - 127) = 2
  e[0] = 1, e[1] = 2, e[2] = -12, e[3] = -1, e[16] = 8, e[31] = 12;
  EXPECT_EQ(decode_mxfp4(std::vector<uint8_t>(g, g + 17)), e);
  uint8_t back[16], scale = 0;
  mxfp4_block_to_hf(g, scale, back);
  EXPECT_EQ(scale, 128);
  EXPECT_EQ(std::memcmp(back, hf, 16), 0);
}

TEST(Mxfp4, HuggingFaceRepackRoundTripsAndDecodesAsTransformers) {
  const float fp4[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int t = 0; t < 200; ++t) {
    uint8_t hf[16], g[17], back[16], scale = 0;
    for (auto& v : hf) v = static_cast<uint8_t>(byte(rng));
    const auto s = static_cast<uint8_t>(100 + byte(rng) % 50);
    mxfp4_block_from_hf(s, hf, g);
    mxfp4_block_to_hf(g, scale, back);
    ASSERT_EQ(scale, s);
    ASSERT_EQ(std::memcmp(back, hf, 16), 0);
    const std::vector<float> y = decode_mxfp4(std::vector<uint8_t>(g, g + 17));
    for (int j = 0; j < 16; ++j) {
      ASSERT_EQ(y[2 * j], std::ldexp(fp4[hf[j] & 15], s - 127)) << "element " << 2 * j;
      ASSERT_EQ(y[2 * j + 1], std::ldexp(fp4[hf[j] >> 4], s - 127)) << "element " << 2 * j + 1;
    }
    // And GGUF -> HF -> GGUF.
    uint8_t g2[17], g3[17];
    for (auto& v : g2) v = static_cast<uint8_t>(byte(rng));
    mxfp4_block_to_hf(g2, scale, back);
    mxfp4_block_from_hf(scale, back, g3);
    ASSERT_EQ(std::memcmp(g2, g3, 17), 0);
  }
}

TEST(Mxfp4, EveryVariantDequantizesAsTheScalarOne) {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> byte(0, 255);
  const size_t nb = 64;
  std::vector<uint8_t> row(nb * 17);
  for (auto& v : row) v = static_cast<uint8_t>(byte(rng));
  for (size_t b = 0; b < nb; ++b)
    row[17 * b] = static_cast<uint8_t>(b < 4 ? b : b == 4 ? 252 : byte(rng) % 253);
  std::vector<float> ref(nb * 32);
  kernels_for(Isa::Scalar).dequantize_row(DType::MXFP4, row.data(), ref.data(), ref.size());
  for (Isa isa : supported_isas()) {
    std::vector<float> y(ref.size(), NAN);
    kernels_for(isa).dequantize_row(DType::MXFP4, row.data(), y.data(), y.size());
    ASSERT_EQ(y, ref) << isa_name(isa);
  }
}

TEST(Mxfp4, MatmulMatchesDoubleReference) {
  const float fp4[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, 0, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  std::mt19937 rng(21);
  std::normal_distribution<float> wdist(0.0f, 0.05f);
  std::uniform_real_distribution<float> xdist(-1, 1);
  const size_t rows = 37, cols = 320, tokens = 6;
  std::vector<float> wf(rows * cols), x(tokens * cols);
  for (float& v : wf) v = wdist(rng);
  for (float& v : x) v = xdist(rng);
  const size_t rb = dtype_row_bytes(DType::MXFP4, cols);
  std::vector<uint8_t> wq(rows * rb);
  for (size_t r = 0; r < rows; ++r)
    quantize_row(DType::MXFP4, wf.data() + r * cols, wq.data() + r * rb, cols);
  // The weights in double straight from the bytes, then y = W x in double.
  std::vector<double> ref(tokens * rows), abs_sum(tokens * rows);
  for (size_t r = 0; r < rows; ++r)
    for (size_t t = 0; t < tokens; ++t) {
      double s = 0, a = 0;
      for (size_t c = 0; c < cols; ++c) {
        const uint8_t* blk = wq.data() + r * rb + c / 32 * 17;
        const size_t j = c % 32;
        const int code = j < 16 ? blk[1 + j] & 15 : blk[1 + j - 16] >> 4;
        const double w = std::ldexp(static_cast<double>(fp4[code]), blk[0] - 127);
        s += w * x[t * cols + c];
        a += std::fabs(w * x[t * cols + c]);
      }
      ref[t * rows + r] = s;
      abs_sum[t * rows + r] = a;
    }
  const auto ne = std::vector<int64_t>{static_cast<int64_t>(cols), static_cast<int64_t>(rows)};
  const Tensor w{"w", DType::MXFP4, ne, wq.data()};
  ThreadPool p1(1), p3(3);
  for (size_t n : {size_t{1}, tokens}) {
    std::vector<float> y1(n * rows), y3(n * rows);
    matmul(w, x.data(), n, y1.data(), p1);
    matmul(w, x.data(), n, y3.data(), p3);
    for (size_t i = 0; i < n * rows; ++i) {
      ASSERT_EQ(y1[i], y3[i]) << "thread count changed element " << i;
      // An f32 sum of 320 exact products: within 320 * 2^-24 (about 2e-5) of sum |w x|.
      ASSERT_NEAR(y1[i], ref[i], 4e-5 * abs_sum[i] + 1e-12) << "tokens " << n << " element " << i;
    }
  }
}

}  // namespace
}  // namespace ss
