// Mixture-of-experts statistics (analysis/moe_stats.h): router entropy, expert loads and top-k
// agreement on hand-made router outputs, the router hook's calling pattern, and analyze's output
// for a synthesized gpt-oss model (analysis.json, moe.csv, report.html), the same for any
// thread count; models without experts have none of it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "analysis/moe_stats.h"
#include "base/thread_pool.h"
#include "experiments/analyze.h"
#include "model/load_model.h"
#include "report/analysis_json.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

std::string gpt_oss() {
  return test::synth_model("gpt-oss", "", 7);
}

TEST(Moe, SoftmaxEntropyOfKnownDistributions) {
  const float uniform[4] = {0, 0, 0, 0};
  EXPECT_NEAR(MoeStatsObserver::softmax_entropy(uniform, 4), std::log(4.0), 1e-15);
  // Large logits: only the subtracted maximum keeps exp finite.
  const float large[4] = {1000, 1000, 1000, 1000};
  EXPECT_NEAR(MoeStatsObserver::softmax_entropy(large, 4), std::log(4.0), 1e-15);
  // p = (1/4, 1/2, 1/4): H = 1.5 ln 2.
  const float halves[3] = {0, static_cast<float>(std::log(2.0)), 0};
  EXPECT_NEAR(MoeStatsObserver::softmax_entropy(halves, 3), 1.5 * std::log(2.0), 1e-7);
  // One expert far ahead: H → 0; one far behind: the other three's ln 3.
  const float certain[3] = {0, 200, 0};
  EXPECT_NEAR(MoeStatsObserver::softmax_entropy(certain, 3), 0.0, 1e-80);
  const float behind[4] = {3, 3, 3, -1000};
  EXPECT_NEAR(MoeStatsObserver::softmax_entropy(behind, 4), std::log(3.0), 1e-15);
}

