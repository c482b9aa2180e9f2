// Few tokens (decode): fused row dot products for one SIMD variant, included after
// ops/dequant-inl.h. Decode reads every weight once per token, so it runs at the speed of memory
// if each weight is read once, in its stored type, and made f32 where it is used. The loaders
// below make 16 lanes (AVX2: one half of 8) of a weight row in registers, with the dequantizers'
// arithmetic (ops/dequant-inl.h, ops/quants.h), so the lanes are the expanded row's values and
// every dot product keeps ops/dot.h's layout bit for bit. Types without a loader (and every
// quantized type in the scalar variant) are expanded a chunk at a time into a buffer that stays
// in L1.
//
// A row tile works through its rows a chunk of columns at a time, spilling its accumulators
// between chunks (acc, as lanes_tile allows): a K-quant super-block, whose scales are decoded once
// per chunk, or 1024 elements. With several tokens AVX2 passes over a chunk twice (once per half
// of the lanes), and the second pass reads it from L1; with one, both halves go in one pass.
//
// For one token a loader may also define one_token<M>: its own step over a whole block or
// super-block with constant offsets (the same FMAs in the same order), which decode_tile calls
// instead of lanes_tile. Measurements behind these choices: bench/README.md, "Decode against
// llama.cpp, in turn".

inline constexpr size_t kDecodeChunk = 1024;
// How far ahead of the group being read each row is prefetched.
inline constexpr size_t kDecodeAheadBytes = 2048;

// Prefetches byte `at` of a row in a tile of M rows, or past the row's end the same row of the next
// tile, M rows further, which the next tile reads first: the hardware prefetchers follow one long
// stream well, but lose M short interleaved ones at every tile's start (Q8_0, 2 rows to a tile,
// without this: 0.6× the speed of one row).
template <int M>
inline void prefetch_row(const uint8_t* row, size_t at, size_t row_bytes) {
  __builtin_prefetch(row + at + (at >= row_bytes ? (M - 1) * row_bytes : 0), 0, 3);
}

// F32: the row itself, four rows (AVX2: three) to a register tile.
struct F32Rows {
  static constexpr size_t kRows = kTileRows;
  static constexpr size_t kChunk = kDecodeChunk;
  struct Scales {};
  static void prepare(DType, const uint8_t*, size_t, size_t, Scales&) {}
  static const float* load(const uint8_t* row, const Scales&, size_t g, int h) {
    return reinterpret_cast<const float*>(row) + g * kDotLanes + h;
  }
};

// Any type, expanded a chunk at a time (the chunk's elements, from element e0 on).
struct ExpandedRows {
  static constexpr size_t kRows = kTileRows;
  static constexpr size_t kChunk = kDecodeChunk;
  struct Scales {
    size_t g0;
    alignas(64) float v[kDecodeChunk];
  };
  static void prepare(DType type, const uint8_t* row, size_t e0, size_t n, Scales& s) {
    expand_row(type, row + dtype_row_bytes(type, e0), s.v, n);
    s.g0 = e0 / kDotLanes;
  }
  static const float* load(const uint8_t*, const Scales& s, size_t g, int h) {
    return s.v + (g - s.g0) * kDotLanes + h;
  }
};

