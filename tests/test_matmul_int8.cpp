// The 8-bit-activation matmul (ops/matmul_int8.h): every SIMD variant against the scalar
// statement bit for bit, the activation quantizers against llama.cpp's Q8_K and Q8_0 rules by
// hand, the result against exact float64 arithmetic within the bound that rounding the activations
// allows, and the runtime's decode against its prefill; for Q4_K and Q8_0 weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "ops/matmul_int8.h"
#include "ops/quants.h"
#include "ops/simd/kernels.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

constexpr size_t kBlock = 256;

using test::randn;

struct QuantWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // the dequantized weights
  Tensor tensor;
  QuantWeights(DType type, size_t rows, size_t cols, unsigned seed) : values(rows * cols) {
    const std::vector<float> f = randn(rows * cols, seed, 0.05f);
    const size_t rb = dtype_row_bytes(type, cols);
    bytes.resize(rb * rows);
    for (size_t r = 0; r < rows; ++r) {
      quantize_row(type, f.data() + r * cols, bytes.data() + r * rb, cols);
      if (type == DType::Q8_0)  // the code -128 in the last block, which no quantizer writes
        bytes[r * rb + (cols / 32 - 1) * sizeof(BlockQ8_0) + offsetof(BlockQ8_0, qs) + r % 32] =
            0x80;
      dequantize_row(type, bytes.data() + r * rb, values.data() + r * cols, cols);
    }
    tensor =
        Tensor{"w", type, {static_cast<int64_t>(cols), static_cast<int64_t>(rows)}, bytes.data()};
  }
};

// Every variant against the statement for rows × blocks weights of the type, 1 to 9 tokens (groups
// of 4 tokens with each remainder), 1 and 2 threads; token 0 has a zero, token 1 an all-zero block.
void expect_every_variant_is_the_statement(DType type, size_t block, size_t blocks, size_t rows) {
  const size_t cols = block * blocks;
  QuantWeights w(type, rows, cols, static_cast<unsigned>(rows + cols));
  for (size_t tokens = 1; tokens <= 9; ++tokens) {
    std::vector<float> x = randn(tokens * cols, static_cast<unsigned>(tokens));
    x[3] = 0;
    if (tokens > 1) std::fill(x.begin() + cols, x.begin() + cols + block, 0.0f);
    std::vector<float> ref(tokens * rows);
    matmul_int8_reference(w.tensor, x.data(), tokens, ref.data());
    for (Isa isa : supported_isas())
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        std::vector<float> y(ref.size(), NAN);
        kernels_for(isa).matmul_int8(w.tensor, x.data(), tokens, y.data(), pool);
        for (size_t i = 0; i < ref.size(); ++i)
          ASSERT_EQ(y[i], ref[i]) << dtype_name(type) << " " << isa_name(isa) << " cols " << cols
                                  << " rows " << rows << " tokens " << tokens << " threads "
                                  << threads << ": token " << i / rows << " row " << i % rows;
      }
  }
}

// Rows that end inside a row block (16) and a thread's share; 1 to 9 super-blocks to a row:
// groups of 4 with tails of 0 to 3.
TEST(MatmulInt8, EveryVariantIsTheStatementBitForBit) {
  for (size_t blocks : {1, 2, 3, 4, 6, 7, 9})
    for (size_t rows : {1, 17, 40}) {
      expect_every_variant_is_the_statement(DType::Q4_K, kBlock, blocks, rows);
      if (HasFatalFailure()) return;
    }
}

// Q8_0: 1 to 9 blocks to a row (groups of 4 with tails of 0 to 3) and a whole 2048-column row;
// rows as above; every row holds a weight code of -128.
TEST(MatmulInt8, Q8WeightsOfEveryVariantAreTheStatementBitForBit) {
  for (size_t blocks : {1, 2, 3, 4, 5, 7, 9, 64})
    for (size_t rows : {1, 17, 40}) {
      expect_every_variant_is_the_statement(DType::Q8_0, 32, blocks, rows);
      if (HasFatalFailure()) return;
    }
}

