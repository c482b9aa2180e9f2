#pragma once
// Perplexity over a token stream cut into consecutive windows of ctx tokens. Each window after
// the first starts with BOS in place of its first token; positions 1..ctx-1 of every window are
// scored (the last window may be shorter). NLL is computed in double from f32 logits.
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

// max_windows 0: all windows. progress(done, total) is called after each window.
PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows = 0,
                            const std::function<void(int, int)>& progress = nullptr);

}  // namespace ss
