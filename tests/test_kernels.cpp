// Every SIMD variant of the kernels (ops/simd) that this CPU can run, held to the scalar
// statements bit for bit, on shapes that cross every blocking boundary: spans of packed inputs,
// token chunks (more than 128 and more than 1024 tokens), column blocks, partial register tiles
// and tails. An AVX-512 machine checks the scalar, AVX2 and AVX-512 variants here; an AVX2 machine
// the first two.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "ops/attention.h"
#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/matmul.h"
#include "ops/matmul_bf16.h"
#include "ops/simd/kernels.h"

namespace ss {
namespace {

std::vector<float> uniform(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Weights of any dtype, quantized from uniform values.
struct Weights {
  std::vector<uint8_t> bytes;
  Tensor tensor;
  Weights(DType t, size_t rows, size_t cols, unsigned seed) {
    const std::vector<float> f = uniform(rows * cols, seed);
    const size_t rb = dtype_row_bytes(t, cols);
    bytes.resize(rb * rows);
    for (size_t r = 0; r < rows; ++r)
      quantize_row(t, f.data() + r * cols, bytes.data() + r * rb, cols);
    tensor = Tensor{"w", t, {static_cast<int64_t>(cols), static_cast<int64_t>(rows)}, bytes.data()};
  }
};

std::string variants_here() {
  std::string s;
  for (Isa isa : supported_isas()) s += std::string(s.empty() ? "" : ", ") + isa_name(isa);
  return s;
}

TEST(Kernels, VariantsFollowTheCpuFeatures) {
  std::printf("variants on this CPU: %s (features: %s)\n", variants_here().c_str(),
              cpu_feature_list().c_str());
  ASSERT_TRUE(isa_supported(Isa::Scalar));
  // Each variant needs the one before it.
  for (size_t i = 1; i < std::size(kAllIsas); ++i) {
    if (isa_supported(kAllIsas[i])) {
      EXPECT_TRUE(isa_supported(kAllIsas[i - 1])) << isa_name(kAllIsas[i]);
    }
  }
  EXPECT_EQ(best_isa(), supported_isas().back());
  for (Isa isa : supported_isas()) EXPECT_EQ(kernels_for(isa).isa, isa);
  EXPECT_EQ(kernels().isa, active_isa());
}

struct GemmShape {
  DType type;
  size_t rows, cols, tokens;
};

// Every dtype; partial tiles and row blocks; chunk boundaries at 128 (and 129 for 3-token tiles);
// more than 1024 tokens; two spans of packed inputs with several column blocks and a tail (the
// last shape: a span is 4 MiB of inputs); decode-sized batches (no packing).
const GemmShape kGemmShapes[] = {
    {DType::F32, 37, 100, 70},   {DType::F16, 37, 100, 70},  {DType::BF16, 37, 100, 70},
    {DType::Q8_0, 37, 96, 70},   {DType::Q4_K, 37, 256, 70}, {DType::F32, 13, 40, 129},
    {DType::F32, 31, 48, 131},   {DType::F32, 11, 64, 1100}, {DType::Q8_0, 25, 64, 260},
    {DType::F32, 29, 2056, 530}, {DType::F32, 9, 50, 1},     {DType::Q4_K, 27, 256, 7},
    {DType::F16, 30, 33, 5},
};

TEST(Kernels, MatmulOfEveryVariantIsTheReferenceBitForBit) {
  for (const GemmShape& g : kGemmShapes) {
    Weights w(g.type, g.rows, g.cols, static_cast<unsigned>(g.rows * 7 + g.tokens));
    const std::vector<float> x = uniform(g.tokens * g.cols, static_cast<unsigned>(g.cols));
    std::vector<float> ref(g.tokens * g.rows);
    matmul_reference(w.tensor, x.data(), g.tokens, ref.data());
    for (Isa isa : supported_isas())
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        std::vector<float> y(ref.size(), NAN);
        kernels_for(isa).matmul(w.tensor, x.data(), g.tokens, y.data(), pool);
        for (size_t i = 0; i < ref.size(); ++i)
          ASSERT_EQ(y[i], ref[i]) << isa_name(isa) << " " << dtype_name(g.type) << " " << g.rows
                                  << "x" << g.cols << " tokens " << g.tokens << " threads "
                                  << threads << ": token " << i / g.rows << " row " << i % g.rows;
      }
  }
}

// Decode (fewer than 8 tokens: ops/decode-inl.h's fused loaders, or chunks expanded in L1) for
// every readable type, 1 to 7 tokens: rows that end in a partial register tile, several chunks of
// columns (1024 elements, or a K-quant super-block) and, for the float types, a tail past the
// last 16-element group.
TEST(Kernels, DecodeOfEveryTypeAndVariantIsTheReferenceBitForBit) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                  DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                  DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::MXFP4}) {
    const size_t block = dtype_info(static_cast<uint32_t>(t))->block_elems;
    const size_t cols = block == 1 ? 2061 : block * (2560 / block + 1);
    // A whole row block (AVX-512 24, AVX2 12, scalar 8 rows) and 1, 2 or 3 rows after it: every
    // row count of a register tile in every variant.
    for (size_t rows : {25, 26, 27}) {
      Weights w(t, rows, cols, static_cast<unsigned>(t) + 11);
      for (size_t tokens = 1; tokens < 8; ++tokens) {
        const std::vector<float> x = uniform(tokens * cols, static_cast<unsigned>(tokens));
        std::vector<float> ref(tokens * rows);
        matmul_reference(w.tensor, x.data(), tokens, ref.data());
        for (Isa isa : supported_isas()) {
          ThreadPool pool(2);
          std::vector<float> y(ref.size(), NAN);
          kernels_for(isa).matmul(w.tensor, x.data(), tokens, y.data(), pool);
          for (size_t i = 0; i < ref.size(); ++i)
            ASSERT_EQ(y[i], ref[i])
                << isa_name(isa) << " " << dtype_name(t) << " tokens " << tokens << ": token "
                << i / rows << " row " << i % rows << " of " << rows;
        }
      }
    }
  }
}

