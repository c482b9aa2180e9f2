#include "model/block_options.h"

namespace ss {

const char* norm_placement_name(NormPlacement p) {
  return p == NormPlacement::Post ? "post" : "pre";
}

const char* position_kind_name(PositionKind k) {
  return k == PositionKind::None ? "none" : k == PositionKind::Learned ? "learned" : "rope";
}

std::optional<NormPlacement> parse_norm_placement(const std::string& name) {
  for (NormPlacement p : {NormPlacement::Pre, NormPlacement::Post})
    if (name == norm_placement_name(p)) return p;
  return std::nullopt;
}

std::optional<PositionKind> parse_position_kind(const std::string& name) {
  for (PositionKind k : {PositionKind::Rope, PositionKind::None, PositionKind::Learned})
    if (name == position_kind_name(k)) return k;
  return std::nullopt;
}

}  // namespace ss