// llama.cpp's Q8_0 rule (x86 quantize_row_q8_0), worked by hand: with a = 127 the step is
// f16(127 / 127) = 1 and s = 1, so q is x rounded to nearest even (2.5 -> 2, -0.5 -> 0).
TEST(MatmulInt8, ActivationsForQ8WeightsFollowLlamaCppsRule) {
  std::vector<float> x(64, 0.0f);
  x[0] = 2.5f;
  x[1] = -127.0f;
  x[2] = -0.5f;
  x[3] = 3.5f;
  x[31] = 126.5f;
  // Block 2: a = 1, so d = f16(1 / 127), s = 127 (not 1 / d: llama.cpp divides 127 by a).
  x[32] = 1.0f;
  x[33] = -0.5f;        // -63.5 -> -64
  x[34] = 0.25f;        // 31.75 -> 32
  x[35] = 0.99603939f;  // 126.497 -> 126; times 1 / d = 127.0078 it would be 126.505 -> 127
  ActQ8_0 a[2];
  quantize_act_q8_0(x.data(), 64, a);
  EXPECT_EQ(a[0].q[0], 2);
  EXPECT_EQ(a[0].q[1], -127);
  EXPECT_EQ(a[0].q[2], 0);
  EXPECT_EQ(a[0].q[3], 4);
  EXPECT_EQ(a[0].q[31], 126);
  EXPECT_EQ(a[0].d, 1.0f);
  EXPECT_EQ(a[1].q[0], 127);
  EXPECT_EQ(a[1].q[1], -64);
  EXPECT_EQ(a[1].q[2], 32);
  EXPECT_EQ(a[1].q[3], 126);
  EXPECT_EQ(a[1].d, f16_to_f32(f32_to_f16(1.0f / 127.0f)));
  EXPECT_NE(a[1].d, 1.0f / 127.0f);  // (the step is rounded to f16)

  // A block beyond f16's range: d is infinite (the outputs then are too, as llama.cpp's).
  std::vector<float> huge(32, 0.0f);
  huge[4] = 1e7f;
  quantize_act_q8_0(huge.data(), 32, a);
  EXPECT_EQ(a[0].d, INFINITY);
  EXPECT_EQ(a[0].q[4], 127);

  // Zeros and values so small that s overflows quantize to zero; a NaN or an infinity makes d
  // NaN.
  for (float v : {0.0f, 1e-40f, -3e-38f}) {
    std::vector<float> tiny(32, v);
    quantize_act_q8_0(tiny.data(), 32, a);
    EXPECT_EQ(a[0].d, 0.0f) << v;
    for (int8_t q : a[0].q) ASSERT_EQ(q, 0) << v;
  }
  for (float v : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> bad(32, 1.0f);
    bad[7] = v;
    quantize_act_q8_0(bad.data(), 32, a);
    EXPECT_TRUE(std::isnan(a[0].d)) << v;
  }
}

