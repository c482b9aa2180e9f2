#pragma once
// Head-pruning criteria (SPEC.md §Pruning): each gives every (layer, head) a "removability"
// score; heads with the highest removability are pruned first.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"

namespace ss {

// Names accepted by --criteria: bos-sink, dormant:<score> (a dormant score of SPEC.md, e.g.
// dormant:ahon_ln), weight-magnitude, activation-magnitude, random, ablation-delta.
const std::vector<std::string>& criterion_names();
bool is_valid_criterion(const std::string& name);

// What the criteria read from the calibration set (experiments/calibrate.h serves it, computing
// each thing once).
struct CriterionInputs {
  // Per-head mean of an analysis statistic over the calibration windows, BOS first.
  std::function<const std::vector<double>&(const std::string& stat)> stat_means;
  // Mean calibration NLL with the given heads zeroed.
  std::function<double(const std::vector<std::pair<int, int>>& zeroed)> nll_with;
  uint64_t seed = 0;  // of the random criterion
  // For the layer criteria (prune/layer_criteria.h): each layer's mean block influence
  // (analysis/block_influence.h), and the mean calibration NLL with the given layers skipped.
  std::function<const std::vector<double>&()> block_influence;
  std::function<double(const std::vector<int>& skipped)> nll_without_layers;
};

// Removability of every head for one criterion, [layer * n_heads + head]: a pure function of the
// model and the inputs. progress(done, total) is called for the expensive ablation-delta.
std::vector<double> removability(const Model& model, const std::string& criterion,
                                 const CriterionInputs& in,
                                 const std::function<void(int, int)>& progress = nullptr);

// ‖W_Q^(h)‖² + ‖W_O^(h)‖² + (‖W_K^(g)‖² + ‖W_V^(g)‖²) / (query heads per KV head), per head.
std::vector<double> weight_magnitude(const Model& model);

}  // namespace ss
