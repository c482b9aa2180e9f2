#pragma once
// The calibration set of pruning and static dormant flagging: its windows, and everything the
// criteria read from them, each computed once per set however many criteria ask.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "prune/criteria.h"

namespace ss {

class Runtime;

// The calibration windows: ids (text tokens, without BOS) in `windows` windows of ctx tokens,
// BOS first.
struct CalibrationData {
  std::vector<int> ids;
  int ctx = 256;
  int windows = 4;
  int bos_id = 1;
  uint64_t seed = 0;  // of the random criterion
};

class Calibration {
 public:
  Calibration(const Model& model, ThreadPool& pool, CalibrationData data);

  // Per-head mean of a statistic ([layer * n_heads + head]) over the windows. The first call runs
  // the analysis once for every statistic; later calls read its result.
  const std::vector<double>& stat_means(const std::string& stat);
  // Mean z of every head over the windows, for HeadAction::Mean.
  std::vector<float> z_means();
  // Mean NLL (positions 1.. of each window) with the given heads zeroed.
  double nll(const std::vector<std::pair<int, int>>& zeroed);
  // Mean NLL with the given layers skipped (Runtime::set_skipped_layers).
  double nll_without_layers(const std::vector<int>& skipped);
  // Each layer's mean block influence over the windows (computed once).
  const std::vector<double>& block_influence();
  // What prune/criteria.h reads, served by this calibration.
  CriterionInputs criterion_inputs();

 private:
  const Model& model_;
  ThreadPool& pool_;
  CalibrationData data_;
  std::optional<std::map<std::string, std::vector<double>>> stats_;
  std::optional<std::vector<double>> block_influence_;
  // Mean NLL of rt (head mask and skipped layers set) over the windows.
  double mean_nll(Runtime& rt) const;
};

}  // namespace ss
