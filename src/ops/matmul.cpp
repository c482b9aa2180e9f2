#include "ops/matmul.h"

#include <algorithm>
#include <vector>

#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/dot_tiles.h"

namespace ss {
namespace {

// Blocking: a thread works on kRowBlock rows of W (expanded to f32 once per token chunk when W is
// quantized) against kTokenChunk tokens, whose inputs then stay in L2 while every row passes over
// them. Columns are split only beyond kKBlock, with the dot products' f32 lanes waiting in `acc`
// between column blocks: measured on Zen 4 (bench matmul_eff), blocks of 256, 1024 and 4096
// columns reached 52%, 64% and 70% of the FMA peak, the round trips of the accumulators costing
// more than the L2 (not L1) reads of a wide weight panel.
constexpr size_t kRowBlock = 16;
constexpr size_t kTokenChunk = 64;
constexpr size_t kKBlock = 4096;
constexpr size_t kTileLanes = kTileRows * kTileCols * kDotLanes;

}  // namespace

void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t cols16 = cols / kDotLanes * kDotLanes;
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  constexpr size_t kRowTiles = (kRowBlock + kTileRows - 1) / kTileRows;
  pool.parallel_for(n_blocks, [&](size_t b0, size_t b1, int) {
    thread_local std::vector<float> buf, acc;
    if (w.type != DType::F32) buf.resize(cols * kRowBlock);
    acc.resize(kRowTiles * ((kTokenChunk + kTileCols - 1) / kTileCols) * kTileLanes);
    for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
      const size_t t1 = std::min(n_tokens, t0 + kTokenChunk);
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
        // The accumulator slot of the tile at token t, row r.
        auto slot = [&](size_t t, size_t r) {
          return acc.data() +
                 ((t - t0) / kTileCols * kRowTiles + (r - r0) / kTileRows) * kTileLanes;
        };
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (size_t k0 = 0; k0 < cols16; k0 += kKBlock) {
          const size_t k1 = std::min(cols16, k0 + kKBlock);
          for (size_t t = t0; t < t1; t += kTileCols) {
            const size_t nt = std::min<size_t>(kTileCols, t1 - t);
            for (size_t r = r0; r < r1; r += kTileRows) {
              const size_t nr = std::min<size_t>(kTileRows, r1 - r);
              tile_fn(nr, nt)(block + (r - r0) * cols, cols, x + t * cols, cols, k0, k1,
                              slot(t, r));
            }
          }
        }
        for (size_t t = t0; t < t1; t += kTileCols) {
          const size_t nt = std::min<size_t>(kTileCols, t1 - t);
          for (size_t r = r0; r < r1; r += kTileRows) {
            const size_t nr = std::min<size_t>(kTileRows, r1 - r);
            const float* lanes = slot(t, r);
            for (size_t i = 0; i < nr; ++i)
              for (size_t j = 0; j < nt; ++j)
                y[(t + j) * rows + r + i] =
                    finish_dot(lanes + (i * nt + j) * kDotLanes, block + (r - r0 + i) * cols,
                               x + (t + j) * cols, cols16, cols);
          }
        }
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
      y[t * rows + r] = dot_lanes_reference(row.data(), x + t * cols, cols);
  }
}

}  // namespace ss
