#pragma once
#include <vector>

namespace ss {

// Spearman's rank correlation: Pearson correlation of the ranks (ties get their average rank).
// 0 when either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

std::vector<double> average_ranks(const std::vector<double>& v);

}  // namespace ss
