// The blocked attention kernel against its plain double reference, and its exp and sum.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/exp.h"

using namespace ss;

TEST(ExpKernel, RelativeErrorBelowThreeTenMillionthsOnNonPositiveRange) {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f * static_cast<float>(i) / 2000000.0f;
    const double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(exp_nonpositive(x) - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_GE(exp_nonpositive(-1e30f), 0.0f);
  EXPECT_LT(exp_nonpositive(-1e30f), 1e-37f);
}

TEST(ExpKernel, ArrayFormIsBitIdenticalToScalar) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> dist(-90, 0);
  std::vector<float> x(1001), y(x.size());
  for (float& v : x) v = dist(rng);
  exp_nonpositive(x.data(), y.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], exp_nonpositive(x[i])) << i;
}

TEST(ExpKernel, SumF64IsNearExact) {
  std::vector<float> x(1003);
  double exact = 0;
  for (size_t i = 0; i < x.size(); ++i) exact += x[i] = 1.0f / static_cast<float>(i + 1);
  EXPECT_NEAR(sum_f64(x.data(), x.size()), exact, 1e-12);
}

namespace {

struct Case {
  int hd, pos0, n, window;
  double softcap = 0, sink = -INFINITY;
  bool sigmoid = false, sink_kv = false;  // the attention variants of sinkscope.attention
};

void expect_matches_reference(const Case& c) {
  std::mt19937 rng(static_cast<unsigned>(c.hd * 131 + c.n + c.window));
  std::normal_distribution<float> dist(0, 1);
  const int T = c.pos0 + c.n;
  const size_t v_stride = static_cast<size_t>(c.hd) * 3;  // the head sits inside a wider row
  const size_t k_stride = T + kKeyPad + 3;                // keys transposed, with the padding
  std::vector<float> q(static_cast<size_t>(c.n) * c.hd * 2), v(T * v_stride);
  std::vector<float> k((static_cast<size_t>(c.hd) * 3) * k_stride, 0.0f);
  for (float& x : q) x = 2.5f * dist(rng);  // large scores: peaked rows, like real sinks
  for (int d = 0; d < c.hd; ++d)
    for (int j = 0; j < T; ++j) k[(c.hd + d) * k_stride + j] = dist(rng);
  for (float& x : v) x = dist(rng);
  AttentionShape s;
  s.head_dim = c.hd;
  s.q_stride = s.z_stride = static_cast<size_t>(c.hd) * 2;
  s.k_stride = k_stride;
  s.v_stride = v_stride;
  s.scale = 1.0 / std::sqrt(static_cast<double>(c.hd));
  s.window = c.window;
  s.softcap = c.softcap;
  s.sink = c.sink;
  s.sigmoid = c.sigmoid;
  std::vector<float> sink_k(c.hd), sink_v(c.hd);
  for (float& x : sink_k) x = dist(rng);
  for (float& x : sink_v) x = dist(rng);
  if (c.sink_kv) s.sink_key = sink_k.data(), s.sink_value = sink_v.data();
  std::vector<float> z(q.size()), zr(q.size());
  std::vector<std::vector<float>> rows, rows_ref;
  std::vector<double> ent, ent_ref;
  int next = 0;
  attend_head(q.data(), k.data() + c.hd * k_stride, v.data() + c.hd, c.pos0, c.n, s, z.data(),
              [&](int i, int pos, std::span<const float> row, double entropy) {
                ASSERT_EQ(i, next++) << "rows out of order";
                ASSERT_EQ(pos, c.pos0 + i);
                rows.emplace_back(row.begin(), row.end());
                ent.push_back(entropy);
              });
  attend_head_reference(q.data(), k.data() + c.hd * k_stride, v.data() + c.hd, c.pos0, c.n, s,
                        zr.data(), [&](int, int, std::span<const float> row, double entropy) {
                          rows_ref.emplace_back(row.begin(), row.end());
                          ent_ref.push_back(entropy);
                        });
  ASSERT_EQ(rows.size(), static_cast<size_t>(c.n));
  double worst_p = 0, worst_z = 0;
  for (int i = 0; i < c.n; ++i) {
    ASSERT_EQ(rows[i].size(), static_cast<size_t>(c.pos0 + i + 1));
    double sum = 0, sum_ref = 0;
    for (size_t kk = 0; kk < rows[i].size(); ++kk) {
      sum += rows[i][kk];
      sum_ref += rows_ref[i][kk];
      worst_p = std::max(worst_p, static_cast<double>(std::fabs(rows[i][kk] - rows_ref[i][kk])));
      if (c.window > 0 && static_cast<int>(kk) <= c.pos0 + i - c.window) {
        ASSERT_EQ(rows[i][kk], 0.0f) << "key outside the window";
      }
    }
    // Rows sum to 1 (a sigmoid row's shares too), or to 1 − p_sink with a learned sink.
    ASSERT_NEAR(sum, sum_ref, 1e-5);
    if (c.sink == -INFINITY && !c.sink_kv) {
      ASSERT_NEAR(sum, 1.0, 1e-5);
    }
    // Entropy from the softmax identity = −Σ p log p of the reference.
    ASSERT_NEAR(ent[i], ent_ref[i], 2e-6 * std::max(1.0, ent_ref[i])) << "i=" << i;
    for (int d = 0; d < c.hd; ++d)
      worst_z = std::max(
          worst_z, static_cast<double>(std::fabs(z[i * s.z_stride + d] - zr[i * s.z_stride + d])));
  }
  EXPECT_LT(worst_p, 3e-7) << "hd=" << c.hd << " n=" << c.n;
  // A sigmoid row is not normalised: z sums up to T weights of 1, and so its rounding.
  EXPECT_LT(worst_z, c.sigmoid ? 2e-6 * T : 2e-6) << "hd=" << c.hd << " n=" << c.n;
}

}  // namespace

