#include "eval/perplexity.h"

#include <cmath>
#include <vector>

#include "base/cluster.h"
#include "base/wire.h"

namespace ss {

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, const WindowPlan& plan,
                            int bos_id, const std::function<void(int, int)>& progress,
                            const std::function<double(std::span<const int>)>& prepare,
                            const Cluster* cluster) {
  const std::vector<EvalWindow> windows = plan_windows(stream.size(), plan);
  PerplexityResult r;
  std::vector<int> tokens;
  // A window's scored losses and its prepare() value, made on its rank, folded on the root in
  // window order.
  auto run_window = [&](size_t w) {
    const EvalWindow& win = windows[w];
    tokens.assign(stream.begin() + win.begin, stream.begin() + win.end);
    if (bos_id >= 0) tokens[0] = bos_id;  // llama.cpp: only for models that add BOS
    const double prepared = prepare ? prepare(tokens) : 0.0;
    const std::vector<double> nll = rt.forward_nll(tokens, 0);  // nll[i]: token i + 1
    const size_t first = win.first_scored - win.begin;
    WireWriter out;
    out.put<double>(prepared).put_vector<double>(std::span(nll).subspan(first - 1));
    return out.take();
  };
  auto fold_window = [&](size_t w, std::string_view bytes) {
    WireReader in(bytes);
    r.prepared_sum += in.get<double>();
    for (double nll : in.get_vector<double>()) {
      r.nll_sum += nll;
      ++r.tokens_scored;
    }
    ++r.windows;
    if (progress) progress(static_cast<int>(w + 1), static_cast<int>(windows.size()));
  };
  distribute(cluster ? *cluster : single_process(), windows.size(), run_window, fold_window);
  r.nll_mean = r.tokens_scored ? r.nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

PerplexityResult perplexity(Runtime& rt, std::span<const int> stream, int ctx, int bos_id,
                            int max_windows, const std::function<void(int, int)>& progress,
                            int stride,
                            const std::function<double(std::span<const int>)>& prepare) {
  return perplexity(rt, stream, WindowPlan{ctx, stride, max_windows, Scoring::All}, bos_id,
                    progress, prepare);
}

}  // namespace ss
