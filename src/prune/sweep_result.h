#pragma once
// What a pruning sweep found (experiments/sweep.h runs it; report/sweep_files.h writes it as
// sweep.json, sweep.csv, points/*.json and report.html).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prune/select.h"
#include "runtime/head_mask.h"

namespace ss {

// One criterion at one ratio.
struct SweepPoint {
  std::string criterion;
  double ratio = 0;
  std::vector<std::pair<int, int>> heads;  // the pruned (layer, head) pairs, in selection order
  std::vector<int> layers;                 // or the skipped layers (`prune --unit layer`)
  // "<eval name>.<metric>" -> value, e.g. "ppl:valid.ppl" (ordered by name, as the columns).
  std::map<std::string, double> metrics;
};

struct SweepResult {
  PruneScope scope = PruneScope::Global;
  HeadAction mode = HeadAction::Zero;  // Zero or Mean
  bool layers = false;                 // whole layers pruned, not heads
  std::vector<SweepPoint> points;      // criterion after criterion, ratios in the order given

  // "criterion", "ratio", "heads_pruned" (or "layers_pruned"), then the metric names of the
  // first point.
  std::vector<std::string> columns() const {
    std::vector<std::string> c = {"criterion", "ratio", layers ? "layers_pruned" : "heads_pruned"};
    if (!points.empty())
      for (const auto& [name, value] : points.front().metrics) c.push_back(name);
    return c;
  }
};

}  // namespace ss
