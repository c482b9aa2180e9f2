#include "experiments/quant_study.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "analysis/massive.h"
#include "base/error.h"
#include "experiments/fake_quant.h"

namespace ss {

std::vector<std::vector<int>> text_windows(std::span<const int> stream, int ctx, int bos_id,
                                           int max_windows) {
  std::vector<std::vector<int>> windows;
  const size_t n = stream.size(), step = static_cast<size_t>(ctx);
  for (size_t begin = 0; begin + 1 < n; begin += step) {
    if (max_windows > 0 && windows.size() == static_cast<size_t>(max_windows)) break;
    std::vector<int>& w = windows.emplace_back(
        stream.begin() + static_cast<std::ptrdiff_t>(begin),
        stream.begin() + static_cast<std::ptrdiff_t>(std::min(n, begin + step)));
    if (bos_id >= 0) w[0] = bos_id;
  }
  return windows;
}

namespace {

// BOS, prefix, the rest of the window.
std::vector<int> with_prefix(const std::vector<int>& window, std::span<const int> prefix) {
  std::vector<int> out{window[0]};
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), window.begin() + 1, window.end());
  return out;
}

// Passes the residual stream after each block, from position `skip` on, to a MassiveObserver.
class AfterCushion : public Observer {
 public:
  AfterCushion(const ModelConfig& c, ThreadPool& pool, int skip)
      : massive_(c, 1), dim_(c.dim), skip_(skip) {
    massive_.use_pool(&pool);
  }
  void begin_window(int w, std::span<const int> ids) { massive_.begin_window(w, ids); }
  void on_resid_post(int layer, int pos0, int n, const float* x) override {
    const int first = std::clamp(skip_ - pos0, 0, n);
    if (first < n)
      massive_.on_resid_post(layer, pos0 + first, n - first,
                             x + static_cast<size_t>(first) * static_cast<size_t>(dim_));
  }
  std::vector<MassiveEntry> entries() const { return massive_.entries(); }

 private:
  MassiveObserver massive_;
  int dim_, skip_;
};

}  // namespace

PerplexityResult prefixed_perplexity(Runtime& rt, const std::vector<std::vector<int>>& windows,
                                     std::span<const int> prefix) {
  PerplexityResult r;
  double sum = 0;
  for (const std::vector<int>& w : windows) {
    const std::vector<double> nll = rt.forward_nll(with_prefix(w, prefix), 0);
    // nll[i] scores token i + 1: the text tokens are those after BOS and the prefix.
    for (size_t i = prefix.size(); i < nll.size(); ++i) sum += nll[i], ++r.tokens_scored;
    ++r.windows;
  }
  r.nll_mean = r.tokens_scored ? sum / static_cast<double>(r.tokens_scored) : 0.0;
  r.ppl = std::exp(r.nll_mean);
  return r;
}

Calibrated calibrate_inputs(Runtime& rt, ThreadPool& pool,
                            const std::vector<std::vector<int>>& windows,
                            std::span<const int> prefix, int cushion) {
  const ModelConfig& c = rt.model().config;
  InputMaxima maxima(c.n_layers, cushion);
  AfterCushion resid(c, pool, cushion);
  rt.set_linear_input(&maxima);
  rt.add_observer(&resid);
  for (size_t w = 0; w < windows.size(); ++w) {
    const std::vector<int> ids = with_prefix(windows[w], prefix);
    resid.begin_window(static_cast<int>(w), ids);
    rt.forward(ids, 0, Logits::None);
  }
  rt.clear_observers();
  rt.set_linear_input(nullptr);

  Calibrated out;
  out.maxima = maxima.all();
  for (double m : out.maxima) out.objective = std::max(out.objective, m);
  out.layers.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    LayerOutliers& lo = out.layers[static_cast<size_t>(l)];
    lo.layer = l;
    for (int s = 0; s < kLinearSites; ++s)
      lo.input_max[static_cast<size_t>(s)] = maxima.max(l, static_cast<LinearSite>(s));
  }
  for (const MassiveEntry& e : resid.entries()) {
    LayerOutliers& lo = out.layers[static_cast<size_t>(e.layer)];
    lo.resid_max = std::abs(e.value);
    lo.resid_median = e.median_abs;
  }
  return out;
}

