// `mixing` (Barbero et al.'s over-mixing and perturbation spread): the measures on known values,
// the experiment's invariants on a random two-layer model, and the command's files and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/over_mixing.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "experiments/mixing.h"
#include "model/load_model.h"
#include "model/synth.h"
#include "report/mixing_files.h"
#include "test_util.h"

namespace ss {
namespace {

using test::kDefaultModel;

TEST(Mixing, OverMixingKnownValues) {
  const float same[] = {0.1f, -2.5f, 0.1f, -2.5f, 0.1f, -2.5f};
  EXPECT_EQ(over_mixing(same, 3, 2), 0.0);
  const float opposite[] = {1, 0, -1, 0};
  EXPECT_DOUBLE_EQ(over_mixing(opposite, 2, 2), 1.0);
  // Rows 1 and 3: mean 2, centred ‖·‖² = 2 of a total 10.
  const float shifted[] = {1, 0, 3, 0};
  EXPECT_DOUBLE_EQ(over_mixing(shifted, 2, 2), std::sqrt(0.2));
  const float zero[] = {0, 0, 0, 0};
  EXPECT_EQ(over_mixing(zero, 2, 2), 0.0);
}

// Adding one vector to every row leaves the centred norm alone: only the normalisation moves.
TEST(Mixing, OverMixingNumeratorIgnoresACommonShift) {
  const float v[] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
  const float w[] = {3.5f, -1.0f, 5.0f, 0.25f, 2.25f, 1.5f};  // + (3, 0) on each row
  auto norm = [](const float* x) {
    double s = 0;
    for (int i = 0; i < 6; ++i) s += double(x[i]) * x[i];
    return std::sqrt(s);
  };
  EXPECT_NEAR(over_mixing(v, 3, 2) * norm(v), over_mixing(w, 3, 2) * norm(w), 1e-12);
  EXPECT_GT(over_mixing(v, 3, 2), over_mixing(w, 3, 2));
}

TEST(Mixing, TokenSpreadKnownValues) {
  const float clean[] = {3, 4, 0, 0, 1, 1};
  const float perturbed[] = {3, 4, 1, 0, 1, 2};
  double delta[3], ratio[3];
  token_spread(clean, perturbed, 3, 2, delta, ratio);
  EXPECT_EQ(delta[0], 0.0);
  EXPECT_EQ(ratio[0], 0.0);
  EXPECT_EQ(delta[1], 1.0);
  EXPECT_EQ(ratio[1], 0.0);  // a zero clean row: no ratio
  EXPECT_EQ(delta[2], 1.0);
  EXPECT_DOUBLE_EQ(ratio[2], 1.0 / std::sqrt(2.0));
}

// The numpy reference reimplements it: the values are pinned.
TEST(Mixing, PerturbationDirectionIsAFixedUnitVector) {
  const std::vector<double> u = perturbation_direction(4, 1);
  EXPECT_NEAR(u[0], 0.12364894961079999, 1e-15);
  EXPECT_NEAR(u[1], 0.4565795812429268, 1e-15);
  EXPECT_NEAR(u[2], 0.8749642056105522, 1e-15);
  EXPECT_NEAR(u[3], -0.10336180219246666, 1e-15);
  const std::vector<double> v = perturbation_direction(64, 7);
  double n = 0;
  for (double x : v) n += x * x;
  EXPECT_NEAR(n, 1.0, 1e-14);
  EXPECT_NE(v, perturbation_direction(64, 8));
}

TEST(Mixing, WordPairsParseAndTokenize) {
  const auto pairs = parse_word_pairs("great=good,said=replied", "--substitute");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].from, "said");
  EXPECT_EQ(pairs[1].to, "replied");
  EXPECT_THROW(parse_word_pairs("greatest", "--substitute"), InputError);
  EXPECT_THROW(parse_word_pairs("a=b,", "--substitute"), InputError);
  EXPECT_THROW(parse_word_pairs("=b", "--substitute"), InputError);
  Model m = load_model(kDefaultModel);
  auto tok = load_text_tokenizer(kDefaultModel, "", m.config.vocab_size);
  std::string why;
  // With this tokenizer "greatest" is great + est, "best" one token: refused.
  TokenPair t = tokenize_pair(*tok, {"greatest", "best"}, why);
  EXPECT_EQ(
      why,
      "'greatest' is 2 tokens and 'best' 1 token with this tokenizer (a substitution must keep the "
      "token count)");
  t = tokenize_pair(*tok, {"great", "good"}, why);
  EXPECT_EQ(why, "");
  EXPECT_EQ(t.from, std::vector<int>{1029});
  EXPECT_EQ(t.to, std::vector<int>{744});
  tokenize_pair(*tok, {"war", "war"}, why);
  EXPECT_EQ(why, "'war' and 'war' are the same tokens");
}

