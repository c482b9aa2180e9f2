#pragma once
// The files of `sinkscope mixing` (analysis/mixing_result.h), written atomically to a directory:
//   over_mixing.csv    condition, layer, mu_mean, mu_sd, windows
//   spread.csv         condition, perturbation, layer, delta_mean, delta_sd, ratio_mean,
//                      ratio_sd, windows (means over the tokens after the perturbed one)
//   spread_tokens.csv  condition, perturbation, offset, layer, delta_mean, ratio_mean, windows
//                      (the token × layer heatmap; offset 0 is the perturbed token)
//   mixing.json        all of it, with the options, the ablated heads and each window's ids
//   report.html        curves per layer and the heatmaps, inline SVG
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/mixing_result.h"

namespace ss {

nlohmann::json to_json(const MixingResult& r);

// run: what run.json gets besides the result's options (run_info of the command).
void write_mixing(const std::string& dir, const MixingResult& r, const nlohmann::json& run);

}  // namespace ss
