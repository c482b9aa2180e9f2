// analyze --mechanism (analysis/sink_mechanism.h): the symmetric eigensolver, the FFN quadratic
// form, the top-channel share, the spike's choice, and the files of the command.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "analysis/ffn_quadratic.h"
#include "analysis/sink_capture.h"
#include "analysis/sink_mechanism.h"
#include "analysis/symmetric_eigen.h"
#include "base/text_file.h"
#include "base/thread_pool.h"
#include "experiments/analyze.h"
#include "model/load_model.h"
#include "ops/dequant.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

std::vector<double> random_symmetric(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<double> a(static_cast<size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = g(rng);
  return a;
}

TEST(SymmetricEigen, KnownTridiagonalMatrix) {
  // [[2,1,0],[1,2,1],[0,1,2]]: eigenvalues 2 − √2, 2, 2 + √2; the top one's vector (1, √2, 1)/2.
  const SymmetricEigen e = symmetric_eigen({2, 1, 0, 1, 2, 1, 0, 1, 2}, 3);
  const double r2 = std::sqrt(2.0);
  EXPECT_NEAR(e.values[0], 2 - r2, 1e-14);
  EXPECT_NEAR(e.values[1], 2, 1e-14);
  EXPECT_NEAR(e.values[2], 2 + r2, 1e-14);
  const double* v = e.vector(2);
  const double sign = v[1] > 0 ? 1 : -1;
  EXPECT_NEAR(sign * v[0], 0.5, 1e-14);
  EXPECT_NEAR(sign * v[1], r2 / 2, 1e-14);
  EXPECT_NEAR(sign * v[2], 0.5, 1e-14);
}

TEST(SymmetricEigen, DiagonalRepeatedAndTinyMatrices) {
  const SymmetricEigen one = symmetric_eigen({-3.5}, 1);
  EXPECT_EQ(one.values[0], -3.5);
  EXPECT_EQ(one.vector(0)[0], 1.0);
  const SymmetricEigen d = symmetric_eigen({4, 0, 0, 0, -1, 0, 0, 0, 4}, 3);
  EXPECT_EQ(d.values, (std::vector<double>{-1, 4, 4}));
  const SymmetricEigen zero = symmetric_eigen(std::vector<double>(16, 0.0), 4);
  EXPECT_EQ(zero.values, std::vector<double>(4, 0.0));
  EXPECT_EQ(symmetric_eigen({}, 0).values.size(), 0u);
}

TEST(SymmetricEigen, RandomMatrixDecomposes) {
  const int n = 60;
  const std::vector<double> a = random_symmetric(n, 5);
  const SymmetricEigen e = symmetric_eigen(a, n);
  double trace = 0, sum = 0;
  for (int i = 0; i < n; ++i) trace += a[i * n + i], sum += e.values[i];
  EXPECT_NEAR(sum, trace, 1e-11);
  for (int j = 0; j < n; ++j) {
    if (j) {
      EXPECT_LE(e.values[j - 1], e.values[j]);
    }
    const double* v = e.vector(j);
    for (int i = 0; i < n; ++i) {  // A v = λ v
      double av = 0;
      for (int k = 0; k < n; ++k) av += a[i * n + k] * v[k];
      EXPECT_NEAR(av, e.values[j] * v[i], 1e-11);
    }
    for (int k = 0; k <= j; ++k) {  // orthonormal
      double dot = 0;
      for (int i = 0; i < n; ++i) dot += v[i] * e.vector(k)[i];
      EXPECT_NEAR(dot, j == k ? 1.0 : 0.0, 1e-12);
    }
  }
}

TEST(SymmetricEigen, OrderByMagnitude) {
  EXPECT_EQ(order_by_magnitude({-5, 1, 3, 5, -0.5}), (std::vector<int>{3, 0, 2, 1, 4}));
}

TEST(Mechanism, TopChannelShare) {
  const std::vector<float> one_hot{0, 0, -7, 0};
  const TopChannel t = top_channel(one_hot);
  EXPECT_EQ(t.channel, 2);
  EXPECT_EQ(t.max_abs, 7.0);
  EXPECT_EQ(t.share, 1.0);
  EXPECT_DOUBLE_EQ(top_channel(std::vector<float>(8, 0.5f)).share, 1.0 / 8);
  EXPECT_EQ(top_channel(std::vector<float>{3, 4}).share, 16.0 / 25);
  EXPECT_EQ(top_channel(std::vector<float>(5, 0.0f)).share, 0.0);
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  for (int k = 0; k < 20; ++k) {
    std::vector<float> v(64);
    for (float& x : v) x = g(rng);
    const double s = top_channel(v).share;
    EXPECT_GE(s, 1.0 / 64);
    EXPECT_LE(s, 1.0);
  }
}

// xᵀ A_c x against Σ_i W_down[c,i] (w_gate,i · x)(w_up,i · x), both in double.
void expect_form_identity(const Model& m, int layer, int channel) {
  ThreadPool pool(2);
  const size_t D = m.config.dim, F = m.config.hidden_dim;
  const std::vector<double> a = ffn_quadratic_matrix(m, layer, channel, pool);
  const LayerWeights& w = m.layers[layer];
  std::vector<float> down(F), g(D), u(D);
  dequantize_row(w.w_down.type, w.w_down.row(channel), down.data(), F);
  std::mt19937 rng(11);
  std::normal_distribution<double> nd;
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> x(D);
    for (double& v : x) v = nd(rng);
    double form = 0, direct = 0, scale = 0;
    for (size_t p = 0; p < D; ++p)
      for (size_t q = 0; q < D; ++q) form += x[p] * a[p * D + q] * x[q];
    for (size_t i = 0; i < F; ++i) {
      dequantize_row(w.w_gate.type, w.w_gate.row(i), g.data(), D);
      dequantize_row(w.w_up.type, w.w_up.row(i), u.data(), D);
      double gx = 0, ux = 0;
      for (size_t d = 0; d < D; ++d) gx += g[d] * x[d], ux += u[d] * x[d];
      direct += down[i] * gx * ux;
      scale += std::abs(down[i] * gx * ux);
    }
    EXPECT_NEAR(form, direct, 1e-12 * scale) << "trial " << trial;
  }
  for (size_t p = 0; p < D; ++p)
    for (size_t q = 0; q < D; ++q) ASSERT_EQ(a[p * D + q], a[q * D + p]);
}

