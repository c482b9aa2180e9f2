// Sinks under eviction (analysis/stream_sinks.h, experiments/stream_sinks.h, analyze --cache):
// the observer on hand-made rows; on synth models, its means against rows recorded by a plain
// observer (the oldest slot under window:W is slot 0, a sink cache that never fills is the dense
// run), invariants, identical results for any thread count; the CLI's files and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis/head_stats.h"
#include "base/error.h"
#include "experiments/stream_sinks.h"
#include "model/load_model.h"
#include "report/stream_sinks_files.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

using namespace ss;

namespace {

// Every attention row of every step, per head: rows[layer * H + head][step].
struct StreamRowRecorder : Observer {
  int H;
  std::vector<std::vector<std::vector<float>>> rows;
  StreamRowRecorder(int L, int heads) : H(heads), rows(static_cast<size_t>(L) * heads) {}
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int, std::span<const float> row) override {
    rows[static_cast<size_t>(layer) * H + head].emplace_back(row.begin(), row.end());
  }
};

using ss::test::slurp;

StreamSinksResult run_stream(const Model& m, const std::vector<int>& ids, const std::string& policy,
                             StreamRowRecorder* rec = nullptr, int threads = 2,
                             StreamPositions positions = StreamPositions::Cache) {
  ThreadPool pool(threads);
  StreamSinksOptions opt;
  opt.policy = CachePolicy::parse(policy);
  opt.positions = positions;
  return stream_sinks(m, pool, ids, opt, [&](Runtime& rt) {
    if (rec) rt.add_observer(rec);
  });
}

}  // namespace

TEST(StreamSinks, BinsAreAsDocumented) {
  using Bins = std::vector<std::pair<long, long>>;
  EXPECT_EQ(stream_distance_bins(5000),
            (Bins{{0, 0}, {1, 16}, {17, 64}, {65, 256}, {257, 1024}, {1025, 4096}, {4097, 16384}}));
  EXPECT_EQ(stream_distance_bins(1), (Bins{{0, 0}}));
  EXPECT_EQ(stream_distance_bins(17), (Bins{{0, 0}, {1, 16}}));
  EXPECT_EQ(stream_distance_bins(18), (Bins{{0, 0}, {1, 16}, {17, 64}}));
  EXPECT_EQ(stream_step_bins(10, 64).size(), 10u);
  const Bins b = stream_step_bins(130, 64);  // widths 1 and 2 give more than 64 bins
  ASSERT_EQ(b.size(), 26u);
  EXPECT_EQ(b[1], (std::pair<long, long>{5, 9}));
  EXPECT_EQ(stream_step_bins(5000, 64).size(), 50u);  // width 100
  EXPECT_EQ(stream_step_bins(5000, 64)[49], (std::pair<long, long>{4900, 4999}));
}

