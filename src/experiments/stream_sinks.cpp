#include "experiments/stream_sinks.h"

#include "base/error.h"

namespace ss {

StreamSinksResult stream_sinks(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                               const StreamSinksOptions& opt,
                               const std::function<void(Runtime&)>& setup,
                               const std::function<void(size_t)>& progress) {
  const CachePolicy& p = opt.policy;
  // Re-computing policies (recompute:W and the like) run whole windows afresh: no cache slot is
  // evicted, and the observer follows one token per step only.
  using Kind = CachePolicy::Kind;
  if (p.kind != Kind::Dense && p.kind != Kind::Window && p.kind != Kind::SinkWindow)
    throw InputError("--cache", "'" + p.name() +
                                    "' re-encodes every window from scratch, so no cache slot is "
                                    "ever evicted: use window:W or sink:K+window:W");
  require(tokens.size() >= 2, "--tokens", "streaming needs at least two tokens");
  const int n = static_cast<int>(tokens.size());
  const ModelConfig& c = model.config;
  const int keep = p.kind == CachePolicy::Kind::SinkWindow ? p.sinks : 0;
  // stream_nll runs the first n − 1 tokens (each scores the next).
  StreamSinksObserver obs(c.n_layers, c.n_heads, keep, std::max(1, p.capacity(n)),
                          tokens.first(tokens.size() - 1), opt.step_bins);
  const StreamResult s = stream_nll(
      model, pool, tokens, p, opt.positions,
      [&](Runtime& rt) {
        rt.set_head_mask(opt.mask);
        rt.add_observer(&obs);
        if (setup) setup(rt);
      },
      progress);
  StreamSinksResult r = obs.result();
  r.policy = p.name();
  r.positions = opt.positions == StreamPositions::Cache ? "cache" : "original";
  r.window = p.kind == CachePolicy::Kind::Dense ? 0 : p.window;
  double sum = 0;
  for (double v : s.nll) sum += v;
  r.nll_mean = s.nll.empty() ? 0 : sum / static_cast<double>(s.nll.size());
  r.seconds = s.seconds;
  return r;
}

}  // namespace ss
