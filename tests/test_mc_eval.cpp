// Multiple-choice evaluation: the scoring rules on hand-made log-likelihoods, the task readers on
// small inline files (malformed ones included), and scoring with stories260K, where reusing the
// KV cache must give the same log-likelihoods as running each choice from scratch.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "base/error.h"
#include "eval/mc_eval.h"
#include "eval/mc_task.h"
#include "model/load_model.h"
#include "test_util.h"

namespace ss {
namespace {

McItemScore item(std::vector<double> loglik, std::vector<size_t> bytes, int gold) {
  McItemScore s;
  s.loglik = std::move(loglik);
  s.bytes = std::move(bytes);
  s.tokens.assign(s.loglik.size(), 1);
  s.gold = gold;
  return s;
}

TEST(McEval, ArgmaxTakesLowestIndexOnTies) {
  EXPECT_EQ(argmax_first(std::vector<double>{-2, -1, -1}), 1);
  EXPECT_EQ(argmax_first(std::vector<double>{-3}), 0);
  EXPECT_EQ(argmax_first(std::vector<double>{-1, -1}), 0);
}

TEST(McEval, SummarizeKnownLogLikelihoods) {
  std::vector<McItemScore> items = {
      // Right by both: -3 is the highest sum, and per byte with equal lengths.
      item({-5, -3, -4}, {5, 5, 5}, 1),
      // acc picks choice 0 (-4 > -6); per byte choice 1 wins (-6/12 > -4/2): only acc_norm right.
      item({-4, -6}, {2, 12}, 1),
      // A tie goes to the lowest index, 0: wrong by both.
      item({-2, -2, -7}, {4, 4, 4}, 1),
  };
  McResult r = summarize_mc("hand", false, items);
  EXPECT_EQ(r.n, 3);
  EXPECT_DOUBLE_EQ(r.acc, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.acc_norm, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.acc_stderr, std::sqrt((1.0 / 3) * (2.0 / 3) / 3));
  EXPECT_DOUBLE_EQ(r.acc_norm_stderr, std::sqrt((2.0 / 3) * (1.0 / 3) / 3));
  EXPECT_EQ(r.items.size(), 3u);

  McResult empty = summarize_mc("empty", false, {});
  EXPECT_EQ(empty.n, 0);
  EXPECT_EQ(empty.acc, 0.0);
}

TEST(McEval, SummarizeCloze) {
  McItemScore a = item({-2}, {3}, 0), b = item({-4}, {5}, 0);
  a.greedy = true;
  b.tokens = {3};
  McResult r = summarize_mc("cloze", true, {a, b});
  EXPECT_DOUBLE_EQ(r.acc, 0.5);
  EXPECT_DOUBLE_EQ(r.acc_stderr, std::sqrt(0.25 / 2));
  EXPECT_DOUBLE_EQ(r.ppl, std::exp(3.0));            // exp(-mean loglik per item)
  EXPECT_DOUBLE_EQ(r.ppl_token, std::exp(6.0 / 4));  // exp(-sum loglik / tokens)
}

TEST(McEval, ReadsChoicesJsonl) {
  const std::string text =
      R"({"query": "Question: Why?", "choices": ["a", "b c"], "gold": 1})"
      "\n"
      R"({"choices": ["x", "y"], "gold": 0, "query": "Question: goal\n"})"
      "\n\n"
      R"({"query": "Passage: p\nQuestion: q?", "choices": ["no", "yes"], "gold": 1})"
      "\n";
  McTask t = parse_mc_task(text, "dir/arc_easy.jsonl");
  EXPECT_EQ(t.name, "arc_easy");
  EXPECT_EQ(t.format, "choices");
  EXPECT_FALSE(t.is_cloze);
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_EQ(t.items[0].context(0), "Question: Why?\nAnswer:");
  EXPECT_EQ(t.items[0].choices, (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(t.items[0].gold, 1);
  EXPECT_EQ(t.items[1].context(1), "Question: goal\nAnswer:");  // PIQA's trailing "\n"
  EXPECT_EQ(t.items[2].context(0), "Passage: p\nQuestion: q?\nAnswer:");
  EXPECT_EQ(parse_mc_task(text, "t.jsonl", 2).items.size(), 2u);  // --limit
}

TEST(McEval, ReadsWinograndeAndLambada) {
  McTask w = parse_mc_task(
      R"({"context_options": ["A so B", "A so C"], "continuation": "won.", "gold": 1})", "w.jsonl");
  EXPECT_EQ(w.format, "winogrande");
  ASSERT_EQ(w.items.size(), 1u);
  EXPECT_EQ(w.items[0].context(0), "A so B");
  EXPECT_EQ(w.items[0].context(1), "A so C");
  EXPECT_EQ(w.items[0].choices, (std::vector<std::string>{"won.", "won."}));

  McTask l = parse_mc_task("{\"context\": \"He said\", \"continuation\": \"hi\"}\r\n", "l.jsonl");
  EXPECT_EQ(l.format, "cloze");
  EXPECT_TRUE(l.is_cloze);
  EXPECT_EQ(l.items[0].context(0), "He said");
  EXPECT_EQ(l.items[0].choices, std::vector<std::string>{"hi"});
}

TEST(McEval, ReadsHellaswagText) {
  const std::string text =
      "Label: ctx one\r\n2\r\ne0\r\ne1\r\ne2\r\ne3\r\n"
      "Label: ctx two\n0\nf0\nf1\nf2\nf3\n\n";
  McTask t = parse_mc_task(text, "hellaswag.txt");
  EXPECT_EQ(t.format, "hellaswag");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].context(3), "Label: ctx one");
  EXPECT_EQ(t.items[0].gold, 2);
  EXPECT_EQ(t.items[0].choices, (std::vector<std::string>{"e0", "e1", "e2", "e3"}));
  EXPECT_EQ(t.items[1].gold, 0);
  EXPECT_EQ(parse_mc_task(text, "h.txt", 1).items.size(), 1u);
}

// parse_mc_task(text) throws InputError whose message starts with "f.jsonl: <prefix>".
void expect_mc_task_error(const std::string& text, const std::string& prefix) {
  try {
    parse_mc_task(text, "f.jsonl");
    ADD_FAILURE() << "no error for: " << text;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("f.jsonl: " + prefix, 0), 0u) << e.what();
  }
}

TEST(McEval, RejectsMalformedInput) {
  const std::string good = R"({"query": "Q", "choices": ["a", "b"], "gold": 0})"
                           "\n";
  expect_mc_task_error(good + "{\"query\": \"Q\", \n", "line 2: invalid JSON");
  expect_mc_task_error(good + "[1, 2]\n", "line 2: expected a JSON object");
  expect_mc_task_error(good + R"({"query": "Q", "choices": ["a", "b"]})",
                       "line 2: missing \"gold\"");
  expect_mc_task_error(good + R"({"choices": ["a", "b"], "gold": 0})", "line 2: missing \"query\"");
  expect_mc_task_error(good + good + R"({"query": "Q", "choices": ["a", "b"], "gold": 2})",
                       "line 3: \"gold\" is 2, out of range 0..1");
  expect_mc_task_error(R"({"query": "Q", "choices": ["a", "b"], "gold": -1})",
                       "line 1: \"gold\" is -1");
  expect_mc_task_error(R"({"query": "Q", "choices": ["a", "b"], "gold": "0"})",
                       "line 1: \"gold\" must be an integer");
  expect_mc_task_error(R"({"query": "Q", "choices": "a", "gold": 0})",
                       "line 1: \"choices\" must be");
  expect_mc_task_error(R"({"query": "Q", "choices": ["a", ""], "gold": 0})",
                       "line 1: \"choices\" holds");
  expect_mc_task_error(R"({"query": 3, "choices": ["a", "b"], "gold": 0})",
                       "line 1: \"query\" must be a string");
  expect_mc_task_error(R"({"question": "Q"})", "line 1: unknown schema");
  expect_mc_task_error(R"({"context_options": ["a", "b"], "continuation": "c", "gold": 5})",
                       "line 1: \"gold\" is 5");
  expect_mc_task_error(R"({"context": "a", "continuation": ""})",
                       "line 1: \"continuation\" is empty");
  expect_mc_task_error("\n  \n", "no items");
  expect_mc_task_error("BZh91AY&SY", "bzip2-compressed");
  // HellaSwag: a truncated block, a bad label, an empty line inside a task.
  expect_mc_task_error("c\n1\ne0\ne1\ne2\ne3\nc2\n1\ne0\n", "line 7: HellaSwag task truncated");
  expect_mc_task_error("c\n7\ne0\ne1\ne2\ne3\n", "line 2: gold label must be 0, 1, 2 or 3");
  expect_mc_task_error("c\n1\ne0\n\ne2\ne3\n", "line 4: empty line");
}

TEST(McEval, RejectsEmptyAndMissingFiles) {
  const std::string path = test::temp_dir() + "/empty.jsonl";
  std::ofstream(path).close();
  EXPECT_THROW(read_mc_task(path), InputError);
  EXPECT_THROW(read_mc_task(path + ".missing"), InputError);
}

// The log-likelihood of each choice computed from scratch: one forward pass over the whole
// sequence from position 0.
double loglik_from_scratch(Runtime& rt, const SpmTokenizer& tok, const std::string& context,
                           const std::string& continuation) {
  ContinuationTokens t = tokenize_continuation(tok, context, continuation);
  std::vector<int> input(t.whole.begin(), t.whole.end() - 1);
  std::vector<float> logits = rt.forward(input, 0, Logits::All);
  const size_t V = rt.model().config.vocab_size;
  double ll = 0;
  for (size_t i = t.split; i < t.whole.size(); ++i)
    ll -= token_nll({logits.data() + (i - 1) * V, V}, t.whole[i]);
  return ll;
}

// Counts the tokens a Runtime runs through its first layer.
struct TokenCounter : Observer {
  long tokens = 0;
  void on_resid_pre(int layer, int, int n, const float*) override {
    if (layer == 0) tokens += n;
  }
};

TEST(McEval, CacheReuseMatchesScratchOnStories260K) {
  Model model = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  ThreadPool pool(2);
  Runtime rt(model, pool);
  for (const char* file : {"data/mc/arc_easy.jsonl", "data/mc/hellaswag_val_full.txt",
                           "data/mc/winogrande.jsonl", "data/mc/lambada_openai.jsonl"}) {
    McTask task = read_mc_task(test::shared(file), 5);
    ASSERT_EQ(task.items.size(), 5u);
    int calls = 0;
    TokenCounter counter;
    rt.add_observer(&counter);
    McResult r = evaluate_task(rt, tok, task, [&](int done, int total) {
      EXPECT_EQ(done, ++calls);
      EXPECT_EQ(total, 5);
    });
    rt.clear_observers();
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(r.n, 5);
    EXPECT_GE(r.acc, 0.0);
    EXPECT_LE(r.acc, 1.0);
    EXPECT_GE(r.acc_norm, 0.0);
    EXPECT_LE(r.acc_norm, 1.0);
    EXPECT_EQ(r.truncated, 0);
    long scratch_tokens = 0;
    for (size_t i = 0; i < task.items.size(); ++i) {
      const McItem& it = task.items[i];
      ASSERT_EQ(r.items[i].loglik.size(), it.choices.size());
      for (size_t c = 0; c < it.choices.size(); ++c) {
        const double ll = r.items[i].loglik[c];
        EXPECT_LT(ll, 0.0);
        EXPECT_NEAR(ll, loglik_from_scratch(rt, tok, it.context(c), " " + it.choices[c]), 1e-5)
            << file << " item " << i << " choice " << c;
        EXPECT_EQ(r.items[i].bytes[c], it.choices[c].size());
        scratch_tokens += static_cast<long>(
            tokenize_continuation(tok, it.context(c), " " + it.choices[c]).whole.size() - 1);
      }
    }
    // A shared context runs once per item, not once per choice. Each item starts afresh (its
    // scores may not depend on the item before, which another MPI rank may have run), so a cloze
    // task, one choice per item, runs every token.
    EXPECT_LE(counter.tokens, scratch_tokens) << file;
    if (!task.is_cloze) {
      EXPECT_LT(counter.tokens, scratch_tokens * 2 / 3) << file;
    }
  }
}

TEST(McEval, LongItemsKeepBosAndFitTheCache) {
  Model model = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  ThreadPool pool(1);
  Runtime rt(model, pool, 16);
  McTask task;
  task.name = "long";
  McItem it;
  it.contexts = {"Once upon a time there was a little girl named Lily. She liked to play."};
  it.choices = {"She was happy.", "The dog ran."};
  task.items = {it};
  McResult r = evaluate_task(rt, tok, task);
  EXPECT_EQ(r.truncated, 1);
  for (double ll : r.items[0].loglik) EXPECT_TRUE(std::isfinite(ll) && ll < 0);
}

TEST(McEval, CliPrintsJsonAndRejectsBadFiles) {
  const std::string model = "-m " + test::model_bin() + " --tokenizer " + test::tok_bin();
  auto r =
      test::run_cli("eval " + model + " --task " + test::shared("data/mc/piqa.jsonl") + " --task " +
                    test::shared("data/mc/lambada_openai.jsonl") + " --limit 3 --json --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tasks"].size(), 2u);
  EXPECT_EQ(j["tasks"][0]["task"], "piqa");
  EXPECT_EQ(j["tasks"][0]["n"], 3);
  EXPECT_TRUE(j["tasks"][0].contains("acc_norm"));
  EXPECT_TRUE(j["tasks"][1].contains("ppl"));

  const std::string bad = test::temp_dir() + "/bad.jsonl";
  std::ofstream(bad) << R"({"query": "Q", "choices": ["a", "b"], "gold": 0})"
                     << "\n{oops\n";
  r = test::run_cli("eval " + model + " --task " + bad + " --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "sinkscope: " + bad + ": line 2: invalid JSON\n");
}

}  // namespace
}  // namespace ss
