// Kernels against their plain references and hand-derived values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "ops/basic.h"
#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/matmul.h"

namespace ss {
namespace {

TEST(Ops, HalfConversionsExactValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);                          // overflow -> inf
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie rounds to even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // Every finite half survives half -> float -> half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(Ops, Q8_0HandDerivedBlock) {
  // d = 0.5 (f16 0x3800), q = -3, 0, 7, ...: values d*q.
  uint8_t blk[34] = {0x00, 0x38};
  int8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(j * 4 - 64);
  std::memcpy(blk + 2, q, 32);
  float out[32];
  dequantize_row(DType::Q8_0, blk, out, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * (j * 4 - 64));
}

TEST(Ops, QuantizeRoundTripWithinFormatBounds) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> x(256);
  for (float& v : x) v = dist(rng);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    std::vector<uint8_t> q(dtype_row_bytes(t, x.size()));
    std::vector<float> y(x.size());
    quantize_row(t, x.data(), q.data(), x.size());
    dequantize_row(t, q.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      float bound = 0;
      if (t == DType::F16) bound = std::fabs(x[i]) * std::ldexp(1.0f, -11);
      if (t == DType::BF16) bound = std::fabs(x[i]) * std::ldexp(1.0f, -8);
      if (t == DType::Q8_0) {
        float amax = 0;
        for (size_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j)
          amax = std::max(amax, std::fabs(x[j]));
        bound =
            amax / 127.0f * 0.5f * 1.01f + amax * std::ldexp(1.0f, -11);  // half a step + f16 scale
      }
      ASSERT_LE(std::fabs(y[i] - x[i]), bound) << dtype_name(t) << " i=" << i;
    }
  }
}

TEST(Ops, DotIsBitIdenticalToItsLaneReferenceAndNearExact) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (size_t n : {1u, 7u, 16u, 31u, 32u, 33u, 64u, 100u, 172u, 1000u, 4096u}) {
    std::vector<float> a(n), b(n);
    for (size_t i = 0; i < n; ++i) a[i] = dist(rng), b[i] = dist(rng);
    const float simd = dot(a.data(), b.data(), n);
    // Same lane layout on every ISA: bit-identical, not merely close.
    EXPECT_EQ(simd, dot_lanes_reference(a.data(), b.data(), n)) << "n=" << n;
    // Within a few f32 roundings of the exact (double) value; a plain f32 running sum is not
    // held to this bound.
    const double exact = dot_f64(a.data(), b.data(), n);
    double abs_sum = 0;
    for (size_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(a[i]) * b[i]);
    EXPECT_LE(std::fabs(simd - exact), abs_sum * (n / kDotLanes + 2) * 0x1p-24) << "n=" << n;
  }
}

TEST(Ops, MatmulMatchesReferenceForEveryDtypeAndThreadCount) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  // Partial register tiles, row blocks and token chunks; a 4-element tail outside Q8_0.
  const size_t rows = 37, tokens = 70;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_K}) {
    const size_t cols = t == DType::Q8_0 ? 96 : t == DType::Q4_K ? 256 : 100;
    std::vector<float> wf(rows * cols), x(tokens * cols);
    for (float& v : wf) v = dist(rng);
    for (float& v : x) v = dist(rng);
    std::vector<uint8_t> wq(dtype_row_bytes(t, cols) * rows);
    for (size_t r = 0; r < rows; ++r)
      quantize_row(t, wf.data() + r * cols, wq.data() + r * dtype_row_bytes(t, cols), cols);
    Tensor w{"w", t, {static_cast<int64_t>(cols), static_cast<int64_t>(rows)}, wq.data()};
    std::vector<float> ref(tokens * rows), y1(tokens * rows), y3(tokens * rows);
    matmul_reference(w, x.data(), tokens, ref.data());
    ThreadPool p1(1), p3(3);
    matmul(w, x.data(), tokens, y1.data(), p1);
    matmul(w, x.data(), tokens, y3.data(), p3);
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_EQ(y1[i], ref[i]) << dtype_name(t) << " i=" << i;
      ASSERT_EQ(y1[i], y3[i]) << "thread count changed the result";
    }
    // One token at a time (decode) gives the same bits as the batched product (prefill).
    for (size_t tk : {0ul, 1ul, 69ul}) {
      std::vector<float> one(rows);
      matmul(w, x.data() + tk * cols, 1, one.data(), p3);
      for (size_t r = 0; r < rows; ++r) ASSERT_EQ(one[r], y1[tk * rows + r]);
    }
  }
}

