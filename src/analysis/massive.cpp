#include "analysis/massive.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ss {

MassiveObserver::MassiveObserver(const ModelConfig& c, int top)
    : dim_(c.dim), top_(top), best_(c.n_layers) {}

void MassiveObserver::begin_window(int window, std::span<const int> ids) {
  window_ = window;
  ids_.assign(ids.begin(), ids.end());
}

namespace {

// |v| as an integer that orders like the magnitude (the bits of a non-negative float do).
uint32_t magnitude_key(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u & 0x7FFFFFFFu;
}

float key_value(uint32_t key) {
  float v;
  std::memcpy(&v, &key, sizeof v);
  return v;
}

constexpr int kBinShift = 16;  // the median's first pass counts keys by their top 15 bits
constexpr size_t kBins = size_t{1} << (31 - kBinShift);
constexpr size_t kParts = 4;  // pieces of a call's tokens, each counted and ranked on its own

}  // namespace

// Two exact passes over the block instead of sorting it: a histogram of the magnitudes' top bits
// finds the bin that holds the median, and the few values in that bin are ranked; the top_
// largest of each piece are merged. The ties rule of both is that of a full sort.
void MassiveObserver::on_resid_post(int layer, int pos0, int n, const float* x) {
  const size_t count = static_cast<size_t>(n) * dim_;
  if (count == 0) return;
  const size_t k = std::min(count, static_cast<size_t>(top_));
  // Larger magnitude first; ties: lower index.
  auto larger = [&](size_t a, size_t b) {
    const uint32_t ka = magnitude_key(x[a]), kb = magnitude_key(x[b]);
    return ka != kb ? ka > kb : a < b;
  };
  const size_t parts = std::min(kParts, static_cast<size_t>(n));
  hist_.assign(parts * kBins, 0);
  std::vector<std::vector<size_t>> tops(parts);
  auto piece = [&](size_t p) {
    return std::pair{count * p / parts / dim_ * dim_, count * (p + 1) / parts / dim_ * dim_};
  };
  parallel_for(parts, [&](size_t p0, size_t p1, int) {
    for (size_t p = p0; p < p1; ++p) {
      auto [b, e] = piece(p);
      uint32_t* h = hist_.data() + p * kBins;
      std::vector<size_t>& top = tops[p];
      for (size_t i = b; i < e; ++i) {
        ++h[magnitude_key(x[i]) >> kBinShift];
        if (top.size() < k || larger(i, top.back())) {
          top.insert(std::upper_bound(top.begin(), top.end(), i, larger), i);
          if (top.size() > k) top.pop_back();
        }
      }
    }
  });
  // The median: the value of rank count/2 in ascending order.
  const size_t rank = count / 2;
  size_t below = 0, bin = 0;
  for (;; ++bin) {
    size_t in_bin = 0;
    for (size_t p = 0; p < parts; ++p) in_bin += hist_[p * kBins + bin];
    if (below + in_bin > rank) break;
    below += in_bin;
  }
  std::vector<uint32_t> keys;
  for (size_t i = 0; i < count; ++i)
    if (const uint32_t key = magnitude_key(x[i]); key >> kBinShift == bin) keys.push_back(key);
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(rank - below),
                   keys.end());
  const double median = key_value(keys[rank - below]);

  std::vector<size_t> idx;
  for (const auto& top : tops) idx.insert(idx.end(), top.begin(), top.end());
  std::sort(idx.begin(), idx.end(), larger);
  idx.resize(k);

  std::vector<MassiveEntry> candidates;
  for (size_t r = 0; r < k; ++r) {
    MassiveEntry e;
    e.layer = layer;
    e.value = x[idx[r]];
    e.window = window_;
    e.pos = pos0 + static_cast<int>(idx[r] / dim_);
    e.channel = static_cast<int>(idx[r] % dim_);
    e.token = e.pos < static_cast<int>(ids_.size()) ? ids_[e.pos] : -1;
    e.median_abs = median;
    candidates.push_back(e);
  }
  keep(layer, candidates);
}

void MassiveObserver::keep(int layer, std::span<const MassiveEntry> candidates) {
  auto& best = best_[layer];
  for (const MassiveEntry& e : candidates) {
    // Windows that start with the same token give identical activations at position 0: keep
    // one entry per (pos, channel, value).
    if (std::any_of(best.begin(), best.end(), [&](const MassiveEntry& b) {
          return b.pos == e.pos && b.channel == e.channel && b.value == e.value;
        }))
      continue;
    best.push_back(e);
  }
  std::stable_sort(best.begin(), best.end(), [](const MassiveEntry& a, const MassiveEntry& b) {
    return std::abs(a.value) > std::abs(b.value);
  });
  if (best.size() > static_cast<size_t>(top_)) best.resize(top_);
}

void MassiveObserver::reset() {
  for (auto& b : best_) b.clear();
}

void MassiveObserver::merge(std::span<const MassiveEntry> entries) {
  // entries() is layer-major with each layer's entries in rank order: keep() them layer by layer.
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].layer == entries[i].layer) ++j;
    keep(entries[i].layer, entries.subspan(i, j - i));
    i = j;
  }
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
