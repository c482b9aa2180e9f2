// Sink statistics against the golden reference, invariants, and the analysis output files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "analysis/massive.h"
#include "analysis/pattern_dump.h"
#include "analysis/rank_correlation.h"
#include "base/error.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "experiments/analyze.h"
#include "model/load_model.h"
#include "prune/dormant_rule.h"
#include "report/analysis_json.h"
#include "report/csv.h"
#include "runtime/runtime.h"
#include "test_util.h"

namespace ss {
namespace {

std::vector<int> corpus_ids(const SpmTokenizer& tok) {
  return tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), false);
}

// Columns of a CSV file as name -> values (as text).
std::map<std::string, std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream hs(line);
  for (std::string n; std::getline(hs, n, ',');) names.push_back(n);
  std::map<std::string, std::vector<std::string>> cols;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    size_t i = 0;
    for (std::string v; std::getline(ls, v, ',') && i < names.size(); ++i)
      cols[names[i]].push_back(v);
  }
  return cols;
}

TEST(Analysis, HeadsCsvMatchesGoldenWindowStats) {
  std::string out = test::temp_dir() + "/run";
  auto r = test::run_cli("analyze -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " -f " + test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 256 --chunks 1 --quiet --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  auto cols = read_csv(out + "/heads.csv");
  const auto& g = test::golden()["window"]["head_stats"];
  ASSERT_EQ(cols["layer"].size(), 40u);
  int checked = 0;
  for (const auto& [name, table] : g.items()) {
    ASSERT_TRUE(cols.count(name)) << name;
    for (size_t row = 0; row < 40; ++row) {
      int l = std::stoi(cols["layer"][row]), h = std::stoi(cols["head"][row]);
      EXPECT_NEAR(std::stod(cols[name][row]), table[l][h].get<double>(), 1e-5)
          << name << " " << l << ":" << h;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5 * 40);
  for (const char* f :
       {"run.json", "heads.json", "layers.csv", "massive.csv", "report.html", "stability.csv"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  auto run = nlohmann::json::parse(std::ifstream(out + "/run.json"));
  EXPECT_EQ(run["model"]["sha256"],
            "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696");
  EXPECT_EQ(run["tokens_processed"], 256);
}

TEST(Analysis, InvariantsOverSeveralWindowsAndModes) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids = corpus_ids(tok);
  AnalyzeOptions opt;
  opt.contexts = {64, 128};
  opt.chunks = 3;
  opt.modes = {{"on", tok.bos_id()}, {"off", -1}};
  ThreadPool pool(2);
  nlohmann::json a = to_json(analyze(m, pool, ids, opt));
  ASSERT_EQ(a["runs"].size(), 4u);
  for (const auto& run : a["runs"]) {
    EXPECT_EQ(run["windows"], 3);
    for (const auto& h : run["heads"]) {
      double bos = h["bos_sink_score"], q1 = h["bos_attention_mean_q1"],
             T = run["ctx"].get<double>();
      // Row 0 puts all its mass on key 0: bos_sink_score = (1 + (T-1) q1) / T.
      EXPECT_NEAR(bos, (1.0 + (T - 1) * q1) / T, 1e-9);
      EXPECT_GE(h["first_k_mass"].get<double>(), bos - 1e-12);
      EXPECT_LE(h["first_k_mass"].get<double>(), 1.0 + 1e-9);
      EXPECT_GE(h["entropy_mean_q1"].get<double>(), 0.0);
      EXPECT_LE(h["entropy_mean_q1"].get<double>(), std::log(T));
      EXPECT_EQ(h["awft"], h["bos_sink_score"]);
      EXPECT_EQ(h["ahon_ln"], h["z_norm_layer_ratio"]);
    }
    for (const auto& l : run["layers"])
      EXPECT_NEAR(l["z_norm_layer_ratio"].get<double>(), 1.0, 1e-9);
  }
  ASSERT_EQ(a["stability"].size(), 2u);
  for (const auto& s : a["stability"]) {
    EXPECT_GE(s["spearman"].get<double>(), -1.0);
    EXPECT_LE(s["spearman"].get<double>(), 1.0);
  }
  EXPECT_EQ(a["tokens_processed"], 2 * 3 * (64 + 128));
}

TEST(Analysis, WindowsAndFirstTokenModes) {
  std::vector<int> text(10);
  for (int i = 0; i < 10; ++i) text[i] = 100 + i;
  auto on = make_windows(text, 4, {"on", 1}, 0);
  ASSERT_EQ(on.size(), 3u);  // 3 text tokens per window, no token lost or repeated
  EXPECT_EQ(on[1], (std::vector<int>{1, 103, 104, 105}));
  auto off = make_windows(text, 4, {"off", -1}, 0);
  ASSERT_EQ(off.size(), 2u);
  EXPECT_EQ(off[1], (std::vector<int>{104, 105, 106, 107}));
  EXPECT_EQ(make_windows(text, 4, {"on", 1}, 2).size(), 2u);
}

TEST(Analysis, SpearmanKnownValues) {
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // Ranks a = 1,2,3,4,5; b = 2,1,4,3,5: ρ = 1 - 6·4/(5·24) = 0.8
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}), 0.8, 1e-12);
  EXPECT_EQ(average_ranks({5, 1, 5, 2}), (std::vector<double>{3.5, 1, 3.5, 2}));
}

