#pragma once
// Whole-layer pruning criteria: each gives every layer a removability, and the layers of highest
// removability are dropped first (prune/drop_layers.h; `prune --unit layer`).
//   layer-bos-sink        the layer's mean bos_sink_score over its heads (Sok et al.: deep
//                         layers whose heads dump attention on BOS are redundant), highest first
//   block-influence       ShortGPT's BI = 1 − cos(x_in, x_out) of the block, lowest first
//   layer-ablation-delta  the calibration loss increase of skipping the layer alone, lowest first
//   random                seeded
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "prune/criteria.h"

namespace ss {

const std::vector<std::string>& layer_criterion_names();
bool is_valid_layer_criterion(const std::string& name);

// Removability of every layer, [n_layers]: a pure function of the model and the inputs.
// progress(done, total) is called for layer-ablation-delta.
std::vector<double> layer_removability(const Model& model, const std::string& criterion,
                                       const CriterionInputs& in,
                                       const std::function<void(int, int)>& progress = nullptr);

// The round(r·L) layers of highest removability (ties: the lower layer), sorted.
std::vector<int> select_layers(const std::vector<double>& removability, double ratio);

}  // namespace ss
