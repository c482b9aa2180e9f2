#pragma once
// How the sink statistics of one model move in another (quantized, pruned, patched) on the same
// windows: per-head Δ of every statistic, the Spearman ρ of the bos_sink_score rankings, and the
// heads that enter or leave the sink set at ε (SPEC.md §Statistics).
#include <string>
#include <utility>
#include <vector>

#include "analysis/head_stats.h"

namespace ss {

// The mean over windows of every statistic of every head (statistics with Aggregate::Mode, an
// index such as top_key, are left out).
class HeadMeans {
 public:
  void add(const HeadTable& window);
  int windows() const { return windows_; }
  // Per head, [layer * n_heads + head]; empty before the first window.
  std::vector<double> mean(const std::string& name) const;

 private:
  HeadTable sum_;
  int windows_ = 0;
};

struct HeadDrift {
  int layer = 0, head = 0;
  std::vector<double> a, b;  // per statistic of SinkDrift::names
};

struct SinkDrift {
  double eps = 0;
  std::vector<std::string> names;                  // the statistics compared, in statistics() order
  std::vector<HeadDrift> heads;                    // [layer * n_heads + head]
  double bos_spearman = 0;                         // ρ of bos_sink_score, A against B
  int sinks_a = 0, sinks_b = 0;                    // heads with bos_sink_score > ε
  std::vector<std::pair<int, int>> entered, left;  // (layer, head): sinks in B only, in A only
};

// Both sides must cover the same n_layers × n_heads heads.
SinkDrift sink_drift(const HeadMeans& a, const HeadMeans& b, int n_heads, double eps);

}  // namespace ss
