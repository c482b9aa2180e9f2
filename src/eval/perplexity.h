#pragma once
// Perplexity over a token stream cut into windows of ctx tokens, starting every `stride` tokens
// (stride = ctx: consecutive windows). Each window after the first starts with BOS in place of
// its first token. The first window scores positions 1..ctx-1; later windows score only the
// tokens no earlier window scored (with stride = ctx: positions 1..ctx-1 again). The last window
// may be shorter. NLL is computed in double from f32 logits.
#include <cstdint>
#include <functional>
#include <span>

#include "runtime/runtime.h"

namespace ss {

struct PerplexityResult {
  double nll_mean = 0;
  double ppl = 0;
  int64_t tokens_scored = 0;
  int windows = 0;
};

// Each window's first token is replaced by bos_id (-1: kept, for models without BOS).
// max_windows 0: all windows; stride 0: ctx. progress(done, total) is called after each window;
// prepare(window), when given, runs before each window is scored (e.g. to choose per-input
// dormant heads and set the runtime's head mask).
PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows = 0,
                            const std::function<void(int, int)>& progress = nullptr, int stride = 0,
                            const std::function<void(std::span<const int>)>& prepare = nullptr);

}  // namespace ss
