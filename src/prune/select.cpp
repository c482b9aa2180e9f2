#include "prune/select.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"

namespace ss {

PruneScope parse_prune_scope(const std::string& name, const std::string& what) {
  if (name == "global") return PruneScope::Global;
  if (name == "per-layer") return PruneScope::PerLayer;
  if (name == "per-group") return PruneScope::PerGroup;
  if (name == "group") return PruneScope::Group;
  throw InputError(what, "unknown scope '" + name + "' (global, per-layer, per-group or group)");
}

const char* prune_scope_name(PruneScope scope) {
  switch (scope) {
    case PruneScope::Global:
      return "global";
    case PruneScope::PerLayer:
      return "per-layer";
    case PruneScope::PerGroup:
      return "per-group";
    case PruneScope::Group:
      return "group";
  }
  return "global";
}

std::vector<std::pair<int, int>> select_heads(const std::vector<double>& removability,
                                              const ModelConfig& c, double ratio,
                                              PruneScope scope) {
  const int L = c.n_layers, H = c.n_heads;
  const int K = c.n_kv_heads > 0 ? c.n_kv_heads : H, G = H / K;
  // The k of `idx` with the highest score (stable: ties keep the lower index).
  auto most = [](std::vector<int> idx, size_t k, const std::vector<double>& score) {
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return score[a] > score[b]; });
    idx.resize(std::min(k, idx.size()));
    return idx;
  };
  auto span = [](int first, int n) {
    std::vector<int> v(n);
    std::iota(v.begin(), v.end(), first);
    return v;
  };
  // Per-layer head counts (a physically pruned model): only global selection, over the heads
  // each layer has.
  require(c.uniform_heads() || scope == PruneScope::Global, "--scope",
          "a model with per-layer head counts selects heads only with --scope global");
  std::vector<int> chosen;
  auto add = [&](const std::vector<int>& v) { chosen.insert(chosen.end(), v.begin(), v.end()); };
  switch (scope) {
    case PruneScope::Global: {
      std::vector<int> present;  // the heads each layer has
      for (int l = 0; l < L; ++l)
        for (int h = 0; h < c.heads(l); ++h) present.push_back(l * H + h);
      const double n =
          c.uniform_heads() ? ratio * L * H : ratio * static_cast<double>(present.size());
      chosen = most(present, static_cast<size_t>(std::lround(n)), removability);
      break;
    }
    case PruneScope::PerLayer:
      for (int l = 0; l < L; ++l)
        add(most(span(l * H, H), static_cast<size_t>(std::lround(ratio * H)), removability));
      break;
    case PruneScope::PerGroup:
      require(G > 1, "--scope",
              "per-group needs grouped-query attention (this model has a KV head per query "
              "head); use per-layer");
      for (int g = 0; g < L * K; ++g)
        add(most(span(g * G, G), static_cast<size_t>(std::lround(ratio * G)), removability));
      break;
    case PruneScope::Group: {
      std::vector<double> group_mean(static_cast<size_t>(L) * K, 0.0);
      for (int i = 0; i < L * H; ++i) group_mean[i / G] += removability[i] / G;
      for (int l = 0; l < L; ++l)
        for (int g : most(span(l * K, K), static_cast<size_t>(std::lround(ratio * K)), group_mean))
          add(span(g * G, G));
      break;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<std::pair<int, int>> heads;
  for (int i : chosen) heads.emplace_back(i / H, i % H);
  return heads;
}

}  // namespace ss
