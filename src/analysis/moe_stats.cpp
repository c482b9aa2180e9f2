#include "analysis/moe_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ss {

MoeStatsObserver::MoeStatsObserver(int n_layers, int n_experts, int n_experts_used)
    : layers_(n_layers),
      experts_(n_experts),
      used_(n_experts_used),
      entropy_sum_(n_layers, 0.0),
      tokens_(n_layers, 0),
      slots_(static_cast<size_t>(n_layers) * n_experts, 0),
      window_{std::vector<double>(n_layers, 0.0), std::vector<long>(n_layers, 0),
              std::vector<long>(slots_.size(), 0)},
      in_top_(slots_.size(), 0) {
  if (n_experts < 1 || n_experts_used < 1 || n_experts_used > n_experts)
    throw std::invalid_argument("MoeStatsObserver: top-" + std::to_string(n_experts_used) + " of " +
                                std::to_string(n_experts) + " experts");
}

double MoeStatsObserver::softmax_entropy(const float* logits, int n) {
  double mx = logits[0];
  for (int e = 1; e < n; ++e) mx = std::max(mx, static_cast<double>(logits[e]));
  // H = −Σ p·log p with p = exp(z)/S, z = logit − max: H = log S − Σ exp(z)·z / S.
  double sum = 0, weighted = 0;
  for (int e = 0; e < n; ++e) {
    const double z = static_cast<double>(logits[e]) - mx;
    const double ez = std::exp(z);
    sum += ez;
    weighted += ez * z;
  }
  return std::log(sum) - weighted / sum;
}

std::vector<int> MoeStatsObserver::top_experts(const std::vector<long>& counts, int k) {
  std::vector<int> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return counts[a] > counts[b] || (counts[a] == counts[b] && a < b);
  });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

void MoeStatsObserver::begin_window() {
  std::fill(window_.entropy.begin(), window_.entropy.end(), 0.0);
  std::fill(window_.tokens.begin(), window_.tokens.end(), 0);
  std::fill(window_.slots.begin(), window_.slots.end(), 0);
}

void MoeStatsObserver::on_router(int layer, int n_tokens, const float* logits, const int* chosen) {
  const size_t E = experts_, K = used_, base = static_cast<size_t>(layer) * E;
  double& entropy = window_.entropy[layer];
  for (size_t t = 0; t < static_cast<size_t>(n_tokens); ++t) {
    entropy += softmax_entropy(logits + t * E, experts_);
    for (size_t r = 0; r < K; ++r) ++window_.slots[base + static_cast<size_t>(chosen[t * K + r])];
  }
  window_.tokens[layer] += n_tokens;
}

void MoeStatsObserver::end_window() {
  add_window(window_);
}

void MoeStatsObserver::add_window(const Window& w) {
  const size_t E = experts_;
  if (w.entropy.size() != static_cast<size_t>(layers_) || w.slots.size() != slots_.size())
    throw std::invalid_argument("MoeStatsObserver::add_window: another model's window");
  for (int l = 0; l < layers_; ++l) {
    entropy_sum_[l] += w.entropy[l];
    tokens_[l] += w.tokens[l];
    const auto first = w.slots.begin() + static_cast<long>(l * E);
    const std::vector<long> counts(first, first + static_cast<long>(E));
    for (int e : top_experts(counts, used_)) ++in_top_[l * E + static_cast<size_t>(e)];
    for (size_t e = 0; e < E; ++e) slots_[l * E + e] += counts[e];
  }
  ++windows_;
}

MoeResult MoeStatsObserver::result() const {
  const size_t E = experts_;
  MoeResult r;
  r.n_experts = experts_, r.n_experts_used = used_;
  r.tokens = layers_ > 0 ? tokens_[0] : 0;
  r.windows = windows_;
  const double log_e = std::log(static_cast<double>(experts_));
  for (int l = 0; l < layers_; ++l) {
    MoeLayerResult lr;
    lr.layer = l;
    const double n = static_cast<double>(tokens_[l]);
    lr.router_entropy = tokens_[l] > 0 ? entropy_sum_[l] / n : 0.0;
    lr.router_entropy_normalised = experts_ > 1 ? lr.router_entropy / log_e : 0.0;
    lr.expert_load.assign(E, 0.0);
    const double slots = n * used_;
    if (slots > 0)
      for (size_t e = 0; e < E; ++e) lr.expert_load[e] = slots_[l * E + e] / slots;
    if (windows_ >= 2) {
      // Σ over pairs w < v of |A_w ∩ A_v| = Σ over experts of C(n_e, 2), n_e the number of
      // windows whose top k hold expert e: every pair sharing e counts it once.
      long shared = 0;
      for (size_t e = 0; e < E; ++e) shared += in_top_[l * E + e] * (in_top_[l * E + e] - 1) / 2;
      const double pairs = static_cast<double>(windows_) * (windows_ - 1) / 2;
      lr.topk_agreement = static_cast<double>(shared) / (pairs * used_);
    }
    r.layers.push_back(std::move(lr));
  }
  return r;
}

std::string moe_statistics_markdown() {
  return "\n## Mixture of experts, per layer\n\n"
         "For models with experts (gpt-oss), from the router's logits (with their bias) and the "
         "k = `n_experts_used` experts each token is sent to; in `analysis.json` under each run's "
         "`moe`, loads also in `moe.csv`.\n\n"
         "| name | meaning | unit |\n"
         "|---|---|---|\n"
         "| `router_entropy` | Shannon entropy of the softmax over all `n_experts` router logits "
         "(double, maximum subtracted), averaged over every analysed token | nats |\n"
         "| `router_entropy_normalised` | `router_entropy` / ln(`n_experts`): 1 is a uniform "
         "router, 0 a certain one (0 with a single expert) | ratio |\n"
         "| `expert_load` | per expert: its share of the tokens × k routing slots, summing to 1 "
         "over the layer's experts | fraction |\n"
         "| `topk_agreement` | A_w = the k experts of the layer with the most slots in window w "
         "(ties to the lower index); the mean over all pairs of windows w < v of "
         "\\|A_w ∩ A_v\\| / k. Whether the same experts dominate across text windows: 1 when "
         "every window has the same top k. Null with fewer than two windows | ratio |\n";
}

}  // namespace ss