// One head, sink:1+window:2 (capacity 3) over six tokens, rows written by hand.
TEST(StreamSinks, ObserverOnHandMadeRows) {
  const std::vector<int> tokens = {100, 101, 102, 103, 104, 105};
  StreamSinksObserver o(1, 1, /*keep=*/1, /*capacity=*/3, tokens, /*max_step_bins=*/3);
  // Step t: slot min(t, 2); from t = 3 on slot 1 holds text position t − 1, slot 0 position 0.
  const std::vector<std::vector<float>> rows = {
      {1.0f},                  // t 0: only itself
      {0.75f, 0.25f},          // t 1: top = slot 0 (BOS)
      {0.5f, 0.125f, 0.375f},  // t 2: top = slot 0; oldest (slot 1) 0.125
      {0.25f, 0.5f, 0.25f},    // t 3: top = slot 1 = text 2 (token 102)
      {0.125f, 0.5f, 0.375f},  // t 4: top = slot 1 = text 3 (token 103)
      {0.5f, 0.25f, 0.25f},    // t 5: top = slot 0 = text 0 (token 100)
  };
  for (int t = 0; t < 6; ++t) {
    const int slot = std::min(t, 2);
    o.on_resid_pre(0, slot, 1, nullptr);
    o.on_resid_pre(1, slot, 1, nullptr);  // other layers do not advance the step
    o.on_pattern_row(0, 0, slot, rows[t], 0.0);
  }
  EXPECT_EQ(o.slot_position(1, 4), 3);
  EXPECT_EQ(o.slot_position(0, 4), 0);
  EXPECT_EQ(o.slot_position(2, 2), 2);
  const StreamSinksResult r = o.result();
  EXPECT_EQ(r.tokens, 6);
  EXPECT_EQ(r.first_eviction, 3);
  EXPECT_EQ(r.bos_evicted_at, -1);  // a sink keeps it
  // Distance bins {0}, [1, 5].
  ASSERT_EQ(r.distance_bins.size(), 2u);
  EXPECT_EQ(r.distance_bins[1].to, 5);
  const StreamSinkMeans& d0 = r.distance_bins[0].means;
  EXPECT_EQ(d0.sink_mass[0], 1.0);
  EXPECT_TRUE(std::isnan(d0.oldest_mass[0]));
  EXPECT_TRUE(std::isnan(d0.top_mass[0]));
  const StreamSinkMeans& d1 = r.distance_bins[1].means;
  EXPECT_EQ(d1.steps, 5);
  EXPECT_EQ(d1.oldest_steps, 4);  // t = 2..5
  EXPECT_DOUBLE_EQ(d1.sink_mass[0], (0.75 + 0.5 + 0.25 + 0.125 + 0.5) / 5);
  EXPECT_DOUBLE_EQ(d1.bos_mass[0], d1.sink_mass[0]);
  EXPECT_DOUBLE_EQ(d1.oldest_mass[0], (0.125 + 0.5 + 0.5 + 0.25) / 4);
  EXPECT_DOUBLE_EQ(d1.top_mass[0], (0.75 + 0.5 + 0.5 + 0.5 + 0.5) / 5);
  EXPECT_DOUBLE_EQ(d1.top_in_sinks[0], 3.0 / 5);
  EXPECT_DOUBLE_EQ(d1.top_is_oldest[0], 2.0 / 5);
  // Step bins of width 2: [0, 1], [2, 3], [4, 5].
  ASSERT_EQ(r.step_bins.size(), 3u);
  EXPECT_DOUBLE_EQ(r.step_bins[1].means.oldest_mass[0], (0.125 + 0.5) / 2);
  // Eviction phase: t = 3, 4, 5.
  EXPECT_EQ(r.eviction.steps, 3);
  EXPECT_DOUBLE_EQ(r.eviction.sink_mass[0], (0.25 + 0.125 + 0.5) / 3);
  ASSERT_EQ(r.heads.size(), 1u);
  const StreamSinkMigration& m = r.heads[0];
  EXPECT_EQ(m.slot_mass, (std::vector<double>{0.875 / 3, 1.25 / 3, 0.875 / 3}));
  // Text positions 2, 3 and 0 each hold the top once: the lowest wins the tie.
  EXPECT_EQ(m.top_position, 0);
  EXPECT_EQ(m.top_position_steps, 1);
  EXPECT_EQ(m.top_position_token, 100);
  ASSERT_EQ(m.top_tokens.size(), 3u);
  EXPECT_EQ(m.top_tokens[0], (std::pair<int, long>{100, 1}));
  EXPECT_EQ(m.top_tokens[1], (std::pair<int, long>{102, 1}));
  EXPECT_EQ(m.top_tokens[2], (std::pair<int, long>{103, 1}));
}

TEST(StreamSinks, ObserverRefusesStepsItCannotFollow) {
  const std::vector<int> tokens = {1, 2, 3, 4};
  StreamSinksObserver o(1, 1, 0, 2, tokens);
  o.on_resid_pre(0, 0, 1, nullptr);
  EXPECT_THROW(o.on_resid_pre(0, 0, 1, nullptr), std::logic_error);  // step 1 is at slot 1
  StreamSinksObserver batch(1, 1, 0, 2, tokens);
  EXPECT_THROW(batch.on_resid_pre(0, 0, 2, nullptr), std::logic_error);
}

