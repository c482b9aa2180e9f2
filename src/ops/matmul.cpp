#include "ops/matmul.h"

#include <vector>

#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/simd/kernels.h"

namespace ss {

// The fast path is ops/gemm-inl.h, compiled once per SIMD variant.
void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  check_row(w.type, static_cast<size_t>(w.cols()));  // the kernel expands rows unchecked
  kernels().matmul(w, x, n_tokens, y, pool);
}

float dot(const float* a, const float* b, size_t n) {
  return kernels().dot(a, b, n);
}

void matmul_reference(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; ++r) {
    dequantize_row(w.type, w.row(static_cast<int64_t>(r)), row.data(), cols);
    for (size_t t = 0; t < n_tokens; ++t)
      y[t * rows + r] = dot_lanes_reference(row.data(), x + t * cols, cols);
  }
}

}  // namespace ss
