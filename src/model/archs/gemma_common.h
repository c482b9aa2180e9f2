#pragma once
// config.json keys the Gemma architectures (gemma2, gemma3) share: sliding-window layers given by
// sliding_window, sliding_window_pattern and layer_types, and the query scale
// 1/sqrt(query_pre_attn_scalar).
#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/hf_config.h"

namespace ss::gemma {

// Reads the window and checks that layer_types, when given, follow the architecture's pattern
// (every global_every-th layer global); all "full_attention" means no sliding layers. The window
// defaults to default_window; an explicit null means none.
void read_sliding_layers(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c,
                         int global_every, int default_window);
// query_scale from query_pre_attn_scalar (default: default_scalar).
void read_query_scale(const HfConfig& cfg, ModelConfig& c, double default_scalar);

// layer_types and sliding_window (null when none); with_pattern adds sliding_window_pattern.
void write_sliding_layers(const ModelConfig& c, nlohmann::json& j, bool with_pattern);
// query_pre_attn_scalar: an integer when that reproduces the query scale exactly.
void write_query_scale(const ModelConfig& c, nlohmann::json& j);

}  // namespace ss::gemma
