#pragma once
// Which heads a criterion removes at a ratio (SPEC.md §Pruning).
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace ss {

enum class PruneScope { Global, PerLayer, PerGroup, Group };

// "global", "per-layer", "per-group", "group"; throws InputError(what, ...) for another name.
PruneScope parse_prune_scope(const std::string& name, const std::string& what);
const char* prune_scope_name(PruneScope scope);

// global: the round(r·L·H) heads of highest removability; per-layer: round(r·H) in every layer;
// per-group: round(r·G) of the G query heads of every KV group (GQA only: G > 1); group:
// round(r·K) whole KV groups in every layer, those of highest mean removability. per-layer (MHA),
// per-group and group keep a model whose heads can be removed physically (prune/remove_heads.h).
// Ties go to the lower (layer, head) or group, so the choice is deterministic. Sorted by
// (layer, head). Throws InputError("--scope", ...) for per-group without GQA.
std::vector<std::pair<int, int>> select_heads(const std::vector<double>& removability,
                                              const ModelConfig& c, double ratio, PruneScope scope);

}  // namespace ss
