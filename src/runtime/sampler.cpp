#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace ss {

Sampler::Sampler(float temperature, float top_p, uint64_t seed)
    : temperature_(temperature), top_p_(top_p), rng_(seed) {}

int Sampler::sample(std::span<const float> logits) {
  const int n = static_cast<int>(logits.size());
  if (temperature_ <= 0.0f)
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<double> p(n);
  double mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += p[i] = std::exp((logits[i] - mx) / temperature_);
  for (double& v : p) v /= sum;
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Highest probability first; ties by id so the order is fully determined.
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return p[a] != p[b] ? p[a] > p[b] : a < b; });
  int keep = n;
  if (top_p_ > 0.0f && top_p_ < 1.0f) {
    double cum = 0;
    for (int i = 0; i < n; ++i) {
      cum += p[order[i]];
      if (cum >= top_p_) {
        keep = i + 1;
        break;
      }
    }
  }
  double mass = 0;
  for (int i = 0; i < keep; ++i) mass += p[order[i]];
  double r = std::uniform_real_distribution<double>(0.0, mass)(rng_);
  for (int i = 0; i < keep; ++i) {
    r -= p[order[i]];
    if (r <= 0) return order[i];
  }
  return order[keep - 1];
}

}  // namespace ss