// Under window:W the oldest slot is slot 0: its mean is the mean of row[0] over the steps with
// another slot, exactly; the top slot's text position and token are recounted from the rows.
TEST(StreamSinks, WindowOldestSlotIsSlotZeroOfThePlainRows) {
  const Model m = load_model(test::synth_model("llama", "", 7));
  const int L = m.config.n_layers, H = m.config.n_heads, W = 6;
  const std::vector<int> ids = test::prompt_ids(40);
  StreamRowRecorder rec(L, H);
  const StreamSinksResult r = run_stream(m, ids, "window:6", &rec);
  EXPECT_EQ(r.tokens, 39);
  EXPECT_EQ(r.capacity, W);
  EXPECT_EQ(r.first_eviction, W);
  EXPECT_EQ(r.bos_evicted_at, W);
  ASSERT_EQ(r.step_bins.size(), 39u);  // width 1
  for (size_t i = 0; i < rec.rows.size(); ++i) {
    const auto& rows = rec.rows[i];
    ASSERT_EQ(rows.size(), 39u);
    double oldest = 0, slot0 = 0;
    std::map<long, long> positions;
    std::map<int, long> tokens;
    for (long t = 0; t < 39; ++t) {
      const auto& row = rows[t];
      ASSERT_EQ(row.size(), static_cast<size_t>(std::min<long>(t, W - 1)) + 1);
      const StreamSinkMeans& bin = r.step_bins[t].means;
      if (row.size() > 1) {
        EXPECT_EQ(bin.oldest_mass[i], static_cast<double>(row[0])) << t;
        if (t < W) {
          EXPECT_EQ(bin.bos_mass[i], static_cast<double>(row[0])) << t;
        }
      } else {
        EXPECT_TRUE(std::isnan(bin.oldest_mass[i]));
      }
      if (t >= W) {
        EXPECT_TRUE(std::isnan(bin.bos_mass[i]));
        oldest += row[0];
        slot0 += row[0];
        size_t top = 0;
        for (size_t k = 1; k + 1 < row.size(); ++k)
          if (row[k] > row[top]) top = k;
        const long p = t - (W - 1) + static_cast<long>(top);
        ++positions[p];
        ++tokens[ids[p]];
      }
      EXPECT_TRUE(std::isnan(bin.sink_mass[i]));  // no sinks
    }
    EXPECT_EQ(r.eviction.oldest_mass[i], oldest / (39 - W));
    EXPECT_EQ(r.heads[i].slot_mass[0], slot0 / (39 - W));
    long best = -1, best_n = 0;
    for (auto [p, n] : positions)
      if (n > best_n) best = p, best_n = n;
    EXPECT_EQ(r.heads[i].top_position, best);
    EXPECT_EQ(r.heads[i].top_position_steps, best_n);
    EXPECT_EQ(r.heads[i].top_position_token, ids[best]);
    long most = 0;
    for (auto [id, n] : tokens) most = std::max(most, n);
    ASSERT_FALSE(r.heads[i].top_tokens.empty());
    EXPECT_EQ(r.heads[i].top_tokens[0].second, most);
    EXPECT_EQ(tokens[r.heads[i].top_tokens[0].first], most);
  }
}

// A sink cache that never fills is the dense cache: its sink mass per step is the dense run's
// mass on the first K keys, bit for bit, and over all steps it is first_k_mass of a prefill.
TEST(StreamSinks, SinkCacheThatNeverFillsIsTheDenseRun) {
  for (const std::string arch : {"llama", "gpt-oss"}) {
    SCOPED_TRACE(arch);
    const Model m = load_model(test::synth_model(arch, "", 7));
    const int L = m.config.n_layers, H = m.config.n_heads, K = 4;
    const std::vector<int> ids = test::prompt_ids(25);
    StreamRowRecorder dense_rows(L, H);
    const StreamSinksResult dense = run_stream(m, ids, "dense", &dense_rows);
    const StreamSinksResult sink = run_stream(m, ids, "sink:4+window:40");
    EXPECT_EQ(sink.first_eviction, -1);
    EXPECT_EQ(sink.eviction.steps, 0);
    EXPECT_TRUE(sink.heads.empty());
    EXPECT_EQ(sink.nll_mean, dense.nll_mean);
    ASSERT_EQ(sink.step_bins.size(), 24u);
    // First-K mass over all 24 steps from a prefill of the same 24 tokens.
    ThreadPool pool(2);
    Runtime rt(m, pool, 24);
    SinkStatsObserver stats(m, {K, 0.3f});
    rt.add_observer(&stats);
    stats.begin_window(24);
    rt.forward(std::span<const int>(ids).first(24), 0, Logits::None);
    const std::vector<double> first_k = stats.finish_window().at("first_k_mass");
    for (size_t i = 0; i < dense_rows.rows.size(); ++i) {
      double all = 0;
      for (size_t t = 0; t < 24; ++t) {
        double s = 0;
        for (int k = 0; k < K && k < static_cast<int>(dense_rows.rows[i][t].size()); ++k)
          s += dense_rows.rows[i][t][k];
        EXPECT_EQ(sink.step_bins[t].means.sink_mass[i], s) << i << " " << t;
        EXPECT_EQ(sink.step_bins[t].means.bos_mass[i], dense.step_bins[t].means.bos_mass[i]);
        if (t > 0) {  // the first step has no other slot
          EXPECT_EQ(sink.step_bins[t].means.top_mass[i], dense.step_bins[t].means.top_mass[i]);
        }
        all += s;
      }
      EXPECT_NEAR(all / 24, first_k[i], 1e-5) << i;
    }
  }
}

