// The GEMM driver of ops/matmul.h and ops/matmul_bf16.h, written once for every SIMD variant and
// both element types: included inside a variant's target region after ops/simd/lanes-inl.h.
//
// Blocking of the batched path (bench matmul_eff on Zen 5 chose the sizes). The inputs of a span of
// tokens (kSpanBytes, so they stay in L3) are packed once in the tile kernel's layout and shared
// by the threads; a thread packs each block of 4 tile-rows of W (expanded to f32 first when
// quantized), so W is read from memory once per span. Against chunks of tokens, the dot products
// are split into blocks of columns, the f32 lanes waiting in `acc` between them; within a column
// block each register tile of rows stays in L1 while every token tile of the chunk streams past
// it from L2. A chunk is a whole number of token tiles: the packed inputs are laid out tile by
// tile from the start of the span, so a chunk that started inside a tile would read another
// token's elements (the AVX2 variant's 3-token tiles against 128-token chunks did exactly that).

// Exact f32 products (ops/matmul.h): any weight type, expanded to f32 rows.
struct F32Gemm {
  using Elem = float;
  static constexpr size_t kGroup = kDotLanes;  // elements per step of the 16 lanes
  static constexpr int kRows = kGemmRows, kCols = kGemmCols;
  // Column blocks of 1024 elements. AVX2's tile reads each block twice (once per half of the
  // lanes); with column-block-major packing 1024 still beat 512 there (bench/e2e on Zen 4 forced
  // to AVX2, 6 interleaved rounds: about 2% with statistics), and 2048 lost 15%.
  static constexpr size_t kGroupsPerKBlock = 1024 / kGroup;
  static constexpr size_t kSplit = kPackSplit;  // lanes_tile's passes per group

  template <int M, int N>
  static void tile(const Elem* wp, const Elem* xp, size_t n_groups, float* acc, bool accumulate) {
    dot_tile_packed<M, N>(wp, xp, n_groups, acc, accumulate);
  }
  // Rows [r0, r1) of w as f32: in place for F32, else expanded into buf.
  static const Elem* rows(const Tensor& w, size_t r0, size_t r1, std::vector<Elem>& buf) {
    if (w.type == DType::F32)
      return reinterpret_cast<const float*>(w.row(static_cast<int64_t>(r0)));
    const size_t cols = static_cast<size_t>(w.cols());
    if (buf.size() < cols * (r1 - r0)) buf.resize(cols * (r1 - r0));
    for (size_t r = r0; r < r1; ++r)
      expand_row(w.type, w.row(static_cast<int64_t>(r)), buf.data() + (r - r0) * cols, cols);
    return buf.data();
  }
  static void inputs(const float* x, size_t n, Elem* out) { std::copy_n(x, n, out); }
  static constexpr bool kInputsInPlace = true;  // inputs() is the identity: use x as it is
  // The sum with the elements past the last whole group, rounded once.
  static float finish(double sum, const Elem* w, const Elem* x, size_t i, size_t n) {
    for (; i < n; ++i) sum += static_cast<double>(w[i]) * x[i];
    return static_cast<float>(sum);
  }
};

template <class G>
struct GemmBlocking {
  static constexpr size_t kRowBlock = 4 * G::kRows;
  static constexpr size_t kTokenChunk = G::kCols * ((128 + G::kCols - 1) / G::kCols);
  static constexpr size_t kRowTiles = (kRowBlock + G::kRows - 1) / G::kRows;
  static constexpr size_t kTokenTiles = kTokenChunk / G::kCols;
  // A slot holds a whole number of 8-output batches: the lane sums go 8 outputs at a time, and
  // a tile of fewer (2×3 with AVX2) would read past its slot, past the buffer for the last one.
  static constexpr size_t kTileLanes = (G::kRows * G::kCols + 7) / 8 * 8 * kDotLanes;
  static constexpr size_t kSpanBytes = size_t{4} << 20;
  static_assert(kTokenChunk % G::kCols == 0, "a chunk must be whole token tiles");
};

