#pragma once
// Massive activations (Sun et al. 2024) in the residual stream after each block: the largest
// |h_{t,d}| with where they sit, the layer's median |h|, and Sun et al.'s rule
// massive = |h| > 100 and |h| > 1000 × median.
#include <cstdint>
#include <span>
#include <vector>

#include "model/config.h"
#include "runtime/hooks.h"

namespace ss {

struct MassiveEntry {
  int layer = 0, rank = 0;
  float value = 0;  // signed activation
  int window = 0, pos = 0, channel = 0, token = 0;
  double median_abs = 0;  // median |h| of the layer in that window
  double ratio() const { return median_abs > 0 ? std::abs(value) / median_abs : 0.0; }
  bool massive() const { return std::abs(value) > 100.0 && ratio() > 1000.0; }
};

class MassiveObserver : public Observer {
 public:
  explicit MassiveObserver(const ModelConfig& c, int top = 10);
  void begin_window(int window, std::span<const int> ids);
  void on_resid_post(int layer, int pos0, int n_tokens, const float* x) override;
  // The top entries of each layer over all windows seen, layer-major, rank 1 first.
  std::vector<MassiveEntry> entries() const;
  // Forgets every entry, to see one window alone.
  void reset();
  // Folds in another observer's entries(), as if its windows had run here after this one's: the
  // same result as one observer over all windows (ranks of a cluster each see some windows).
  void merge(std::span<const MassiveEntry> entries);

 private:
  // Keeps the best of best_[layer] and the candidates (in order, |value| descending).
  void keep(int layer, std::span<const MassiveEntry> candidates);
  int dim_, top_;
  int window_ = 0;
  std::vector<int> ids_;
  std::vector<std::vector<MassiveEntry>> best_;  // per layer, sorted by |value| descending
  std::vector<uint32_t> hist_;                   // on_resid_post's histogram, reused
};

}  // namespace ss
