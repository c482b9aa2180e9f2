// The 16-lane dot-product layout of ops/dot.h for one SIMD variant: register tiles of dot
// products, and the lane sums. Included by a variant's translation unit inside its target region
// and namespace (ops/simd/target.h), with SS_ISA_LEVEL set: 0 scalar, 1 AVX2, 2 AVX-512.
//
// Every function gives the bits of the scalar statement in ops/dot.h (dot_lanes_reference,
// sum_lanes_reference), whatever the variant, tile shape or blocking; tests/test_kernels.cpp
// holds each variant to that.

// Register tile shapes: the strided tile (decode, attention) and the packed GEMM tile.
#if SS_ISA_LEVEL >= 2
inline constexpr int kTileRows = 4, kTileCols = 4;  // 16 zmm accumulators + 4 row vectors
// 24 zmm accumulators + 6 row vectors + 1 token vector: per 16-element group, 6 loads of the
// L1-resident rows and 4 of the streamed tokens feed 24 FMAs (bench matmul_eff on Zen 5: 4×4
// reached 55% of the FMA peak, 4×6 and 5×5 54-58%, 6×4 60-64%).
inline constexpr int kGemmRows = 6, kGemmCols = 4;
#elif SS_ISA_LEVEL == 1
// One half of each dot product's lanes at a time (lanes_tile): 12 ymm accumulators, 3 row vectors
// and 1 token vector.
inline constexpr int kTileRows = 3, kTileCols = 4;
inline constexpr int kGemmRows = 3, kGemmCols = 4;
#else
inline constexpr int kTileRows = 2, kTileCols = 2;
inline constexpr int kGemmRows = 2, kGemmCols = 2;
#endif

// The 16 lanes summed in double by ops/dot.h's tree.
inline double sum_lanes(const float* lanes) {
#if SS_ISA_LEVEL >= 1
  // In registers throughout (a 512-bit store reloaded as two halves stalls store forwarding).
  const __m256d a =
      _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(lanes)), _mm256_cvtps_pd(_mm_loadu_ps(lanes + 8)));
  const __m256d b = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(lanes + 4)),
                                  _mm256_cvtps_pd(_mm_loadu_ps(lanes + 12)));
  const __m256d s4 = _mm256_add_pd(a, b);
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
#else
  return sum_lanes_reference(lanes);
#endif
}

// sum_lanes for 8 dot products at once (lanes: 8 × 16 floats one after another), the same tree
// across outputs in vector registers: one at a time spends most instructions moving halves.
inline void sum_lanes_x8(const float* lanes, double* out) {
#if SS_ISA_LEVEL >= 2
  __m512d d[8];  // d[o][j] = lane j + lane j+8 of output o
  for (int o = 0; o < 8; ++o) {
    d[o] = _mm512_add_pd(_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(lanes + 16 * o)),
                         _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(lanes + 16 * o + 8)));
  }
  // Level 2 for outputs (2p, 2p+1): [j 0..3 of one, j 0..3 of the other] + [j 4..7, j 4..7].
  // (Two-source permutes: GCC 12's shuffle_f64x2 trips -Wmaybe-uninitialized.)
  const __m512i lo4 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11),
                hi4 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
  __m512d g[4];
  for (int p = 0; p < 4; ++p)
    g[p] = _mm512_add_pd(_mm512_permutex2var_pd(d[2 * p], lo4, d[2 * p + 1]),
                         _mm512_permutex2var_pd(d[2 * p], hi4, d[2 * p + 1]));
  // Level 3 for four outputs: j 0,1 + j 2,3 of each.
  const __m512i even2 = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13),
                odd2 = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15);
  __m512d m[2];
  for (int p = 0; p < 2; ++p)
    m[p] = _mm512_add_pd(_mm512_permutex2var_pd(g[2 * p], even2, g[2 * p + 1]),
                         _mm512_permutex2var_pd(g[2 * p], odd2, g[2 * p + 1]));
  // Level 4: j 0 + j 1; the sums come out as outputs 0 4 1 5 2 6 3 7.
  // (maskz forms: GCC 12's plain ones read an "undefined" register that -Wuninitialized reports.)
  const __m512d sum = _mm512_add_pd(_mm512_maskz_unpacklo_pd(0xFF, m[0], m[1]),
                                    _mm512_maskz_unpackhi_pd(0xFF, m[0], m[1]));
  _mm512_storeu_pd(
      out, _mm512_maskz_permutexvar_pd(0xFF, _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), sum));
