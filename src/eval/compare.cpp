#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "base/wire.h"

namespace ss {

namespace {

size_t argmax(std::span<const float> x) {
  size_t best = 0;
  for (size_t v = 1; v < x.size(); ++v)
    if (x[v] > x[best]) best = v;  // strict: the lowest id wins ties
  return best;
}

double log_sum_exp(std::span<const float> x, double mx) {
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
  return mx + std::log(sum);
}

// The q-quantile of sorted values, interpolating between order statistics.
double quantile(const std::vector<double>& sorted, double q) {
  const double at = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(at), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (at - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

RowComparison compare_row(std::span<const float> a, std::span<const float> b, int target) {
  RowComparison r;
  r.top_a = static_cast<int>(argmax(a));
  r.top_b = static_cast<int>(argmax(b));
  const double max_a = a[r.top_a], max_b = b[r.top_b];
  // KL = Σ p_a (log p_a − log p_b) = Σ p_a (a − b) − lse(a) + lse(b): one exp per logit of a,
  // and a − b is exact in double, so a == b gives 0 exactly.
  double sum_a = 0, weighted = 0;
  for (size_t v = 0; v < a.size(); ++v) {
    const double e = std::exp(static_cast<double>(a[v]) - max_a);
    sum_a += e;
    weighted += e * (static_cast<double>(a[v]) - static_cast<double>(b[v]));
  }
  const double lse_a = max_a + std::log(sum_a), lse_b = log_sum_exp(b, max_b);
  r.kl = std::max(0.0, weighted / sum_a - lse_a + lse_b);  // ≥ 0 up to rounding
  r.nll_a = lse_a - static_cast<double>(a[target]);
  r.nll_b = lse_b - static_cast<double>(b[target]);
  return r;
}

CompareSummary summarize(std::span<const TokenComparison> tokens, int windows) {
  CompareSummary s;
  s.tokens = static_cast<int64_t>(tokens.size());
  s.windows = windows;
  if (tokens.empty()) return s;
  std::vector<double> kl;
  kl.reserve(tokens.size());
  double kl_sum = 0, nll_a = 0, nll_b = 0;
  int64_t agree = 0;
  for (const TokenComparison& t : tokens) {
    kl.push_back(t.kl);
    kl_sum += t.kl, nll_a += t.nll_a, nll_b += t.nll_b;
    agree += t.top1_agree;
  }
  const double n = static_cast<double>(tokens.size());
  std::sort(kl.begin(), kl.end());
  s.kl_mean = kl_sum / n;
  s.kl_median = quantile(kl, 0.5);
  s.kl_p90 = quantile(kl, 0.9);
  s.kl_p99 = quantile(kl, 0.99);
  s.kl_max = kl.back();
  s.top1_agreement = static_cast<double>(agree) / n;
  s.nll_a = nll_a / n, s.nll_b = nll_b / n;
  s.ppl_a = std::exp(s.nll_a), s.ppl_b = std::exp(s.nll_b);
  s.delta_ppl = s.ppl_b - s.ppl_a;
  return s;
}

CompareResult compare_models(Runtime& a, Runtime& b, std::span<const int> stream,
                             const WindowPlan& plan, int bos_id, ThreadPool& pool,
                             const CompareHooks& hooks, const Cluster* cluster) {
  const size_t V = a.model().config.vocab_size;
  if (static_cast<size_t>(b.model().config.vocab_size) != V)
    throw std::logic_error("compare_models: the models' vocabularies differ in size");
  const std::vector<EvalWindow> windows = plan_windows(stream.size(), plan);
  constexpr size_t kBlock = 64;  // logit rows per model at a time
  std::vector<float> logits_a(kBlock * V), logits_b(kBlock * V);
  std::vector<RowComparison> rows(kBlock);
  CompareResult out;
  std::vector<int> tokens;
  // A window's token comparisons (and what hooks.after made of it) on its rank, folded on the
  // root in window order.
  auto run_window = [&](size_t w) {
    const EvalWindow& win = windows[w];
    tokens.assign(stream.begin() + win.begin, stream.begin() + win.end);
    if (bos_id >= 0) tokens[0] = bos_id;
    if (hooks.before) hooks.before(tokens);
    a.forward_hidden(tokens, 0);
    b.forward_hidden(tokens, 0);
    const std::string extra = hooks.after ? hooks.after() : std::string();
    std::vector<TokenComparison> compared;
    // Row r's logits score the token at window position r + 1.
    const size_t first_row = win.first_scored - win.begin - 1, end_row = tokens.size() - 1;
    for (size_t r0 = first_row; r0 < end_row; r0 += kBlock) {
      const size_t n = std::min(kBlock, end_row - r0);
      a.logits(r0, n, logits_a.data());
      b.logits(r0, n, logits_b.data());
      pool.parallel_for(n, [&](size_t i0, size_t i1, int) {
        for (size_t i = i0; i < i1; ++i)
          rows[i] = compare_row({logits_a.data() + i * V, V}, {logits_b.data() + i * V, V},
                                tokens[r0 + i + 1]);
      });
      for (size_t i = 0; i < n; ++i) {
        const RowComparison& c = rows[i];
        const size_t at = r0 + i + 1;
        compared.push_back({static_cast<int64_t>(win.begin + at), static_cast<int>(at),
                            stream[win.begin + at], c.kl, c.top_a == c.top_b, c.nll_a, c.nll_b});
      }
    }
    WireWriter bytes;
    bytes.put_vector<TokenComparison>(compared).put_string(extra);
    return bytes.take();
  };
  auto fold_window = [&](size_t w, std::string_view bytes) {
    WireReader in(bytes);
    for (const TokenComparison& t : in.get_vector<TokenComparison>()) out.tokens.push_back(t);
    const std::string extra = in.get_string();
    if (hooks.fold) hooks.fold(extra);
    if (hooks.progress) hooks.progress(static_cast<int>(w + 1), static_cast<int>(windows.size()));
  };
  distribute(cluster ? *cluster : single_process(), windows.size(), run_window, fold_window);
  out.summary = summarize(out.tokens, static_cast<int>(windows.size()));
  return out;
}

}  // namespace ss