// Masses are probabilities; without learned sinks each row sums to 1, so sink + oldest ≤ 1 and
// the top is at least the mean of the other slots.
TEST(StreamSinks, MassesAreProbabilities) {
  for (const std::string arch : {"llama", "gpt-oss", "gemma3"}) {
    SCOPED_TRACE(arch);
    const Model m = load_model(test::synth_model(arch, "", 11));
    const int L = m.config.n_layers, H = m.config.n_heads;
    StreamRowRecorder rec(L, H);
    const StreamSinksResult r = run_stream(m, test::prompt_ids(50), "sink:2+window:7", &rec);
    const bool learned = m.layers[0].attn_sinks.data != nullptr;
    for (const auto& rows : rec.rows)
      for (const auto& row : rows) {
        double s = 0;
        for (float v : row) s += v;
        if (learned)
          EXPECT_LE(s, 1 + 1e-5);
        else
          EXPECT_NEAR(s, 1.0, 1e-5);
      }
    std::vector<const StreamSinkMeans*> all = {&r.eviction};
    for (const auto& b : r.distance_bins) all.push_back(&b.means);
    for (const auto& b : r.step_bins) all.push_back(&b.means);
    for (const StreamSinkMeans* mm : all)
      for (size_t i = 0; i < static_cast<size_t>(L) * H; ++i) {
        for (double v : {mm->sink_mass[i], mm->oldest_mass[i], mm->bos_mass[i], mm->top_mass[i],
                         mm->top_in_sinks[i], mm->top_is_oldest[i]})
          if (!std::isnan(v)) {  // sums of float probabilities: 1 within rounding
            EXPECT_GE(v, 0.0);
            EXPECT_LE(v, 1 + 1e-6);
          }
        if (mm->oldest_steps == mm->steps && mm->steps > 0) {
          EXPECT_LE(mm->sink_mass[i] + mm->oldest_mass[i], 1 + 1e-6);
        }
        if (mm->top_steps > 0) {
          EXPECT_LE(mm->top_in_sinks[i] + mm->top_is_oldest[i], 1.0);
        }
      }
    for (const StreamSinkMigration& mg : r.heads) {
      double s = 0;
      for (double v : mg.slot_mass) s += v;
      if (learned)
        EXPECT_LE(s, 1 + 1e-5);
      else
        EXPECT_NEAR(s, 1.0, 1e-5);
    }
  }
}

TEST(StreamSinks, IdenticalForAnyThreadCount) {
  const Model m = load_model(test::synth_model("qwen3", "", 7));
  const std::vector<int> ids = test::prompt_ids(60);
  for (const std::string policy : {"window:9", "sink:3+window:9"}) {
    const StreamSinksResult one = run_stream(m, ids, policy, nullptr, 1);
    const StreamSinksResult four = run_stream(m, ids, policy, nullptr, 4);
    EXPECT_EQ(stream_sinks_csv({{"on", one}}), stream_sinks_csv({{"on", four}}));
    nlohmann::json a = stream_sinks_json({{"on", one}}, 64, nullptr);
    nlohmann::json b = stream_sinks_json({{"on", four}}, 64, nullptr);
    for (auto* j : {&a, &b})
      (*j)["runs"][0].erase("seconds"), (*j)["runs"][0].erase("tokens_per_second");
    EXPECT_EQ(a.dump(), b.dump());
  }
}

TEST(StreamSinks, RecomputeIsRefused) {
  const Model m = load_model(test::synth_model("llama", "", 7));
  try {
    run_stream(m, test::prompt_ids(10), "recompute:4");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--cache: 'recompute:4'", 0), 0u) << e.what();
  }
}