// The batched path's blocking at real sizes: several column blocks with a tail, token chunks and
// two spans of packed inputs, a partial row block.
TEST(Ops, MatmulBlockingKeepsEveryBitAtModelSizes) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  const size_t rows = 29, cols = 2056, tokens = 530;
  std::vector<float> wf(rows * cols), x(tokens * cols);
  for (float& v : wf) v = dist(rng);
  for (float& v : x) v = dist(rng);
  Tensor w{"w",
           DType::F32,
           {static_cast<int64_t>(cols), static_cast<int64_t>(rows)},
           reinterpret_cast<const uint8_t*>(wf.data())};
  std::vector<float> ref(tokens * rows), y(tokens * rows);
  matmul_reference(w, x.data(), tokens, ref.data());
  ThreadPool p2(2);
  matmul(w, x.data(), tokens, y.data(), p2);
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(y[i], ref[i]) << "i=" << i;
}

TEST(Ops, SoftmaxAndRmsnorm) {
  float x[4] = {1, 2, 3, 4};
  softmax(x, 4);
  double e[4] = {std::exp(1.0), std::exp(2.0), std::exp(3.0), std::exp(4.0)};
  double s = e[0] + e[1] + e[2] + e[3];
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(x[i], e[i] / s, 1e-7);
  float v[2] = {3, 4}, w[2] = {1, 2}, out[2];
  rmsnorm(out, v, w, 2, 0.0f);  // rms = sqrt(12.5)
  EXPECT_NEAR(out[0], 3 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(out[1], 8 / std::sqrt(12.5), 1e-6);
}

TEST(Ops, LayerNormAndGelu) {
  // LayerNorm of (1, 2, 3, 4): mean 2.5, variance 1.25.
  const float x[4] = {1, 2, 3, 4}, w[4] = {1, 2, 1, 1}, b[4] = {0, 0, 0.5f, 0};
  float out[4];
  layernorm(out, x, w, b, 4, 0.0f);
  const double sd = std::sqrt(1.25);
  EXPECT_NEAR(out[0], -1.5 / sd, 1e-6);
  EXPECT_NEAR(out[1], 2 * -0.5 / sd, 1e-6);
  EXPECT_NEAR(out[2], 0.5 / sd + 0.5, 1e-6);
  EXPECT_NEAR(out[3], 1.5 / sd, 1e-6);
  // GELU at 1 and -2: the erf form exactly, the tanh form (values from the formulas).
  float e[2] = {1, -2}, t[2] = {1, -2};
  gelu_erf(e, 2);
  gelu_tanh(t, 2);
  EXPECT_NEAR(e[0], 0.8413447460685429, 1e-7);
  EXPECT_NEAR(e[1], -0.04550026389635842, 1e-7);
  EXPECT_NEAR(t[0], 0.8411919906082768, 1e-7);
  EXPECT_NEAR(t[1], -0.04540230591222555, 1e-7);
}

TEST(Ops, PartialNeoxRopeLeavesTheRestOfTheHead) {
  // Two rotated dims of a head of 4 (GPT-NeoX's rotary_pct 0.5): pair (0, 1) turns by pos.
  float v[4] = {1, 0, 7, 9};
  std::vector<double> cs(2);
  rope_angles(cs.data(), 2, 3, 10000.0f, 1.0f, static_cast<const float*>(nullptr));
  rope_rotate(v, 2, RopeStyle::Neox, cs.data());
  EXPECT_NEAR(v[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(v[1], std::sin(3.0), 1e-6);
  EXPECT_EQ(v[2], 7.0f);
  EXPECT_EQ(v[3], 9.0f);
  rope_rotate(v, 4, RopeStyle::None, cs.data());  // GPT-2: no rotation at all
  EXPECT_EQ(v[2], 7.0f);
}

TEST(Ops, RopeRotatesAdjacentPairs) {
  float v[4] = {1, 0, 1, 0};
  rope_adjacent(v, 4, 3, 10000.0f);
  // pair 0: angle 3; pair 1: angle 3 * 10000^(-2/4) = 0.03
  EXPECT_NEAR(v[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(v[1], std::sin(3.0), 1e-6);
  EXPECT_NEAR(v[2], std::cos(0.03), 1e-6);
  EXPECT_NEAR(v[3], std::sin(0.03), 1e-6);
}

}  // namespace
}  // namespace ss
