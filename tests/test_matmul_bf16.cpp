// The BF16-activation matmul (ops/matmul_bf16.h): the AVX512-BF16 kernel against its scalar
// statement, bit for bit, and the statement against exact arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "ops/matmul_bf16.h"

namespace ss {
namespace {

struct Bf16Weights {
  std::vector<uint16_t> bits;
  Tensor tensor;
  Bf16Weights(size_t rows, size_t cols, std::mt19937& rng) : bits(rows * cols) {
    std::normal_distribution<float> d(0, 0.05f);
    for (auto& b : bits) b = f32_to_bf16(d(rng));
    tensor = Tensor{"w",
                    DType::BF16,
                    {static_cast<int64_t>(cols), static_cast<int64_t>(rows)},
                    reinterpret_cast<const uint8_t*>(bits.data())};
  }
};

std::vector<float> activations(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0, 1);
  std::vector<float> x(n);
  for (float& v : x) v = d(rng);
  return x;
}

// Inputs that are BF16 already and products that are small integers: every step is exact, so
// the result is the exact dot product.
TEST(MatmulBf16, ReferenceIsExactOnExactInputs) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> small(-8, 8);
  const size_t rows = 5, cols = 77, tokens = 3;
  std::vector<uint16_t> bits(rows * cols);
  std::vector<float> wf(rows * cols), x(tokens * cols);
  for (size_t i = 0; i < bits.size(); ++i) wf[i] = static_cast<float>(small(rng));
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = f32_to_bf16(wf[i]);
  for (float& v : x) v = static_cast<float>(small(rng));
  Tensor w{"w",
           DType::BF16,
           {static_cast<int64_t>(cols), static_cast<int64_t>(rows)},
           reinterpret_cast<const uint8_t*>(bits.data())};
  std::vector<float> y(tokens * rows);
  matmul_bf16_reference(w, x.data(), tokens, y.data());
  for (size_t t = 0; t < tokens; ++t)
    for (size_t r = 0; r < rows; ++r) {
      double s = 0;
      for (size_t c = 0; c < cols; ++c)
        s += static_cast<double>(wf[r * cols + c]) * x[t * cols + c];
      EXPECT_EQ(y[t * rows + r], static_cast<float>(s));
    }
}

// Rounding the activations to BF16 is the only approximation: the result is within the f32
// accumulation error of the exact product of the rounded activations, and close to the product
// of the unrounded ones.
TEST(MatmulBf16, ReferenceIsTheProductOfRoundedActivations) {
  std::mt19937 rng(2);
  const size_t rows = 7, cols = 300, tokens = 4;
  Bf16Weights w(rows, cols, rng);
  const std::vector<float> x = activations(tokens * cols, rng);
  std::vector<float> y(tokens * rows);
  matmul_bf16_reference(w.tensor, x.data(), tokens, y.data());
  for (size_t t = 0; t < tokens; ++t)
    for (size_t r = 0; r < rows; ++r) {
      double rounded = 0, exact = 0, abs_sum = 0;
      for (size_t c = 0; c < cols; ++c) {
        const double wv = bf16_to_f32(w.bits[r * cols + c]), xv = x[t * cols + c];
        rounded += wv * bf16_to_f32(f32_to_bf16(x[t * cols + c]));
        exact += wv * xv;
        abs_sum += std::fabs(wv * xv);
      }
      const double got = y[t * rows + r];
      EXPECT_LE(std::fabs(got - rounded), abs_sum * 0x1p-20);
      EXPECT_LE(std::fabs(got - exact), abs_sum * 0x1p-8);
    }
}

// The kernel at real sizes and ragged edges (partial register tiles and row blocks, a 20-element
// tail, several column blocks, token chunks and spans) gives the reference's bits, with any
// thread count.
TEST(MatmulBf16, KernelMatchesReferenceBitForBit) {
  // (Every variant is also checked in-process by tests/test_kernels.cpp.)
  if (!bf16_dot_supported()) GTEST_SKIP() << "the SIMD variant in use has no BF16 dot products";
  std::mt19937 rng(3);
  for (auto [rows, cols, tokens] :
       {std::tuple<size_t, size_t, size_t>{37, 100, 70}, {29, 2068, 1100}, {13, 64, 1}}) {
    Bf16Weights w(rows, cols, rng);
    const std::vector<float> x = activations(tokens * cols, rng);
    std::vector<float> ref(tokens * rows), y1(tokens * rows), y3(tokens * rows);
    matmul_bf16_reference(w.tensor, x.data(), tokens, ref.data());
    ThreadPool p1(1), p3(3);
    matmul_bf16(w.tensor, x.data(), tokens, y1.data(), p1);
    matmul_bf16(w.tensor, x.data(), tokens, y3.data(), p3);
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_EQ(y1[i], ref[i]) << rows << "x" << cols << " tokens " << tokens << " i=" << i;
      ASSERT_EQ(y3[i], ref[i]) << "thread count changed the result";
    }
  }
}

TEST(MatmulBf16, RejectsOtherWeightTypes) {
  std::vector<float> wf(16, 1.0f), x(16, 1.0f), y(1);
  Tensor w{"blk.0.attn_q.weight", DType::F32, {16, 1}, reinterpret_cast<const uint8_t*>(wf.data())};
  ThreadPool p(1);
  EXPECT_THROW(matmul_bf16(w, x.data(), 1, y.data(), p), std::invalid_argument);
}

}  // namespace
}  // namespace ss