TEST(Cli, AnalyzeCacheWritesStreamSinksAndLeavesTheRestAlone) {
  const std::string model = test::synth_model("llama", "", 7);
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string base = "analyze -m " + model + " -f " + text +
                           " --ctx 32 --chunks 2 --threads 1 --quiet --bos on,off --out ";
  const std::string plain = test::temp_dir(), dense = test::temp_dir(), sinks = test::temp_dir();
  auto r = test::run_cli(base + plain);
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli(base + dense + " --cache dense");
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli(base + sinks + " --cache sink:2+window:10 --tokens 50 --positions original");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"heads.csv", "layers.csv", "massive.csv", "analysis.json"}) {
    EXPECT_EQ(slurp(plain + "/" + f), slurp(dense + "/" + f)) << f;
    EXPECT_EQ(slurp(plain + "/" + f), slurp(sinks + "/" + f)) << f;
  }
  EXPECT_FALSE(std::filesystem::exists(dense + "/stream_sinks.csv"));
  EXPECT_FALSE(std::filesystem::exists(plain + "/stream_sinks.json"));
  EXPECT_EQ(slurp(plain + "/report.html").find("Sinks under eviction"), std::string::npos);
  EXPECT_NE(slurp(sinks + "/report.html").find("Sinks under eviction"), std::string::npos);

  const auto j = nlohmann::json::parse(slurp(sinks + "/stream_sinks.json"));
  EXPECT_EQ(j["policy"], "sink:2+window:10");
  EXPECT_EQ(j["positions"], "original");
  EXPECT_EQ(j["capacity"], 12);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["bos"], "on");
  EXPECT_EQ(j["runs"][0]["first_token"]["text"], "<bos>");
  EXPECT_EQ(j["runs"][0]["tokens"], 49);
  EXPECT_EQ(j["runs"][0]["first_eviction"], 12);
  const int heads = load_model(model).config.n_layers * load_model(model).config.n_heads;
  ASSERT_EQ(j["runs"][1]["heads"].size(), static_cast<size_t>(heads));
  EXPECT_EQ(j["runs"][1]["heads"][0]["eviction"]["slot_mass"].size(), 12u);
  const size_t top_tokens = j["runs"][1]["heads"][0]["eviction"]["top_tokens"].size();
  EXPECT_GE(top_tokens, 1u);
  EXPECT_LE(top_tokens, 3u);
  const auto run = nlohmann::json::parse(slurp(sinks + "/run.json"));
  EXPECT_EQ(run["options"]["cache"], "sink:2+window:10");

  std::ifstream csv(sinks + "/stream_sinks.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line,
            "cache,positions,bos,bins,from,to,steps,layer,head,sink_mass,oldest_mass,bos_mass,"
            "top_mass,top_in_sinks,top_is_oldest");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  // Per mode and head, over 49 steps: 3 distance bins ({0}, 1–16, 17–48), 49 step bins of
  // width 1 and the eviction phase.
  EXPECT_EQ(rows, 2 * heads * (3 + 49 + 1));
}

TEST(Cli, AnalyzeCacheBadInputIsOneLine) {
  const std::string model = test::synth_model("llama", "", 7);
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string out = test::temp_dir();
  const std::string base =
      "analyze -m " + model + " -f " + text + " --ctx 32 --chunks 1 --out " + out + " --quiet ";
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--cache recompute:8", "--cache: 'recompute:8' re-encodes every window"},
           {"--cache window:0", "--cache: 'window:0' needs a positive window W"},
           {"--cache lru:3", "--cache: 'lru:3' is not a policy"},
           {"--tokens 40", "--tokens: only with --cache window:W or sink:K+window:W"},
           {"--cache dense --positions original", "--positions: only with --cache"},
           {"--cache window:8 --tokens 1", "--tokens: streaming needs at least two tokens"}}) {
    auto r = test::run_cli(base + c.args);
    EXPECT_EQ(r.code, 2) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
  auto r = test::run_cli("analyze -m " + test::synth_model("gpt2", "", 7) + " -f " + text +
                         " --ctx 32 --chunks 1 --quiet --out " + out +
                         " --cache window:8 --positions cache");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--positions: gpt2 models have no rotary positions"), std::string::npos)
      << r.err;
}
