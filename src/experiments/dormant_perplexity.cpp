#include "experiments/dormant_perplexity.h"

#include "analysis/head_stats.h"
#include "runtime/runtime.h"

namespace ss {

DormantPerplexity dormant_perplexity(const Model& model, ThreadPool& pool, std::span<const int> ids,
                                     const WindowPlan& plan, int bos_id, HeadMask& mask,
                                     const std::optional<DormantOptions>& dormant,
                                     const std::function<void(int, int)>& progress,
                                     const Cluster* cluster) {
  Runtime rt(model, pool, plan.ctx);
  rt.set_head_mask(&mask);
  HeadMask window_mask = mask;
  double flagged_sum = 0;
  std::function<double(std::span<const int>)> prepare;
  if (dormant && dormant->calibration) {
    Calibration calib(model, pool, *dormant->calibration);
    const auto heads =
        flag_dormant(calib.stat_means(dormant->rule.score), dormant->rule, model.config);
    for (auto [l, h] : heads) mask.set(l, h, HeadAction::Zero);
    flagged_sum = static_cast<double>(heads.size());
  } else if (dormant) {
    prepare = [&](std::span<const int> window) {
      SinkStatsObserver stats(model, {});
      stats.begin_window(static_cast<int>(window.size()));
      rt.set_head_mask(&mask);
      rt.add_observer(&stats);
      rt.forward(window, 0, Logits::None);
      rt.clear_observers();
      window_mask = mask;
      const auto heads =
          flag_dormant(stats.finish_window()[dormant->rule.score], dormant->rule, model.config);
      for (auto [l, h] : heads) window_mask.set(l, h, HeadAction::Zero);
      rt.set_head_mask(&window_mask);
      return static_cast<double>(heads.size());
    };
  }
  DormantPerplexity out;
  out.perplexity = perplexity(rt, ids, plan, bos_id, progress, prepare, cluster);
  if (prepare) flagged_sum = out.perplexity.prepared_sum;
  const int windows = out.perplexity.windows;
  out.heads_flagged_mean = prepare && windows ? flagged_sum / windows : flagged_sum;
  return out;
}

}  // namespace ss
