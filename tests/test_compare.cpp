// compare (eval/compare.h, experiments/compare_models.h), the evaluation windows
// (eval/windows.h), the per-byte and per-word perplexities (eval/perplexity_conventions.h) and
// the tokenizer check compare relies on.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>

#include "base/error.h"
#include "base/text_file.h"
#include "eval/compare.h"
#include "eval/perplexity.h"
#include "eval/perplexity_conventions.h"
#include "experiments/compare_models.h"
#include "model/load_model.h"
#include "model/synth.h"
#include "test_fixtures.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary_difference.h"

namespace ss {
namespace {

// The textbook KL in double: log-softmax of each side, then Σ p_a (log p_a − log p_b).
double reference_kl(const float* a, const float* b, size_t V) {
  auto log_softmax = [V](const float* x) {
    double mx = x[0];
    for (size_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(x[v]));
    double sum = 0;
    for (size_t v = 0; v < V; ++v) sum += std::exp(x[v] - mx);
    std::vector<double> out(V);
    for (size_t v = 0; v < V; ++v) out[v] = x[v] - mx - std::log(sum);
    return out;
  };
  const std::vector<double> la = log_softmax(a), lb = log_softmax(b);
  double kl = 0;
  for (size_t v = 0; v < V; ++v) kl += std::exp(la[v]) * (la[v] - lb[v]);
  return kl;
}

TEST(Compare, RowOfKnownDistributions) {
  // p = (1/2, 1/4, 1/4), q = (1/4, 1/2, 1/4), each shifted by a constant the softmax ignores:
  // KL(p||q) = 1/2 ln 2 + 1/4 ln(1/2) = ln 2 / 4.
  const float a[] = {std::log(0.5f) + 3, std::log(0.25f) + 3, std::log(0.25f) + 3};
  const float b[] = {std::log(0.25f) - 1, std::log(0.5f) - 1, std::log(0.25f) - 1};
  RowComparison r = compare_row(a, b, 1);
  EXPECT_NEAR(r.kl, std::numbers::ln2 / 4, 1e-7);
  EXPECT_EQ(r.top_a, 0);
  EXPECT_EQ(r.top_b, 1);
  EXPECT_NEAR(r.nll_a, std::log(4.0), 1e-7);
  EXPECT_NEAR(r.nll_b, std::log(2.0), 1e-7);
  // Ties go to the lowest id.
  const float tie[] = {1, 2, 2};
  EXPECT_EQ(compare_row(tie, tie, 0).top_a, 1);
  EXPECT_EQ(compare_row(tie, tie, 0).kl, 0.0);
}

TEST(Compare, SummaryQuantilesInterpolate) {
  std::vector<TokenComparison> t(5);
  for (int i = 0; i < 5; ++i) t[i].kl = i, t[i].top1_agree = i < 3, t[i].nll_b = 1;
  CompareSummary s = summarize(t, 1);
  EXPECT_EQ(s.kl_mean, 2.0);
  EXPECT_EQ(s.kl_median, 2.0);
  EXPECT_DOUBLE_EQ(s.kl_p90, 3.6);  // numpy.quantile([0..4], 0.9)
  EXPECT_DOUBLE_EQ(s.kl_p99, 3.96);
  EXPECT_EQ(s.kl_max, 4.0);
  EXPECT_DOUBLE_EQ(s.top1_agreement, 0.6);
  EXPECT_DOUBLE_EQ(s.delta_ppl, std::exp(1.0) - 1.0);
}

using test::kDefaultModel;

TEST(Compare, ModelAgainstItselfIsZeroExactly) {
  // The default model has sink heads to drift.
  Model m = load_model(kDefaultModel);
  auto tok = load_text_tokenizer(kDefaultModel, "", m.config.vocab_size);
  std::vector<int> ids =
      tok->encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), true);
  ids.resize(300);
  ThreadPool pool(2);
  CompareOptions opt;
  opt.plan = {128, 0, 0, Scoring::All};
  opt.bos_id = tok->bos_id();
  opt.stats = true;
  const ModelComparison r = run_compare(m, m, "B", pool, ids, opt);
  ASSERT_EQ(r.tokens.summary.tokens, 127 + 127 + 43);  // each window's first token is BOS
  for (const TokenComparison& t : r.tokens.tokens) {
    EXPECT_EQ(t.kl, 0.0);
    EXPECT_TRUE(t.top1_agree);
    EXPECT_EQ(t.nll_a, t.nll_b);
  }
  EXPECT_EQ(r.tokens.summary.top1_agreement, 1.0);
  EXPECT_EQ(r.tokens.summary.delta_ppl, 0.0);
  ASSERT_TRUE(r.drift);
  EXPECT_DOUBLE_EQ(r.drift->bos_spearman, 1.0);
  EXPECT_TRUE(r.drift->entered.empty());
  EXPECT_TRUE(r.drift->left.empty());
  EXPECT_GT(r.drift->sinks_a, 0);
  for (const HeadDrift& h : r.drift->heads) EXPECT_EQ(h.a, h.b);
}