// A random two-layer llama and a token stream with a known word (id 9) in it.
struct MixingFixture {
  Model model;
  std::vector<int> ids;
  MixingFixture() {
    ModelConfig c = synth_shape("llama", "tiny");
    c.vocab_size = 64;
    model = make_random_model(c, 11);
    for (int i = 0; i < 72; ++i) ids.push_back(2 + (i * 17 + 3) % 60);
    ids[5] = 9;  // window 0: text index 5
    // Window 1 holds a 9 at text index 8 already (i = 32); window 2 none.
  }
};

MixingOptions small_options() {
  MixingOptions opt;
  opt.ctx = 24;
  opt.chunks = 3;
  opt.bos_id = 1;
  opt.position = 4;
  opt.delta = 0.05;
  opt.pairs = {TokenPair{"x=y", {9}, {10}}};
  opt.ablate_sinks = false;
  opt.heads = {{0, 1}, {1, 3}};
  opt.ablate = "0:1,1:3";
  return opt;
}

TEST(Mixing, CausalSpreadPositionsAndConditions) {
  MixingFixture f;
  ThreadPool pool(2);
  const MixingResult r = run_mixing(f.model, pool, f.ids, small_options());
  EXPECT_EQ(r.windows, 3u);
  ASSERT_EQ(r.conditions.size(), 3u);
  EXPECT_EQ(r.conditions[0].name, "bos-on");
  EXPECT_EQ(r.conditions[1].name, "bos-off");
  EXPECT_EQ(r.conditions[2].name, "ablated");
  EXPECT_EQ(r.conditions[2].masked_heads, 2);
  for (const MixingCondition& c : r.conditions) {
    const size_t shift = c.bos ? 1 : 0;
    EXPECT_EQ(c.window_ids[1].front(), c.bos ? 1 : f.ids[24]);
    for (int l = 0; l < 2; ++l) {
      EXPECT_GT(c.over_mixing.mean[l], 0.05);
      EXPECT_LT(c.over_mixing.mean[l], 1.0);
      EXPECT_GT(c.over_mixing.sd[l], 0.0);
    }
    ASSERT_EQ(c.spread.size(), 2u);
    const SpreadResult& e = c.spread[0];
    EXPECT_EQ(e.perturbation, "embedding");
    EXPECT_EQ(e.windows, 3u);
    EXPECT_EQ(e.positions, (std::vector<int>(3, static_cast<int>(4 + shift))));
    EXPECT_EQ(e.before_max, 0.0);  // causality: nothing before the perturbed token moves
    EXPECT_EQ(e.token_delta.size(), 24 - 4 - shift);
    for (int l = 0; l < 2; ++l) {
      EXPECT_GT(e.ratio.mean[l], 1e-5);
      EXPECT_GT(e.token_ratio[1][l], 0.0);
      EXPECT_GT(e.token_ratio[0][l], e.ratio.mean[l]);  // the perturbed token moves most
    }
    const SpreadResult& s = c.spread[1];
    EXPECT_EQ(s.perturbation, "substitute");
    EXPECT_EQ(s.windows, 2u);  // window 2 holds no 9
    EXPECT_EQ(s.positions,
              (std::vector<int>{static_cast<int>(5 + shift), static_cast<int>(8 + shift)}));
    EXPECT_EQ(s.pairs, (std::vector<std::string>{"x=y", "x=y"}));
    EXPECT_EQ(s.before_max, 0.0);
    // Offsets up to 24 - 1 - 5 - shift are reached by window 0 only.
    EXPECT_EQ(s.token_windows.front(), 2u);
    EXPECT_EQ(s.token_windows.back(), 1u);
  }
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "substitute: 1 of 3 windows hold none of the pairs' words");
}

TEST(Mixing, ZeroDeltaAndAllHeadsAblatedDoNotSpread) {
  MixingFixture f;
  ThreadPool pool(1);
  MixingOptions opt = small_options();
  opt.delta = 0;
  opt.substitute = false;
  opt.ablate_sinks = true;
  opt.eps = 0;  // every head puts some attention on BOS: all are "sinks"
  const MixingResult r = run_mixing(f.model, pool, f.ids, opt);
  EXPECT_EQ(r.ablated.size(), 8u);
  ASSERT_EQ(r.conditions.size(), 3u);
  for (const MixingCondition& c : r.conditions)
    for (const auto& row : c.spread.at(0).token_delta)
      for (double d : row) EXPECT_EQ(d, 0.0);
  // Without attention no token reaches another: a perturbation stays where it is.
  opt.delta = 0.05;
  opt.bos = {};
  const MixingResult a = run_mixing(f.model, pool, f.ids, opt);
  ASSERT_EQ(a.conditions.size(), 1u);
  const SpreadResult& e = a.conditions[0].spread.at(0);
  for (int l = 0; l < 2; ++l) EXPECT_GT(e.token_delta[0][l], 0.0);
  for (size_t o = 1; o < e.token_delta.size(); ++o)
    for (double d : e.token_delta[o]) EXPECT_EQ(d, 0.0);
}