template <class G, size_t... I>
constexpr auto make_gemm_tiles(std::index_sequence<I...>) {
  using Fn = void (*)(const typename G::Elem*, const typename G::Elem*, size_t, float*, bool);
  return std::array<Fn, sizeof...(I)>{
      &G::template tile<static_cast<int>(I / G::kCols) + 1, static_cast<int>(I % G::kCols) + 1>...};
}

// Rows [i_begin, i_end) of n rows of src (stride ld) into tiles of `tile` rows (i_begin a
// multiple of tile): the layout the packed tile kernels read. Column block after column block
// (kGroupsPerKBlock groups): a column block holds every tile of the n rows, tile after tile, so
// the token tiles that stream past a row tile are one run of memory, read front to back; apart,
// each tile began a new stream for the hardware prefetcher. Within a tile's column block come
// G::kSplit parts (lanes [p * kGroup / kSplit, (p + 1) * kGroup / kSplit) of every group), and
// within a part, group after group, row after row. Tile (i0, column block at g0, ng groups)
// starts at gemm_tile_offset.
template <class G>
size_t gemm_tile_offset(size_t n, size_t i0, size_t g0, size_t ng) {
  return (g0 * n + i0 * ng) * G::kGroup;
}

template <class G>
void gemm_pack(const typename G::Elem* src, size_t ld, size_t n, size_t i_begin, size_t i_end,
               size_t tile, size_t groups, typename G::Elem* dst) {
  constexpr size_t kPart = G::kGroup / G::kSplit;
  for (size_t g0 = 0; g0 < groups; g0 += G::kGroupsPerKBlock) {
    const size_t g1 = std::min(groups, g0 + G::kGroupsPerKBlock);
    for (size_t i0 = i_begin; i0 < i_end; i0 += tile) {
      const size_t m = std::min(tile, n - i0);
      typename G::Elem* out = dst + gemm_tile_offset<G>(n, i0, g0, g1 - g0);
      for (size_t p = 0; p < G::kSplit; ++p)
        for (size_t g = g0; g < g1; ++g)
          for (size_t i = 0; i < m; ++i, out += kPart) {
            // A loop of fixed length, in registers: std::copy_n became a call to memmove per 32 or
            // 64 bytes, 8% of F32 prefill.
            const typename G::Elem* from = src + (i0 + i) * ld + g * G::kGroup + p * kPart;
            for (size_t l = 0; l < kPart; ++l) out[l] = from[l];
          }
    }
  }
}

