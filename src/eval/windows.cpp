#include "eval/windows.h"

#include <algorithm>

#include "base/error.h"

namespace ss {

Scoring parse_scoring(const std::string& name, const std::string& what) {
  if (name == "all") return Scoring::All;
  if (name == "second-half") return Scoring::SecondHalf;
  throw InputError(what, "unknown scoring '" + name + "' (all, second-half)");
}

const char* scoring_name(Scoring s) {
  return s == Scoring::All ? "all" : "second-half";
}

namespace {

std::vector<EvalWindow> second_half(size_t n, size_t ctx) {
  require(n >= 2 * ctx, "--scoring",
          "second-half needs at least 2 x ctx = " + std::to_string(2 * ctx) +
              " tokens; the text has " + std::to_string(n));
  std::vector<EvalWindow> windows;
  for (size_t begin = 0; begin + ctx <= n; begin += ctx)
    windows.push_back({begin, begin + ctx, begin + ctx / 2 + 1});
  return windows;
}

std::vector<EvalWindow> all_new_tokens(size_t n, size_t ctx, size_t step) {
  std::vector<EvalWindow> windows;
  for (size_t begin = 0, scored_to = 0; begin + 1 < n; begin += step) {
    const size_t end = std::min(n, begin + ctx);
    const size_t first = std::max(scored_to, begin + 1);
    if (end <= first) break;  // nothing new to score
    windows.push_back({begin, end, first});
    scored_to = end;
    if (end == n) break;
  }
  return windows;
}

}  // namespace

std::vector<EvalWindow> plan_windows(size_t n, const WindowPlan& plan) {
  require(plan.ctx >= 2, "--ctx", "must be at least 2");
  std::vector<EvalWindow> windows;
  if (plan.scoring == Scoring::SecondHalf) {
    require(plan.stride == 0 || plan.stride == plan.ctx, "--scoring",
            "second-half runs consecutive windows: leave --stride out");
    windows = second_half(n, plan.ctx);
  } else {
    require(plan.stride >= 0 && plan.stride <= plan.ctx, "--stride", "must be between 0 and --ctx");
    windows = all_new_tokens(n, plan.ctx, plan.stride > 0 ? plan.stride : plan.ctx);
  }
  if (plan.max_windows > 0 && windows.size() > static_cast<size_t>(plan.max_windows))
    windows.resize(plan.max_windows);
  return windows;
}

}  // namespace ss