TEST(Analysis, Sha256AndCsv) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
  nlohmann::json rows = {{{"a", 1}, {"b", "x,y"}, {"c", 0.5}}, {{"a", 2}, {"c", true}}};
  EXPECT_EQ(to_csv(rows, {"a", "b", "c"}), "a,b,c\n1,\"x,y\",0.5\n2,,1\n");
}

// Skipping the next-token loss leaves every statistic as it was: the logits feed nothing else.
TEST(Analysis, WithoutNllTheStatisticsAreUnchanged) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids = corpus_ids(tok);
  AnalyzeOptions opt;
  opt.contexts = {64};
  opt.chunks = 2;
  opt.modes = {{"on", tok.bos_id()}};
  ThreadPool pool(2);
  nlohmann::json with = to_json(analyze(m, pool, ids, opt));
  opt.nll = false;
  nlohmann::json without = to_json(analyze(m, pool, ids, opt));
  const auto& a = with["runs"][0];
  const auto& b = without["runs"][0];
  EXPECT_GT(a["nll_mean"].get<double>(), 0.0);
  EXPECT_TRUE(b["nll_mean"].is_null());
  EXPECT_TRUE(b["ppl"].is_null());
  EXPECT_EQ(a["heads"], b["heads"]);
  EXPECT_EQ(a["layers"], b["layers"]);
  EXPECT_EQ(a["massive"], b["massive"]);
}

// The observer's median and top entries equal those of a full sort of |h| (ties: lower index
// first), with or without a pool, on a block with repeated values and one planted outlier.
TEST(Analysis, MassiveActivationsMatchAFullSort) {
  ModelConfig c;
  c.dim = 96;
  c.n_layers = 1;
  const int n = 37, top = 10;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(-2000, 2000);
  std::vector<float> x(static_cast<size_t>(n) * c.dim);
  for (float& v : x) v = static_cast<float>(level(rng)) * 0.37f;  // some values repeat
  x[5 * c.dim + 17] = -500000.0f;
  std::vector<int> ids(n, 3);
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  std::vector<float> mags(x.size());
  for (size_t i = 0; i < x.size(); ++i) mags[i] = std::fabs(x[i]);
  std::sort(mags.begin(), mags.end());
  const double median = mags[mags.size() / 2];
  ThreadPool pool(3);
  for (bool with_pool : {false, true}) {
    MassiveObserver m(c, top);
    if (with_pool) m.use_pool(&pool);
    m.begin_window(0, ids);
    m.on_resid_post(0, 0, n, x.data());
    const std::vector<MassiveEntry> e = m.entries();
    ASSERT_EQ(e.size(), static_cast<size_t>(top));
    for (int r = 0; r < top; ++r) {
      EXPECT_EQ(e[r].pos * c.dim + e[r].channel, static_cast<int>(order[r])) << "rank " << r;
      EXPECT_EQ(e[r].value, x[order[r]]);
      EXPECT_EQ(e[r].median_abs, median);
    }
    EXPECT_TRUE(e[0].massive());
    EXPECT_FALSE(e[1].massive());
  }
}

}  // namespace
}  // namespace ss