// Row blocks [b0, b1) of w against a span of n_tokens tokens: xr their inputs (for the tails), xp
// the same packed.
template <class G>
void gemm_row_blocks(const Tensor& w, const typename G::Elem* xr, size_t n_tokens,
                     const typename G::Elem* xp, float* y, size_t b0, size_t b1) {
  using B = GemmBlocking<G>;
  using Elem = typename G::Elem;
  static constexpr auto kTiles =
      make_gemm_tiles<G>(std::make_index_sequence<G::kRows * G::kCols>());
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / G::kGroup, colsg = groups * G::kGroup;
  thread_local std::vector<Elem> buf, wpack;
  thread_local std::vector<float> acc;
  wpack.resize(B::kRowBlock * colsg);
  acc.resize(B::kRowTiles * B::kTokenTiles * B::kTileLanes);
  // The accumulator slot of the tile at (row tile i, token tile j).
  float* const slots = acc.data();
  auto slot = [slots](size_t i, size_t j) {
    return slots + (j * B::kRowTiles + i) * B::kTileLanes;
  };
  const size_t n_kblocks = (groups + G::kGroupsPerKBlock - 1) / G::kGroupsPerKBlock;
  const size_t n_chunks = (n_tokens + B::kTokenChunk - 1) / B::kTokenChunk;
  for (size_t b = b0; b < b1; ++b) {
    const size_t r0 = b * B::kRowBlock, r1 = std::min(rows, r0 + B::kRowBlock), nrs = r1 - r0;
    const Elem* block = G::rows(w, r0, r1, buf);
    gemm_pack<G>(block, cols, nrs, 0, nrs, G::kRows, groups, wpack.data());
    // The next block's rows come from memory while this one computes, a few lines per tile: read
    // by the packing above with nothing to overlap, they cost F32 prefill 8% of its time.
    const uint8_t* next = b + 1 < b1 ? w.row(static_cast<int64_t>(r1)) : nullptr;
    const size_t next_lines =
        next ? (std::min(rows, r1 + B::kRowBlock) - r1) * w.row_bytes() / 64 : 0;
    const size_t calls = std::max<size_t>(
        1, n_chunks * n_kblocks * ((nrs + G::kRows - 1) / G::kRows) * B::kTokenTiles);
    const size_t lines_per_call = (next_lines + calls - 1) / calls;
    size_t line = 0;
    for (size_t t0 = 0; t0 < n_tokens; t0 += B::kTokenChunk) {
      const size_t nts = std::min(n_tokens, t0 + B::kTokenChunk) - t0;
      if (groups == 0) std::fill(acc.begin(), acc.end(), 0.0f);  // (no kernel call zeroes it)
      for (size_t g0 = 0; g0 < groups; g0 += G::kGroupsPerKBlock) {
        const size_t ng = std::min(G::kGroupsPerKBlock, groups - g0);
        for (size_t r = 0; r < nrs; r += G::kRows) {
          const size_t nr = std::min<size_t>(G::kRows, nrs - r);
          const Elem* wp = wpack.data() + gemm_tile_offset<G>(nrs, r, g0, ng);
          for (size_t t = 0; t < nts; t += G::kCols) {
            const size_t nt = std::min<size_t>(G::kCols, nts - t);
            for (size_t e = std::min(next_lines, line + lines_per_call); line < e; ++line)
              __builtin_prefetch(next + line * 64, 0, 2);
            kTiles[(nr - 1) * G::kCols + (nt - 1)](
                wp, xp + gemm_tile_offset<G>(n_tokens, t0 + t, g0, ng), ng,
                slot(r / G::kRows, t / G::kCols), g0 > 0);
          }
        }
      }
      for (size_t r = 0; r < nrs; r += G::kRows) {
        const size_t nr = std::min<size_t>(G::kRows, nrs - r);
        for (size_t t = 0; t < nts; t += G::kCols) {
          const size_t nt = std::min<size_t>(G::kCols, nts - t);
          const float* lanes = slot(r / G::kRows, t / G::kCols);
          // Whole batches of 8 (a partial tile's extra lanes are finite and unused; the slot has
          // room for them).
          alignas(64) double sums[G::kRows * G::kCols + 7];
          for (size_t o = 0; o < nr * nt; o += 8) sum_lanes_x8(lanes + o * kDotLanes, sums + o);
          for (size_t i = 0; i < nr; ++i)
            for (size_t j = 0; j < nt; ++j)
              y[(t0 + t + j) * rows + r0 + r + i] = G::finish(
                  sums[i * nt + j], block + (r + i) * cols, xr + (t0 + t + j) * cols, colsg, cols);
        }
      }
    }
  }
}

// The batched path: tokens in spans whose packed inputs (shared by the threads) fit in L3; each
// span reads W once, and each row block reads the span's inputs in order.
template <class G>
void gemm_batched(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  using B = GemmBlocking<G>;
  using Elem = typename G::Elem;
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / G::kGroup, colsg = groups * G::kGroup;
  const size_t span =
      std::max(B::kTokenChunk, B::kSpanBytes / (std::max<size_t>(colsg, 1) * sizeof(Elem)) /
                                   B::kTokenChunk * B::kTokenChunk);
  thread_local std::vector<Elem> xround, xpack;
  if (!G::kInputsInPlace) xround.resize(std::min(n_tokens, span) * cols);
  xpack.resize(std::min(n_tokens, span) * colsg);
  for (size_t s0 = 0; s0 < n_tokens; s0 += span) {
    const size_t s1 = std::min(n_tokens, s0 + span);
    const Elem* xr =
        G::kInputsInPlace ? reinterpret_cast<const Elem*>(x + s0 * cols) : xround.data();
    Elem* const xr_out = xround.data();
    Elem* const xp = xpack.data();
    pool.parallel_for((s1 - s0 + G::kCols - 1) / G::kCols, [&](size_t j0, size_t j1, int) {
      const size_t t0 = j0 * G::kCols, t1 = std::min(s1 - s0, j1 * G::kCols);
      if (!G::kInputsInPlace) G::inputs(x + (s0 + t0) * cols, (t1 - t0) * cols, xr_out + t0 * cols);
      gemm_pack<G>(xr, cols, s1 - s0, t0, t1, G::kCols, groups, xp);
    });
    // Row blocks to whichever thread is free, about 8 pieces per thread (a block's outputs do not
    // depend on the thread): with halves, a thread the host held back stalled the other.
    const size_t n_blocks = (rows + B::kRowBlock - 1) / B::kRowBlock;
    const size_t grain = std::max<size_t>(1, n_blocks / (8 * static_cast<size_t>(pool.size())));
    pool.parallel_for_dynamic(n_blocks, grain, [&](size_t b0, size_t b1, int) {
      gemm_row_blocks<G>(w, xr, s1 - s0, xp, y + s0 * rows, b0, b1);
    });
  }
}