TEST(Compare, TwoModelsMatchDoublePrecisionKl) {
  ModelConfig c = synth_shape("llama", "tiny");
  c.vocab_size = 64;
  Model a = make_random_model(c, 3), b = make_random_model(c, 4);
  std::vector<int> ids(40);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 13 + 5) % 64);
  ThreadPool pool(2);
  CompareOptions opt;
  opt.plan = {16, 0, 0, Scoring::All};
  opt.bos_id = 1;
  const ModelComparison r = run_compare(a, b, "B", pool, ids, opt);
  ASSERT_EQ(r.tokens.summary.tokens, 15 + 15 + 7);
  ASSERT_EQ(r.tokens.summary.windows, 3);

  // By hand: each window's full logits from forward(), then the double-precision KL.
  Runtime ra(a, pool, 16), rb(b, pool, 16);
  size_t k = 0;
  double agree = 0, kl_sum = 0;
  for (size_t begin = 0; begin < ids.size(); begin += 16) {
    std::vector<int> w(ids.begin() + begin, ids.begin() + std::min(ids.size(), begin + 16));
    w[0] = 1;
    const std::vector<float> la = ra.forward(w, 0), lb = rb.forward(w, 0);
    for (size_t i = 1; i < w.size(); ++i, ++k) {
      const TokenComparison& t = r.tokens.tokens[k];
      ASSERT_EQ(t.pos, static_cast<int64_t>(begin + i));
      const double kl = reference_kl(&la[(i - 1) * 64], &lb[(i - 1) * 64], 64);
      EXPECT_NEAR(t.kl, kl, 1e-12 + 1e-9 * kl) << k;
      EXPECT_GT(t.kl, 0.0);
      const auto top = [](const float* x) { return std::max_element(x, x + 64) - x; };
      EXPECT_EQ(t.top1_agree, top(&la[(i - 1) * 64]) == top(&lb[(i - 1) * 64]));
      agree += t.top1_agree, kl_sum += kl;
    }
  }
  EXPECT_NEAR(r.tokens.summary.kl_mean, kl_sum / 37, 1e-12);
  EXPECT_DOUBLE_EQ(r.tokens.summary.top1_agreement, agree / 37);

  // Model A's side is exactly perplexity()'s on the same windows.
  Runtime rp(a, pool, 16);
  EXPECT_EQ(r.tokens.summary.ppl_a, perplexity(rp, ids, 16, 1).ppl);
}

TEST(Compare, SecondHalfScoresWhatPerplexityScores) {
  Model m = load_model(test::model_bin());
  Model q = clone_model(m);
  auto* w = reinterpret_cast<float*>(mutable_data(q, q.layers[1].wq));
  for (int i = 0; i < 64; ++i) w[i] *= 1.5f;  // a small change: B is a perturbed A
  std::vector<int> ids = test::prompt_ids(300);
  ThreadPool pool(2);
  CompareOptions opt;
  opt.plan = {64, 0, 0, Scoring::SecondHalf};
  opt.bos_id = 1;
  const ModelComparison r = run_compare(m, q, "B", pool, ids, opt);
  EXPECT_EQ(r.tokens.summary.windows, 4);  // 300 / 64
  EXPECT_EQ(r.tokens.summary.tokens, 4 * (64 - 1 - 32));
  for (const TokenComparison& t : r.tokens.tokens) EXPECT_GE(t.window_pos, 33);
  EXPECT_GT(r.tokens.summary.kl_mean, 0.0);
  Runtime ra(m, pool, 64), rb(q, pool, 64);
  EXPECT_EQ(r.tokens.summary.ppl_a, perplexity(ra, ids, opt.plan, 1).ppl);
  EXPECT_EQ(r.tokens.summary.ppl_b, perplexity(rb, ids, opt.plan, 1).ppl);
}