#if SS_ISA_LEVEL >= 1
#if SS_ISA_LEVEL >= 2
using Lanes = __m512;
using LanesI = __m512i;
// (maskz forms throughout: GCC 12's plain ones read an "undefined" register that
// -Wmaybe-uninitialized reports.)
inline constexpr __mmask16 kAll = 0xFFFF;
// The kLanes bytes (int8 or uint8), halves or bfloat16 at p, widened to 32 bits.
inline LanesI widen_i8(const uint8_t* p) {
  return _mm512_maskz_cvtepi8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline LanesI widen_u8(const uint8_t* p) {
  return _mm512_maskz_cvtepu8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline Lanes halves(const uint8_t* p) {
  return _mm512_maskz_cvtph_ps(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline Lanes bfloats(const uint8_t* p) {
  const __m512i u =
      _mm512_maskz_cvtepu16_epi32(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, u, 16));
}
inline LanesI low_nibbles(LanesI v) {
  return _mm512_and_si512(v, _mm512_set1_epi32(15));
}
inline LanesI high_nibbles(LanesI v) {
  return _mm512_maskz_srli_epi32(kAll, v, 4);
}
// (v >> shift) & 3, shift 0..6
inline LanesI two_bits(LanesI v, int shift) {
  return _mm512_and_si512(_mm512_maskz_srlv_epi32(kAll, v, _mm512_set1_epi32(shift)),
                          _mm512_set1_epi32(3));
}
inline LanesI or_shifted4(LanesI lo, LanesI hi) {
  return _mm512_or_si512(lo, _mm512_maskz_slli_epi32(kAll, hi, 4));
}
inline LanesI minus(LanesI v, int k) {
  return _mm512_sub_epi32(v, _mm512_set1_epi32(k));
}
// s * float(v), and s * float(v) - m: the dequantizers' products, one rounding each.
inline Lanes scaled(float s, LanesI v) {
  return _mm512_mul_ps(_mm512_set1_ps(s), _mm512_maskz_cvtepi32_ps(kAll, v));
}
inline Lanes scaled_less(float s, LanesI v, float m) {
  return _mm512_sub_ps(scaled(s, v), _mm512_set1_ps(m));
}
#else
using Lanes = __m256;
using LanesI = __m256i;
inline LanesI widen_i8(const uint8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline LanesI widen_u8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline Lanes halves(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline Lanes bfloats(const uint8_t* p) {
  const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
inline LanesI low_nibbles(LanesI v) {
  return _mm256_and_si256(v, _mm256_set1_epi32(15));
}
inline LanesI high_nibbles(LanesI v) {
  return _mm256_srli_epi32(v, 4);
}
inline LanesI two_bits(LanesI v, int shift) {
  return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_set1_epi32(shift)), _mm256_set1_epi32(3));
}
inline LanesI or_shifted4(LanesI lo, LanesI hi) {
  return _mm256_or_si256(lo, _mm256_slli_epi32(hi, 4));
}
inline LanesI minus(LanesI v, int k) {
  return _mm256_sub_epi32(v, _mm256_set1_epi32(k));
}
inline Lanes scaled(float s, LanesI v) {
  return _mm256_mul_ps(_mm256_set1_ps(s), _mm256_cvtepi32_ps(v));
}
inline Lanes scaled_less(float s, LanesI v, float m) {
  return _mm256_sub_ps(scaled(s, v), _mm256_set1_ps(m));
}
#endif

// A block's f16 scale with one F16C instruction (the same value as half_to_f32).
inline float block_scale(const uint8_t* p) {
  return _cvtsh_ss(load_u16(p));
}

// In the loaders, g is a 16-element group of the row and h the first lane wanted (0, or 8 for
// AVX2's second half).
//
// Loaders without per-chunk scales. A whole register tile of rows: one row's FMAs form one
// dependent chain (ops/dot.h's lane order), 4 cycles a group on Zen 4, which held one row to
// about 10 GB/s a thread; with four rows and decode_tile's prefetch the Q8_0 matmul_decode bench
// reads 1.5-2x faster.
struct StreamRows {
  static constexpr size_t kRows = kTileRows;
  static constexpr size_t kChunk = kDecodeChunk;
  struct Scales {};
  static void prepare(DType, const uint8_t*, size_t, size_t, Scales&) {}
};

struct F16Rows : StreamRows {
  static Lanes load(const uint8_t* row, const Scales&, size_t g, int h) {
    return halves(row + 2 * (g * kDotLanes + h));
  }
};

struct Bf16Rows : StreamRows {
  static Lanes load(const uint8_t* row, const Scales&, size_t g, int h) {
    return bfloats(row + 2 * (g * kDotLanes + h));
  }
};

// Q8_0: d * q; a block is two groups.
struct Q8_0Rows : StreamRows {
  static Lanes load(const uint8_t* row, const Scales&, size_t g, int h) {
    const uint8_t* b = row + g / 2 * sizeof(BlockQ8_0);
    const LanesI q = widen_i8(b + offsetof(BlockQ8_0, qs) + 16 * (g % 2) + h);
    return scaled(block_scale(b + offsetof(BlockQ8_0, d)), q);
  }
#if SS_ISA_LEVEL >= 2
  // One token, M rows, a block (two groups) a step: the scale is made once per block, and the
  // index arithmetic is once per block rather than per group (the same FMAs in the same order).
  template <int M>
  static void one_token(const uint8_t* const* rows, const Scales*, size_t row_bytes, const float* x,
                        size_t g0, size_t g1, float* acc, bool accumulate) {
    __m512 a[M];
    for (int r = 0; r < M; ++r)
      a[r] = accumulate ? _mm512_loadu_ps(acc + r * 16) : _mm512_setzero_ps();
    for (size_t b = g0 / 2; b < g1 / 2; ++b) {
      const size_t at = b * sizeof(BlockQ8_0), ahead = at + kDecodeAheadBytes;
      const __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
      for (int r = 0; r < M; ++r) {
        const uint8_t* p = rows[r] + at;
        prefetch_row<M>(rows[r], ahead, row_bytes);
        const float d = block_scale(p + offsetof(BlockQ8_0, d));
        a[r] = _mm512_fmadd_ps(scaled(d, widen_i8(p + offsetof(BlockQ8_0, qs))), x0, a[r]);
        a[r] = _mm512_fmadd_ps(scaled(d, widen_i8(p + offsetof(BlockQ8_0, qs) + 16)), x1, a[r]);
      }
    }
    for (int r = 0; r < M; ++r) _mm512_storeu_ps(acc + r * 16, a[r]);
  }
#endif
};

// Q4_0: d * (q - 8), group 0 of a block the low nibbles of its 16 bytes, group 1 the high ones.
struct Q4_0Rows : StreamRows {
  static Lanes load(const uint8_t* row, const Scales&, size_t g, int h) {
    const uint8_t* b = row + g / 2 * sizeof(BlockQ4_0);
    const LanesI bytes = widen_u8(b + offsetof(BlockQ4_0, qs) + h);
    const LanesI q = g % 2 ? high_nibbles(bytes) : low_nibbles(bytes);
    return scaled(block_scale(b + offsetof(BlockQ4_0, d)), minus(q, 8));
  }
};

// Q4_K: sc[t] * q - mn[t] over 32-element sub-blocks t; group j of a super-block lies in the
// 64-element part c = j / 4, low nibbles of qs[32c ..] for j % 4 < 2, high nibbles else.
struct Q4_KRows {
  static constexpr size_t kRows = kTileRows;
  static constexpr size_t kChunk = kQK;
#if SS_ISA_LEVEL >= 2
  // AVX-512: a nibble takes 16 values, so each sub-block's values sc[t] * q - mn[t] for q = 0..15
  // are made once per super-block (the same two roundings as the dequantizer), and a group's
  // lanes are looked up with one vpermps, which reads only the low 4 bits of each index: the
  // arithmetic per group drops from five vector operations to two or three.
  struct Scales {
    alignas(64) float value[8][16];
  };
  // k4_scale_min's 6-bit scales and mins of a super-block, sc[t] in lane t and mn[t] in lane
  // 8 + t (the 16-byte load reads past the 12 scale bytes into the block's qs).
  static LanesI scale_min_lanes(const uint8_t* scales) {
    const LanesI b = widen_u8(scales);
    const LanesI low = _mm512_maskz_permutexvar_epi32(
        kAll, _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11), b);
    const LanesI top = _mm512_maskz_permutexvar_epi32(
        kAll, _mm512_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7), b);
    const LanesI low_bits = _mm512_and_si512(
        _mm512_maskz_srlv_epi32(kAll, low,
                                _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4)),
        _mm512_setr_epi32(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
    const LanesI top_bits =
        _mm512_and_si512(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_srli_epi32(kAll, top, 6), 4),
                         _mm512_setr_epi32(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48));
    return _mm512_or_si512(low_bits, top_bits);
  }
  static void prepare(DType, const uint8_t* row, size_t e0, size_t, Scales& s) {
    const uint8_t* b = row + e0 / kQK * sizeof(BlockQ4_K);
    const float d = block_scale(b + offsetof(BlockQ4_K, d)),
                dmin = block_scale(b + offsetof(BlockQ4_K, dmin));
    // d * s and dmin * m, as k4_group_scales rounds them
    const Lanes sc_mn = _mm512_mul_ps(
        _mm512_maskz_cvtepi32_ps(kAll, scale_min_lanes(b + offsetof(BlockQ4_K, scales))),
        _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d), _mm512_set1_ps(dmin)));
    const Lanes q = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int t = 0; t < 8; ++t) {
      const Lanes sc = _mm512_maskz_permutexvar_ps(kAll, _mm512_set1_epi32(t), sc_mn);
      const Lanes mn = _mm512_maskz_permutexvar_ps(kAll, _mm512_set1_epi32(8 + t), sc_mn);
      _mm512_store_ps(s.value[t], _mm512_sub_ps(_mm512_mul_ps(sc, q), mn));
    }
  }
  static Lanes load(const uint8_t* row, const Scales& s, size_t g, int h) {
    const size_t j = g % 16, c = j / 4;
    const uint8_t* b = row + g / 16 * sizeof(BlockQ4_K);
    const LanesI bytes = widen_u8(b + offsetof(BlockQ4_K, qs) + 32 * c + 16 * (j % 2) + h);
    const bool high = j % 4 >= 2;
    return _mm512_maskz_permutexvar_ps(kAll, high ? high_nibbles(bytes) : bytes,
                                       _mm512_load_ps(s.value[2 * c + high]));
  }
  // One token, M rows, the chunk's one super-block (sc holds its tables): load's lanes with every
  // offset a constant, the same FMAs in the same order.
  template <int M>
  static void one_token(const uint8_t* const* rows, const Scales* sc, size_t row_bytes,
                        const float* x, size_t g0, size_t g1, float* acc, bool accumulate) {
    static_assert(kChunk == kQK, "the tables in sc are one super-block's");
    __m512 a[M];
    for (int r = 0; r < M; ++r)
      a[r] = accumulate ? _mm512_loadu_ps(acc + r * 16) : _mm512_setzero_ps();
    for (size_t sb = g0 / 16; sb < g1 / 16; ++sb) {  // (one step: g1 - g0 is 16)
      const size_t at = sb * sizeof(BlockQ4_K), ahead = at + kDecodeAheadBytes;
      for (int r = 0; r < M; ++r)
        for (size_t line = 0; line < sizeof(BlockQ4_K); line += 64)
          prefetch_row<M>(rows[r], ahead + line, row_bytes);
      for (int c = 0; c < 4; ++c) {
        const float* xc = x + kQK * sb + 64 * c;
        const __m512 x0 = _mm512_loadu_ps(xc), x1 = _mm512_loadu_ps(xc + 16),
                     x2 = _mm512_loadu_ps(xc + 32), x3 = _mm512_loadu_ps(xc + 48);
        for (int r = 0; r < M; ++r) {
          const uint8_t* q = rows[r] + at + offsetof(BlockQ4_K, qs) + 32 * c;
          const LanesI b0 = widen_u8(q), b1 = widen_u8(q + 16);
          const __m512 lo = _mm512_load_ps(sc[r].value[2 * c]),
                       hi = _mm512_load_ps(sc[r].value[2 * c + 1]);
          a[r] = _mm512_fmadd_ps(_mm512_maskz_permutexvar_ps(kAll, b0, lo), x0, a[r]);
          a[r] = _mm512_fmadd_ps(_mm512_maskz_permutexvar_ps(kAll, b1, lo), x1, a[r]);
          a[r] = _mm512_fmadd_ps(_mm512_maskz_permutexvar_ps(kAll, high_nibbles(b0), hi), x2, a[r]);
          a[r] = _mm512_fmadd_ps(_mm512_maskz_permutexvar_ps(kAll, high_nibbles(b1), hi), x3, a[r]);
        }
      }
    }
    for (int r = 0; r < M; ++r) _mm512_storeu_ps(acc + r * 16, a[r]);
  }