// Below this many tokens packing would cost more than it saves (ops/decode-inl.h).
inline constexpr size_t kPackMinTokens = 8;
static_assert(kPackMinTokens - 1 <= kDecodeMaxTokens);

inline void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  if (n_tokens >= kPackMinTokens) return gemm_batched<F32Gemm>(w, x, n_tokens, y, pool);
  constexpr size_t kRowBlock = GemmBlocking<F32Gemm>::kRowBlock;
  const size_t n_blocks = (static_cast<size_t>(w.rows()) + kRowBlock - 1) / kRowBlock;
  // Pieces to whichever thread is free, as in gemm_batched: decode waits on the slowest thread.
  const size_t grain = std::max<size_t>(1, n_blocks / (8 * static_cast<size_t>(pool.size())));
  pool.parallel_for_dynamic(n_blocks, grain, [&](size_t b0, size_t b1, int) {
    matmul_few(w, x, n_tokens, y, b0 * kRowBlock, std::min<size_t>(w.rows(), b1 * kRowBlock));
  });
}

#if SS_ISA_BF16
// BF16 weights × BF16-rounded activations (ops/matmul_bf16.h) with vdpbf16ps: per 32-element
// group, f32 lane l takes elements 2l+1 then 2l, each with a fused multiply-add.
struct Bf16Gemm {
  using Elem = uint16_t;
  static constexpr size_t kGroup = 32;
  static constexpr int kRows = 6, kCols = 4;
  static constexpr size_t kGroupsPerKBlock = 2048 / kGroup;  // the rows' tile, 24 KB, in L1
  static constexpr size_t kSplit = 1;

