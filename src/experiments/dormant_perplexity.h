#pragma once
// Perplexity with dormant heads zeroed (SPEC.md §Dormant heads): the heads a rule flags are
// chosen either once from calibration windows (static) or on each evaluated window from that
// window's own scores (per-input, the paper's protocol: a scoring pass, then the scored pass).
#include <functional>
#include <optional>
#include <span>

#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "experiments/calibrate.h"
#include "model/model.h"
#include "prune/dormant_rule.h"
#include "runtime/head_mask.h"

namespace ss {

struct DormantOptions {
  DormantRule rule;
  // Static: flag once from these calibration windows; absent: per input.
  std::optional<CalibrationData> calibration;
};

struct DormantPerplexity {
  PerplexityResult perplexity;
  double heads_flagged_mean = 0;  // per window (static: the one set's size)
};

// Perplexity of ids (see eval/perplexity.h) with `mask` applied and, when `dormant` is given, the
// flagged heads zeroed on top. Static flagging adds its heads to `mask` itself. With a cluster,
// the windows are shared by its ranks and only the root's result is whole.
DormantPerplexity dormant_perplexity(const Model& model, ThreadPool& pool, std::span<const int> ids,
                                     const WindowPlan& plan, int bos_id, HeadMask& mask,
                                     const std::optional<DormantOptions>& dormant,
                                     const std::function<void(int, int)>& progress = nullptr,
                                     const Cluster* cluster = nullptr);

}  // namespace ss