TEST(AttentionKernel, MatchesDoubleReference) {
  for (const Case& c :
       {Case{8, 0, 13, 0}, Case{64, 0, 37, 0}, Case{64, 5, 1, 0}, Case{128, 3, 20, 0},
        Case{72, 0, 30, 7}, Case{64, 40, 9, 16}, Case{64, 0, 37, 0, 1.5}, Case{72, 40, 9, 16, 0.7},
        Case{64, 0, 37, 0, 0, 2.0}, Case{72, 40, 9, 16, 0, 0.5}, Case{8, 0, 13, 0, 0.7, -1.0},
        Case{64, 0, 37, 0, 0, -INFINITY, true}, Case{72, 40, 9, 16, 0.7, -INFINITY, true},
        Case{8, 0, 13, 0, 0, -INFINITY, false, true}, Case{64, 0, 37, 0, 0, -INFINITY, false, true},
        Case{72, 40, 9, 16, 0.7, -INFINITY, false, true}})
    expect_matches_reference(c);
}

// A learned sink logit (gpt-oss) is one more softmax column: the key probabilities are the
// softmax over keys and sink with the sink's share dropped, computed here in double by hand; a
// sink of −∞ gives the plain softmax bit for bit; a dominant sink leaves z near 0.
TEST(AttentionKernel, LearnedSinkTakesItsShareOfTheRow) {
  const int hd = 16, n = 12;
  const size_t k_stride = n + kKeyPad;
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> q(n * hd), k(hd * k_stride, 0.0f), v(n * hd);
  for (float& x : q) x = dist(rng);
  for (int d = 0; d < hd; ++d)
    for (int j = 0; j < n; ++j) k[d * k_stride + j] = dist(rng);
  for (float& x : v) x = dist(rng);
  AttentionShape s;
  s.head_dim = hd;
  s.q_stride = s.z_stride = s.v_stride = hd;
  s.k_stride = k_stride;
  s.scale = 0.25;
  auto run = [&](double sink, std::vector<float>& rows, std::vector<double>& ent) {
    s.sink = sink;
    std::vector<float> z(n * hd);
    attend_head(q.data(), k.data(), v.data(), 0, n, s, z.data(),
                [&](int, int, std::span<const float> row, double e) {
                  rows.insert(rows.end(), row.begin(), row.end());
                  ent.push_back(e);
                });
    return z;
  };
  std::vector<float> plain_rows, inf_rows, sink_rows, big_rows;
  std::vector<double> plain_ent, inf_ent, sink_ent, big_ent;
  AttentionShape plain = s;
  std::vector<float> zp(n * hd);
  attend_head(q.data(), k.data(), v.data(), 0, n, plain, zp.data(),
              [&](int, int, std::span<const float> row, double e) {
                plain_rows.insert(plain_rows.end(), row.begin(), row.end());
                plain_ent.push_back(e);
              });
  EXPECT_EQ(run(-INFINITY, inf_rows, inf_ent), zp);
  EXPECT_EQ(inf_rows, plain_rows);
  EXPECT_EQ(inf_ent, plain_ent);

  const double sink = 0.8;
  run(sink, sink_rows, sink_ent);
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<double> e(i + 1);
    double mx = sink;
    for (int j = 0; j <= i; ++j) {
      double dot = 0;
      for (int d = 0; d < hd; ++d) dot += static_cast<double>(q[i * hd + d]) * k[d * k_stride + j];
      e[j] = dot * 0.25;
      mx = std::max(mx, e[j]);
    }
    double sum = std::exp(sink - mx), keys = 0;
    for (double& x : e) sum += x = std::exp(x - mx);
    for (int j = 0; j <= i; ++j, ++at) {
      EXPECT_NEAR(sink_rows[at], e[j] / sum, 1e-6) << i << "," << j;
      keys += sink_rows[at];
    }
    EXPECT_NEAR(keys, 1.0 - std::exp(sink - mx) / sum, 1e-6) << i;
  }
  // A sink far above every score takes nearly all the mass.
  const std::vector<float> zb = run(60.0, big_rows, big_ent);
  for (float p : big_rows) EXPECT_LT(p, 1e-20f);
  for (float x : zb) EXPECT_LT(std::fabs(x), 1e-18f);
}