// Only the avx512bf16 variant has BF16 dot products; the others run the statement itself, so
// without that variant there is nothing to compare.
bool skip_without_bf16_dots() {
  return !isa_supported(Isa::Avx512Bf16);
}

TEST(Kernels, Bf16MatmulOfEveryVariantIsItsStatementBitForBit) {
  if (skip_without_bf16_dots()) GTEST_SKIP() << "no avx512bf16 variant on this CPU";
  // Column blocks of 2048 with a tail, chunk and span boundaries.
  for (const GemmShape& g :
       {GemmShape{DType::BF16, 29, 2100, 530}, GemmShape{DType::BF16, 13, 70, 1100},
        GemmShape{DType::BF16, 7, 64, 9}}) {
    Weights w(g.type, g.rows, g.cols, 3);
    const std::vector<float> x = uniform(g.tokens * g.cols, 4);
    std::vector<float> ref(g.tokens * g.rows);
    matmul_bf16_reference(w.tensor, x.data(), g.tokens, ref.data());
    for (Isa isa : supported_isas()) {
      ThreadPool pool(2);
      std::vector<float> y(ref.size(), NAN);
      kernels_for(isa).matmul_bf16(w.tensor, x.data(), g.tokens, y.data(), pool);
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_EQ(y[i], ref[i]) << isa_name(isa) << " " << g.cols << " tokens " << g.tokens
                                << " i=" << i;
    }
  }
}

