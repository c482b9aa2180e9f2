#pragma once
// Which heads a criterion removes at a ratio (SPEC.md §Pruning).
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace ss {

enum class PruneScope { Global, PerLayer };

// global: the round(r·L·H) heads of highest removability; per-layer: round(r·H) in every layer.
// Ties go to the lower (layer, head), so the choice is deterministic. Sorted by (layer, head).
std::vector<std::pair<int, int>> select_heads(const std::vector<double>& removability,
                                              const ModelConfig& c, double ratio, PruneScope scope);

}  // namespace ss
