// The forward pass on stories260K against the float64 reference in golden/stories260K.json.
#include <gtest/gtest.h>

#include <cmath>

#include "base/text_file.h"
#include "eval/perplexity.h"
#include "model/llama2c.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "ops/dequant.h"
#include "runtime/generate.h"
#include "runtime/runtime.h"
#include "test_util.h"

namespace ss {
namespace {

using test::golden;

// Collects attention rows and per-head z / contribution norms of one forward pass.
class Recorder : public Observer {
 public:
  Recorder(const Model& m, int n) : m_(m), n_(n) {
    const auto& c = m.config;
    pattern.assign(static_cast<size_t>(c.n_layers) * c.n_heads * n * n, 0.0f);
    z_norm.assign(static_cast<size_t>(c.n_layers) * c.n_heads * n, 0.0);
    contrib_norm = z_norm;
  }
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int l, int h, int pos, std::span<const float> row) override {
    std::copy(row.begin(), row.end(), &pat(l, h, pos, 0));
  }
  void on_z(int l, int, int n, const float* z) override {
    const auto& c = m_.config;
    const Tensor& wo = m_.layers[l].wo;
    std::vector<float> row(wo.cols());
    for (int h = 0; h < c.n_heads; ++h)
      for (int t = 0; t < n; ++t) {
        const float* zh = z + static_cast<size_t>(t) * c.q_dim() + h * c.head_dim;
        double zn = 0;
        for (int d = 0; d < c.head_dim; ++d) zn += static_cast<double>(zh[d]) * zh[d];
        double cn = 0;
        for (int r = 0; r < c.dim; ++r) {
          dequantize_row(wo.type, wo.row(r), row.data(), wo.cols());
          double s = 0;
          for (int d = 0; d < c.head_dim; ++d)
            s += static_cast<double>(row[h * c.head_dim + d]) * zh[d];
          cn += s * s;
        }
        at(z_norm, l, h, t) = std::sqrt(zn);
        at(contrib_norm, l, h, t) = std::sqrt(cn);
      }
  }
  float& pat(int l, int h, int q, int k) {
    return pattern[((static_cast<size_t>(l) * m_.config.n_heads + h) * n_ + q) * n_ + k];
  }
  double& at(std::vector<double>& v, int l, int h, int t) {
    return v[(static_cast<size_t>(l) * m_.config.n_heads + h) * n_ + t];
  }
  std::vector<float> pattern;
  std::vector<double> z_norm, contrib_norm;