  template <int M, int N>
  static void tile(const Elem* wp, const Elem* xp, size_t n_groups, float* acc, bool accumulate) {
    __m512 a[M][N];
    for (int r = 0; r < M; ++r)
      for (int t = 0; t < N; ++t)
        a[r][t] = accumulate ? _mm512_loadu_ps(acc + (r * N + t) * 16) : _mm512_setzero_ps();
    for (size_t g = 0; g < n_groups; ++g, wp += M * kGroup, xp += N * kGroup) {
      __m512i wv[M];
      for (int r = 0; r < M; ++r) {
        wv[r] = _mm512_loadu_si512(wp + r * kGroup);
        __asm__("" : "+v"(wv[r]));  // keep the loads out of the dot products (see lanes_tile)
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
  static const Elem* rows(const Tensor& w, size_t r0, size_t, std::vector<Elem>&) {
    return reinterpret_cast<const Elem*>(w.row(static_cast<int64_t>(r0)));
  }
  static void inputs(const float* x, size_t n, Elem* out) {
    for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(x[i]);
  }
  static constexpr bool kInputsInPlace = false;
  static float finish(double sum, const Elem* w, const Elem* x, size_t i, size_t n) {
    for (; i < n; ++i) sum += static_cast<double>(bf16_to_f32(w[i])) * bf16_to_f32(x[i]);
    return static_cast<float>(sum);
  }
};

// Decode with BF16 activations: M rows × N tokens of rows read straight from W (no packing, which
// for one token doubled the weights' trips through the caches), each row prefetched as
// ops/decode-inl.h's tiles do. out[(r * N + t) * 16 ..] takes the 16 lanes of row r, token t.
template <int M, int N>
void bf16_decode_tile(const uint16_t* const* rows, size_t row_bytes, const uint16_t* xb,
                      size_t cols, size_t groups, float* out) {
  constexpr size_t kGroup = Bf16Gemm::kGroup;
  __m512 a[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) a[r][t] = _mm512_setzero_ps();
  for (size_t g = 0; g < groups; ++g) {
    __m512i wv[M];
    for (int r = 0; r < M; ++r) {
      prefetch_row<M>(reinterpret_cast<const uint8_t*>(rows[r]),
                      g * kGroup * sizeof(uint16_t) + kDecodeAheadBytes, row_bytes);
      wv[r] = _mm512_loadu_si512(rows[r] + g * kGroup);
    }
    for (int t = 0; t < N; ++t) {
      const __m512i xv = _mm512_loadu_si512(xb + t * cols + g * kGroup);
      for (int r = 0; r < M; ++r)
        a[r][t] = _mm512_dpbf16_ps(a[r][t], (__m512bh)xv, (__m512bh)wv[r]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) _mm512_storeu_ps(out + (r * N + t) * kDotLanes, a[r][t]);
}

// Rows [r0, r1) against n_tokens (< kPackMinTokens) tokens, xb their BF16-rounded inputs.
inline void bf16_decode_rows(const Tensor& w, const uint16_t* xb, size_t n_tokens, float* y,
                             size_t r0, size_t r1) {
  constexpr int kRows = 4, kCols = 4;  // 16 accumulators, 4 row vectors
  using TileFn = void (*)(const uint16_t* const*, size_t, const uint16_t*, size_t, size_t, float*);
  static constexpr auto kTiles = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{
        &bf16_decode_tile<static_cast<int>(I / kCols) + 1, static_cast<int>(I % kCols) + 1>...};
  }
  (std::make_index_sequence<kRows * kCols>());
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / Bf16Gemm::kGroup, colsg = groups * Bf16Gemm::kGroup;
  const size_t row_bytes = w.row_bytes();
  alignas(64) float acc[kRows * kCols * kDotLanes];
  const uint16_t* row[kRows];
  for (size_t r = r0; r < r1; r += kRows) {
    const size_t nr = std::min<size_t>(kRows, r1 - r);
    for (size_t i = 0; i < nr; ++i)
      row[i] = reinterpret_cast<const uint16_t*>(w.row(static_cast<int64_t>(r + i)));
    for (size_t t0 = 0; t0 < n_tokens; t0 += kCols) {
      const size_t nt = std::min<size_t>(kCols, n_tokens - t0);
      kTiles[(nr - 1) * kCols + (nt - 1)](row, row_bytes, xb + t0 * cols, cols, groups, acc);
      for (size_t i = 0; i < nr; ++i)
        for (size_t t = 0; t < nt; ++t)
          y[(t0 + t) * rows + r + i] = Bf16Gemm::finish(sum_lanes(acc + (i * nt + t) * kDotLanes),
                                                        row[i], xb + (t0 + t) * cols, colsg, cols);
    }
  }
}

inline void matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y,
                        ThreadPool& pool) {
  if (n_tokens >= kPackMinTokens) return gemm_batched<Bf16Gemm>(w, x, n_tokens, y, pool);
  const size_t cols = static_cast<size_t>(w.cols()), rows = static_cast<size_t>(w.rows());
  thread_local std::vector<uint16_t> xb;
  xb.resize(n_tokens * cols);
  Bf16Gemm::inputs(x, n_tokens * cols, xb.data());
  const uint16_t* const xs = xb.data();
  constexpr size_t kRowBlock = 16;
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  // Pieces to whichever thread is free, as matmul's decode.
  const size_t grain = std::max<size_t>(1, n_blocks / (8 * static_cast<size_t>(pool.size())));
  pool.parallel_for_dynamic(n_blocks, grain, [&](size_t b0, size_t b1, int) {
    bf16_decode_rows(w, xs, n_tokens, y, b0 * kRowBlock, std::min(rows, b1 * kRowBlock));
  });
}
#endif