// llama.cpp's Q8_K rule, worked by hand. The element of largest magnitude (-127) makes the step
// s = -127 / -127 = 1, so q is x rounded to nearest even: 2.5 -> 2 and -0.5 -> 0, where rounding
// half away from zero would give 3 and -1.
TEST(MatmulInt8, QuantizerFollowsLlamaCppsRule) {
  std::vector<float> x(kBlock, 0.0f);
  x[0] = 2.5f;
  x[1] = -127.0f;
  x[2] = -0.5f;
  x[3] = 3.5f;
  x[33] = -1.5f;
  x[34] = 100.25f;
  ActQ8 a;
  quantize_act_q8(x.data(), kBlock, &a);
  EXPECT_EQ(a.q[0], 2);
  EXPECT_EQ(a.q[1], -127);
  EXPECT_EQ(a.q[2], 0);
  EXPECT_EQ(a.q[3], 4);
  EXPECT_EQ(a.q[33], -2);
  EXPECT_EQ(a.q[34], 100);
  EXPECT_EQ(a.d, 1.0f);
  EXPECT_EQ(a.bsums[0], 2 - 127 + 0 + 4);
  EXPECT_EQ(a.bsums[1], -2 + 100);
  for (int t = 2; t < 8; ++t) EXPECT_EQ(a.bsums[t], 0);

  // A positive extreme makes the step negative: q = -127 there, d < 0, d * q = x.
  std::vector<float> pos(kBlock, 0.0f);
  pos[5] = 3.0f;
  pos[9] = -3.0f;  // a tie in magnitude: the first element wins
  pos[10] = 1.5f;  // -63.5 -> -64
  quantize_act_q8(pos.data(), kBlock, &a);
  EXPECT_EQ(a.q[5], -127);
  EXPECT_EQ(a.q[9], 127);
  EXPECT_EQ(a.q[10], -64);
  EXPECT_EQ(a.d, 1.0f / (-127.0f / 3.0f));

  // Blocks of zeros, and of values so small that s overflows, quantize to zero with d = 0;
  // a NaN or an infinity makes d NaN.
  for (float v : {0.0f, 1e-40f, -3e-38f}) {
    std::vector<float> tiny(kBlock, v);
    quantize_act_q8(tiny.data(), kBlock, &a);
    EXPECT_EQ(a.d, 0.0f) << v;
    for (int8_t q : a.q) ASSERT_EQ(q, 0) << v;
  }
  for (float v : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> bad(kBlock, 1.0f);
    bad[7] = v;
    quantize_act_q8(bad.data(), kBlock, &a);
    EXPECT_TRUE(std::isnan(a.d)) << v;
  }
}

// Rounding the activations is the only approximation: per block, each activation moves by at
// most |d| / 2, so |y - exact| <= Σ_blocks |d| / 2 · Σ |w| (plus the final f32 rounding). The
// bound is tight enough to catch a wrong scale, sub-block or nibble: those miss by far more.
// For Q8_0, rounding q_i moves x_i by up to (a / 127) / 2, and the step d, rounded to f16, moves
// q_i · d by |q_i| · |d − a / 127| more.
TEST(MatmulInt8, WithinTheActivationRoundingOfTheExactProduct) {
  const size_t rows = 23, cols = 4 * kBlock, tokens = 3;
  for (DType type : {DType::Q4_K, DType::Q8_0}) {
    QuantWeights w(type, rows, cols, 5);
    const std::vector<float> x = randn(tokens * cols, 6);
    std::vector<float> y(tokens * rows);
    matmul_int8_reference(w.tensor, x.data(), tokens, y.data());
    std::vector<ActQ8> act(cols / kBlock);
    std::vector<ActQ8_0> act0(cols / 32);
    double worst = 0;
    for (size_t t = 0; t < tokens; ++t) {
      const float* xt = x.data() + t * cols;
      quantize_act_q8(xt, cols, act.data());
      quantize_act_q8_0(xt, cols, act0.data());
      for (size_t r = 0; r < rows; ++r) {
        double exact = 0, bound = 0;
        for (size_t c = 0; c < cols; ++c) {
          const double wv = w.values[r * cols + c];
          exact += wv * xt[c];
          if (type == DType::Q4_K) {
            bound += std::fabs(wv) * std::fabs(act[c / kBlock].d) / 2;
          } else {
            const ActQ8_0& a = act0[c / 32];
            float amax = 0;
            for (size_t i = c / 32 * 32; i < c / 32 * 32 + 32; ++i)
              amax = std::max(amax, std::fabs(xt[i]));
            const double off = std::fabs(a.d - static_cast<double>(amax) / 127);
            bound +=
                std::fabs(wv) * (static_cast<double>(amax) / 127 / 2 + std::abs(a.q[c % 32]) * off);
          }
        }
        const double got = y[t * rows + r];
        EXPECT_LE(std::fabs(got - exact), bound + 1e-6 * std::fabs(exact) + 1e-7)
            << dtype_name(type) << " token " << t << " row " << r;
        worst = std::max(worst, std::fabs(got - exact) / bound);
      }
    }
    EXPECT_GT(worst, 0.0) << dtype_name(type);  // (the activations were rounded at all)
  }
}