// sink-kv with a zero key and a zero value is softmax1 (a fixed sink logit of 0) bit for bit, in
// the fast kernel and the reference; a sigmoid row's observers see shares summing to 1 while z
// is Σ σ(score)·v, which the reference computes in double.
TEST(AttentionKernel, ZeroSinkKeyAndValueIsSoftmax1AndSigmoidShowsShares) {
  const int hd = 16, n = 12;
  const size_t k_stride = n + kKeyPad;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> q(n * hd), k(hd * k_stride, 0.0f), v(n * hd), zeros(hd, 0.0f);
  for (float& x : q) x = 2 * dist(rng);
  for (int d = 0; d < hd; ++d)
    for (int j = 0; j < n; ++j) k[d * k_stride + j] = dist(rng);
  for (float& x : v) x = dist(rng);
  AttentionShape s;
  s.head_dim = hd;
  s.q_stride = s.z_stride = s.v_stride = hd;
  s.k_stride = k_stride;
  s.scale = 0.25;
  struct Out {
    std::vector<float> z, rows;
    std::vector<double> ent;
  };
  auto run = [&](const AttentionShape& sh, bool reference) {
    Out o;
    o.z.assign(n * hd, NAN);
    const PatternFn fn = [&](int, int, std::span<const float> row, double e) {
      o.rows.insert(o.rows.end(), row.begin(), row.end());
      o.ent.push_back(e);
    };
    if (reference)
      attend_head_reference(q.data(), k.data(), v.data(), 0, n, sh, o.z.data(), fn);
    else
      attend_head(q.data(), k.data(), v.data(), 0, n, sh, o.z.data(), fn);
    return o;
  };
  AttentionShape softmax1 = s, sink_kv = s;
  softmax1.sink = 0.0;
  sink_kv.sink_key = zeros.data();
  sink_kv.sink_value = zeros.data();
  for (bool reference : {false, true}) {
    const Out a = run(softmax1, reference), b = run(sink_kv, reference), plain = run(s, reference);
    EXPECT_EQ(a.z, b.z) << reference;
    EXPECT_EQ(a.rows, b.rows) << reference;
    EXPECT_EQ(a.ent, b.ent) << reference;
    EXPECT_NE(a.rows, plain.rows);  // the zero logit does take a share
  }
  AttentionShape sig = s;
  sig.sigmoid = true;
  const Out o = run(sig, false);
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    double total = 0, shares = 0;
    std::vector<double> w(i + 1);
    for (int j = 0; j <= i; ++j) {
      double dot = 0;
      for (int d = 0; d < hd; ++d) dot += static_cast<double>(q[i * hd + d]) * k[d * k_stride + j];
      total += w[j] = 1.0 / (1.0 + std::exp(-dot * 0.25));
    }
    for (int j = 0; j <= i; ++j, ++at) {
      EXPECT_NEAR(o.rows[at], w[j] / total, 1e-7) << i << "," << j;
      shares += o.rows[at];
    }
    EXPECT_NEAR(shares, 1.0, 1e-6);
    for (int d = 0; d < hd; ++d) {
      double zd = 0;
      for (int j = 0; j <= i; ++j) zd += w[j] * v[j * hd + d];
      EXPECT_NEAR(o.z[i * hd + d], zd, 2e-6 * (i + 1)) << i << "," << d;
    }
  }
}

// Soft-capped scores are c·tanh(s/c): with a small cap every row flattens toward uniform, and
// the capped rows are the softmax of the capped scores (computed here from the same q, k).
TEST(AttentionKernel, SoftcapBoundsTheScores) {
  const int hd = 16, n = 12;
  const size_t k_stride = n + kKeyPad;
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0, 3);
  std::vector<float> q(n * hd), k(hd * k_stride, 0.0f), v(n * hd), z(n * hd);
  for (float& x : q) x = dist(rng);
  for (int d = 0; d < hd; ++d)
    for (int j = 0; j < n; ++j) k[d * k_stride + j] = dist(rng);
  for (float& x : v) x = dist(rng);
  AttentionShape s;
  s.head_dim = hd;
  s.q_stride = s.z_stride = s.v_stride = hd;
  s.k_stride = k_stride;
  s.scale = 0.25;
  s.softcap = 0.1;
  attend_head(q.data(), k.data(), v.data(), 0, n, s, z.data(),
              [&](int i, int pos, std::span<const float> row, double) {
                std::vector<double> e(pos + 1);
                double sum = 0;
                for (int j = 0; j <= pos; ++j) {
                  double dot = 0;
                  for (int d = 0; d < hd; ++d)
                    dot += static_cast<double>(q[i * hd + d]) * k[d * k_stride + j];
                  sum += e[j] = std::exp(0.1 * std::tanh(dot * 0.25 / 0.1));
                }
                for (int j = 0; j <= pos; ++j) {
                  EXPECT_NEAR(row[j], e[j] / sum, 1e-6) << i << "," << j;
                  // |score| < 0.1: no probability strays beyond e^±0.2 of uniform.
                  EXPECT_LT(row[j], std::exp(0.2) / (pos + 1) + 1e-6);
                  EXPECT_GT(row[j], std::exp(-0.2) / (pos + 1) - 1e-6);
                }
              });
}
