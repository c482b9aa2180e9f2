#pragma once
// The `compare` experiment: two models with one vocabulary on the same windows of a text, token
// by token (eval/compare.h), and with `stats` also the sink statistics of both on those windows
// and how they drifted (analysis/sink_drift.h), from the same forward passes.
#include <functional>
#include <optional>
#include <span>

#include "analysis/head_stats.h"
#include "analysis/sink_drift.h"
#include "base/thread_pool.h"
#include "eval/compare.h"
#include "model/model.h"

namespace ss {

struct CompareOptions {
  WindowPlan plan;
  int bos_id = -1;     // put first in each window (-1: the text's own first token)
  bool stats = false;  // also the sink drift
  SinkStatsOptions stat_options;
  const Cluster* cluster = nullptr;  // ranks sharing the windows (null: this process alone)
};

struct ModelComparison {
  CompareResult tokens;
  std::optional<SinkDrift> drift;  // with stats
};

// Both models must have the same vocabulary size (and, with stats, the same layers and heads):
// else InputError naming b_name.
ModelComparison run_compare(const Model& a, const Model& b, const std::string& b_name,
                            ThreadPool& pool, std::span<const int> ids, const CompareOptions& opt,
                            const std::function<void(int, int)>& progress = nullptr);

}  // namespace ss
