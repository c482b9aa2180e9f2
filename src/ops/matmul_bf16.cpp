#include "ops/matmul_bf16.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ops/dot.h"
#include "ops/fp16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SS_BF16_KERNEL 1
#endif

namespace ss {
namespace {

constexpr size_t kGroup = 32;  // elements per step of the 16 lanes
constexpr int kTileRows = 6, kTileCols = 4;
// The blocking of ops/matmul.cpp's batched path, for 2-byte elements.
constexpr size_t kRowBlock = 4 * kTileRows;
constexpr size_t kTokenChunk = 128;
constexpr size_t kGroupsPerKBlock = 2048 / kGroup;  // rows' tile 24 KB in L1
constexpr size_t kSpanBytes = size_t{4} << 20;
constexpr size_t kTileLanes = kTileRows * kTileCols * kDotLanes;

using Bf16 = uint16_t;

// Step 2 for one group in scalar form.
[[maybe_unused]] inline void lanes_step(const Bf16* w, const Bf16* x, float* lanes) {
  for (size_t l = 0; l < kDotLanes; ++l) {
    lanes[l] = std::fma(bf16_to_f32(x[2 * l + 1]), bf16_to_f32(w[2 * l + 1]), lanes[l]);
    lanes[l] = std::fma(bf16_to_f32(x[2 * l]), bf16_to_f32(w[2 * l]), lanes[l]);
  }
}

// Step 3: sum is step 2's result for elements [0, i); x is already rounded.
[[maybe_unused]] inline float finish(double sum, const Bf16* w, const Bf16* x, size_t i, size_t n) {
  for (; i < n; ++i) sum += static_cast<double>(bf16_to_f32(w[i])) * bf16_to_f32(x[i]);
  return static_cast<float>(sum);
}

void round_row(const float* x, size_t n, Bf16* out) {
  for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

// Rows [0, n) of src (stride ld) into tiles of `tile` rows, each tile's 32-element groups one
// after another.
[[maybe_unused]] void pack(const Bf16* src, size_t ld, size_t n, size_t tile, size_t groups,
                           Bf16* dst) {
  for (size_t i0 = 0; i0 < n; i0 += tile) {
    const size_t m = std::min(tile, n - i0);
    for (size_t g = 0; g < groups; ++g)
      for (size_t i = 0; i < m; ++i, dst += kGroup)
        std::copy_n(src + (i0 + i) * ld + g * kGroup, kGroup, dst);
  }
}

#if SS_BF16_KERNEL
// Step 2 for an M × N register tile on packed operands (as ops/dot.h's dot_tile_packed).
template <int M, int N>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void tile_bf16(
    const Bf16* wp, const Bf16* xp, size_t n_groups, float* acc, bool accumulate) {
  __m512 a[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t)
      a[r][t] = accumulate ? _mm512_loadu_ps(acc + (r * N + t) * 16) : _mm512_setzero_ps();
  for (size_t g = 0; g < n_groups; ++g, wp += M * kGroup, xp += N * kGroup) {
    __m512i wv[M];
    for (int r = 0; r < M; ++r) {
      wv[r] = _mm512_loadu_si512(wp + r * kGroup);
      __asm__("" : "+v"(wv[r]));  // keep the loads out of the dot products (see dot_tile)
    }
    for (int t = 0; t < N; ++t) {
      __m512i xv = _mm512_loadu_si512(xp + t * kGroup);
      __asm__("" : "+v"(xv));
      for (int r = 0; r < M; ++r)
        a[r][t] = _mm512_dpbf16_ps(a[r][t], (__m512bh)xv, (__m512bh)wv[r]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) _mm512_storeu_ps(acc + (r * N + t) * 16, a[r][t]);
}

using TileFn = void (*)(const Bf16*, const Bf16*, size_t, float*, bool);

template <size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_table(std::index_sequence<I...>) {
  return {&tile_bf16<static_cast<int>(I / kTileCols) + 1, static_cast<int>(I % kTileCols) + 1>...};
}
constexpr auto kTable = make_table(std::make_index_sequence<kTileRows * kTileCols>());

TileFn tile_fn(size_t m, size_t n) {
  return kTable[(m - 1) * kTileCols + (n - 1)];
}

// The rows of w against a span of tokens whose rounded inputs are packed at xp (xr: the same,
// unpacked, for the tails).
void matmul_span(const Tensor& w, const Bf16* xr, size_t n_tokens, const Bf16* xp, float* y,
                 ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / kGroup, cols32 = groups * kGroup;
  constexpr size_t kRowTiles = (kRowBlock + kTileRows - 1) / kTileRows;
  constexpr size_t kTokenTiles = (kTokenChunk + kTileCols - 1) / kTileCols;
  pool.parallel_for((rows + kRowBlock - 1) / kRowBlock, [&](size_t b0, size_t b1, int) {
    thread_local std::vector<Bf16> wpack;
    thread_local std::vector<float> acc;
    wpack.resize(kRowBlock * cols32);
    acc.resize(kRowTiles * kTokenTiles * kTileLanes);
    auto slot = [&](size_t i, size_t j) { return acc.data() + (j * kRowTiles + i) * kTileLanes; };
    for (size_t b = b0; b < b1; ++b) {
      const size_t r0 = b * kRowBlock, nrs = std::min(rows, r0 + kRowBlock) - r0;
      const Bf16* block = reinterpret_cast<const Bf16*>(w.row(static_cast<int64_t>(r0)));
      pack(block, cols, nrs, kTileRows, groups, wpack.data());
      for (size_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
        const size_t nts = std::min(n_tokens, t0 + kTokenChunk) - t0;
        if (groups == 0) std::fill(acc.begin(), acc.end(), 0.0f);  // (no kernel call zeroes it)
        for (size_t g0 = 0; g0 < groups; g0 += kGroupsPerKBlock) {
          const size_t ng = std::min(kGroupsPerKBlock, groups - g0);
          for (size_t r = 0; r < nrs; r += kTileRows) {
            const size_t nr = std::min<size_t>(kTileRows, nrs - r);
            const Bf16* wp = wpack.data() + r * cols32 + g0 * nr * kGroup;
            for (size_t t = 0; t < nts; t += kTileCols) {
              const size_t nt = std::min<size_t>(kTileCols, nts - t);
              tile_fn(nr, nt)(wp, xp + (t0 + t) * cols32 + g0 * nt * kGroup, ng,
                              slot(r / kTileRows, t / kTileCols), g0 > 0);
            }
          }
        }
        for (size_t r = 0; r < nrs; r += kTileRows) {
          const size_t nr = std::min<size_t>(kTileRows, nrs - r);
          for (size_t t = 0; t < nts; t += kTileCols) {
            const size_t nt = std::min<size_t>(kTileCols, nts - t);
            const float* lanes = slot(r / kTileRows, t / kTileCols);
            // Whole batches of 8 (a partial tile's extra lanes are finite and unused).
            alignas(64) double sums[kTileRows * kTileCols + 7];
            for (size_t o = 0; o < nr * nt; o += 8) sum_lanes_x8(lanes + o * kDotLanes, sums + o);
            for (size_t i = 0; i < nr; ++i)
              for (size_t j = 0; j < nt; ++j)
                y[(t0 + t + j) * rows + r0 + r + i] =
                    finish(sums[i * nt + j], block + (r + i) * cols, xr + (t0 + t + j) * cols,
                           cols32, cols);
          }
        }
      }
    }
  });
}
#endif

}  // namespace

bool bf16_dot_supported() {
#if SS_BF16_KERNEL
  static const bool yes = __builtin_cpu_supports("avx512bf16");
  return yes;
#else
  return false;
#endif
}

void matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  if (w.type != DType::BF16) throw std::invalid_argument("matmul_bf16: " + w.name + " is not BF16");
#if SS_BF16_KERNEL
  if (bf16_dot_supported()) {
    const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
    const size_t groups = cols / kGroup, cols32 = groups * kGroup;
    // Spans of tokens whose packed inputs stay in L3, as in ops/matmul.cpp.
    const size_t span =
        std::max(kTokenChunk, kSpanBytes / (std::max<size_t>(cols32, 1) * sizeof(Bf16)) /
                                  kTokenChunk * kTokenChunk);
    thread_local std::vector<Bf16> xr, xp;
    xr.resize(std::min(n_tokens, span) * cols);
    xp.resize(std::min(n_tokens, span) * cols32);
    Bf16* const rounded = xr.data();
    Bf16* const packed = xp.data();
    for (size_t s0 = 0; s0 < n_tokens; s0 += span) {
      const size_t s1 = std::min(n_tokens, s0 + span);
      pool.parallel_for((s1 - s0 + kTileCols - 1) / kTileCols, [&](size_t j0, size_t j1, int) {
        const size_t t0 = j0 * kTileCols, t1 = std::min(s1 - s0, j1 * kTileCols);
        round_row(x + (s0 + t0) * cols, (t1 - t0) * cols, rounded + t0 * cols);
        pack(rounded + t0 * cols, cols, t1 - t0, kTileCols, groups, packed + t0 * cols32);
      });
      matmul_span(w, rounded, s1 - s0, packed, y + s0 * rows, pool);
    }
    return;
  }
#endif
  (void)pool;
  matmul_bf16_reference(w, x, n_tokens, y);
}

void matmul_bf16_reference(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  if (w.type != DType::BF16)
    throw std::invalid_argument("matmul_bf16_reference: " + w.name + " is not BF16");
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t cols32 = cols / kGroup * kGroup;
  std::vector<Bf16> xr(cols);
  for (size_t t = 0; t < n_tokens; ++t) {
    round_row(x + t * cols, cols, xr.data());
    for (size_t r = 0; r < rows; ++r) {
      const Bf16* wr = reinterpret_cast<const Bf16*>(w.row(static_cast<int64_t>(r)));
      float lanes[kDotLanes] = {};
      for (size_t i = 0; i < cols32; i += kGroup) lanes_step(wr + i, xr.data() + i, lanes);
      double sum = sum_lanes_reference(lanes);
      for (size_t i = cols32; i < cols; ++i)
        sum += static_cast<double>(bf16_to_f32(wr[i])) * bf16_to_f32(xr[i]);
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace ss