TEST(Mechanism, QuadraticFormEqualsGateUpProducts) {
  expect_form_identity(load_model(test::model_bin()), 2, 17);
  // Q8_0 weights, dequantized.
  expect_form_identity(load_model(test::synth_model("llama", "--shape small --dtype q8_0", 23)), 1,
                       5);
}

TEST(Mechanism, QuadraticFormIsTheFfnNearZeroAndThreadCountFree) {
  const Model m = load_model(test::model_bin());
  ThreadPool one(1), two(2);
  EXPECT_EQ(ffn_quadratic_matrix(m, 3, 9, one), ffn_quadratic_matrix(m, 3, 9, two));
  std::mt19937 rng(2);
  std::normal_distribution<float> g;
  std::vector<float> x(m.config.dim);
  for (float& v : x) v = 1e-4f * g(rng);
  const FfnQuadraticForm f = ffn_quadratic_form(m, 3, 9, x, two);
  ASSERT_EQ(f.eigenvalues.size(), static_cast<size_t>(kTopEigenvalues));
  for (size_t k = 1; k < f.eigenvalues.size(); ++k)
    EXPECT_GE(std::abs(f.eigenvalues[k - 1]), std::abs(f.eigenvalues[k]));
  EXPECT_DOUBLE_EQ(f.ratio, std::abs(f.eigenvalues[0] / f.eigenvalues[1]));
  // SiLU(a)·b = (a/2 + a²/4 + …)·b: at |x| ~ 1e-4 the form is the FFN to about 1e-4.
  EXPECT_NEAR(f.quadratic / f.ffn_output, 1.0, 1e-3);
  EXPECT_GE(f.cosine, 0.0);
  EXPECT_LE(f.cosine, 1.0);
  double vx = 0, xx = 0;
  for (size_t i = 0; i < x.size(); ++i) vx += f.top_vector[i] * x[i], xx += double(x[i]) * x[i];
  EXPECT_NEAR(f.cosine, vx / std::sqrt(xx), 1e-12);
}

