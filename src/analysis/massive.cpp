#include "analysis/massive.h"

#include <algorithm>
#include <cmath>

namespace ss {

MassiveObserver::MassiveObserver(const ModelConfig& c, int top)
    : dim_(c.dim), top_(top), best_(c.n_layers) {}

void MassiveObserver::begin_window(int window, std::span<const int> ids) {
  window_ = window;
  ids_.assign(ids.begin(), ids.end());
}

void MassiveObserver::on_resid_post(int layer, int pos0, int n, const float* x) {
  const size_t count = static_cast<size_t>(n) * dim_;
  std::vector<float> mags(count);
  for (size_t i = 0; i < count; ++i) mags[i] = std::fabs(x[i]);
  std::vector<float> sorted = mags;
  std::nth_element(sorted.begin(), sorted.begin() + count / 2, sorted.end());
  const double median = sorted[count / 2];

  // Indices of the top_ magnitudes of this call, largest first (ties: lower index).
  std::vector<size_t> idx(count);
  for (size_t i = 0; i < count; ++i) idx[i] = i;
  const size_t k = std::min(count, static_cast<size_t>(top_));
  auto larger = [&](size_t a, size_t b) { return mags[a] != mags[b] ? mags[a] > mags[b] : a < b; };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), larger);

  auto& best = best_[layer];
  for (size_t r = 0; r < k; ++r) {
    // Windows that start with the same token give identical activations at position 0: keep
    // one entry per (pos, channel, value).
    const int pos = pos0 + static_cast<int>(idx[r] / dim_),
              channel = static_cast<int>(idx[r] % dim_);
    if (std::any_of(best.begin(), best.end(), [&](const MassiveEntry& e) {
          return e.pos == pos && e.channel == channel && e.value == x[idx[r]];
        }))
      continue;
    MassiveEntry e;
    e.layer = layer;
    e.value = x[idx[r]];
    e.window = window_;
    e.pos = pos;
    e.channel = channel;
    e.token = e.pos < static_cast<int>(ids_.size()) ? ids_[e.pos] : -1;
    e.median_abs = median;
    best.push_back(e);
  }
  std::stable_sort(best.begin(), best.end(), [](const MassiveEntry& a, const MassiveEntry& b) {
    return std::abs(a.value) > std::abs(b.value);
  });
  if (best.size() > static_cast<size_t>(top_)) best.resize(top_);
}

std::vector<MassiveEntry> MassiveObserver::entries() const {
  std::vector<MassiveEntry> out;
  for (const auto& layer : best_)
    for (size_t r = 0; r < layer.size(); ++r) {
      out.push_back(layer[r]);
      out.back().rank = static_cast<int>(r) + 1;
    }
  return out;
}

}  // namespace ss
