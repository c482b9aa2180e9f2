#include "ops/matmul.h"

#include <algorithm>
#include <vector>

#include "ops/dequant.h"
#include "ops/dot.h"

namespace ss {

void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  // Blocks of output rows; inside a block, each row is expanded once and used for every token.
  constexpr size_t kRowBlock = 16;
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(n_blocks, [&](size_t b0, size_t b1, int) {
    thread_local std::vector<float> buf;
    if (w.type != DType::F32) buf.resize(cols * kRowBlock);
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
      const float* block;
      if (w.type == DType::F32) {
        block = reinterpret_cast<const float*>(w.row(static_cast<int64_t>(r0)));
      } else {
        for (size_t r = r0; r < r1; ++r)
          dequantize_row(w.type, w.row(static_cast<int64_t>(r)), buf.data() + (r - r0) * cols,
                         cols);
        block = buf.data();
      }
      for (size_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * cols;
        float* yt = y + t * rows;
        for (size_t r = r0; r < r1; ++r) yt[r] = dot(block + (r - r0) * cols, xt, cols);
      }
    }
  });
}

void matmul_reference(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; ++r) {
    dequantize_row(w.type, w.row(static_cast<int64_t>(r)), row.data(), cols);
    for (size_t t = 0; t < n_tokens; ++t)
      y[t * rows + r] = dot_scalar(row.data(), x + t * cols, cols);
  }
}

}  // namespace ss
