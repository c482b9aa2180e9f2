// quant-study (issue 16, part 4): the fake-quantization rules on a hand-made layer, the 16-bit
// grid against FP, the calibration maxima, prefix scoring, the search and the command's errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "base/text_file.h"
#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "experiments/fake_quant.h"
#include "experiments/quant_study.h"
#include "model/load_model.h"
#include "ops/basic.h"
#include "ops/matmul.h"
#include "runtime/runtime.h"
#include "test_util.h"

namespace ss {
namespace {

using test::kDefaultModel;

const Model& tiny() {
  static const Model m = load_model(kDefaultModel);
  return m;
}

// Tokens of a Shakespeare passage (BOS first), as the CLI reads a text.
const std::vector<int>& shakespeare_ids() {
  static const std::vector<int> ids = [] {
    auto tok = load_text_tokenizer(kDefaultModel, "");
    const std::string text = read_text(test::shared("data/text/tinyshakespeare-input.txt")).text;
    return tok->encode(text.substr(0, 20000), true);
  }();
  return ids;
}

Tensor f32_matrix(const std::vector<float>& v, int64_t cols) {
  Tensor t;
  t.ne = {cols, static_cast<int64_t>(v.size()) / cols};
  t.data = reinterpret_cast<const uint8_t*>(v.data());
  return t;
}

TEST(FakeQuant, RoundsToNearestTiesToEvenAndClamps) {
  const int q = quant_qmax(8);
  EXPECT_EQ(q, 127);
  EXPECT_EQ(quant_qmax(16), 32767);
  EXPECT_EQ(fake_quant(2.5f, 1.0, q), 2.0f);
  EXPECT_EQ(fake_quant(3.5f, 1.0, q), 4.0f);
  EXPECT_EQ(fake_quant(-2.5f, 1.0, q), -2.0f);
  EXPECT_EQ(fake_quant(2.6f, 1.0, q), 3.0f);
  EXPECT_EQ(fake_quant(200.0f, 1.0, q), 127.0f);    // beyond the calibration maximum
  EXPECT_EQ(fake_quant(-200.0f, 1.0, q), -127.0f);  // symmetric: -128 is never used
  EXPECT_EQ(fake_quant(5.0f, 0.0, q), 0.0f);
  EXPECT_THROW(quant_qmax(1), std::invalid_argument);
  EXPECT_THROW(quant_qmax(17), std::invalid_argument);
}

// A 2 × 4 weight and an input row, with scales that are powers of two so every value below is
// exact: the quantized layer's output is checked against a computation by hand.
TEST(FakeQuant, Int8BehavesAsSpecifiedOnAHandMadeLayer) {
  // Row 0: max 127/64, scale 1/64. 0.1·64 = 6.4 -> 6; 0.5 (0.0078125·64) is a tie -> 0.
  // Row 1: max 127/32, scale 1/32. 0.96 -> 1; 1.5 (0.046875·32) is a tie -> 2.
  const std::vector<float> w{1.984375f, 0.1f, -0.5f,     0.0078125f,  //
                             -3.96875f, 1.0f, 0.046875f, 0.03f};
  const std::vector<float> wq = fake_quant_rows(f32_matrix(w, 4), 8);
  const std::vector<float> w_hand{127 / 64.0f,  6 / 64.0f,  -32 / 64.0f, 0.0f,  //
                                  -127 / 32.0f, 32 / 32.0f, 2 / 32.0f,   1 / 32.0f};
  EXPECT_EQ(wq, w_hand);

  // The input site's calibration max is 127/16: scale 1/16. -1.03·16 = -16.48 -> -16;
  // 0.09375·16 = 1.5 is a tie -> 2; 9 is beyond the max -> 127. Position 0 is the cushion (kept).
  const std::vector<float> x{0.3f,    0.3f,   0.3f,     0.3f,  //
                             7.9375f, -1.03f, 0.09375f, 9.0f};
  FakeQuantInputs fq({127 / 16.0, 0, 0, 0}, 8, 1);
  std::vector<float> scratch(x.size());
  const float* xq = fq.transform(0, LinearSite::AttnIn, 0, 2, 4, x.data(), scratch.data());
  const std::vector<float> x_hand{0.3f,        0.3f,        0.3f,      0.3f,  //
                                  127 / 16.0f, -16 / 16.0f, 2 / 16.0f, 127 / 16.0f};
  EXPECT_EQ(std::vector<float>(xq, xq + 8), x_hand);

  ThreadPool pool(1);
  std::vector<float> y(4);
  matmul(f32_matrix(wq, 4), xq, 2, y.data(), pool);
  for (int r = 0; r < 2; ++r) {
    double hand = 0;  // the second token's output, in double
    for (int j = 0; j < 4; ++j) hand += static_cast<double>(w_hand[r * 4 + j]) * x_hand[4 + j];
    EXPECT_EQ(y[2 + r], hand) << "row " << r;
  }
  EXPECT_EQ(y[2], 127 / 64.0 * 127 / 16.0 + 6 / 64.0 * -1.0 + -0.5 * 0.125);
}

// Logits of one window of the default model in FP and with weights and activations on a grid of
// `bits`, the activation scales calibrated on that window (no value is clipped: the grid alone
// makes the error).
double max_logit_error(int bits) {
  const Model& m = tiny();
  ThreadPool pool(2);
  const auto windows = text_windows(shakespeare_ids(), 128, 1, 2);
  Runtime fp(m, pool, 128);
  const std::vector<float> ref = fp.forward(windows[1], 0);
  const Calibrated cal = calibrate_inputs(fp, pool, {windows[1]}, {}, 0);
  const Model qm = fake_quant_weights(m, bits);
  Runtime rq(qm, pool, 128);
  FakeQuantInputs fq(cal.maxima, bits, 0);
  rq.set_linear_input(&fq);
  const std::vector<float> got = rq.forward(windows[1], 0);
  double err = 0;
  for (size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::abs(double{got[i]} - ref[i]));
  return err;
}

// A 16-bit step is 1/258 of an 8-bit one (32767 against 127 steps to the same maximum), and
// small errors propagate linearly, so the logit error should shrink about 258-fold. Measured on
// this window: 8 bits 2.07, 16 bits 0.0116 (ratio 180). Bound: 0.05, 4x the 16-bit error and
// 40x below the 8-bit one, which must break it; and the ratio must be above 50.
TEST(FakeQuant, SixteenBitGridIsCloseToFp) {
  const double bound = 0.05;
  const double e16 = max_logit_error(16), e8 = max_logit_error(8);
  EXPECT_LT(e16, bound);
  EXPECT_GT(e8, bound);  // the bound tells the grids apart
  EXPECT_GT(e8 / e16, 50);
  std::printf("max |logit - fp|: 16 bits %.3g, 8 bits %.3g\n", e16, e8);
}

// The maxima of three sites against the hooks' own view of the same tensors: normed resid_pre
// (q, k, v), z (o) and mlp_post (down). ffn_in has no hook of its own.
class DirectMaxima : public Observer {
 public:
  DirectMaxima(const Model& m, int skip)
      : m_(m),
        skip_(skip),
        attn_in(m.config.n_layers),
        attn_out(m.config.n_layers),
        ffn_down(m.config.n_layers) {}
  void on_resid_pre(int l, int pos0, int n, const float* x) override {
    const size_t D = m_.config.dim;
    std::vector<float> row(D);
    for (int i = 0; i < n; ++i) {
      rmsnorm(row.data(), x + i * D, m_.layers[l].attn_norm.f32(), D, m_.config.norm_eps);
      if (pos0 + i >= skip_) upd(attn_in[l], row.data(), D);
    }
  }
  void on_z(int l, int pos0, int n, const float* z) override {
    rows(attn_out[l], pos0, n, z, m_.config.q_dim());
  }
  void on_mlp_post(int l, int pos0, int n, const float* h) override {
    rows(ffn_down[l], pos0, n, h, m_.config.hidden_dim);
  }
  const Model& m_;
  int skip_;
  std::vector<double> attn_in, attn_out, ffn_down;

