#pragma once
// Head-pruning criteria (SPEC.md §Pruning): each gives every (layer, head) a "removability"
// score; heads with the highest removability are pruned first.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/model.h"
#include "util/thread_pool.h"

namespace ss {

// Names accepted by --criteria: bos-sink, dormant:<score> (a dormant score of SPEC.md, e.g.
// dormant:ahon_ln), weight-magnitude, activation-magnitude, random, ablation-delta.
const std::vector<std::string>& criterion_names();
bool is_valid_criterion(const std::string& name);

// What the criteria need from the calibration set, computed once.
struct CalibrationData {
  std::vector<int> ids;  // calibration text tokens, without BOS
  int ctx = 256;
  int windows = 4;
  int bos_id = 1;
  uint64_t seed = 0;
};

// Removability of every head for one criterion, [layer * n_heads + head].
// progress(done, total) is called for the expensive ablation-delta criterion.
std::vector<double> removability(const Model& model, ThreadPool& pool, const std::string& criterion,
                                 const CalibrationData& calib,
                                 const std::function<void(int, int)>& progress = nullptr);

// ‖W_Q^(h)‖² + ‖W_O^(h)‖² + (‖W_K^(g)‖² + ‖W_V^(g)‖²) / (query heads per KV head), per head.
std::vector<double> weight_magnitude(const Model& model);

// Per-head mean of an analysis statistic (e.g. "bos_sink_score", "ahon_ln") over the
// calibration windows, BOS first.
std::vector<double> calibration_scores(const Model& model, ThreadPool& pool,
                                       const CalibrationData& calib, const std::string& stat);

// Mean z of every head over the calibration windows, for HeadAction::Mean.
std::vector<float> calibration_means(const Model& model, ThreadPool& pool,
                                     const CalibrationData& calib);

// Mean calibration NLL with the given heads zeroed (positions 1.. of each window).
double calibration_nll(const Model& model, ThreadPool& pool, const CalibrationData& calib,
                       const std::vector<std::pair<int, int>>& zeroed);

}  // namespace ss