 private:
  const Model& m_;
  int n_;
};

void expect_golden_forward(const Model& model, const SpmTokenizer& tok, int threads) {
  const auto& g = golden()["forward"];
  std::vector<int> ids = tok.encode(g["text"].get<std::string>(), true);
  ASSERT_EQ(ids, g["ids"].get<std::vector<int>>());
  ThreadPool pool(threads);
  Runtime rt(model, pool);
  const int n = static_cast<int>(ids.size());
  Recorder rec(model, n);
  rt.add_observer(&rec);
  std::vector<float> logits = rt.forward(ids, 0, Logits::All);
  const int V = model.config.vocab_size;
  double max_logit_err = 0, max_att_err = 0, max_z_err = 0, max_c_err = 0;
  for (int t = 0; t < n; ++t)
    for (int v = 0; v < V; ++v)
      max_logit_err =
          std::max(max_logit_err, std::fabs(logits[t * V + v] - g["logits"][t][v].get<double>()));
  for (int l = 0; l < model.config.n_layers; ++l)
    for (int h = 0; h < model.config.n_heads; ++h)
      for (int q = 0; q < n; ++q) {
        double row_sum = 0;
        for (int k = 0; k < n; ++k) {
          max_att_err = std::max(max_att_err, std::fabs(rec.pat(l, h, q, k) -
                                                        g["attention"][l][h][q][k].get<double>()));
          row_sum += rec.pat(l, h, q, k);
        }
        EXPECT_NEAR(row_sum, 1.0, 1e-5);
        max_z_err = std::max(
            max_z_err, std::fabs(rec.at(rec.z_norm, l, h, q) - g["z_norm"][l][h][q].get<double>()));
        max_c_err = std::max(max_c_err, std::fabs(rec.at(rec.contrib_norm, l, h, q) -
                                                  g["contrib_norm"][l][h][q].get<double>()));
      }
  std::printf(
      "max |error| vs golden: logits %.3g, attention %.3g, z_norm %.3g, contrib_norm %.3g\n",
      max_logit_err, max_att_err, max_z_err, max_c_err);
  EXPECT_LT(max_logit_err, 1e-4);
  EXPECT_LT(max_att_err, 1e-6);
  EXPECT_LT(max_z_err, 1e-5);
  EXPECT_LT(max_c_err, 1e-5);
}

TEST(Forward, GoldenLegacyCheckpoint) {
  Model m = load_model(test::model_bin());
  expect_golden_forward(m, load_tokenizer(test::model_bin(), test::tok_bin()), 1);
}

TEST(Forward, GoldenVersion1Checkpoint) {
  Model m = load_model(test::shared("models/stories260K_v1.bin"));
  expect_golden_forward(m, load_tokenizer(test::model_bin(), test::tok_bin()), 2);
}

TEST(Forward, GoldenThroughConvertedGguf) {
  std::string path = test::temp_dir() + "/stories260K.gguf";
  {
    Model m = load_model(test::model_bin());
    write_llama_gguf(m, load_llama2c_vocab(test::tok_bin()), path);
  }
  Model g = load_model(path);
  EXPECT_TRUE(g.tied_output);
  expect_golden_forward(g, load_tokenizer(path, ""), 2);
}

TEST(Forward, IncrementalDecodingMatchesBatchedPrefill) {
  Model m = load_model(test::model_bin());
  ThreadPool pool(2);
  std::vector<int> ids = golden()["forward"]["ids"].get<std::vector<int>>();
  Runtime batched(m, pool), step(m, pool);
  std::vector<float> all = batched.forward(ids, 0, Logits::All);
  const int V = m.config.vocab_size;
  for (size_t t = 0; t < ids.size(); ++t) {
    std::vector<float> last = step.forward({&ids[t], 1}, static_cast<int>(t), Logits::Last);
    for (int v = 0; v < V; ++v) ASSERT_NEAR(last[v], all[t * V + v], 1e-5) << "t=" << t;
  }
}

TEST(Forward, GreedyGenerationMatchesGolden) {
  const auto& g = golden()["greedy"];
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  ThreadPool pool(2);
  Runtime rt(m, pool);
  Sampler greedy(0.0f, 0.9f, 1);
  std::vector<int> ids = tok.encode(g["prompt"].get<std::string>(), true);
  generate(rt, ids, g["n_new"].get<int>(), greedy, {tok.bos_id(), tok.eos_id()});
  EXPECT_EQ(ids, g["ids"].get<std::vector<int>>());
  EXPECT_EQ(tok.decode(ids), g["text"].get<std::string>());
}

TEST(Forward, SamplingIsSeeded) {
  Model m = load_model(test::model_bin());
  ThreadPool pool(1);
  auto run = [&](uint64_t seed) {
    Runtime rt(m, pool);
    Sampler s(0.8f, 0.9f, seed);
    std::vector<int> ids{1, 403};
    generate(rt, ids, 40, s, {});
    return ids;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

double window_nll(const Model& m, const HeadMask* mask, int threads) {
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), true);
  std::vector<int> golden_ids = golden()["window"]["ids"].get<std::vector<int>>();
  EXPECT_TRUE(std::equal(golden_ids.begin(), golden_ids.end(), ids.begin()));
  ThreadPool pool(threads);
  Runtime rt(m, pool, 256);
  rt.set_head_mask(mask);
  PerplexityResult r = perplexity(rt, ids, 256, tok.bos_id(), 1);
  EXPECT_EQ(r.tokens_scored, 255);
  return r.nll_mean;
}

TEST(Perplexity, GoldenWindow) {
  Model m = load_model(test::model_bin());
  EXPECT_NEAR(window_nll(m, nullptr, 1), golden()["window"]["nll_mean"].get<double>(), 1e-5);
}

TEST(Perplexity, GoldenAblations) {
  Model m = load_model(test::model_bin());
  for (const auto& ab : golden()["ablation"]) {
    HeadMask mask(m.config);
    for (const auto& lh : ab["zeroed_heads"]) mask.set(lh[0], lh[1], HeadAction::Zero);
    EXPECT_NEAR(window_nll(m, &mask, 2), ab["nll_mean"].get<double>(), 1e-5) << ab.dump();
  }
}

TEST(Perplexity, IdenticalAcrossThreadCounts) {
  Model m = load_model(test::model_bin());
  HeadMask mask(m.config);
  mask.set(2, 6, HeadAction::Zero);
  double one = window_nll(m, &mask, 1), two = window_nll(m, &mask, 2),
         three = window_nll(m, &mask, 3);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}

}  // namespace
}  // namespace ss

namespace ss {
namespace {

TEST(Perplexity, StrideScoresEveryTokenOnce) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), true);
  ids.resize(300);
  ThreadPool pool(2);
  Runtime rt(m, pool, 128);
  PerplexityResult strided = perplexity(rt, ids, 128, 1, 0, nullptr, 64);
  EXPECT_EQ(strided.windows, 4);  // starts 0, 64, 128, 192
  EXPECT_EQ(strided.tokens_scored, 299);
  // By hand: the window at 64 scores stream positions 128..191 (window positions 64..127).
  double sum = 0;
  for (int begin : {0, 64, 128, 192}) {
    std::vector<int> w(ids.begin() + begin, ids.begin() + std::min(300, begin + 128));
    w[0] = 1;
    auto nll = rt.forward_nll(w, 0);
    for (size_t i = begin == 0 ? 1 : 64; i < w.size(); ++i) sum += nll[i - 1];
  }
  EXPECT_NEAR(strided.nll_mean, sum / 299, 1e-12);
  // stride = ctx is the plain consecutive windows.
  PerplexityResult plain = perplexity(rt, ids, 128, 1),
                   same = perplexity(rt, ids, 128, 1, 0, nullptr, 128);
  EXPECT_EQ(plain.tokens_scored, 127 + 127 + 43);
  EXPECT_EQ(plain.nll_mean, same.nll_mean);
}

}  // namespace
}  // namespace ss
