#include "prune/layer_criteria.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "base/error.h"

namespace ss {

const std::vector<std::string>& layer_criterion_names() {
  static const std::vector<std::string> names = {"layer-bos-sink", "block-influence",
                                                 "layer-ablation-delta", "random"};
  return names;
}

bool is_valid_layer_criterion(const std::string& name) {
  const auto& n = layer_criterion_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::vector<double> layer_removability(const Model& model, const std::string& criterion,
                                       const CriterionInputs& in,
                                       const std::function<void(int, int)>& progress) {
  const int L = model.config.n_layers, H = model.config.n_heads;
  std::vector<double> r(L, 0.0);
  if (criterion == "layer-bos-sink") {
    const std::vector<double>& bos = in.stat_means("bos_sink_score");
    // The mean over the heads each layer has (per-layer head counts: the others are absent).
    for (int i = 0; i < L * H; ++i)
      if (i % H < model.config.heads(i / H)) r[i / H] += bos[i] / model.config.heads(i / H);
  } else if (criterion == "block-influence") {
    const std::vector<double>& bi = in.block_influence();
    for (int l = 0; l < L; ++l) r[l] = -bi[l];
  } else if (criterion == "layer-ablation-delta") {
    const double base = in.nll_without_layers({});
    for (int l = 0; l < L; ++l) {
      r[l] = base - in.nll_without_layers({l});
      if (progress) progress(l + 1, L);
    }
  } else if (criterion == "random") {
    std::mt19937_64 rng(in.seed);
    for (double& x : r) x = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  } else {
    throw InputError("--criteria", "unknown layer criterion '" + criterion + "'");
  }
  return r;
}

std::vector<int> select_layers(const std::vector<double>& removability, double ratio) {
  std::vector<int> idx(removability.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int a, int b) { return removability[a] > removability[b]; });
  idx.resize(std::min(idx.size(), static_cast<size_t>(std::lround(ratio * idx.size()))));
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace ss
