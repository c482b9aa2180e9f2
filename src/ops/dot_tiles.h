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

}  // namespace ss