TEST(Mechanism, SupportedFfnKinds) {
  ModelConfig c;
  EXPECT_FALSE(quadratic_form_unsupported(c));
  c.ffn_gated = false;
  EXPECT_TRUE(quadratic_form_unsupported(c));
  c.ffn_gated = true, c.ffn_act = FfnAct::GeluTanh;
  EXPECT_TRUE(quadratic_form_unsupported(c));
  c.ffn_act = FfnAct::Silu, c.n_experts = 4;
  EXPECT_TRUE(quadratic_form_unsupported(c));
}

MassiveEntry entry(int layer, float value, double median, int pos = 0, int channel = 0) {
  MassiveEntry e;
  e.layer = layer, e.rank = 1, e.value = value, e.median_abs = median, e.pos = pos;
  e.channel = channel;
  return e;
}

TEST(Mechanism, SpikeIsTheFirstMassiveBlockElseTheLargestStepUp) {
  // Layer 2 passes the rule (|h| > 100 and > 1000 × median), layer 3 too: the first wins.
  std::vector<MassiveEntry> m{entry(0, 3, 1), entry(1, 5, 1), entry(2, -400, 0.1, 0, 7),
                              entry(3, 900, 0.1)};
  auto s = choose_spike(m, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->layer, 2);
  EXPECT_EQ(s->channel, 7);
  EXPECT_TRUE(s->massive);
  // None massive: the largest ratio of top |h| to the previous block's (layer 2: 40 / 5 = 8).
  m = {entry(0, 3, 1), entry(1, 5, 1), entry(2, 40, 1, 4, 3), entry(3, 60, 1)};
  s = choose_spike(m, 4);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->layer, 2);
  EXPECT_EQ(s->pos, 4);
  EXPECT_FALSE(s->massive);
  EXPECT_DOUBLE_EQ(s->step_up, 8.0);
}

