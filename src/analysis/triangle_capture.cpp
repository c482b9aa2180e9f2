#include "analysis/triangle_capture.h"

#include <algorithm>

namespace ss {

TriangleCapture::TriangleCapture(const ModelConfig& c, int T)
    : T_(T),
      n_heads_(c.n_heads),
      data_(static_cast<size_t>(c.n_layers) * c.n_heads * triangle_size(T), 0.0f) {}

void TriangleCapture::on_pattern(int layer, int head, int pos, std::span<const float> row) {
  if (pos < 0 || pos >= T_) return;
  // Keys 0..pos (a row may be shorter: zeros outside a sliding window are delivered as zeros).
  const size_t n = std::min<size_t>(row.size(), static_cast<size_t>(pos) + 1);
  float* dst = data_.data() + index(layer, head) * triangle_size(T_) + triangle_offset(pos);
  std::copy(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(n), dst);
}

}  // namespace ss