#else
  struct Scales {
    float sc[8], mn[8];
  };
  static void prepare(DType, const uint8_t* row, size_t e0, size_t, Scales& s) {
    const uint8_t* b = row + e0 / kQK * sizeof(BlockQ4_K);
    k4_group_scales(b + offsetof(BlockQ4_K, scales), block_scale(b + offsetof(BlockQ4_K, d)),
                    block_scale(b + offsetof(BlockQ4_K, dmin)), s.sc, s.mn);
  }
  static Lanes load(const uint8_t* row, const Scales& s, size_t g, int h) {
    const size_t j = g % 16, c = j / 4;
    const uint8_t* b = row + g / 16 * sizeof(BlockQ4_K);
    const LanesI bytes = widen_u8(b + offsetof(BlockQ4_K, qs) + 32 * c + 16 * (j % 2) + h);
    const bool high = j % 4 >= 2;
    const size_t t = 2 * c + high;
    return scaled_less(s.sc[t], high ? high_nibbles(bytes) : low_nibbles(bytes), s.mn[t]);
  }
#endif
};

// Q6_K: sc[t] * (q - 32) over 16-element sub-blocks t, one per group (layout in ops/quants.h).
struct Q6_KRows {
  static constexpr size_t kRows = kTileRows;
  static constexpr size_t kChunk = kQK;
  struct Scales {
    float sc[16];
  };
  static void prepare(DType, const uint8_t* row, size_t e0, size_t, Scales& s) {
    const uint8_t* b = row + e0 / kQK * sizeof(BlockQ6_K);
    const float d = block_scale(b + offsetof(BlockQ6_K, d));
    for (int t = 0; t < 16; ++t)
      s.sc[t] = d * static_cast<float>(static_cast<int8_t>(b[offsetof(BlockQ6_K, scales) + t]));
  }
  static Lanes load(const uint8_t* row, const Scales& s, size_t g, int h) {
    const size_t t = g % 16, half = t / 8, k = t % 8 / 2, l0 = 16 * (t % 2) + h;
    const uint8_t* b = row + g / 16 * sizeof(BlockQ6_K);
    const LanesI ql = widen_u8(b + offsetof(BlockQ6_K, ql) + 64 * half + 32 * (k & 1) + l0);
    const LanesI qh = widen_u8(b + offsetof(BlockQ6_K, qh) + 32 * half + l0);
    const LanesI q = or_shifted4(k < 2 ? low_nibbles(ql) : high_nibbles(ql),
                                 two_bits(qh, static_cast<int>(2 * k)));
    return scaled(s.sc[t], minus(q, 32));
  }
};
#endif

