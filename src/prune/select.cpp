#include "prune/select.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ss {

std::vector<std::pair<int, int>> select_heads(const std::vector<double>& removability,
                                              const ModelConfig& c, double ratio,
                                              PruneScope scope) {
  const int L = c.n_layers, H = c.n_heads;
  auto most_removable = [&](std::vector<int> idx, size_t k) {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int a, int b) { return removability[a] > removability[b]; });
    idx.resize(std::min(k, idx.size()));
    return idx;
  };
  std::vector<int> chosen;
  if (scope == PruneScope::Global) {
    std::vector<int> all(static_cast<size_t>(L) * H);
    std::iota(all.begin(), all.end(), 0);
    chosen = most_removable(all, static_cast<size_t>(std::lround(ratio * L * H)));
  } else {
    for (int l = 0; l < L; ++l) {
      std::vector<int> layer(H);
      std::iota(layer.begin(), layer.end(), l * H);
      auto k = most_removable(layer, static_cast<size_t>(std::lround(ratio * H)));
      chosen.insert(chosen.end(), k.begin(), k.end());
    }
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<std::pair<int, int>> heads;
  for (int i : chosen) heads.emplace_back(i / H, i % H);
  return heads;
}

}  // namespace ss
