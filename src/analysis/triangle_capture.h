#pragma once
// Every head's attention pattern over one window, as packed lower triangles: row t holds keys
// 0..t at offset t(t+1)/2. For the attention viewer (experiments/attention_view.h), which stores
// all heads of a prompt of at most a few hundred tokens; T(T+1)/2 floats per head.
#include <cstddef>
#include <span>
#include <vector>

#include "model/config.h"
#include "runtime/hooks.h"

namespace ss {

// Offset of row t in a packed lower triangle, and its size for T rows.
inline size_t triangle_offset(size_t t) {
  return t * (t + 1) / 2;
}
inline size_t triangle_size(size_t T) {
  return triangle_offset(T);
}

class TriangleCapture : public Observer {
 public:
  TriangleCapture(const ModelConfig& c, int T);
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override;

  int tokens() const { return T_; }
  // The packed triangle of one head: α_{t,k} at triangle_offset(t) + k.
  std::span<const float> head(int layer, int head) const {
    return {data_.data() + index(layer, head) * triangle_size(T_), triangle_size(T_)};
  }

 private:
  size_t index(int layer, int head) const { return static_cast<size_t>(layer) * n_heads_ + head; }
  int T_, n_heads_;
  std::vector<float> data_;  // [layer][head][triangle]
};

}  // namespace ss
