#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ss {

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows, const std::function<void(int, int)>& progress) {
  const size_t n = stream.size();
  int total = static_cast<int>((n + ctx - 1) / ctx);
  // A final window of a single token scores nothing.
  if (total > 0 && n - static_cast<size_t>(total - 1) * ctx < 2) --total;
  if (max_windows > 0) total = std::min(total, max_windows);

  PerplexityResult r;
  double nll_sum = 0;
  std::vector<int> window;
  for (int w = 0; w < total; ++w) {
    const size_t begin = static_cast<size_t>(w) * ctx, end = std::min(n, begin + ctx);
    window.assign(stream.begin() + begin, stream.begin() + end);
    window[0] = bos_id;
    for (double nll : rt.forward_nll(window, 0)) {
      nll_sum += nll;
      ++r.tokens_scored;
    }
    ++r.windows;
    if (progress) progress(w + 1, total);
  }
  r.nll_mean = r.tokens_scored ? nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

}  // namespace ss
