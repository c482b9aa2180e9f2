#include "ops/matmul.h"

#include <algorithm>
#include <vector>

#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/dot_tiles.h"

namespace ss {
namespace {

// Blocking of the batched path (bench matmul_eff on Zen 5 chose the sizes). The inputs of a span of
// tokens (kSpanBytes, so they stay in L3) are packed once in dot_tile_packed's layout and shared
// by the threads; a thread packs each block of kRowBlock rows (expanded to f32 first when
// quantized), so W is read from memory once per span. Against chunks of kTokenChunk tokens, the
// dot products are split into blocks of kKBlock columns, the f32 lanes waiting in `acc` between
// them; within a column block each register tile of rows stays in L1 while every token tile of
// the chunk streams past it from L2.
constexpr size_t kRowBlock = 4 * kGemmRows;
constexpr size_t kTokenChunk = 128;
constexpr size_t kKBlock = 1024;
constexpr size_t kGroupsPerKBlock = kKBlock / kDotLanes;
constexpr size_t kGemmLanes = kGemmRows * kGemmCols * kDotLanes;
// Below this many tokens (decode) packing would cost more than it saves.
constexpr size_t kPackMinTokens = 8;
constexpr size_t kSpanBytes = size_t{4} << 20;

// Rows [0, n) of src (stride ld) into tiles of `tile` rows, each tile's 16-element groups one
// after another: the layout dot_tile_packed reads.
void pack(const float* src, size_t ld, size_t n, size_t tile, size_t groups, float* dst) {
  for (size_t i0 = 0; i0 < n; i0 += tile) {
    const size_t m = std::min(tile, n - i0);
    for (size_t g = 0; g < groups; ++g)
      for (size_t i = 0; i < m; ++i, dst += kDotLanes)
        std::copy_n(src + (i0 + i) * ld + g * kDotLanes, kDotLanes, dst);
  }
}

// Rows [r0, r1) of w as f32: in place for F32, else expanded into buf (cols × kRowBlock floats).
const float* f32_rows(const Tensor& w, size_t r0, size_t r1, std::vector<float>& buf) {
  if (w.type == DType::F32) return reinterpret_cast<const float*>(w.row(static_cast<int64_t>(r0)));
  const size_t cols = static_cast<size_t>(w.cols());
  for (size_t r = r0; r < r1; ++r)
    dequantize_row(w.type, w.row(static_cast<int64_t>(r)), buf.data() + (r - r0) * cols, cols);
  return buf.data();
}

// Few tokens: the tiles read rows in place.
void matmul_unpacked(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t cols16 = cols / kDotLanes * kDotLanes;
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(n_blocks, [&](size_t b0, size_t b1, int) {
    thread_local std::vector<float> buf;
    alignas(64) float acc[kTileRows * kTileCols * kDotLanes];
    if (w.type != DType::F32) buf.resize(cols * kRowBlock);
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
      const float* block = f32_rows(w, r0, r1, buf);
      for (size_t t = 0; t < n_tokens; t += kTileCols) {
        const size_t nt = std::min<size_t>(kTileCols, n_tokens - t);
        for (size_t r = r0; r < r1; r += kTileRows) {
          const size_t nr = std::min<size_t>(kTileRows, r1 - r);
          std::fill_n(acc, nr * nt * kDotLanes, 0.0f);
          tile_fn(nr, nt)(block + (r - r0) * cols, cols, x + t * cols, cols, 0, cols16, acc);
          for (size_t i = 0; i < nr; ++i)
            for (size_t j = 0; j < nt; ++j)
              y[(t + j) * rows + r + i] =
                  finish_dot(acc + (i * nt + j) * kDotLanes, block + (r - r0 + i) * cols,
                             x + (t + j) * cols, cols16, cols);
        }
      }
    }
  });
}

// The batched path over one span of tokens whose inputs are packed at xp.
void matmul_span(const Tensor& w, const float* x, size_t n_tokens, const float* xp, float* y,
                 ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / kDotLanes, cols16 = groups * kDotLanes;
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  constexpr size_t kRowTiles = (kRowBlock + kGemmRows - 1) / kGemmRows;
  constexpr size_t kTokenTiles = (kTokenChunk + kGemmCols - 1) / kGemmCols;
  pool.parallel_for(n_blocks, [&](size_t b0, size_t b1, int) {
    thread_local std::vector<float> buf, wpack, acc;
    if (w.type != DType::F32) buf.resize(cols * kRowBlock);
    wpack.resize(kRowBlock * cols16);
    acc.resize(kRowTiles * kTokenTiles * kGemmLanes);
    // The accumulator slot of the tile at (row tile i, token tile j).
    auto slot = [&](size_t i, size_t j) { return acc.data() + (j * kRowTiles + i) * kGemmLanes; };
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, r1 = std::min(rows, r0 + kRowBlock), nrs = r1 - r0;
      const float* block = f32_rows(w, r0, r1, buf);
      pack(block, cols, nrs, kGemmRows, groups, wpack.data());
      for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
        const size_t nts = std::min(n_tokens, t0 + kTokenChunk) - t0;
        if (groups == 0) std::fill(acc.begin(), acc.end(), 0.0f);  // (no kernel call zeroes it)
        for (size_t g0 = 0; g0 < groups; g0 += kGroupsPerKBlock) {
          const size_t ng = std::min(kGroupsPerKBlock, groups - g0);
          for (size_t r = 0; r < nrs; r += kGemmRows) {
            const size_t nr = std::min<size_t>(kGemmRows, nrs - r);
            const float* wp = wpack.data() + r * cols16 + g0 * nr * kDotLanes;
            for (size_t t = 0; t < nts; t += kGemmCols) {
              const size_t nt = std::min<size_t>(kGemmCols, nts - t);
              packed_tile_fn(nr, nt)(wp, xp + (t0 + t) * cols16 + g0 * nt * kDotLanes, ng,
                                     slot(r / kGemmRows, t / kGemmCols), g0 > 0);
            }
          }
        }
        for (size_t r = 0; r < nrs; r += kGemmRows) {
          const size_t nr = std::min<size_t>(kGemmRows, nrs - r);
          for (size_t t = 0; t < nts; t += kGemmCols) {
            const size_t nt = std::min<size_t>(kGemmCols, nts - t);
            const float* lanes = slot(r / kGemmRows, t / kGemmCols);
            // Whole batches of 8 (a partial tile's extra lanes are finite and unused).
            alignas(64) double sums[kGemmRows * kGemmCols + 7];
            for (size_t o = 0; o < nr * nt; o += 8) sum_lanes_x8(lanes + o * kDotLanes, sums + o);
            for (size_t i = 0; i < nr; ++i)
              for (size_t j = 0; j < nt; ++j) {
                double sum = sums[i * nt + j];
                const float *wr = block + (r + i) * cols, *xr = x + (t0 + t + j) * cols;
                for (size_t c = cols16; c < cols; ++c) sum += static_cast<double>(wr[c]) * xr[c];
                y[(t0 + t + j) * rows + r0 + r + i] = static_cast<float>(sum);
              }
          }
        }
      }
    }
  });
}

}  // namespace

