#include "eval/perplexity.h"

#include <cmath>
#include <vector>

namespace ss {

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, const WindowPlan& plan,
                            int bos_id, const std::function<void(int, int)>& progress,
                            const std::function<void(std::span<const int>)>& prepare) {
  const std::vector<EvalWindow> windows = plan_windows(stream.size(), plan);
  PerplexityResult r;
  std::vector<int> tokens;
  for (size_t w = 0; w < windows.size(); ++w) {
    const EvalWindow& win = windows[w];
    tokens.assign(stream.begin() + win.begin, stream.begin() + win.end);
    if (bos_id >= 0) tokens[0] = bos_id;  // llama.cpp: only for models that add BOS
    if (prepare) prepare(tokens);
    const std::vector<double> nll = rt.forward_nll(tokens, 0);  // nll[i]: token i + 1
    for (size_t i = win.first_scored - win.begin; i < tokens.size(); ++i) {
      r.nll_sum += nll[i - 1];
      ++r.tokens_scored;
    }
    ++r.windows;
    if (progress) progress(static_cast<int>(w + 1), static_cast<int>(windows.size()));
  }
  r.nll_mean = r.tokens_scored ? r.nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows, const std::function<void(int, int)>& progress,
                            int stride, const std::function<void(std::span<const int>)>& prepare) {
  return perplexity(rt, stream, WindowPlan{ctx, stride, max_windows, Scoring::All}, bos_id,
                    progress, prepare);
}

}  // namespace ss