TEST(Windows, SecondHalfIsLlamaCppsChoice) {
  // llama-perplexity: n / ctx chunks; logits ctx/2 .. ctx-2 score tokens ctx/2+1 .. ctx-1.
  for (auto [n, ctx] : {std::pair<size_t, int>{1000, 128}, {1000, 101}, {256, 128}}) {
    const auto w = plan_windows(n, {ctx, 0, 0, Scoring::SecondHalf});
    ASSERT_EQ(w.size(), n / ctx) << n << " " << ctx;
    size_t scored = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_EQ(w[i].begin, i * ctx);
      EXPECT_EQ(w[i].end, (i + 1) * ctx);
      EXPECT_EQ(w[i].first_scored, i * ctx + ctx / 2 + 1);
      scored += w[i].end - w[i].first_scored;
    }
    EXPECT_EQ(scored, (n / ctx) * (ctx - 1 - ctx / 2));
  }
  // With --chunks.
  EXPECT_EQ(plan_windows(1000, {128, 0, 3, Scoring::SecondHalf}).size(), 3u);
  // Fewer than 2·ctx tokens: llama.cpp refuses, and so does the plan.
  EXPECT_THROW(plan_windows(255, {128, 0, 0, Scoring::SecondHalf}), InputError);
  EXPECT_THROW(plan_windows(1000, {128, 64, 0, Scoring::SecondHalf}), InputError);
  EXPECT_THROW(parse_scoring("half", "--scoring"), InputError);
}

TEST(Windows, AllScoresEachTokenAtMostOnce) {
  // Consecutive windows score their positions 1..ctx-1 (position 0 holds BOS); strided ones
  // score every token after the first once.
  for (auto [n, ctx, stride] : {std::tuple<size_t, int, int>{300, 128, 0},
                                {300, 128, 64},
                                {129, 128, 0},
                                {128, 128, 0},
                                {5, 128, 0},
                                {300, 128, 100}}) {
    const auto w = plan_windows(n, {ctx, stride, 0, Scoring::All});
    size_t end = 1;
    for (const EvalWindow& x : w) {
      EXPECT_EQ(x.first_scored, stride == 0 ? x.begin + 1 : std::max(end, x.begin + 1));
      EXPECT_LE(x.end - x.begin, static_cast<size_t>(ctx));
      EXPECT_LT(x.first_scored, x.end);
      end = x.end;
    }
    // A last window of one token would score nothing: it is not run.
    EXPECT_EQ(end, stride == 0 && n % ctx == 1 ? n - 1 : n) << n << " " << ctx << " " << stride;
  }
}

TEST(PerplexityConventions, WordsAsLmEvalCountsThem) {
  // len(re.split(r"\s+", text)) in Python.
  EXPECT_EQ(count_words(""), 1u);
  EXPECT_EQ(count_words("one"), 1u);
  EXPECT_EQ(count_words("one two"), 2u);
  EXPECT_EQ(count_words(" one  two\n"), 4u);  // ['', 'one', 'two', '']
  EXPECT_EQ(count_words("a\r\n\r\nb\tc"), 3u);
  EXPECT_EQ(count_words("a\xc2\xa0"
                        "b"),
            2u);  // U+00A0 is \s in Python
  EXPECT_EQ(count_words("a\xe3\x80\x80"
                        "b"),
            2u);  // U+3000
  EXPECT_EQ(count_words("a\xe2\x80\x8b"
                        "b"),
            1u);  // U+200B is not
  EXPECT_EQ(count_words("caf\xc3\xa9 au lait"), 3u);
}

TEST(PerplexityConventions, ByteAndWordPerplexityByHand) {
  const std::string text = "The cat sat.\nOn the mat!";  // 24 bytes, 6 words
  const TextPerplexities p = text_perplexities(12.0, text);
  EXPECT_EQ(p.bytes, 24u);
  EXPECT_EQ(p.words, 6u);
  EXPECT_DOUBLE_EQ(p.bits_per_byte, 12.0 / (std::numbers::ln2 * 24));
  EXPECT_DOUBLE_EQ(p.byte_perplexity, std::exp(0.5));
  EXPECT_DOUBLE_EQ(p.word_perplexity, std::exp(2.0));
}

TEST(VocabularyDifference, NamesTheFirstTokenThatDiffers) {
  const std::string dir = test::temp_dir();
  auto write = [&](const std::string& name, const nlohmann::json& j) {
    std::ofstream(dir + "/" + name) << j.dump();
    return tokenizer_from_json(dir + "/" + name);
  };
  auto ab = write("ab.json", test::byte_level_tokenizer_json({{"a", "b"}}));
  auto ab2 = write("ab2.json", test::byte_level_tokenizer_json({{"a", "b"}}));
  auto cd = write("cd.json", test::byte_level_tokenizer_json({{"c", "d"}}));
  auto more = write("more.json", test::byte_level_tokenizer_json({{"a", "b"}, {"c", "d"}}));
  EXPECT_FALSE(vocabulary_difference(*ab, *ab2));
  EXPECT_EQ(vocabulary_difference(*ab, *cd).value_or(""),
            "token 256 is 'ab' in one, 'cd' in the other");
  EXPECT_EQ(vocabulary_difference(*ab, *more).value_or(""),
            "vocabulary of 257 in one, 258 in the other");
}

