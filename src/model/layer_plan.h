#pragma once
// How one layer runs, decided once from the model's configuration: the runtime follows the plan
// and knows no architecture by name.
#include <vector>

#include "model/config.h"

namespace ss {

struct LayerPlan {
  int window = 0;        // keys a query sees, itself included (0: every earlier key)
  float rope_theta = 0;  // rope base
  float rope_scale = 1;  // linear rope scaling: positions are divided by this
  RopeStyle rope_style = RopeStyle::Adjacent;
  FfnAct ffn_act = FfnAct::Silu;
  double query_scale = 0;   // attention scores are q·k times this
  double attn_softcap = 0;  // > 0: scores are soft-capped to (−c, c) (Gemma 2)
};

// Sliding-window layers with a rope of their own (Gemma 3's local layers) use rope_theta_swa and
// no scaling; every other layer rope_theta and rope_scale.
LayerPlan layer_plan(const ModelConfig& c, int layer);
std::vector<LayerPlan> layer_plans(const ModelConfig& c);

}  // namespace ss
