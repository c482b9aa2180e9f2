#include "prune/dormant_rule.h"

#include <algorithm>
#include <cmath>

#include "analysis/statistics.h"
#include "base/error.h"
#include "prune/select.h"

namespace ss {

bool dormant_when_high(const std::string& score) {
  const Statistic* s = find_statistic(score);
  return s && s->direction == Direction::HighIsDormant;
}

bool is_dormant_score(const std::string& score) {
  const Statistic* s = find_statistic(score);
  return s && s->dormant_score;
}

DormantRule parse_dormant_threshold(const std::string& text, const std::string& what) {
  const size_t eq = text.find('=');
  DormantRule rule;
  rule.score = text.substr(0, eq);
  require(
      eq != std::string::npos && is_dormant_score(rule.score), what,
      "'" + text + "' is not SCORE=THRESHOLD with a dormant score of SPEC.md (e.g. ahon_ln=0.1)");
  try {
    size_t used = 0;
    rule.threshold = std::stod(text.substr(eq + 1), &used);
    if (used != text.size() - eq - 1 || rule.threshold < 0) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw InputError(what, "'" + text.substr(eq + 1) + "' is not a non-negative number");
  }
  return rule;
}

std::vector<std::pair<int, int>> flag_dormant(const std::vector<double>& scores,
                                              const DormantRule& rule, const ModelConfig& c) {
  const bool high = dormant_when_high(rule.score);
  if (rule.threshold < 0) {
    // The given fraction, most dormant first: a selection by "removability".
    std::vector<double> r(scores);
    if (!high)
      for (double& v : r) v = -v;
    return select_heads(r, c, std::max(0.0, rule.fraction), PruneScope::Global);
  }
  std::vector<int> flagged;
  for (size_t i = 0; i < scores.size(); ++i) {
    const int l = static_cast<int>(i) / c.n_heads, h = static_cast<int>(i) % c.n_heads;
    if (h >= c.heads(l)) continue;  // absent from its layer (per-layer head counts)
    if (high ? scores[i] > rule.threshold : scores[i] < rule.threshold)
      flagged.push_back(static_cast<int>(i));
  }
  std::vector<std::pair<int, int>> heads;
  for (int i : flagged) heads.emplace_back(i / c.n_heads, i % c.n_heads);
  return heads;
}

}  // namespace ss