void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  if (n_tokens < kPackMinTokens) return matmul_unpacked(w, x, n_tokens, y, pool);
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / kDotLanes, cols16 = groups * kDotLanes;
  // Tokens go in spans whose packed inputs (shared by the threads) fit in L3 with room to spare;
  // each span reads W once, and each row block reads the span's inputs in order.
  const size_t span =
      std::max(kTokenChunk, kSpanBytes / (std::max<size_t>(cols16, 1) * sizeof(float)) /
                                kTokenChunk * kTokenChunk);
  thread_local std::vector<float> xpack;
  xpack.resize(std::min(n_tokens, span) * cols16);
  float* const xp = xpack.data();
  for (size_t s0 = 0; s0 < n_tokens; s0 += span) {
    const size_t s1 = std::min(n_tokens, s0 + span);
    pool.parallel_for((s1 - s0 + kGemmCols - 1) / kGemmCols, [&](size_t j0, size_t j1, int) {
      const size_t t0 = j0 * kGemmCols, t1 = std::min(s1 - s0, j1 * kGemmCols);
      pack(x + (s0 + t0) * cols, cols, t1 - t0, kGemmCols, groups, xp + t0 * cols16);
    });
    matmul_span(w, x + s0 * cols, s1 - s0, xp, y + s0 * rows, pool);
  }
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