std::vector<int> frequent_tokens(std::span<const int> stream, int count, int bos_id) {
  std::map<int, long> freq;
  for (int t : stream)
    if (t != bos_id) ++freq[t];
  std::vector<std::pair<int, long>> order(freq.begin(), freq.end());  // ascending id
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<int> out;
  for (size_t i = 0; i < order.size() && out.size() < static_cast<size_t>(count); ++i)
    out.push_back(order[i].first);
  return out;
}

QuantStudyResult quant_study(const Model& model, ThreadPool& pool, std::span<const int> calib,
                             std::span<const int> eval, const std::vector<NamedPrefix>& fixed,
                             const QuantStudyOptions& opt,
                             const std::function<void(int, int)>& progress) {
  if (opt.prefix_len < 1 || opt.prefix_len > kMaxPrefix)
    throw std::invalid_argument("prefix_len out of range");
  for (const NamedPrefix& p : fixed)
    if (p.tokens.size() > static_cast<size_t>(kMaxPrefix))
      throw InputError(p.name, "a prefix of " + std::to_string(p.tokens.size()) +
                                   " tokens, more than " + std::to_string(kMaxPrefix));
  QuantStudyResult r;
  const auto cw = text_windows(calib, opt.ctx, opt.bos_id, opt.chunks);
  const auto ew = text_windows(eval, opt.ctx, opt.bos_id, opt.chunks);
  r.calib_windows = static_cast<int>(cw.size());
  r.eval_windows = static_cast<int>(ew.size());
  r.candidates = frequent_tokens(calib, opt.candidates, opt.bos_id);

  Runtime fp(model, pool, opt.ctx + kMaxPrefix);
  const Model qmodel = fake_quant_weights(model, opt.bits);
  Runtime quant(qmodel, pool, opt.ctx + kMaxPrefix);

  const int n_settings = 3 + static_cast<int>(fixed.size());  // none, bos, fixed..., search
  const int total = opt.prefix_len * static_cast<int>(r.candidates.size()) + 1 + 3 * n_settings;
  int done = 0;
  auto tick = [&] {
    if (progress) progress(++done, total);
  };

  // Greedy search: append the candidate with the lowest objective while it lowers it.
  std::vector<int> prefix;
  double best = calibrate_inputs(fp, pool, cw, prefix, 1).objective;
  tick();
  r.search_start = best;
  r.stop_reason = "length " + std::to_string(opt.prefix_len) + " reached";
  for (int step = 0; step < opt.prefix_len; ++step) {
    int best_token = -1;
    double step_best = 0;
    for (int t : r.candidates) {
      prefix.push_back(t);
      const double o =
          calibrate_inputs(fp, pool, cw, prefix, 1 + static_cast<int>(prefix.size())).objective;
      prefix.pop_back();
      tick();
      if (best_token < 0 || o < step_best) best_token = t, step_best = o;
    }
    if (best_token < 0 || step_best >= best) {
      r.stop_reason = "no candidate lowers the objective at length " + std::to_string(step + 1);
      break;
    }
    prefix.push_back(best_token);
    best = step_best;
    r.search.push_back({best_token, best});
  }

  std::vector<NamedPrefix> settings{{"none", {}}, {"bos", {}}};
  settings.insert(settings.end(), fixed.begin(), fixed.end());
  settings.push_back({"search", prefix});
  for (const NamedPrefix& p : settings) {
    SettingResult& s = r.settings.emplace_back();
    s.name = p.name;
    s.prefix = p.tokens;
    s.cushion = p.name == "none" ? 0 : 1 + static_cast<int>(p.tokens.size());
    s.calib = calibrate_inputs(fp, pool, cw, p.tokens, s.cushion);
    tick();
    s.fp = prefixed_perplexity(fp, ew, p.tokens);
    tick();
    FakeQuantInputs fq(s.calib.maxima, opt.bits, s.cushion);
    quant.set_linear_input(&fq);
    s.quant = prefixed_perplexity(quant, ew, p.tokens);
    quant.set_linear_input(nullptr);
    tick();
  }
  return r;
}

}  // namespace ss
