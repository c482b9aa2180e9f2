#pragma once
// Dormant (inactive) heads, Sandoval-Segura et al. (SPEC.md §Dormant heads): a score per head
// and a rule flag the heads to zero, either per input sequence (the paper's protocol) or once
// from calibration scores (static).
#include <string>
#include <utility>
#include <vector>

#include "analysis/head_stats.h"
#include "model/config.h"

namespace ss {

struct DormantRule {
  std::string score = "ahon_ln";  // a dormant score of SPEC.md
  double threshold = -1;          // flag s < θ (s > θ for awft, awft_ln) when >= 0
  double fraction = -1;           // or: flag this fraction of heads, most dormant first
};

// "ahon_ln=0.1" -> {ahon_ln, θ = 0.1}; throws InputError(what, ...) when malformed.
DormantRule parse_dormant_threshold(const std::string& text, const std::string& what);

bool is_dormant_score(const std::string& score);
// awft and awft_ln flag high scores; every other score flags low ones.
bool dormant_when_high(const std::string& score);

// The heads the rule flags given per-head scores ([layer * n_heads + head]), sorted.
std::vector<std::pair<int, int>> flag_dormant(const std::vector<double>& scores,
                                              const DormantRule& rule, const ModelConfig& c);

}  // namespace ss