// Decode's path (fewer than 8 tokens): rows straight from W in tiles of 4 rows × 4 tokens, so 1 to
// 3 rows after the whole tiles of a 16-row block, 1 to 3 tokens after a whole token tile; rows of
// 2100 (a 20-element tail), 64 (none) and 20 (no whole 32-element group).
TEST(Kernels, Bf16DecodeOfEveryVariantIsItsStatementBitForBit) {
  if (skip_without_bf16_dots()) GTEST_SKIP() << "no avx512bf16 variant on this CPU";
  for (size_t cols : {2100, 64, 20})
    for (size_t rows : {1, 5, 38, 39})
      for (size_t tokens = 1; tokens < 8; ++tokens) {
        Weights w(DType::BF16, rows, cols, static_cast<unsigned>(rows));
        const std::vector<float> x = uniform(tokens * cols, static_cast<unsigned>(tokens));
        std::vector<float> ref(tokens * rows);
        matmul_bf16_reference(w.tensor, x.data(), tokens, ref.data());
        for (Isa isa : supported_isas()) {
          ThreadPool pool(2);
          std::vector<float> y(ref.size(), NAN);
          kernels_for(isa).matmul_bf16(w.tensor, x.data(), tokens, y.data(), pool);
          for (size_t i = 0; i < ref.size(); ++i)
            ASSERT_EQ(y[i], ref[i]) << isa_name(isa) << " cols " << cols << " rows " << rows
                                    << " tokens " << tokens << " i=" << i;
        }
      }
}

TEST(Kernels, DotAndLaneSumsOfEveryVariantAreTheReference) {
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0, 1);
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    for (size_t n : {1u, 15u, 16u, 17u, 100u, 1000u, 4099u}) {
      const std::vector<float> a = uniform(n, 1), b = uniform(n, static_cast<unsigned>(n));
      ASSERT_EQ(k.dot(a.data(), b.data(), n), dot_lanes_reference(a.data(), b.data(), n))
          << isa_name(isa) << " n=" << n;
    }
    for (int trial = 0; trial < 500; ++trial) {
      float lanes[8 * kDotLanes];
      for (size_t i = 0; i < std::size(lanes); ++i)
        lanes[i] = dist(rng) * (i % 5 == 0 ? 1e7f : 1.0f);  // cancellations
      double sums[8];
      k.sum_lanes_x8(lanes, sums);
      for (int o = 0; o < 8; ++o)
        ASSERT_EQ(sums[o], sum_lanes_reference(lanes + o * kDotLanes)) << isa_name(isa);
    }
  }
}

TEST(Kernels, ElementwiseKernelsOfEveryVariantAreExact) {
  const size_t n = 77;
  const std::vector<float> xf = uniform(n, 5, 3.0f);
  std::vector<double> xd(n), y0(n);
  for (size_t i = 0; i < n; ++i) xd[i] = xf[i] * 1.000001, y0[i] = 0.1 * static_cast<double>(i);
  std::vector<uint8_t> half(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_f16(xf[i]);
    half[2 * i] = static_cast<uint8_t>(h), half[2 * i + 1] = static_cast<uint8_t>(h >> 8);
  }
  for (Isa isa : supported_isas()) {
    const Kernels& k = kernels_for(isa);
    std::vector<double> y = y0, yf = y0;
    k.axpy_f64(y.data(), xd.data(), 0.37, n);
    k.axpy_f32_f64(yf.data(), xf.data(), -1.5, n);
    std::vector<float> f(n);
    k.f16_to_f32_row(half.data(), f.data(), n);
    std::vector<double> sum = y0;
    k.add_f32_to_f64(sum.data(), xf.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], std::fma(0.37, xd[i], y0[i])) << isa_name(isa);
      ASSERT_EQ(yf[i], std::fma(-1.5, static_cast<double>(xf[i]), y0[i])) << isa_name(isa);
      ASSERT_EQ(f[i], f16_to_f32(f32_to_f16(xf[i]))) << isa_name(isa);
      ASSERT_EQ(sum[i], y0[i] + static_cast<double>(xf[i])) << isa_name(isa);
    }
  }
}

// Rows of every readable type expand to the same values under every variant.
TEST(Kernels, DequantizationOfEveryVariantIsTheScalarVariants) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                  DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                  DType::Q5_K, DType::Q6_K, DType::Q8_K}) {
    const size_t n = 512;
    Weights w(t, 3, n, 21);
    std::vector<float> ref(n);
    kernels_for(Isa::Scalar).dequantize_row(t, w.tensor.row(2), ref.data(), n);
    for (Isa isa : supported_isas()) {
      std::vector<float> y(n, NAN);
      kernels_for(isa).dequantize_row(t, w.tensor.row(2), y.data(), n);
      ASSERT_EQ(y, ref) << isa_name(isa) << " " << dtype_name(t);
    }
  }
}

