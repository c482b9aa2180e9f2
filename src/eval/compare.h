#pragma once
// Two models side by side on the same windows (SPEC.md §Evaluation, KL divergence): for every
// scored token, KL(P_A‖P_B) of the next-token distributions, whether the top-1 tokens agree, and
// both NLLs. Each window runs through both models; their logits are then made a block of rows at
// a time and compared at once, so memory holds a block × vocab per model, never text × vocab.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/cluster.h"
#include "base/thread_pool.h"
#include "eval/windows.h"
#include "runtime/runtime.h"

namespace ss {

// One position: a and b are the two models' logits (vocab each), target the next token.
struct RowComparison {
  double kl = 0;             // nats, in double from each side's log-softmax; exactly 0 when a == b
  int top_a = 0, top_b = 0;  // argmax, lowest id on ties
  double nll_a = 0, nll_b = 0;
};
RowComparison compare_row(std::span<const float> a, std::span<const float> b, int target);

struct TokenComparison {
  int64_t pos = 0;     // in the stream
  int window_pos = 0;  // in its window
  int token = 0;
  double kl = 0;
  bool top1_agree = false;
  double nll_a = 0, nll_b = 0;
};

struct CompareSummary {
  int64_t tokens = 0;
  int windows = 0;
  // KL over the scored tokens; quantiles interpolate linearly between order statistics
  // (numpy's default).
  double kl_mean = 0, kl_median = 0, kl_p90 = 0, kl_p99 = 0, kl_max = 0;
  double top1_agreement = 0;  // fraction of tokens
  double nll_a = 0, nll_b = 0, ppl_a = 0, ppl_b = 0;
  double delta_ppl = 0;  // ppl_b − ppl_a
};
CompareSummary summarize(std::span<const TokenComparison> tokens, int windows);

struct CompareResult {
  std::vector<TokenComparison> tokens;
  CompareSummary summary;
};

// Optional calls around each window: before(tokens) ahead of both models' passes (tokens as they
// run, BOS first), after() once both passes are done, returning what the window adds (bytes);
// fold(bytes) with each window's after() result and progress(done, total), in window order, on the
// root of a cluster.
struct CompareHooks {
  std::function<void(std::span<const int>)> before;
  std::function<std::string()> after;
  std::function<void(std::string_view)> fold;
  std::function<void(int, int)> progress;
};

// a and b must have the same vocabulary (the caller checks the tokenizers) and KV caches of at
// least plan.ctx. Each window's first token is replaced by bos_id (-1: kept). With a cluster,
// the windows are shared by its ranks and only the root's result is whole.
CompareResult compare_models(Runtime& a, Runtime& b, std::span<const int> stream,
                             const WindowPlan& plan, int bos_id, ThreadPool& pool,
                             const CompareHooks& hooks = {}, const Cluster* cluster = nullptr);

}  // namespace ss
