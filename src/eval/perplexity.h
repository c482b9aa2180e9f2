#pragma once
// Perplexity over a token stream cut into windows (eval/windows.h: every token after the first
// scored once, or llama.cpp's second halves). Each window runs from position 0 with BOS in place
// of its first token. NLL is computed in double from f32 logits.
#include <cstdint>
#include <functional>
#include <span>

#include "base/cluster.h"
#include "eval/windows.h"
#include "runtime/runtime.h"

namespace ss {

struct PerplexityResult {
  double nll_sum = 0;  // nats, over the scored tokens
  double nll_mean = 0;
  double ppl = 0;
  int64_t tokens_scored = 0;
  int windows = 0;
  double prepared_sum = 0;  // the sum of prepare()'s values over windows
};

// Each window's first token is replaced by bos_id (-1: kept, for models without BOS).
// progress(done, total) is called after each window; prepare(window), when given, runs before
// each window is scored (e.g. to choose per-input dormant heads and set the runtime's head mask)
// and returns a number summed into prepared_sum. With a cluster, the windows are shared by its
// ranks (each with its own runtime) and only the root's result is whole.
PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, const WindowPlan& plan,
                            int bos_id, const std::function<void(int, int)>& progress = nullptr,
                            const std::function<double(std::span<const int>)>& prepare = nullptr,
                            const Cluster* cluster = nullptr);

// The same with Scoring::All: max_windows 0 means all windows, stride 0 means ctx.
PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows = 0,
                            const std::function<void(int, int)>& progress = nullptr, int stride = 0,
                            const std::function<double(std::span<const int>)>& prepare = nullptr);

}  // namespace ss
