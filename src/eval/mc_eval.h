#pragma once
// Zero-shot multiple-choice scoring, as lm-evaluation-harness does it: each choice's score is the
// sum of the log-probabilities of its continuation tokens given BOS + context. acc picks the
// highest sum, acc_norm the highest sum per UTF-8 byte of the choice; ties go to the lowest index.
// Cloze tasks (LAMBADA) score acc as the greedy exact match of every continuation token.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/cluster.h"
#include "eval/mc_task.h"
#include "runtime/runtime.h"
#include "tokenizer/tokenizer.h"

namespace ss {

// The scores of one item's choices.
struct McItemScore {
  std::vector<double> loglik;  // per choice: sum of log p over its continuation tokens
  std::vector<int> tokens;     // per choice: continuation tokens scored
  std::vector<size_t> bytes;   // per choice: UTF-8 length of the choice (acc_norm's divisor)
  int gold = 0;
  bool greedy = false;     // cloze: every continuation token was the argmax
  bool truncated = false;  // the sequence was cut on the left to fit the KV cache
};

struct McResult {
  std::string task;
  bool is_cloze = false;
  int n = 0;
  double acc = 0, acc_stderr = 0;
  double acc_norm = 0, acc_norm_stderr = 0;  // multiple choice only
  // Cloze only: lm-eval's perplexity, exp(-mean over items of the continuation's log-likelihood),
  // and the per-token perplexity exp(-sum loglik / sum tokens).
  double ppl = 0, ppl_token = 0;
  int truncated = 0;  // items cut on the left to fit the KV cache
  std::vector<McItemScore> items;
};

// Index of the largest value; the lowest index on ties.
int argmax_first(std::span<const double> v);

// acc/acc_norm/stderr (sqrt(p(1-p)/n)) and, for cloze tasks, perplexity from per-item scores.
McResult summarize_mc(const std::string& task, bool is_cloze, std::vector<McItemScore> items);

// The tokens of BOS + context + continuation and where the continuation starts, split as lm-eval
// does: trailing whitespace of the context moves to the continuation, whole = encode(context +
// continuation), and the continuation is whole[len(encode(context)):], at least one token.
struct ContinuationTokens {
  std::vector<int> whole;
  size_t split = 0;  // whole[split:] is the continuation
};
ContinuationTokens tokenize_continuation(const Tokenizer& tok, const std::string& context,
                                         const std::string& continuation);

// Scores continuations with one Runtime, reusing its KV cache between calls: positions before the
// first token that differs from the previous call's sequence are not recomputed, so a context
// shared by all choices runs once. Nothing else may use the Runtime between calls (or call
// reset() after it did). A sequence longer than the cache keeps BOS and drops tokens after it.
class ContinuationScorer {
 public:
  ContinuationScorer(Runtime& rt, const Tokenizer& tok) : rt_(rt), tok_(tok) {}

  struct Score {
    double loglik = 0;
    int tokens = 0;
    bool greedy = true;
    bool truncated = false;
  };
  Score score(const std::string& context, const std::string& continuation);
  void reset() { cached_.clear(); }

 private:
  Runtime& rt_;
  const Tokenizer& tok_;
  std::vector<int> cached_;  // the tokens whose keys and values the cache holds, from position 0
};

// Scores every item of a task. progress(done, total) is called after each item. The Runtime's
// head mask and observers apply; its cache contents on entry do not matter. With a cluster, the
// items are shared by its ranks (each with its own runtime) and only the root's result is whole.
McResult evaluate_task(Runtime& rt, const Tokenizer& tok, const McTask& task,
                       const std::function<void(int, int)>& progress = nullptr,
                       const Cluster* cluster = nullptr);

}  // namespace ss