#else
  for (int o = 0; o < 8; ++o) out[o] = sum_lanes(lanes + 16 * o);
#endif
}

#if SS_ISA_LEVEL >= 2
// A row's lanes: loaded from f32 memory, or already made in a register (ops/decode-inl.h).
inline __m512 lanes_of(const float* p) {
  return _mm512_loadu_ps(p);
}
inline __m512 lanes_of(__m512 v) {
  return v;
}
#elif SS_ISA_LEVEL == 1
inline __m256 lanes_of(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 lanes_of(__m256 v) {
  return v;
}
#endif

// Lanes 0..15 of M × N dot products, for one pass over 16-element groups. Rows of w come from
// `row(r, g, h)` and tokens' vectors from `tok(t, g, h)` (pointers to the lanes h.. of group g: h
// is 0, or 8 for AVX2's second half), so one body serves strided rows and packed tiles. In the
// SIMD variants `row` may instead return the lanes themselves, made in registers from a
// quantized row (ops/decode-inl.h). acc holds
// pair (r, t)'s lanes at (r * N + t) * 16; it is loaded first when accumulate is set, else the
// lanes start at zero, and stored at the end, so a long dot product can be split into cache-sized
// blocks without changing a bit. In registers, each loaded weight vector serves N tokens and each
// token vector M rows.
template <int M, int N, class Row, class Tok>
inline void lanes_tile(Row row, Tok tok, size_t g0, size_t g1, float* acc, bool accumulate) {
#if SS_ISA_LEVEL >= 2
  __m512 a[M][N];
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t)
      a[r][t] = accumulate ? _mm512_loadu_ps(acc + (r * N + t) * 16) : _mm512_setzero_ps();
  for (size_t g = g0; g < g1; ++g) {
    __m512 wv[M];
    // The empty asm statements pin loaded vectors in registers: GCC otherwise folds a load into
    // each FMA that uses it, and M × N loads per step make the kernel load-bound.
    for (int r = 0; r < M; ++r) {
      wv[r] = lanes_of(row(r, g, 0));
      __asm__("" : "+v"(wv[r]));
    }
    for (int t = 0; t < N; ++t) {
      __m512 xv = _mm512_loadu_ps(tok(t, g, 0));
      __asm__("" : "+v"(xv));
      for (int r = 0; r < M; ++r) a[r][t] = _mm512_fmadd_ps(wv[r], xv, a[r][t]);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int t = 0; t < N; ++t) _mm512_storeu_ps(acc + (r * N + t) * 16, a[r][t]);
#elif SS_ISA_LEVEL == 1
  if constexpr (N == 1) {
    // One token (decode): both halves in one pass, 2M accumulators, so a row streamed from
    // memory is read once rather than once per half (Q8_0 decode of the 1B synth model, forced
    // to AVX2 on Zen 4: 9.2 tok/s in two passes).
    __m256 a[M][2];
    for (int r = 0; r < M; ++r)
      for (int hh = 0; hh < 2; ++hh)
        a[r][hh] = accumulate ? _mm256_loadu_ps(acc + r * 16 + 8 * hh) : _mm256_setzero_ps();
    for (size_t g = g0; g < g1; ++g)
      for (int hh = 0; hh < 2; ++hh) {
        const int h = 8 * hh;
        __m256 wv[M];
        for (int r = 0; r < M; ++r) {
          wv[r] = lanes_of(row(r, g, h));
          __asm__("" : "+x"(wv[r]));  // (see the AVX-512 branch)
        }
        __m256 xv = _mm256_loadu_ps(tok(0, g, h));
        __asm__("" : "+x"(xv));
        for (int r = 0; r < M; ++r) a[r][hh] = _mm256_fmadd_ps(wv[r], xv, a[r][hh]);
      }
    for (int r = 0; r < M; ++r)
      for (int hh = 0; hh < 2; ++hh) _mm256_storeu_ps(acc + r * 16 + 8 * hh, a[r][hh]);
    return;
  }
  // Lanes 0-7 and lanes 8-15 of a dot product see disjoint elements (16g..16g+7, 16g+8..16g+15),
  // so they are two independent sums: one pass over the groups for each half keeps only M × N
  // ymm accumulators live (3 × 4: 12 accumulators, 3 row vectors, 1 token vector).
  for (int half = 0; half < 2; ++half) {
    const int h = 8 * half;
    __m256 a[M][N];
    for (int r = 0; r < M; ++r)
      for (int t = 0; t < N; ++t)
        a[r][t] = accumulate ? _mm256_loadu_ps(acc + (r * N + t) * 16 + h) : _mm256_setzero_ps();
    for (size_t g = g0; g < g1; ++g) {
      __m256 wv[M];
      for (int r = 0; r < M; ++r) {
        wv[r] = lanes_of(row(r, g, h));
        __asm__("" : "+x"(wv[r]));  // as above
      }
      for (int t = 0; t < N; ++t) {
        __m256 xv = _mm256_loadu_ps(tok(t, g, h));
        __asm__("" : "+x"(xv));
        for (int r = 0; r < M; ++r) a[r][t] = _mm256_fmadd_ps(wv[r], xv, a[r][t]);
      }
    }
    for (int r = 0; r < M; ++r)
      for (int t = 0; t < N; ++t) _mm256_storeu_ps(acc + (r * N + t) * 16 + h, a[r][t]);
  }
#else
  if (!accumulate) std::fill(acc, acc + M * N * 16, 0.0f);
  for (size_t g = g0; g < g1; ++g)
    for (int r = 0; r < M; ++r)
      for (int t = 0; t < N; ++t) {
        float* lanes = acc + (r * N + t) * 16;
        const float *w = row(r, g, 0), *x = tok(t, g, 0);
        for (size_t l = 0; l < kDotLanes; ++l) lanes[l] = std::fma(w[l], x[l], lanes[l]);
      }
#endif
}

// Strided operands: M rows of w (stride ldw) against N rows of x (stride ldx), groups [g0, g1).
template <int M, int N>
inline void dot_tile(const float* w, size_t ldw, const float* x, size_t ldx, size_t g0, size_t g1,
                     float* acc) {
  lanes_tile<M, N>([=](int r, size_t g, int h) { return w + r * ldw + g * kDotLanes + h; },
                   [=](int t, size_t g, int h) { return x + t * ldx + g * kDotLanes + h; }, g0, g1,
                   acc, false);
}

// How the GEMM packs a tile's groups (gemm_pack in ops/gemm-inl.h): in kPackSplit parts of
// kDotLanes / kPackSplit lanes, part after part. AVX2 reads each half of the lanes in its own pass,
// so its halves are packed apart and each pass reads whole cache lines front to back; read
// interleaved, every line came from L2 twice (bench/e2e prefill forced to AVX2 on Zen 4, 1B F32:
// 1.13× plain, 1.25× with statistics).
inline constexpr size_t kPackSplit = SS_ISA_LEVEL == 1 ? 2 : 1;
inline constexpr size_t kPackLanes = kDotLanes / kPackSplit;

// Packed operands, the GEMM's inner kernel: for part p and group g, wp holds the M rows' lanes of
// that part one after another (wp[((p * n_groups + g) * M + r) * kPackLanes + l]) and xp the N
// tokens' likewise, so both are read front to back.
template <int M, int N>
inline void dot_tile_packed(const float* wp, const float* xp, size_t n_groups, float* acc,
                            bool accumulate) {
  // h / kPackLanes is the part: 0 but for AVX2's second half.
  lanes_tile<M, N>(
      [=](int r, size_t g, int h) {
        return wp + ((h / kPackLanes * n_groups + g) * M + r) * kPackLanes + h % kPackLanes;
      },
      [=](int t, size_t g, int h) {
        return xp + ((h / kPackLanes * n_groups + g) * N + t) * kPackLanes + h % kPackLanes;
      },
      0, n_groups, acc, accumulate);
}

// One dot product with the layout.
inline float dot(const float* a, const float* b, size_t n) {
  alignas(64) float lanes[kDotLanes];
  const size_t groups = n / kDotLanes;
  dot_tile<1, 1>(a, 0, b, 0, 0, groups, lanes);
  double sum = sum_lanes(lanes);
  for (size_t i = groups * kDotLanes; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}