TEST(Mixing, IdenticalForAnyThreadCount) {
  MixingFixture f;
  ThreadPool one(1), two(2);
  MixingOptions opt = small_options();
  opt.ablate_sinks = true;
  const nlohmann::json a = to_json(run_mixing(f.model, one, f.ids, opt));
  const nlohmann::json b = to_json(run_mixing(f.model, two, f.ids, opt));
  EXPECT_EQ(a, b);
}

TEST(Mixing, BadOptions) {
  MixingFixture f;
  ThreadPool pool(1);
  MixingOptions opt = small_options();
  opt.position = 22;  // no later token with BOS first
  EXPECT_THROW(run_mixing(f.model, pool, f.ids, opt), InputError);
  opt = small_options();
  opt.ctx = 100;  // longer than the text
  EXPECT_THROW(run_mixing(f.model, pool, f.ids, opt), InputError);
  opt = small_options();
  opt.delta = std::nan("");
  EXPECT_THROW(run_mixing(f.model, pool, f.ids, opt), InputError);
  // A pair that changes nothing, or changes the token count, never applies.
  opt = small_options();
  opt.pairs = {TokenPair{"x=x", {9}, {9}}, TokenPair{"x=yz", {9}, {10, 11}}};
  const MixingResult r = run_mixing(f.model, pool, f.ids, opt);
  for (const MixingCondition& c : r.conditions) {
    ASSERT_EQ(c.spread.size(), 1u);
    EXPECT_EQ(c.spread[0].perturbation, "embedding");
  }
  EXPECT_EQ(r.notes.back(), "substitute: 3 of 3 windows hold none of the pairs' words");
}

// The command: files, identical for 1 and 2 threads, and one-line errors.
using test::slurp;

std::string text_file() {
  static const std::string path = [] {
    std::string p = test::temp_dir() + "/text.txt";
    std::ofstream(p) << "The war was the greatest thing, he said. The young man came to the old "
                        "house on the first day of the war, and the great father said to him that "
                        "the day was long. He came back at night and said that the man was young "
                        "and the war was great. The first and the last of them came in the day.";
    return p;
  }();
  return path;
}

TEST(Cli, MixingFilesIdenticalForOneAndTwoThreads) {
  const std::string base =
      "mixing -m " + kDefaultModel + " -f " + text_file() + " --ctx 24 --chunks 2 --quiet --out ";
  const std::string a = test::temp_dir(), b = test::temp_dir();
  auto r = test::run_cli(base + a + " --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("over-mixing mu(V)/|V|_F per layer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note: substitute: left out greatest=best"), std::string::npos) << r.out;
  r = test::run_cli(base + b + " --threads 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f :
       {"over_mixing.csv", "spread.csv", "spread_tokens.csv", "mixing.json", "report.html"}) {
    EXPECT_FALSE(slurp(a + "/" + f).empty()) << f;
    EXPECT_EQ(slurp(a + "/" + f), slurp(b + "/" + f)) << f;
  }
  const auto j = nlohmann::json::parse(slurp(a + "/mixing.json"));
  EXPECT_EQ(j["position"], 5);  // (24 - 1) / 4
  EXPECT_EQ(j["conditions"].size(), 3u);
  EXPECT_EQ(j["conditions"][0]["spread"][0]["delta_before_max"], 0.0);
}

void expect_mixing_error(const std::string& args, const std::string& start) {
  auto r = test::run_cli("mixing -m " + kDefaultModel + " -f " + text_file() + " --quiet --out " +
                         test::temp_dir() + " " + args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("sinkscope: " + start, 0), 0u) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, MixingBadOptionsAreOneLineErrors) {
  expect_mixing_error("--ctx 2", "--ctx: must be in 3..1048576, not 2");
  expect_mixing_error("--ctx 5000", "--ctx: the text has");
  expect_mixing_error("--chunks 0", "--chunks: must be at least 1");
  expect_mixing_error("--ctx 24 --position 22", "--position: must be in 0..21");
  expect_mixing_error("--position -2", "--position: must be a text token index");
  expect_mixing_error("--delta 0", "--delta: must be a positive number");
  expect_mixing_error("--delta nan", "--delta: must be a positive number");
  expect_mixing_error("--substitute greatest=best", "--substitute: 'greatest' is 2 tokens");
  expect_mixing_error("--substitute greatest", "--substitute: 'greatest' is not a word pair");
  expect_mixing_error("--ctx 24 --substitute peace=war",
                      "--substitute: no window of the text holds");
  expect_mixing_error("--ablate 9:0", "--ablate:");
  expect_mixing_error("--perturb embedding --substitute great=good",
                      "--substitute: needs --perturb substitute or both");
}

}  // namespace
}  // namespace ss