TEST(Mechanism, KeyCosinesAndSharesOverWindows) {
  const Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  const std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), false);
  AnalyzeOptions opt;
  opt.contexts = {64};
  opt.chunks = 4;
  opt.modes = {{"on", tok.bos_id()}, {"off", -1}};
  opt.mechanism = true;
  ThreadPool pool(2);
  const AnalysisResult r = analyze(m, pool, ids, opt);
  ASSERT_EQ(r.runs.size(), 2u);
  for (const AnalysisRun& run : r.runs) {
    ASSERT_TRUE(run.mechanism);
    const MechanismResult& mr = *run.mechanism;
    EXPECT_EQ(mr.windows, 4u);
    EXPECT_EQ(mr.baseline_pos, 32);
    ASSERT_EQ(mr.layers.size(), static_cast<size_t>(m.config.n_layers));
    double before = mr.embedding_max_abs;
    for (const MechanismLayer& l : mr.layers) {
      EXPECT_NEAR(l.step_ratio, l.sink_max_abs / before, 1e-12);
      EXPECT_EQ(l.step, l.step_ratio >= kStepFactor ? 1 : l.step_ratio <= 1 / kStepFactor ? -1 : 0);
      before = l.sink_max_abs;
      for (double s : {l.norm_share, l.base_norm_share, l.resid_share}) {
        EXPECT_GT(s, 0.0);
        EXPECT_LE(s, 1.0);
      }
      ASSERT_EQ(l.sink_key_cosine.size(), static_cast<size_t>(m.config.n_kv_heads));
      for (size_t h = 0; h < l.sink_key_cosine.size(); ++h) {
        // BOS first: the same token at position 0 in every window, the same key.
        if (run.bos == "on") {
          EXPECT_NEAR(l.sink_key_cosine[h], 1.0, 1e-12);
        }
        EXPECT_LT(l.base_key_cosine[h], 0.999);  // different tokens at the baseline
        EXPECT_GE(l.base_key_cosine[h], -1.0);
      }
    }
    ASSERT_TRUE(mr.spike);
    ASSERT_TRUE(mr.form);
    EXPECT_EQ(mr.form->layer, mr.spike->layer);
    EXPECT_EQ(mr.form->input.size(), static_cast<size_t>(m.config.dim));
    ASSERT_TRUE(mr.sink_form);
    const int b = sink_step_block(mr);
    for (const MechanismLayer& l : mr.layers) EXPECT_LE(l.step_ratio, mr.layers[b].step_ratio);
    EXPECT_EQ(mr.sink_form->layer, b);
    EXPECT_EQ(mr.sink_form->channel, mr.layers[b].sink_channel);
  }
  // The other statistics are those of a run without --mechanism.
  opt.mechanism = false;
  const AnalysisResult plain = analyze(m, pool, ids, opt);
  for (size_t i = 0; i < r.runs.size(); ++i) {
    EXPECT_FALSE(plain.runs[i].mechanism);
    for (size_t h = 0; h < r.runs[i].heads.size(); ++h)
      EXPECT_EQ(r.runs[i].heads[h].mean, plain.runs[i].heads[h].mean);
    EXPECT_EQ(r.runs[i].nll_mean, plain.runs[i].nll_mean);
  }
}

using test::slurp;

TEST(Cli, AnalyzeMechanismFilesAreThreadCountFree) {
  const std::string dir = test::temp_dir();
  const std::string base = "analyze -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                           " -f " + test::shared("data/text/tinystories-valid-sample.txt") +
                           " --ctx 64 --chunks 3 --bos on,off --mechanism --no-view --quiet --out ";
  for (int t : {1, 2}) {
    auto r =
        test::run_cli(base + dir + "/t" + std::to_string(t) + " --threads " + std::to_string(t));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  for (const char* f : {"mechanism.csv", "mechanism_keys.csv", "mechanism.json"}) {
    const std::string one = slurp(dir + "/t1/" + f);
    EXPECT_FALSE(one.empty()) << f;
    EXPECT_EQ(one, slurp(dir + "/t2/" + f)) << f;
  }
  const nlohmann::json doc = nlohmann::json::parse(slurp(dir + "/t1/mechanism.json"));
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][0]["quadratic_form"]["eigenvalues"].size(), 8u);
  EXPECT_EQ(doc["runs"][1]["sink_quadratic_form"]["eigenvalues"].size(), 8u);
  EXPECT_NE(slurp(dir + "/t1/report.html").find("The spike, the sparse and the sink"),
            std::string::npos);
}

TEST(Cli, AnalyzeMechanismOnGpt2SkipsTheForm) {
  const std::string dir = test::temp_dir();
  const std::string model = test::synth_model("gpt2", "", 14);
  const std::string text = dir + "/text.txt";
  std::ofstream(text) << "Once upon a time there was a little girl named Lily who loved to play "
                         "outside in the park with her dog and her friends every day.";
  auto r = test::run_cli("analyze -m " + model + " -f " + text +
                         " --ctx 8 --mechanism --no-view --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("the form is for a gated SiLU FFN"), std::string::npos) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(slurp(dir + "/out/mechanism.json"));
  EXPECT_TRUE(doc["runs"][0]["quadratic_form"].is_null());
  EXPECT_TRUE(doc["runs"][0]["sink_quadratic_form"].is_null());
  EXPECT_EQ(doc["runs"][0]["layers"].size(), doc["n_layers"].get<size_t>());
  EXPECT_GT(doc["n_layers"].get<int>(), 0);
}

}  // namespace
}  // namespace ss
