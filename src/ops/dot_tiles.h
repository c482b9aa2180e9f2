#pragma once
// The register-tile shape of this build and a table of dot_tile kernels for every partial tile,
// shared by the GEMM (rows of W × tokens) and attention (queries × keys).
#include <array>
#include <cstddef>
#include <utility>

#include "ops/dot.h"

namespace ss {

#if defined(__AVX512F__)
inline constexpr int kTileRows = 4, kTileCols = 4;  // 16 zmm accumulators + 4 row vectors
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr int kTileRows = 2, kTileCols = 3;  // 12 ymm accumulators + 2 row vectors
#else
inline constexpr int kTileRows = 1, kTileCols = 1;
#endif

using TileFn = void (*)(const float*, size_t, const float*, size_t, size_t, size_t, float*);

namespace detail {
template <size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_tile_table(std::index_sequence<I...>) {
  return {&dot_tile<static_cast<int>(I / kTileCols) + 1, static_cast<int>(I % kTileCols) + 1>...};
}
inline constexpr auto kTileTable =
    make_tile_table(std::make_index_sequence<kTileRows * kTileCols>());
}  // namespace detail

// dot_tile<m, n> for 1 ≤ m ≤ kTileRows, 1 ≤ n ≤ kTileCols.
inline TileFn tile_fn(size_t m, size_t n) {
  return detail::kTileTable[(m - 1) * kTileCols + (n - 1)];
}

// The GEMM's packed tile (dot_tile_packed): rows of W × tokens.
#if defined(__AVX512F__)
// 24 zmm accumulators + 6 row vectors + 1 token vector: per 16-element group, 6 loads of the
// L1-resident rows and 4 of the streamed tokens feed 24 FMAs (bench matmul_eff: 4×4 reached 55%
// of the FMA peak, 4×6 and 5×5 54-58%, 6×4 60-64%).
inline constexpr int kGemmRows = 6, kGemmCols = 4;
#else
inline constexpr int kGemmRows = kTileRows, kGemmCols = kTileCols;
#endif

using PackedTileFn = void (*)(const float*, const float*, size_t, float*, bool);

namespace detail {
template <size_t... I>
constexpr std::array<PackedTileFn, sizeof...(I)> make_packed_table(std::index_sequence<I...>) {
  return {&dot_tile_packed<static_cast<int>(I / kGemmCols) + 1,
                           static_cast<int>(I % kGemmCols) + 1>...};
}
inline constexpr auto kPackedTable =
    make_packed_table(std::make_index_sequence<kGemmRows * kGemmCols>());
}  // namespace detail

// dot_tile_packed<m, n> for 1 ≤ m ≤ kGemmRows, 1 ≤ n ≤ kGemmCols.
inline PackedTileFn packed_tile_fn(size_t m, size_t n) {
  return detail::kPackedTable[(m - 1) * kGemmCols + (n - 1)];
}

}  // namespace ss
