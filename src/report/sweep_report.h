#pragma once
// The HTML report of a pruning sweep: one curve per criterion for each metric against the
// pruning ratio, with the dense baseline marked (the figure of Sok et al.).
#include <string>

#include "prune/sweep_result.h"

namespace ss {

std::string render_sweep_report(const SweepResult& sweep);

}  // namespace ss