// M rows × N tokens, groups [g0, g1) (lanes_tile's accumulators in acc); a group of a row is
// group_bytes long, a row row_bytes. Each row is prefetched kDecodeAheadBytes ahead of the group
// being read (prefetch_row).
template <class L, int M, int N>
void decode_tile(const uint8_t* const* rows, const typename L::Scales* sc, size_t group_bytes,
                 size_t row_bytes, const float* x, size_t ldx, size_t g0, size_t g1, float* acc,
                 bool accumulate) {
  if constexpr (N == 1 && requires { &L::template one_token<M>; }) {
    return L::template one_token<M>(rows, sc, row_bytes, x, g0, g1, acc, accumulate);
  }
  lanes_tile<M, N>(
      [=](int r, size_t g, int h) {
        if (h == 0) {
          prefetch_row<M>(rows[r], g * group_bytes + kDecodeAheadBytes, row_bytes);
        }
        return L::load(rows[r], sc[r], g, h);
      },
      [=](int t, size_t g, int h) { return x + t * ldx + g * kDotLanes + h; }, g0, g1, acc,
      accumulate);
}

inline constexpr size_t kDecodeMaxTokens = 8;  // matmul sends fewer than kPackMinTokens

// Rows [r0, r1) of w against n_tokens (< kDecodeMaxTokens) tokens.
template <class L>
void decode_rows(const Tensor& w, const float* x, size_t n_tokens, float* y, size_t r0, size_t r1) {
  using TileFn = void (*)(const uint8_t* const*, const typename L::Scales*, size_t, size_t,
                          const float*, size_t, size_t, size_t, float*, bool);
  static constexpr auto kTiles = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{&decode_tile<L, static_cast<int>(I / kTileCols) + 1,
                                                         static_cast<int>(I % kTileCols) + 1>...};
  }
  (std::make_index_sequence<kTileRows * kTileCols>());
  constexpr size_t kSlot = kTileRows * kTileCols * kDotLanes;  // one token tile's accumulators
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t groups = cols / kDotLanes, cols16 = groups * kDotLanes;
  const size_t row_bytes = dtype_row_bytes(w.type, cols);
  const size_t group_bytes = row_bytes / std::max<size_t>(groups, 1);
  alignas(64) float acc[kSlot * ((kDecodeMaxTokens + kTileCols - 1) / kTileCols)];
  if (groups == 0) std::fill(std::begin(acc), std::end(acc), 0.0f);  // (no tile call zeroes it)
  thread_local typename L::Scales sc[kTileRows];
  const uint8_t* row[kTileRows];
  float tail[kDotLanes];
  for (size_t r = r0; r < r1; r += L::kRows) {
    const size_t nr = std::min<size_t>(L::kRows, r1 - r);
    for (size_t i = 0; i < nr; ++i) row[i] = w.row(static_cast<int64_t>(r + i));
    for (size_t e0 = 0; e0 < cols16; e0 += L::kChunk) {
      const size_t n = std::min(L::kChunk, cols16 - e0);
      for (size_t i = 0; i < nr; ++i) L::prepare(w.type, row[i], e0, n, sc[i]);
      for (size_t t = 0; t < n_tokens; t += kTileCols) {
        const size_t nt = std::min<size_t>(kTileCols, n_tokens - t);
        kTiles[(nr - 1) * kTileCols + (nt - 1)](row, sc, group_bytes, row_bytes, x + t * cols, cols,
                                                e0 / kDotLanes, (e0 + n) / kDotLanes,
                                                acc + t / kTileCols * kSlot, e0 > 0);
      }
    }
    for (size_t i = 0; i < nr; ++i) {
      // The elements past the last whole group (F32, F16 and BF16 rows only: a block is 32 or
      // 256 elements), in double as ops/dot.h's step 3.
      if (cols16 < cols)
        expand_row(w.type, row[i] + dtype_row_bytes(w.type, cols16), tail, cols - cols16);
      for (size_t t = 0; t < n_tokens; ++t) {
        const size_t nt = std::min<size_t>(kTileCols, n_tokens - t / kTileCols * kTileCols);
        double sum = sum_lanes(acc + t / kTileCols * kSlot + (i * nt + t % kTileCols) * kDotLanes);
        const float* xt = x + t * cols;
        for (size_t e = cols16; e < cols; ++e) sum += static_cast<double>(tail[e - cols16]) * xt[e];
        y[t * rows + r + i] = static_cast<float>(sum);
      }
    }
  }
}

// Rows [r0, r1) of w against a few tokens, by the weight type's loader.
inline void matmul_few(const Tensor& w, const float* x, size_t n_tokens, float* y, size_t r0,
                       size_t r1) {
  switch (w.type) {
    case DType::F32:
      return decode_rows<F32Rows>(w, x, n_tokens, y, r0, r1);
#if SS_ISA_LEVEL >= 1
    case DType::F16:
      return decode_rows<F16Rows>(w, x, n_tokens, y, r0, r1);
    case DType::BF16:
      return decode_rows<Bf16Rows>(w, x, n_tokens, y, r0, r1);
    case DType::Q8_0:
      return decode_rows<Q8_0Rows>(w, x, n_tokens, y, r0, r1);
    case DType::Q4_0:
      return decode_rows<Q4_0Rows>(w, x, n_tokens, y, r0, r1);
    case DType::Q4_K:
      return decode_rows<Q4_KRows>(w, x, n_tokens, y, r0, r1);
    case DType::Q6_K:
      return decode_rows<Q6_KRows>(w, x, n_tokens, y, r0, r1);
#endif
    default:
      return decode_rows<ExpandedRows>(w, x, n_tokens, y, r0, r1);
  }
}
