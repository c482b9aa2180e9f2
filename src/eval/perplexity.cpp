#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ss {

double token_nll(std::span<const float> logits, int target) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return std::log(sum) + mx - static_cast<double>(logits[target]);
}

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows, const std::function<void(int, int)>& progress) {
  const int vocab = rt.model().config.vocab_size;
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
    std::vector<float> logits = rt.forward(window, 0, Logits::All);
    for (size_t t = 1; t < window.size(); ++t) {
      nll_sum +=
          token_nll({logits.data() + (t - 1) * vocab, static_cast<size_t>(vocab)}, window[t]);
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
