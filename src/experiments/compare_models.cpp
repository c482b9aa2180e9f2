#include "experiments/compare_models.h"

#include "base/error.h"
#include "base/wire.h"
#include "runtime/runtime.h"

namespace ss {

ModelComparison run_compare(const Model& a, const Model& b, const std::string& b_name,
                            ThreadPool& pool, std::span<const int> ids, const CompareOptions& opt,
                            const std::function<void(int, int)>& progress) {
  const ModelConfig &ca = a.config, &cb = b.config;
  require(ca.vocab_size == cb.vocab_size, b_name,
          "has " + std::to_string(cb.vocab_size) + " logits per token, the first model " +
              std::to_string(ca.vocab_size));
  if (opt.stats)
    require(ca.n_layers == cb.n_layers && ca.n_heads == cb.n_heads, b_name,
            "--stats needs the same heads in both models: " + std::to_string(cb.n_layers) + "x" +
                std::to_string(cb.n_heads) + " here, " + std::to_string(ca.n_layers) + "x" +
                std::to_string(ca.n_heads) + " in the first");
  Runtime ra(a, pool, opt.plan.ctx), rb(b, pool, opt.plan.ctx);
  CompareHooks hooks;
  hooks.progress = progress;
  std::optional<SinkStatsObserver> stats_a, stats_b;
  HeadMeans means_a, means_b;
  if (opt.stats) {
    ra.add_observer(&stats_a.emplace(a, opt.stat_options));
    rb.add_observer(&stats_b.emplace(b, opt.stat_options));
    hooks.before = [&](std::span<const int> window) {
      stats_a->begin_window(static_cast<int>(window.size()));
      stats_b->begin_window(static_cast<int>(window.size()));
    };
    // Both tables of the window travel to the root, which adds them in window order.
    hooks.after = [&] {
      WireWriter w;
      for (const HeadTable& t : {stats_a->finish_window(), stats_b->finish_window()}) {
        w.put<uint64_t>(t.size());
        for (const auto& [name, values] : t) w.put_string(name).put_vector<double>(values);
      }
      return w.take();
    };
    hooks.fold = [&](std::string_view bytes) {
      WireReader r(bytes);
      for (HeadMeans* means : {&means_a, &means_b}) {
        HeadTable t;
        for (auto n = r.get<uint64_t>(); n > 0; --n) {
          std::string name = r.get_string();
          t[name] = r.get_vector<double>();
        }
        means->add(t);
      }
    };
  }
  ModelComparison out;
  out.tokens = compare_models(ra, rb, ids, opt.plan, opt.bos_id, pool, hooks, opt.cluster);
  if (opt.cluster && !opt.cluster->root()) return out;  // the root holds the result
  if (opt.stats) out.drift = sink_drift(means_a, means_b, ca.n_heads, opt.stat_options.eps);
  return out;
}

}  // namespace ss