// In a group of 4 super-blocks and in the tail after it.
TEST(MatmulInt8, NanActivationsGiveNan) {
  for (DType type : {DType::Q4_K, DType::Q8_0}) {
    const size_t block = type == DType::Q8_0 ? 32 : kBlock;
    QuantWeights w(type, 3, 5 * block, 7);
    std::vector<float> x = randn(2 * 5 * block, 8);
    x[17] = NAN;
    x[5 * block + 4 * block + 3] = INFINITY;
    for (Isa isa : supported_isas()) {
      ThreadPool pool(1);
      std::vector<float> y(6, 0.0f);
      kernels_for(isa).matmul_int8(w.tensor, x.data(), 2, y.data(), pool);
      for (float v : y) EXPECT_TRUE(std::isnan(v)) << dtype_name(type) << " " << isa_name(isa);
    }
  }
}

TEST(MatmulInt8, OtherTypesAreRefused) {
  EXPECT_TRUE(int8_dot_type(DType::Q4_K));
  EXPECT_TRUE(int8_dot_type(DType::Q8_0));
  EXPECT_FALSE(int8_dot_type(DType::Q6_K));
  EXPECT_FALSE(int8_dot_type(DType::F32));
  const std::vector<float> f(kBlock, 0.0f);
  Tensor t{"w",
           DType::F32,
           {static_cast<int64_t>(kBlock), 1},
           reinterpret_cast<const uint8_t*>(f.data())};
  std::vector<float> y(1);
  ThreadPool pool(1);
  EXPECT_THROW(matmul_int8(t, f.data(), 1, y.data(), pool), std::invalid_argument);
}

// A Q4_K and a Q8_0 model under --int8-activations: decode token by token gives prefill's logits
// bit for bit (each token's arithmetic is its own), and both stay near the exact f32 product's
// logits.
class MatmulInt8Model : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulInt8Model, DecodeEqualsPrefill) {
  ModelConfig c = synth_shape("llama", "small");
  c.vocab_size = 512;
  apply_arch(c);
  Model m = make_random_model(c, 3, GetParam(), true);
  ASSERT_EQ(m.layers[0].wq.type, GetParam());
  const std::vector<int> ids = test::prompt_ids(12);
  const std::vector<float> exact = test::logits_of(m, ids);
  m.int8_activations = true;
  const std::vector<float> prefill = test::logits_of(m, ids);
  ThreadPool pool(2);
  Runtime rt(m, pool, 64);
  const size_t V = static_cast<size_t>(c.vocab_size);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::vector<float> step =
        rt.forward(std::vector<int>{ids[i]}, static_cast<int>(i), Logits::All);
    ASSERT_EQ(step.size(), V);
    for (size_t v = 0; v < V; ++v) {
      ASSERT_EQ(step[v], prefill[i * V + v]) << "position " << i << " token " << v;
      diff = std::max(diff, std::fabs(static_cast<double>(step[v]) - exact[i * V + v]));
      scale = std::max(scale, std::fabs(static_cast<double>(exact[i * V + v])));
    }
  }
  EXPECT_GT(diff, 0.0);           // the mode is on
  EXPECT_LT(diff, 0.05 * scale);  // and near the exact product
}

INSTANTIATE_TEST_SUITE_P(Types, MatmulInt8Model, ::testing::Values(DType::Q4_K, DType::Q8_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace ss
