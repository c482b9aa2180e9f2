#include "model/archs/gemma_common.h"

#include <cmath>
#include <limits>
#include <string>

namespace ss::gemma {

void read_sliding_layers(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c,
                         int global_every, int default_window) {
  const bool null_window = text.contains("sliding_window") && text["sliding_window"].is_null();
  c.sliding_window = cfg.find("sliding_window") ? cfg.dim("sliding_window")
                     : null_window              ? 0
                                                : default_window;
  const std::string pattern_text = global_every == 2 ? "alternating sliding and global layers"
                                                     : "five sliding layers per global one";
  if (const nlohmann::json* lt = cfg.find("layer_types")) {
    if (!lt->is_array() || static_cast<int>(lt->size()) != c.n_layers)
      cfg.fail(cfg.name("layer_types") + " is not an array of num_hidden_layers entries");
    bool all_full = true, pattern = true;
    for (size_t l = 0; l < lt->size(); ++l) {
      const nlohmann::json& e = (*lt)[l];
      const bool sliding = (static_cast<int>(l) + 1) % global_every != 0;
      all_full = all_full && e == "full_attention";
      pattern = pattern && e == (sliding ? "sliding_attention" : "full_attention");
    }
    if (all_full)
      c.sliding_window = 0;
    else if (!pattern || c.sliding_window == 0)
      cfg.fail(cfg.name("layer_types") + " do not follow the pattern of " + pattern_text);
  }
}

void read_query_scale(const HfConfig& cfg, ModelConfig& c, double default_scalar) {
  // (any double: the float it gives is 1 / sqrt of it)
  const double scalar =
      cfg.number("query_pre_attn_scalar", default_scalar, std::numeric_limits<double>::max());
  if (!(scalar > 0) || !std::isfinite(scalar))
    cfg.fail(cfg.name("query_pre_attn_scalar") + " must be a finite number > 0, got " +
             std::to_string(scalar));
  c.query_scale = static_cast<float>(1.0 / std::sqrt(scalar));
}

void write_sliding_layers(const ModelConfig& c, nlohmann::json& j, bool with_pattern) {
  nlohmann::json types = nlohmann::json::array();
  for (int l = 0; l < c.n_layers; ++l)
    types.push_back(c.is_sliding(l) ? "sliding_attention" : "full_attention");
  j["layer_types"] = types;
  if (c.sliding_window > 0) {
    j["sliding_window"] = c.sliding_window;
    if (with_pattern) j["sliding_window_pattern"] = c.global_every;
  } else {
    j["sliding_window"] = nullptr;
  }
}

void write_query_scale(const ModelConfig& c, nlohmann::json& j) {
  const float qs =
      c.query_scale > 0 ? c.query_scale : static_cast<float>(1.0 / std::sqrt(c.head_dim));
  const double scalar = 1.0 / (static_cast<double>(qs) * qs);
  const double whole = std::round(scalar);
  // (a whole number only where int64 holds it: a tiny scale gives a huge scalar)
  if (whole < 9e18 && static_cast<float>(1.0 / std::sqrt(whole)) == qs)
    j["query_pre_attn_scalar"] = static_cast<int64_t>(whole);
  else
    j["query_pre_attn_scalar"] = scalar;
}

}  // namespace ss::gemma
