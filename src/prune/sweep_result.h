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
  // With `prune --cost`: the exported model's cost, "cost.<name>" and "llama.<name>" -> value
  // (experiments/sweep_cost.h names them). Timings vary from run to run; the rest is exact.
  std::map<std::string, double> cost;
};

// The cost columns in the order they are written (those no point has are left out).
inline const std::vector<std::string>& cost_column_names() {
  static const std::vector<std::string> names = {
      "cost.physical",      "cost.params",           "cost.file_bytes",     "cost.prefill_tok_s",
      "cost.decode_tok_s",  "cost.prefill_speedup",  "cost.decode_speedup", "llama.prefill_tok_s",
      "llama.decode_tok_s", "llama.prefill_speedup", "llama.decode_speedup"};
  return names;
}

struct SweepResult {
  PruneScope scope = PruneScope::Global;
  HeadAction mode = HeadAction::Zero;  // Zero or Mean
  bool layers = false;                 // whole layers pruned, not heads
  std::vector<SweepPoint> points;      // criterion after criterion, ratios in the order given

  // "criterion", "ratio", "heads_pruned" (or "layers_pruned"), then the metric names of the
  // first point, then the cost columns any point has.
  std::vector<std::string> columns() const {
    std::vector<std::string> c = {"criterion", "ratio", layers ? "layers_pruned" : "heads_pruned"};
    if (!points.empty())
      for (const auto& [name, value] : points.front().metrics) c.push_back(name);
    for (const std::string& name : cost_column_names())
      for (const SweepPoint& p : points)
        if (p.cost.count(name)) {
          c.push_back(name);
          break;
        }
    return c;
  }
};

}  // namespace ss