namespace ss {
namespace {

// Statistics folded inside the attention kernel equal those computed afterwards from the full
// dumped matrices of the same window.
TEST(Analysis, FusedStatisticsEqualFullMatrixStatistics) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids = corpus_ids(tok);
  const int T = 512;
  std::vector<int> window{tok.bos_id()};
  window.insert(window.end(), ids.begin(), ids.begin() + T - 1);
  std::vector<std::pair<int, int>> heads{{0, 0}, {1, 5}, {2, 6}, {4, 7}};
  ThreadPool pool(2);
  Runtime rt(m, pool, T);
  SinkStatsObserver stats(m, {});
  PatternDumpObserver dump(heads, T);
  rt.add_observer(&stats);
  rt.add_observer(&dump);
  stats.begin_window(T);
  rt.forward(window, 0, Logits::None);
  HeadTable t = stats.finish_window();
  for (auto [l, h] : heads) {
    const auto& a = dump.pattern(l, h);
    double bos = 0, q1 = 0, firstk = 0, ent_q1 = 0;
    std::vector<double> recv(T, 0.0);
    for (int q = 0; q < T; ++q) {
      double row_sum = 0, ent = 0;
      for (int k = 0; k < T; ++k) {
        const double p = a[q][k];
        if (k > q) {
          EXPECT_EQ(p, 0.0);
        }
        row_sum += p;
        recv[k] += p;
        if (k < 4) firstk += p;
        if (p > 0) ent -= p * std::log(p);
      }
      ASSERT_NEAR(row_sum, 1.0, 1e-5);
      bos += a[q][0];
      if (q > 0) q1 += a[q][0], ent_q1 += ent;
    }
    double top = 0;
    int top_k = 0;
    for (int k = 1; k < T; ++k)
      if (recv[k] / (T - k) > top) top = recv[k] / (T - k), top_k = k;
    const size_t i = static_cast<size_t>(l) * m.config.n_heads + h;
    EXPECT_NEAR(t["bos_sink_score"][i], bos / T, 1e-9);
    EXPECT_NEAR(t["bos_attention_mean_q1"][i], q1 / (T - 1), 1e-9);
    EXPECT_NEAR(t["first_k_mass"][i], firstk / T, 1e-9);
    EXPECT_NEAR(t["entropy_mean_q1"][i], ent_q1 / (T - 1), 1e-7);
    EXPECT_NEAR(t["top_key_score"][i], top, 1e-9);
    EXPECT_EQ(t["top_key"][i], top_k);
  }
}

}  // namespace
}  // namespace ss

namespace ss {
namespace {

TEST(Dormant, RulesFlagTheRightHeads) {
  ModelConfig c;
  c.n_layers = 2;
  c.n_heads = 2;
  std::vector<double> s = {0.05, 1.5, 0.2, 0.09};
  EXPECT_EQ(flag_dormant(s, parse_dormant_threshold("ahon_ln=0.1", "t"), c),
            (std::vector<std::pair<int, int>>{{0, 0}, {1, 1}}));
  EXPECT_EQ(flag_dormant(s, parse_dormant_threshold("awft=0.1", "t"), c),
            (std::vector<std::pair<int, int>>{{0, 1}, {1, 0}}));
  EXPECT_EQ(flag_dormant(s, {"ahon_ln", -1, 0.25}, c), (std::vector<std::pair<int, int>>{{0, 0}}));
  EXPECT_EQ(flag_dormant(s, {"awft", -1, 0.5}, c),
            (std::vector<std::pair<int, int>>{{0, 1}, {1, 0}}));
  EXPECT_THROW(parse_dormant_threshold("ahon_ln", "t"), InputError);
  EXPECT_THROW(parse_dormant_threshold("bos_sink_score=0.1", "t"), InputError);
  EXPECT_THROW(parse_dormant_threshold("ahon_ln=x", "t"), InputError);
}

// Per-input dormant ablation: each window is scored, its flagged heads are zeroed, then it is
// evaluated; equal to doing the two passes by hand.
TEST(Dormant, PerInputPerplexityEqualsTwoPassesByHand) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), true);
  ThreadPool pool(2);
  const DormantRule rule{"ahon_ln", 0.8, -1};
  Runtime rt(m, pool, 128);
  HeadMask mask(m.config);
  size_t flagged = 0;
  auto prepare = [&](std::span<const int> w) {
    SinkStatsObserver stats(m, {});
    stats.begin_window(static_cast<int>(w.size()));
    rt.set_head_mask(nullptr);
    rt.add_observer(&stats);
    rt.forward(w, 0, Logits::None);
    rt.clear_observers();
    mask = HeadMask(m.config);
    for (auto [l, h] : flag_dormant(stats.finish_window()["ahon_ln"], rule, m.config))
      mask.set(l, h, HeadAction::Zero);
    flagged += mask.n_masked();
    rt.set_head_mask(&mask);
    return static_cast<double>(mask.n_masked());
  };
  PerplexityResult r = perplexity(rt, ids, 128, tok.bos_id(), 3, nullptr, 0, prepare);
  EXPECT_GT(flagged, 0u);
  EXPECT_EQ(r.prepared_sum, static_cast<double>(flagged));

  double sum = 0;
  int n = 0;
  for (int w = 0; w < 3; ++w) {
    std::vector<int> win(ids.begin() + w * 128, ids.begin() + (w + 1) * 128);
    win[0] = tok.bos_id();
    Runtime plain(m, pool, 128);
    SinkStatsObserver stats(m, {});
    stats.begin_window(128);
    plain.add_observer(&stats);
    plain.forward(win, 0, Logits::None);
    HeadMask hm(m.config);
    for (auto [l, h] : flag_dormant(stats.finish_window()["ahon_ln"], rule, m.config))
      hm.set(l, h, HeadAction::Zero);
    Runtime masked(m, pool, 128);
    masked.set_head_mask(&hm);
    for (double x : masked.forward_nll(win, 0)) sum += x, ++n;
  }
  EXPECT_NEAR(r.nll_mean, sum / n, 1e-12);
}

}  // namespace
}  // namespace ss