TEST(Kernels, GemmAccumulateOfEveryVariantIsTheReference) {
  for (size_t m : {5u, 37u})
    for (size_t nc : {15u, 67u, 130u}) {
      const size_t kl = 29;
      const auto a = uniform(m * kl, 11), b = uniform(kl * nc, 12), c0 = uniform(m * nc, 13);
      std::vector<float> ref = c0;
      gemm_accumulate_reference({a.data(), kl, 1, b.data(), nc, ref.data(), nc, m, nc, kl});
      for (Isa isa : supported_isas()) {
        std::vector<float> c = c0;
        ThreadPool pool(2);
        kernels_for(isa).gemm_accumulate({a.data(), kl, 1, b.data(), nc, c.data(), nc, m, nc, kl},
                                         pool);
        ASSERT_EQ(c, ref) << isa_name(isa) << " " << m << "x" << nc;
      }
    }
}

// Probability rows, entropies and outputs of every variant equal the scalar variant's bit for bit.
TEST(Kernels, AttentionOfEveryVariantIsTheScalarVariantBitForBit) {
  struct Case {
    int hd, pos0, n, window;
    double softcap = 0, sink = -INFINITY;
    bool sigmoid = false, sink_kv = false;  // the attention variants of sinkscope.attention
  };
  for (const Case& c :
       {Case{64, 0, 300, 0}, Case{72, 0, 45, 0}, Case{128, 130, 70, 0}, Case{64, 0, 200, 50},
        Case{8, 17, 3, 0}, Case{64, 0, 200, 50, 2.0}, Case{128, 130, 70, 0, 0.5},
        Case{64, 0, 200, 50, 0, 1.5}, Case{72, 0, 45, 0, 0, 40.0}, Case{8, 17, 3, 0, 0.5, -2},
        Case{64, 0, 300, 0, 0, -INFINITY, true}, Case{72, 130, 70, 50, 0.5, -INFINITY, true},
        Case{64, 0, 300, 0, 0, -INFINITY, false, true}, Case{72, 0, 45, 0, 0, 0.0},
        Case{128, 130, 70, 50, 0.5, -INFINITY, false, true}}) {
    const int T = c.pos0 + c.n;
    const size_t hd = static_cast<size_t>(c.hd), k_stride = T + kKeyPad + 1;
    const std::vector<float> q = uniform(c.n * hd, 1, 2.5f), v = uniform(T * hd, 2);
    std::vector<float> k = uniform(hd * k_stride, 3);
    AttentionShape s;
    s.head_dim = c.hd;
    s.q_stride = s.z_stride = s.v_stride = hd;
    s.k_stride = k_stride;
    s.scale = 1.0 / std::sqrt(static_cast<double>(c.hd));
    s.window = c.window;
    s.softcap = c.softcap;
    s.sink = c.sink;
    s.sigmoid = c.sigmoid;
    const std::vector<float> sink_k = uniform(hd, 4, 2.5f), sink_v = uniform(hd, 5);
    if (c.sink_kv) s.sink_key = sink_k.data(), s.sink_value = sink_v.data();
    auto run = [&](Isa isa, std::vector<float>& z, std::vector<float>& rows,
                   std::vector<double>& ent) {
      z.assign(c.n * hd, NAN);
      kernels_for(isa).attend_head(q.data(), k.data(), v.data(), c.pos0, c.n, s, z.data(),
                                   [&](int, int, std::span<const float> row, double e) {
                                     rows.insert(rows.end(), row.begin(), row.end());
                                     ent.push_back(e);
                                   });
    };
    std::vector<float> z0, rows0;
    std::vector<double> ent0;
    run(Isa::Scalar, z0, rows0, ent0);
    for (Isa isa : supported_isas()) {
      std::vector<float> z, rows;
      std::vector<double> ent;
      run(isa, z, rows, ent);
      ASSERT_EQ(rows, rows0) << isa_name(isa) << " hd " << c.hd << " n " << c.n;
      ASSERT_EQ(ent, ent0) << isa_name(isa);
      ASSERT_EQ(z, z0) << isa_name(isa);
    }
  }
}

}  // namespace
}  // namespace ss
