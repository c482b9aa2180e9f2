#include "model/layer_plan.h"

#include <cmath>

namespace ss {

LayerPlan layer_plan(const ModelConfig& c, int layer) {
  LayerPlan p;
  const bool sliding = c.is_sliding(layer);
  p.window = c.window(layer);
  const bool local = sliding && c.swa_local_rope;
  p.rope_theta = local ? c.rope_theta_swa : c.rope_theta;
  p.rope_scale = local ? 1.0f : c.rope_scale;
  p.attn_softcap = c.attn_logit_softcap;
  p.rope_style = c.rope_style;
  p.ffn_act = c.ffn_act;
  p.query_scale = c.query_scale > 0 ? static_cast<double>(c.query_scale)
                                    : 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  return p;
}

std::vector<LayerPlan> layer_plans(const ModelConfig& c) {
  std::vector<LayerPlan> plans;
  for (int l = 0; l < c.n_layers; ++l) plans.push_back(layer_plan(c, l));
  return plans;
}

}  // namespace ss