TEST(Cli, PerplexityReportsEveryConvention) {
  const std::string dir = test::temp_dir(), text = dir + "/t.txt";
  std::string body;
  for (int i = 0; i < 40; ++i) body += "Once upon a time, there was a little dog.\n";
  std::ofstream(text) << body;
  // Strided windows score every token after the first.
  auto r = test::run_cli("perplexity -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " -f " + text + " --ctx 64 --stride 32 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const double nll_sum = j["nll_sum"];
  EXPECT_NEAR(nll_sum, j["nll_mean"].get<double>() * j["tokens_scored"].get<double>(),
              1e-9 * nll_sum);
  EXPECT_EQ(j["bytes"], body.size());
  EXPECT_EQ(j["words"], 40 * 9 + 1);  // 9 words a line, and the empty one after the last \n
  EXPECT_NEAR(j["bits_per_byte"].get<double>(), nll_sum / (std::numbers::ln2 * body.size()), 1e-12);
  EXPECT_NEAR(j["byte_perplexity"].get<double>(), std::exp(nll_sum / body.size()), 1e-9);
  EXPECT_NEAR(j["word_perplexity"].get<double>(), std::exp(nll_sum / 361), 1e-6);

  EXPECT_EQ(j["unscored_tokens"], 0);
  const int n_tokens = j["tokens_scored"].get<int>() + 1;

  // Consecutive windows give each window's first position to BOS: undefined (null).
  auto c = test::run_cli("perplexity -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " -f " + text + " --ctx 64 --json");
  ASSERT_EQ(c.code, 0) << c.err;
  auto cj = nlohmann::json::parse(c.out);
  EXPECT_TRUE(cj["bits_per_byte"].is_null());
  EXPECT_EQ(cj["unscored_tokens"], (n_tokens - 1) / 64);

  // Second half: llama.cpp's windows; per byte and per word are then undefined (null).
  auto h = test::run_cli("perplexity -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " -f " + text + " --ctx 64 --scoring second-half --json");
  ASSERT_EQ(h.code, 0) << h.err;
  auto k = nlohmann::json::parse(h.out);
  EXPECT_EQ(k["scoring"], "second-half");
  EXPECT_EQ(k["windows"], n_tokens / 64);
  EXPECT_EQ(k["tokens_scored"], (n_tokens / 64) * 31);
  EXPECT_TRUE(k["bits_per_byte"].is_null());
  EXPECT_TRUE(k["word_perplexity"].is_null());

  auto bad = test::run_cli("perplexity -m " + test::model_bin() + " --tokenizer " +
                           test::tok_bin() + " -f " + text + " --ctx 4096 --scoring second-half");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--scoring: second-half needs at least 2 x ctx"), std::string::npos)
      << bad.err;
}

TEST(Cli, CompareWritesItsFilesAndRefusesAnotherVocabulary) {
  const std::string dir = test::temp_dir();
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  const std::string a = test::synth_model("llama", "", 7), b = test::synth_model("llama", "", 11);
  auto r = test::run_cli("compare -m " + a + " -m " + b + " -f " + text +
                         " --ctx 64 --chunks 3 --stats --quiet -o " + dir + "/cmp --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens_scored"], 3 * 63);
  EXPECT_GT(j["kl_mean"].get<double>(), 0.0);
  EXPECT_LE(j["kl_median"].get<double>(), j["kl_p90"].get<double>());
  EXPECT_LE(j["kl_p99"].get<double>(), j["kl_max"].get<double>());
  EXPECT_TRUE(j["sink_drift"].contains("bos_sink_score_spearman"));
  for (const char* f : {"compare.json", "compare.csv", "compare_heads.csv", "report.html"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/cmp/" + f)) << f;
  std::ifstream html_in(dir + "/cmp/report.html");
  const std::string html(std::istreambuf_iterator<char>(html_in), {});
  EXPECT_NE(html.find("<h2>Sink drift</h2>"), std::string::npos);
  EXPECT_NE(html.find("class=\"heatmap\""), std::string::npos);
  EXPECT_EQ(html.find("&amp;"), std::string::npos);  // nothing escaped twice
  std::ifstream csv(dir + "/cmp/compare.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + 3 * 63);

  // The default model has its own vocabulary: a one-line error naming B.
  auto bad = test::run_cli("compare -m " + a + " -m " + kDefaultModel + " -f " + text +
                           " --ctx 64 --quiet");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find(kDefaultModel + ": its tokenizer differs from " + a + "'s"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace ss