 private:
  static void upd(double& m, const float* x, size_t n) {
    for (size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::abs(x[i])));
  }
  void rows(double& m, int pos0, int n, const float* x, size_t width) {
    for (int i = 0; i < n; ++i)
      if (pos0 + i >= skip_) upd(m, x + i * width, width);
  }
};

TEST(QuantStudy, CalibrationMaximaMatchADirectComputation) {
  const Model& m = tiny();
  ThreadPool pool(2);
  const auto windows = text_windows(shakespeare_ids(), 96, 1, 2);
  const std::vector<int> prefix{13, 13};
  Runtime rt(m, pool, 96 + kMaxPrefix);
  const Calibrated cal = calibrate_inputs(rt, pool, windows, prefix, 3);
  DirectMaxima direct(m, 3);
  rt.add_observer(&direct);
  for (const auto& w : windows) {
    std::vector<int> ids{w[0]};
    ids.insert(ids.end(), prefix.begin(), prefix.end());
    ids.insert(ids.end(), w.begin() + 1, w.end());
    rt.forward(ids, 0, Logits::None);
  }
  for (int l = 0; l < m.config.n_layers; ++l) {
    EXPECT_EQ(cal.layers[l].input_max[0], direct.attn_in[l]) << l;
    EXPECT_EQ(cal.layers[l].input_max[1], direct.attn_out[l]) << l;
    EXPECT_EQ(cal.layers[l].input_max[3], direct.ffn_down[l]) << l;
    EXPECT_GT(cal.layers[l].input_max[2], 0) << l;
    EXPECT_GT(cal.layers[l].resid_max, cal.layers[l].resid_median) << l;
  }
  EXPECT_EQ(cal.objective, *std::max_element(cal.maxima.begin(), cal.maxima.end()));
}

TEST(QuantStudy, PrefixPositionsAreNotScored) {
  const Model& m = tiny();
  ThreadPool pool(2);
  const auto windows = text_windows(shakespeare_ids(), 64, 1, 3);
  Runtime rt(m, pool, 64 + kMaxPrefix);
  // No prefix: eval/perplexity.h's figure, bit for bit.
  Runtime plain(m, pool, 64);
  const PerplexityResult ref = perplexity(plain, shakespeare_ids(), 64, 1, 3);
  const PerplexityResult none = prefixed_perplexity(rt, windows, {});
  EXPECT_EQ(none.nll_mean, ref.nll_mean);
  EXPECT_EQ(none.tokens_scored, ref.tokens_scored);
  // With a prefix, the same text tokens and only those are scored.
  const std::vector<int> prefix{1, 13, 29};
  const PerplexityResult with = prefixed_perplexity(rt, windows, prefix);
  EXPECT_EQ(with.tokens_scored, ref.tokens_scored);
  double sum = 0;
  int64_t count = 0;
  for (const auto& w : windows) {
    std::vector<int> ids{1, 1, 13, 29};
    ids.insert(ids.end(), w.begin() + 1, w.end());
    const std::vector<double> nll = rt.forward_nll(ids, 0);
    for (size_t i = 3; i < nll.size(); ++i) sum += nll[i], ++count;  // targets ids[4..]
  }
  EXPECT_EQ(count, with.tokens_scored);
  EXPECT_EQ(with.nll_mean, sum / static_cast<double>(count));
}

TEST(QuantStudy, FrequentTokensLeaveOutBosAndBreakTiesByLowerId) {
  const std::vector<int> s{1, 5, 7, 7, 5, 9, 3, 1, 9, 9};
  EXPECT_EQ(frequent_tokens(s, 3, 1), (std::vector<int>{9, 5, 7}));
  EXPECT_EQ(frequent_tokens(s, 10, 1), (std::vector<int>{9, 5, 7, 3}));
}

QuantStudyResult small_study(int threads) {
  ThreadPool pool(threads);
  QuantStudyOptions opt;
  opt.ctx = 64;
  opt.chunks = 2;
  opt.prefix_len = 2;
  opt.candidates = 4;
  const std::span<const int> ids = shakespeare_ids();
  return quant_study(tiny(), pool, ids.first(1000), ids.subspan(1000), {{"dot", {13}}}, opt);
}

TEST(QuantStudy, GreedySearchAndSettingsAreDeterministic) {
  const QuantStudyResult a = small_study(1), b = small_study(3);
  ASSERT_EQ(a.settings.size(), 4u);  // none, bos, dot, search
  EXPECT_EQ(a.settings[0].name, "none");
  EXPECT_EQ(a.settings[0].cushion, 0);
  EXPECT_EQ(a.settings[1].cushion, 1);
  EXPECT_EQ(a.settings[2].cushion, 2);
  EXPECT_EQ(a.candidates.size(), 4u);
  EXPECT_LE(a.search.size(), 2u);
  double prev = a.search_start;
  for (const SearchStep& s : a.search) {
    EXPECT_LT(s.objective, prev);  // each step lowers the objective
    prev = s.objective;
  }
  const SettingResult& found = a.settings.back();
  EXPECT_EQ(found.prefix.size(), a.search.size());
  EXPECT_EQ(found.calib.objective, prev);
  for (size_t i = 0; i < a.settings.size(); ++i) {
    EXPECT_EQ(a.settings[i].fp.nll_mean, b.settings[i].fp.nll_mean);
    EXPECT_EQ(a.settings[i].quant.nll_mean, b.settings[i].quant.nll_mean);
    EXPECT_EQ(a.settings[i].calib.maxima, b.settings[i].calib.maxima);
    EXPECT_EQ(a.settings[i].fp.tokens_scored, a.settings[0].fp.tokens_scored);
  }
  EXPECT_EQ(a.settings[1].fp.nll_mean, a.settings[0].fp.nll_mean);  // the same tokens in FP
}

// Bad input: one line naming the file or option.
void expect_quant_study_error(const std::string& args, const std::string& what) {
  auto r = test::run_cli("quant-study " + args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

TEST(QuantStudy, BadInputIsAOneLineError) {
  const std::string dir = test::temp_dir(), empty = dir + "/empty.txt", text = dir + "/t.txt";
  std::ofstream(empty).close();
  std::ofstream(text) << "Some text to evaluate, long enough for a few tokens.";
  expect_quant_study_error("--calib " + empty + " --eval " + text, empty);
  expect_quant_study_error("--calib " + text + " --eval " + dir + "/missing.txt", "missing.txt");
  expect_quant_study_error("--calib " + text + " --eval " + text + " --prefix-len 0",
                           "--prefix-len");
  expect_quant_study_error("--calib " + text + " --eval " + text + " --prefix-len 9",
                           "--prefix-len");
  expect_quant_study_error("--calib " + text + " --eval " + text + " --bits 1", "--bits");
  expect_quant_study_error("--calib " + text, "--eval");
}

TEST(QuantStudy, CommandWritesJsonAndCsv) {
  const std::string dir = test::temp_dir(), calib = dir + "/c.txt", eval = dir + "/e.txt";
  const std::string text = read_text(test::shared("data/text/tinyshakespeare-input.txt")).text;
  std::ofstream(calib) << text.substr(0, 3000);
  std::ofstream(eval) << text.substr(3000, 3000);
  auto r = test::run_cli(
      "quant-study --calib " + calib + " --eval " + eval +
      " --ctx 64 --chunks 2 --prefix-len 1 --candidates 2 --quiet --json --out " + dir + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc, nlohmann::json::parse(std::ifstream(dir + "/out/quant_study.json")));
  ASSERT_EQ(doc["settings"].size(), 6u);  // none, bos, bos-repeated, newline, period, search
  EXPECT_EQ(doc["settings"][0]["name"], "none");
  EXPECT_EQ(doc["settings"][5]["name"], "search");
  std::ifstream csv(dir + "/out/quant_study_layers.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("setting,layer,resid_max", 0), 0u) << header;
}

}  // namespace
}  // namespace ss
