#pragma once
// Sink statistics over training, as experiments/trajectory.h computes them and
// report/trajectory_files.h writes them.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ss {

struct TrajectoryPoint {
  int64_t step = 0;
  std::string path;
  double sink_rate = 0, sink_rate_08 = 0, bos_sink_max = 0, bos_sink_mean = 0, nll_mean = 0;
  std::vector<double> bos_sink;              // per head [layer * n_heads + head]
  std::vector<std::pair<int, int>> dormant;  // flagged heads
};

struct TrajectoryResult {
  int ctx = 0, chunks = 0;  // windows of ctx tokens, chunks per checkpoint, BOS first
  float eps = 0;            // sink head: bos_sink_score > eps
  std::string dormant_score;
  double dormant_threshold = 0;
  int n_heads = 0;
  std::vector<TrajectoryPoint> points;  // by training step
};

}  // namespace ss
