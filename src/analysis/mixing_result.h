#pragma once
// What `sinkscope mixing` measures (experiments/mixing.h): over-mixing per layer and the spread
// of a one-token perturbation, per condition (BOS on, BOS off, sink heads ablated), as means and
// sample standard deviations over windows. report/mixing_files.h writes it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ss {

// One value per layer: mean and sample standard deviation over windows (sd 0 for one window).
struct LayerMeanSd {
  std::vector<double> mean, sd;
};

// One way of perturbing one token, over the windows where it applied.
struct SpreadResult {
  std::string perturbation;  // "embedding" (δ added to the input vector) or "substitute"
  size_t windows = 0;        // windows measured
  // Per layer: ‖Δh_t‖ and ‖Δh_t‖/‖h_t‖ averaged over the tokens after the perturbed one, then
  // over windows.
  LayerMeanSd delta, ratio;
  // Per offset t − p from the perturbed token p (0: itself) and layer: mean over the windows that
  // reach that offset, [offset][layer]; how many windows that is, per offset.
  std::vector<std::vector<double>> token_delta, token_ratio;
  std::vector<size_t> token_windows;
  // The largest ‖Δh_t‖ of a token before the perturbed one, over layers and windows: 0 exactly
  // in a causal model (a check, written to mixing.json).
  double before_max = 0;
  // Per window measured: the perturbed position and, for substitutions, "from=to".
  std::vector<int> positions;
  std::vector<std::string> pairs;
};

struct MixingCondition {
  std::string name;  // "bos-on", "bos-off" or "ablated" (BOS first, heads zeroed)
  bool bos = true;
  int masked_heads = 0;
  LayerMeanSd over_mixing;  // µ(V)/‖V‖_F of the residual stream after each layer
  std::vector<SpreadResult> spread;
  std::vector<std::vector<int>> window_ids;  // the token ids of each window
};

struct MixingResult {
  int ctx = 0;
  size_t windows = 0;
  int n_layers = 0;
  double delta = 0;    // size of the embedding perturbation, relative to the vector's norm
  int position = 0;    // the perturbed text token's index within a window's text
  uint64_t seed = 0;   // of the perturbation's direction
  double eps = 0;      // sink heads: bos_sink_score > eps (with heads chosen automatically)
  std::string ablate;  // "sinks", "none" or the heads as given
  std::vector<std::pair<int, int>> ablated;  // the heads zeroed in "ablated"
  std::vector<double> ablated_scores;        // their bos_sink_score (automatic choice only)
  std::vector<std::string> pairs;            // substitution pairs used, "from=to"
  std::vector<std::pair<std::vector<int>, std::vector<int>>> pair_tokens;  // their tokens
  std::vector<std::string> notes;  // what was skipped, and why
  std::vector<MixingCondition> conditions;
};

}  // namespace ss