TEST(Moe, TopExpertsBreakTiesToTheLowerIndex) {
  EXPECT_EQ(MoeStatsObserver::top_experts({2, 1, 1, 0}, 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(MoeStatsObserver::top_experts({0, 1, 2, 3}, 2), (std::vector<int>{2, 3}));
  EXPECT_EQ(MoeStatsObserver::top_experts({2, 1, 0, 1}, 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(MoeStatsObserver::top_experts({0, 0, 0, 0}, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(MoeStatsObserver::top_experts({1, 5, 5, 9}, 1), (std::vector<int>{3}));
}

// Two layers, 4 experts, top 2, three windows; layer 0's windows are split over two hook calls,
// as forward calls of a window's parts would deliver them.
TEST(Moe, HandComputedEntropyLoadsAndAgreement) {
  const float A[4] = {0, 0, 0, 0};         // entropy ln 4
  const float B[4] = {3, 3, 3, -1000.0f};  // entropy ln 3
  auto feed = [](MoeStatsObserver& o, int layer, const std::vector<const float*>& rows,
                 const std::vector<int>& chosen) {
    std::vector<float> logits;
    for (const float* r : rows) logits.insert(logits.end(), r, r + 4);
    o.on_router(layer, static_cast<int>(rows.size()), logits.data(), chosen.data());
  };
  MoeStatsObserver o(2, 4, 2);
  // Window 0, layer 0: slots {0,1}, {0,2}: counts (2,1,1,0), top 2 = {0, 1} (1 before 2 on the
  // tie). Layer 1 always sends to {2, 1}.
  o.begin_window();
  feed(o, 0, {A}, {0, 1});
  feed(o, 0, {B}, {0, 2});
  feed(o, 1, {A, A}, {2, 1, 2, 1});
  o.end_window();
  // Window 1, layer 0: {2,3}, {3,2}, {1,3}: counts (0,1,2,3), top 2 = {2, 3}.
  o.begin_window();
  feed(o, 0, {A, B}, {2, 3, 3, 2});
  feed(o, 0, {A}, {1, 3});
  feed(o, 1, {B, B, B}, {1, 2, 2, 1, 1, 2});
  o.end_window();
  // Window 2, layer 0: {0,3}, {1,0}: counts (2,1,0,1), top 2 = {0, 1} (1 before 3).
  o.begin_window();
  feed(o, 0, {B, A}, {0, 3, 1, 0});
  feed(o, 1, {A, B}, {1, 2, 2, 1});
  o.end_window();

  const MoeResult r = o.result();
  EXPECT_EQ(r.n_experts, 4);
  EXPECT_EQ(r.n_experts_used, 2);
  EXPECT_EQ(r.tokens, 7);
  EXPECT_EQ(r.windows, 3);
  ASSERT_EQ(r.layers.size(), 2u);
  const double ln3 = std::log(3.0), ln4 = std::log(4.0);
  // Layer 0: tokens A, B, A, B, A, B, A.
  const MoeLayerResult& l0 = r.layers[0];
  EXPECT_EQ(l0.layer, 0);
  EXPECT_NEAR(l0.router_entropy, (4 * ln4 + 3 * ln3) / 7, 1e-15);
  EXPECT_NEAR(l0.router_entropy_normalised, (4 * ln4 + 3 * ln3) / 7 / ln4, 1e-15);
  // Slots over all windows: (4, 3, 3, 4) of 14.
  ASSERT_EQ(l0.expert_load.size(), 4u);
  EXPECT_EQ(l0.expert_load, (std::vector<double>{4 / 14.0, 3 / 14.0, 3 / 14.0, 4 / 14.0}));
  // Pairs (0,1): 0 shared, (0,2): 2, (1,2): 0; mean of |∩|/2 over 3 pairs = 1/3.
  ASSERT_TRUE(l0.topk_agreement.has_value());
  EXPECT_NEAR(*l0.topk_agreement, 1.0 / 3, 1e-15);
  // Layer 1: tokens A, A, B, B, B, A, B; every window's top 2 is {1, 2}.
  const MoeLayerResult& l1 = r.layers[1];
  EXPECT_NEAR(l1.router_entropy, (3 * ln4 + 4 * ln3) / 7, 1e-15);
  EXPECT_EQ(l1.expert_load, (std::vector<double>{0, 0.5, 0.5, 0}));
  ASSERT_TRUE(l1.topk_agreement.has_value());
  EXPECT_EQ(*l1.topk_agreement, 1.0);
}

TEST(Moe, AgreementNeedsTwoWindowsAndCountsPartialOverlap) {
  MoeStatsObserver one(1, 3, 1);
  const float logits[3] = {1, 2, 3};
  one.begin_window();
  const int c0 = 2;
  one.on_router(0, 1, logits, &c0);
  one.end_window();
  EXPECT_FALSE(one.result().layers[0].topk_agreement.has_value());
  EXPECT_EQ(one.result().layers[0].expert_load, (std::vector<double>{0, 0, 1}));

  // Four windows of top-3 of 5: {0,1,2}, {0,1,3}, {2,3,4}, {0,1,2}. Shared per pair:
  // (0,1) 2, (0,2) 1, (0,3) 3, (1,2) 1, (1,3) 2, (2,3) 1 → 10 of 6 pairs × 3.
  MoeStatsObserver o(1, 5, 3);
  const float z[5] = {0, 0, 0, 0, 0};
  for (const std::vector<int>& set :
       std::vector<std::vector<int>>{{0, 1, 2}, {0, 1, 3}, {2, 3, 4}, {0, 1, 2}}) {
    o.begin_window();
    o.on_router(0, 1, z, set.data());
    o.end_window();
  }
  const MoeLayerResult l = o.result().layers[0];
  EXPECT_NEAR(*l.topk_agreement, 10.0 / 18, 1e-15);
  EXPECT_NEAR(l.router_entropy_normalised, 1.0, 1e-15);
  EXPECT_THROW(MoeStatsObserver(1, 2, 3), std::invalid_argument);
}

// What the statistics rely on: on_router once per layer and forward call, with all the call's
// tokens and k distinct experts per token, on the thread that called forward.
TEST(Moe, RouterHookOncePerLayerPerForwardOnTheCallingThread) {
  struct Recorder : Observer {
    std::vector<int> layers, tokens;
    std::vector<std::thread::id> threads;
    int experts = 0, used = 0;
    bool distinct = true;
    void on_router(int layer, int n, const float* logits, const int* chosen) override {
      layers.push_back(layer), tokens.push_back(n);
      threads.push_back(std::this_thread::get_id());
      for (int t = 0; t < n; ++t)
        for (int r = 0; r < used; ++r) {
          const int e = chosen[t * used + r];
          distinct = distinct && e >= 0 && e < experts;
          for (int q = 0; q < r; ++q) distinct = distinct && chosen[t * used + q] != e;
          // Rank order: each chosen logit at least the next one's.
          if (r > 0)
            distinct = distinct &&
                       logits[t * experts + chosen[t * used + r - 1]] >= logits[t * experts + e];
        }
    }
  };
  const Model m = load_model(gpt_oss());
  ThreadPool pool(4);
  Runtime rt(m, pool, 64);
  Recorder rec;
  rec.experts = m.config.n_experts, rec.used = m.config.n_experts_used;
  rt.add_observer(&rec);
  const std::vector<int> ids = test::prompt_ids(40);
  rt.forward(std::span<const int>(ids).first(30), 0, Logits::None);
  rt.forward(std::span<const int>(ids).subspan(30), 30, Logits::Last);
  const int L = m.config.n_layers;
  ASSERT_EQ(rec.layers.size(), 2u * L);
  for (int i = 0; i < 2 * L; ++i) {
    EXPECT_EQ(rec.layers[i], i % L);
    EXPECT_EQ(rec.tokens[i], i < L ? 30 : 10);
    EXPECT_EQ(rec.threads[i], std::this_thread::get_id());
  }
  EXPECT_TRUE(rec.distinct);
}

std::vector<int> corpus(int n) {
  std::vector<int> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = 3 + (i * 37 + i / 7) % 500;
  return ids;
}

// In process: every layer's loads sum to 1, entropies lie in [0, ln E], agreement in [0, 1];
// the moe section is the same bits under 1 and 4 threads; one window has no agreement.
TEST(Moe, AnalyzeIsIdenticalForAnyThreadCount) {
  const Model m = load_model(gpt_oss());
  const int E = m.config.n_experts, K = m.config.n_experts_used;
  AnalyzeOptions opt;
  opt.contexts = {24, 32};
  opt.chunks = 4;
  opt.modes = {{"on", 1}, {"off", -1}};
  const std::vector<int> ids = corpus(200);
  ThreadPool p1(1), p4(4);
  const AnalysisResult a1 = analyze(m, p1, ids, opt), a4 = analyze(m, p4, ids, opt);
  const nlohmann::json j1 = to_json(a1), j4 = to_json(a4);
  ASSERT_EQ(j1["runs"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const auto& moe = j1["runs"][i]["moe"];
    EXPECT_EQ(moe, j4["runs"][i]["moe"]) << i;
    EXPECT_EQ(moe["n_experts"], E);
    EXPECT_EQ(moe["n_experts_used"], K);
    EXPECT_EQ(moe["windows"], 4);
    EXPECT_EQ(moe["tokens"], 4 * j1["runs"][i]["ctx"].get<int>());
    ASSERT_EQ(moe["layers"].size(), static_cast<size_t>(m.config.n_layers));
    for (const auto& l : moe["layers"]) {
      double sum = 0;
      ASSERT_EQ(l["expert_load"].size(), static_cast<size_t>(E));
      for (const auto& v : l["expert_load"]) sum += v.get<double>();
      EXPECT_NEAR(sum, 1.0, 1e-12);
      const double h = l["router_entropy"];
      EXPECT_GT(h, 0.0);
      EXPECT_LE(h, std::log(E) + 1e-12);
      EXPECT_DOUBLE_EQ(l["router_entropy_normalised"].get<double>(), h / std::log(E));
      const double agree = l["topk_agreement"];
      EXPECT_GE(agree, 0.0);
      EXPECT_LE(agree, 1.0);
    }
  }
  opt.contexts = {32};
  opt.chunks = 1;
  opt.modes = {{"on", 1}};
  const nlohmann::json single = to_json(analyze(m, p1, ids, opt));
  for (const auto& l : single["runs"][0]["moe"]["layers"])
    EXPECT_TRUE(l["topk_agreement"].is_null());
}

std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::stringstream ls(line);
    rows.emplace_back();
    for (std::string v; std::getline(ls, v, ',');) rows.back().push_back(v);
  }
  return rows;
}

// Through the CLI: analysis.json's moe section, moe.csv with one row per run, layer and expert
// holding the same loads, the report's section; a model without experts has none of them.
TEST(Moe, AnalyzeWritesMoeJsonCsvAndReport) {
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string out = test::temp_dir() + "/oss";
  auto r = test::run_cli("analyze -m " + gpt_oss() + " -f " + text +
                         " --ctx 32 --chunks 3 --bos on,off --quiet --threads 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(out + "/analysis.json"));
  const auto rows = csv_rows(out + "/moe.csv");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"ctx", "bos", "layer", "expert", "load"}));
  size_t row = 1;
  for (const auto& run : j["runs"]) {
    ASSERT_TRUE(run.contains("moe"));
    const int E = run["moe"]["n_experts"];
    for (const auto& l : run["moe"]["layers"]) {
      double sum = 0, csv_sum = 0;
      for (int e = 0; e < E; ++e, ++row) {
        ASSERT_LT(row, rows.size());
        const auto& c = rows[row];
        ASSERT_EQ(c.size(), 5u);
        EXPECT_EQ(c[0], run["ctx"].dump());
        EXPECT_EQ(c[1], run["bos"].get<std::string>());
        EXPECT_EQ(c[2], l["layer"].dump());
        EXPECT_EQ(c[3], std::to_string(e));
        const double load = l["expert_load"][e];
        EXPECT_NEAR(std::stod(c[4]), load, 1e-8 * load + 1e-300);
        sum += load, csv_sum += std::stod(c[4]);
      }
      EXPECT_NEAR(sum, 1.0, 1e-12);
      EXPECT_NEAR(csv_sum, 1.0, 1e-7);
      EXPECT_FALSE(l["topk_agreement"].is_null());
    }
  }
  EXPECT_EQ(row, rows.size());
  std::ifstream html(out + "/report.html");
  const std::string report(std::istreambuf_iterator<char>(html), {});
  EXPECT_NE(report.find("Mixture of experts"), std::string::npos);
  EXPECT_NE(report.find("expert_load"), std::string::npos);

  const std::string plain = test::temp_dir() + "/llama";
  r = test::run_cli("analyze -m " + test::synth_model("llama", "", 7) + " -f " + text +
                    " --ctx 32 --chunks 2 --quiet --threads 2 --out " + plain);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto k = nlohmann::json::parse(std::ifstream(plain + "/analysis.json"));
  for (const auto& run : k["runs"]) EXPECT_FALSE(run.contains("moe"));
  EXPECT_FALSE(std::filesystem::exists(plain + "/moe.csv"));
  std::ifstream html2(plain + "/report.html");
  const std::string report2(std::istreambuf_iterator<char>(html2), {});
  EXPECT_EQ(report2.find("Mixture of experts"), std::string::npos);
}

}  // namespace
}  // namespace ss
