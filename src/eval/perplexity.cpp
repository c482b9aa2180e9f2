#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ss {

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows, const std::function<void(int, int)>& progress,
                            int stride, const std::function<void(std::span<const int>)>& prepare) {
  const size_t n = stream.size(), step = stride > 0 ? stride : ctx;
  // Window starts: 0, step, 2·step, ... while a window still has a token to score.
  std::vector<size_t> starts;
  for (size_t begin = 0, scored_to = 0; begin + 1 < n; begin += step) {
    const size_t end = std::min(n, begin + ctx);
    if (end <= std::max(scored_to, begin + 1)) break;  // nothing new to score
    starts.push_back(begin);
    scored_to = end;
    if (end == n) break;
  }
  if (max_windows > 0 && starts.size() > static_cast<size_t>(max_windows))
    starts.resize(max_windows);

  PerplexityResult r;
  double nll_sum = 0;
  size_t scored_to = 0;  // stream positions before this one are already scored
  std::vector<int> window;
  for (size_t w = 0; w < starts.size(); ++w) {
    const size_t begin = starts[w], end = std::min(n, begin + ctx);
    window.assign(stream.begin() + begin, stream.begin() + end);
    if (bos_id >= 0) window[0] = bos_id;  // llama.cpp: only for models that add BOS
    if (prepare) prepare(window);
    const std::vector<double> nll = rt.forward_nll(window, 0);  // nll[i]: token i + 1
    for (size_t i = std::max(scored_to, begin + 1) - begin; i < window.size(); ++i) {
      nll_sum += nll[i - 1];
      ++r.tokens_scored;
    }
    scored_to = end;
    ++r.windows;
    if (progress) progress(static_cast<int>(w + 1), static_cast<int>(starts.size()));
  }
  r.nll_mean = r.tokens_scored ? nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

}  // namespace ss
