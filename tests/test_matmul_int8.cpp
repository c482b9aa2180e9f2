// The 8-bit-activation matmul (ops/matmul_int8.h): every SIMD variant against the scalar
// statement bit for bit, the activation quantizer against llama.cpp's Q8_K rule by hand, the
// result against exact float64 arithmetic within the bound that rounding the activations allows,
// and the runtime's decode against its prefill.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "ops/matmul_int8.h"
#include "ops/simd/kernels.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

constexpr size_t kBlock = 256;

using test::randn;

struct Q4KWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // the dequantized weights
  Tensor tensor;
  Q4KWeights(size_t rows, size_t cols, unsigned seed) : values(rows * cols) {
    const std::vector<float> f = randn(rows * cols, seed, 0.05f);
    const size_t rb = dtype_row_bytes(DType::Q4_K, cols);
    bytes.resize(rb * rows);
    for (size_t r = 0; r < rows; ++r) {
      quantize_row(DType::Q4_K, f.data() + r * cols, bytes.data() + r * rb, cols);
      dequantize_row(DType::Q4_K, bytes.data() + r * rb, values.data() + r * cols, cols);
    }
    tensor = Tensor{
        "w", DType::Q4_K, {static_cast<int64_t>(cols), static_cast<int64_t>(rows)}, bytes.data()};
  }
};

// Rows that end inside a row block (16) and a thread's share; 1 to 9 tokens, so groups of 4
// tokens with each remainder; 1 to 9 super-blocks to a row: groups of 4 with tails of 0 to 3.
TEST(MatmulInt8, EveryVariantIsTheStatementBitForBit) {
  for (size_t cols :
       {kBlock, 2 * kBlock, 3 * kBlock, 4 * kBlock, 6 * kBlock, 7 * kBlock, 9 * kBlock})
    for (size_t rows : {1, 17, 40}) {
      Q4KWeights w(rows, cols, static_cast<unsigned>(rows + cols));
      for (size_t tokens = 1; tokens <= 9; ++tokens) {
        std::vector<float> x = randn(tokens * cols, static_cast<unsigned>(tokens));
        x[3] = 0;  // a zero and an all-zero block
        if (tokens > 1) std::fill(x.begin() + cols, x.begin() + cols + kBlock, 0.0f);
        std::vector<float> ref(tokens * rows);
        matmul_int8_reference(w.tensor, x.data(), tokens, ref.data());
        for (Isa isa : supported_isas())
          for (int threads : {1, 2}) {
            ThreadPool pool(threads);
            std::vector<float> y(ref.size(), NAN);
            kernels_for(isa).matmul_int8(w.tensor, x.data(), tokens, y.data(), pool);
            for (size_t i = 0; i < ref.size(); ++i)
              ASSERT_EQ(y[i], ref[i])
                  << isa_name(isa) << " cols " << cols << " rows " << rows << " tokens " << tokens
                  << " threads " << threads << ": token " << i / rows << " row " << i % rows;
          }
      }
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
TEST(MatmulInt8, WithinTheActivationRoundingOfTheExactProduct) {
  const size_t rows = 23, cols = 4 * kBlock, tokens = 3;
  Q4KWeights w(rows, cols, 5);
  const std::vector<float> x = randn(tokens * cols, 6);
  std::vector<float> y(tokens * rows);
  matmul_int8_reference(w.tensor, x.data(), tokens, y.data());
  std::vector<ActQ8> act(cols / kBlock);
  double worst = 0;
  for (size_t t = 0; t < tokens; ++t) {
    quantize_act_q8(x.data() + t * cols, cols, act.data());
    for (size_t r = 0; r < rows; ++r) {
      double exact = 0, bound = 0;
      for (size_t c = 0; c < cols; ++c) {
        const double wv = w.values[r * cols + c];
        exact += wv * x[t * cols + c];
        bound += std::fabs(wv) * std::fabs(act[c / kBlock].d) / 2;
      }
      const double got = y[t * rows + r];
      EXPECT_LE(std::fabs(got - exact), bound + 1e-6 * std::fabs(exact) + 1e-7)
          << "token " << t << " row " << r;
      worst = std::max(worst, std::fabs(got - exact) / bound);
    }
  }
  EXPECT_GT(worst, 0.0);  // (the activations were rounded at all)
}

// In a group of 4 super-blocks and in the tail after it.
TEST(MatmulInt8, NanActivationsGiveNan) {
  Q4KWeights w(3, 5 * kBlock, 7);
  std::vector<float> x = randn(2 * 5 * kBlock, 8);
  x[17] = NAN;
  x[5 * kBlock + 4 * kBlock + 3] = INFINITY;
  for (Isa isa : supported_isas()) {
    ThreadPool pool(1);
    std::vector<float> y(6, 0.0f);
    kernels_for(isa).matmul_int8(w.tensor, x.data(), 2, y.data(), pool);
    for (float v : y) EXPECT_TRUE(std::isnan(v)) << isa_name(isa);
  }
}

TEST(MatmulInt8, OtherTypesAreRefused) {
  EXPECT_TRUE(int8_dot_type(DType::Q4_K));
  EXPECT_FALSE(int8_dot_type(DType::Q8_0));
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

// A Q4_K model under --int8-activations: decode token by token gives prefill's logits bit for
// bit (each token's arithmetic is its own), and both stay near the exact f32 product's logits.
TEST(MatmulInt8, DecodeEqualsPrefillOnAQ4KModel) {
  ModelConfig c = synth_shape("llama", "small");
  c.vocab_size = 512;
  apply_arch(c);
  Model m = make_random_model(c, 3, DType::Q4_K, true);
  ASSERT_EQ(m.layers[0].wq.type, DType::Q4_K);
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

}  // namespace
}  // namespace ss
