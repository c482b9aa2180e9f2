// Q4_K and Q8_0 weights × 8-bit activations (ops/matmul_int8.h) for one SIMD variant. The integer
// sums are exact, so any order of them gives the reference's bits; step 3's double terms take the
// stated order: 4 blocks at a time in the 4 lanes of a vector, which also shares one horizontal
// reduction of the integer sums between them.
//
// AVX2 and AVX-512 run the same 256-bit code (AVX-512 cores split 512-bit integer work in two
// anyway). Q4_K: per 64 weights of a row, one 32-byte load gives two sub-blocks of 4-bit codes (low
// and high nibbles), vpmaddubsw multiplies them by the activations in pairs (at most 2·15·127, no
// saturation), and vpmaddwd multiplies those by the sub-block's scale and adds pairs into 8 int32
// lanes. Q8_0: vpmaddubsw takes unsigned × signed bytes, so a block's |w| meets its activations
// with w's signs moved onto them (q ∈ [-127, 127] negates safely; |-128| = 128 as unsigned), at
// most 2·128·127 a pair. Rows are read one after another, so each thread's weights are one stream
// of memory.

#if SS_ISA_LEVEL >= 1
// Q4_K's 6-bit scales (bytes 0-7) and mins (bytes 8-15) of sub-blocks 0-7, from the 12 packed
// bytes, four at a time (k4_scale_min per byte).
inline __m128i q4k_scales_mins(const uint8_t* s) {
  uint32_t w0, w1, w2;
  std::memcpy(&w0, s, 4);
  std::memcpy(&w1, s + 4, 4);
  std::memcpy(&w2, s + 8, 4);
  const uint32_t sc_low = w0 & 0x3f3f3f3f, mn_low = w1 & 0x3f3f3f3f;
  const uint32_t sc_high = (w2 & 0x0f0f0f0f) | ((w0 >> 2) & 0x30303030);
  const uint32_t mn_high = ((w2 >> 4) & 0x0f0f0f0f) | ((w1 >> 2) & 0x30303030);
  return _mm_setr_epi32(static_cast<int>(sc_low), static_cast<int>(sc_high),
                        static_cast<int>(mn_low), static_cast<int>(mn_high));
}

// One super-block's integer sums for N tokens (a[k] its activations for token k), each left in
// 4 int32 lanes: the sumi parts in s[k], the summ parts in m[k].
template <int N>
inline void q4k_block_sums(const uint8_t* blk, const ActQ8* const* a, __m128i* s, __m128i* m) {
  const __m256i nibble = _mm256_set1_epi8(15);
  const __m128i sm = q4k_scales_mins(blk + offsetof(BlockQ4_K, scales));
  const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));  // sc[t] words
  const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
  const uint8_t* qs = blk + offsetof(BlockQ4_K, qs);
  __m256i acc[N];
  for (int k = 0; k < N; ++k) acc[k] = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
    const __m256i low = _mm256_and_si256(bytes, nibble);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
    // sc[2c] in every word of sc_low, sc[2c + 1] in every word of sc_high: the byte pairs
    // (4c, 4c + 1) and (4c + 2, 4c + 3) of the scale words
    const __m256i sc_low =
        _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0404 * c)));
    const __m256i sc_high =
        _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<short>(0x0302 + 0x0404 * c)));
    for (int k = 0; k < N; ++k) {
      const int8_t* q = a[k]->q + 64 * c;
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
      const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(low, x0), sc_low);
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(high, x1), sc_high);
      acc[k] = _mm256_add_epi32(acc[k], _mm256_add_epi32(p0, p1));
    }
  }
  for (int k = 0; k < N; ++k) {
    s[k] = _mm_add_epi32(_mm256_castsi256_si128(acc[k]), _mm256_extracti128_si256(acc[k], 1));
    m[k] = _mm_madd_epi16(mins, _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[k]->bsums)));
  }
}

// d_w and dmin_w of 4 consecutive super-blocks as doubles (F16C converts halves exactly).
inline void q4k_scales_x4(const uint8_t* blk, __m256d& d, __m256d& dmin) {
  uint32_t u[4];  // d | dmin << 16 of each block
  for (int j = 0; j < 4; ++j) std::memcpy(&u[j], blk + j * sizeof(BlockQ4_K), 4);
  const __m256 f = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u)));
  const __m256 split = _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
  d = _mm256_cvtps_pd(_mm256_castps256_ps128(split));
  dmin = _mm256_cvtps_pd(_mm256_extractf128_ps(split, 1));
}

// Q4_K, a super-block a step (for int8_rows).
struct Q4KBlocks {
  using Act = ActQ8;
  static constexpr size_t kBytes = sizeof(BlockQ4_K);

  // The terms of 4 consecutive blocks for N tokens (a[j][k]: block j, token k), block j's added to
  // lane j of lanes[k].
  template <int N>
  static void add_four(const uint8_t* blk, const Act* const (*a)[N], __m256d* lanes) {
    __m128i s[4][N], m[4][N];
#pragma GCC unroll 4  // (so s and m stay in registers)
    for (int j = 0; j < 4; ++j) q4k_block_sums<N>(blk + j * kBytes, a[j], s[j], m[j]);
    __m256d d, dmin;
    q4k_scales_x4(blk, d, dmin);
    for (int k = 0; k < N; ++k) {
      const __m128i sumi =
          _mm_hadd_epi32(_mm_hadd_epi32(s[0][k], s[1][k]), _mm_hadd_epi32(s[2][k], s[3][k]));
      const __m128i summ =
          _mm_hadd_epi32(_mm_hadd_epi32(m[0][k], m[1][k]), _mm_hadd_epi32(m[2][k], m[3][k]));
      const __m256d dx =
          _mm256_cvtps_pd(_mm_setr_ps(a[0][k]->d, a[1][k]->d, a[2][k]->d, a[3][k]->d));
      // q4k_block_term's operations, lane by lane (unfused: the build has -ffp-contract=off)
      const __m256d scaled = _mm256_mul_pd(d, _mm256_cvtepi32_pd(sumi));
      const __m256d mins = _mm256_mul_pd(dmin, _mm256_cvtepi32_pd(summ));
      lanes[k] = _mm256_add_pd(lanes[k], _mm256_mul_pd(dx, _mm256_sub_pd(scaled, mins)));
    }
  }

  // One block's term for N tokens, added to sum[k].
  template <int N>
  static void add_one(const uint8_t* blk, const Act* const* a, double* sum) {
    __m128i s[N], m[N];
    q4k_block_sums<N>(blk, a, s, m);
    for (int k = 0; k < N; ++k) {
      const __m128i t = _mm_hadd_epi32(_mm_hadd_epi32(s[k], m[k]), _mm_setzero_si128());
      sum[k] += q4k_block_term(a[k]->d, load_u16(blk + offsetof(BlockQ4_K, d)),
                               load_u16(blk + offsetof(BlockQ4_K, dmin)), _mm_cvtsi128_si32(t),
                               _mm_extract_epi32(t, 1));
    }
  }
};

// Σ w_i · q_i of one Q8_0 block's 32 codes for N tokens, in 8 int32 lanes each.
template <int N>
inline void q8_0_block_sums(const uint8_t* blk, const ActQ8_0* const* a, __m256i* s) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i w =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + offsetof(BlockQ8_0, qs)));
  const __m256i magnitude = _mm256_sign_epi8(w, w);
  for (int k = 0; k < N; ++k) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[k]->q));
    s[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(x, w)), ones);
  }
}

// The sums of four 8-lane vectors, in lanes 0-3.
inline __m128i sum_lanes_x4(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// Q8_0, a block a step (for int8_rows).
struct Q8_0Blocks {
  using Act = ActQ8_0;
  static constexpr size_t kBytes = sizeof(BlockQ8_0);

  template <int N>
  static void add_four(const uint8_t* blk, const Act* const (*a)[N], __m256d* lanes) {
    __m256i s[4][N];
#pragma GCC unroll 4  // (so s stays in registers)
    for (int j = 0; j < 4; ++j) q8_0_block_sums<N>(blk + j * kBytes, a[j], s[j]);
    const uint8_t* d = blk + offsetof(BlockQ8_0, d);
    const __m256d dw = _mm256_cvtps_pd(_mm_cvtph_ps(
        _mm_setr_epi16(static_cast<short>(load_u16(d)), static_cast<short>(load_u16(d + kBytes)),
                       static_cast<short>(load_u16(d + 2 * kBytes)),
                       static_cast<short>(load_u16(d + 3 * kBytes)), 0, 0, 0, 0)));
    for (int k = 0; k < N; ++k) {
      const __m256d dx =
          _mm256_cvtps_pd(_mm_setr_ps(a[0][k]->d, a[1][k]->d, a[2][k]->d, a[3][k]->d));
      const __m128i sumi = sum_lanes_x4(s[0][k], s[1][k], s[2][k], s[3][k]);
      // q8_0_block_term's operations, lane by lane
      lanes[k] =
          _mm256_add_pd(lanes[k], _mm256_mul_pd(_mm256_mul_pd(dw, dx), _mm256_cvtepi32_pd(sumi)));
    }
  }

  template <int N>
  static void add_one(const uint8_t* blk, const Act* const* a, double* sum) {
    __m256i s[N];
    q8_0_block_sums<N>(blk, a, s);
    for (int k = 0; k < N; ++k) {
      const __m128i t = sum_lanes_x4(s[k], s[k], s[k], s[k]);
      sum[k] +=
          q8_0_block_term(a[k]->d, load_u16(blk + offsetof(BlockQ8_0, d)), _mm_cvtsi128_si32(t));
    }
  }
};

// Rows [r0, r1) of Blocks-type weights against N tokens' quantized activations act[k * blocks ..];
// sums into y in step 3's order: 4 blocks a step into 4 double lanes, then the last blocks % 4.
// (Two rows at a time, sharing the activations' loads, decoded Q4_K 25% slower.)
template <typename Blocks, int N>
void int8_rows(const Tensor& w, const typename Blocks::Act* act, size_t blocks, size_t token0,
               float* y, size_t r0, size_t r1) {
  using Act = typename Blocks::Act;
  // Bytes of the stream prefetched ahead: 4096 decoded Q4_K 5% faster than 2048 or 8192 (1B
  // synth, 2 threads, Zen 4; 1024 and 16384 were slower still).
  constexpr size_t kAhead = 4096;
  constexpr size_t kBytes = Blocks::kBytes;
  const size_t rows = static_cast<size_t>(w.rows()), whole = blocks / 4 * 4;
  for (size_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.row(static_cast<int64_t>(r));
    __m256d lanes[N];
    for (int k = 0; k < N; ++k) lanes[k] = _mm256_setzero_pd();
    for (size_t b = 0; b < whole; b += 4) {
      const uint8_t* blk = row + b * kBytes;
      for (size_t line = 0; line < 4 * kBytes; line += 64)
        __builtin_prefetch(blk + kAhead + line, 0, 3);
      const Act* a[4][N];
      for (int j = 0; j < 4; ++j)
        for (int k = 0; k < N; ++k) a[j][k] = act + k * blocks + b + j;
      Blocks::template add_four<N>(blk, a, lanes);
    }
    double sum[N];
    for (int k = 0; k < N; ++k) {
      alignas(32) double l[4];
      _mm256_store_pd(l, lanes[k]);
      sum[k] = (l[0] + l[1]) + (l[2] + l[3]);
    }
    for (size_t b = whole; b < blocks; ++b) {  // the last blocks % 4, in order
      const Act* a[N];
      for (int k = 0; k < N; ++k) a[k] = act + k * blocks + b;
      Blocks::template add_one<N>(row + b * kBytes, a, sum);
    }
    for (int k = 0; k < N; ++k) y[(token0 + k) * rows + r] = static_cast<float>(sum[k]);
  }
}

// Rows of w in blocks of 16, handed out dynamically; tokens 4 at a time, which share one read of
// the weights: rows_of(std::integral_constant<int, N>, a, token0, r0, r1) does N tokens' share.
template <typename Act, typename Rows>
void int8_parallel(const Tensor& w, const Act* acts, size_t blocks, size_t n_tokens,
                   ThreadPool& pool, Rows rows_of) {
  constexpr size_t kGroup = 4;
  constexpr size_t kRowBlock = 16;
  const size_t rows = static_cast<size_t>(w.rows());
  const size_t n_blocks = (rows + kRowBlock - 1) / kRowBlock;
  const size_t grain = std::max<size_t>(1, n_blocks / (8 * static_cast<size_t>(pool.size())));
  pool.parallel_for_dynamic(n_blocks, grain, [&](size_t b0, size_t b1, int) {
    const size_t r0 = b0 * kRowBlock, r1 = std::min(rows, b1 * kRowBlock);
    for (size_t t = 0; t < n_tokens; t += kGroup) {
      const Act* a = acts + t * blocks;
      switch (std::min(kGroup, n_tokens - t)) {
        case 1:
          rows_of(std::integral_constant<int, 1>{}, a, t, r0, r1);
          break;
        case 2:
          rows_of(std::integral_constant<int, 2>{}, a, t, r0, r1);
          break;
        case 3:
          rows_of(std::integral_constant<int, 3>{}, a, t, r0, r1);
          break;
        default:
          rows_of(std::integral_constant<int, 4>{}, a, t, r0, r1);
      }
    }
  });
}

inline void matmul_int8(const Tensor& w, const float* x, size_t n_tokens, float* y,
                        ThreadPool& pool) {
  const size_t cols = static_cast<size_t>(w.cols());
  if (w.type == DType::Q8_0) {
    const size_t blocks = cols / 32;
    thread_local std::vector<ActQ8_0> act;
    act.resize(n_tokens * blocks);
    quantize_act_q8_0(x, n_tokens * cols, act.data());
    int8_parallel(w, act.data(), blocks, n_tokens, pool,
                  [&](auto n, const ActQ8_0* a, size_t t, size_t r0, size_t r1) {
                    int8_rows<Q8_0Blocks, decltype(n)::value>(w, a, blocks, t, y, r0, r1);
                  });
    return;
  }
  const size_t blocks = cols / kQK;
  thread_local std::vector<ActQ8> act;
  act.resize(n_tokens * blocks);
  for (size_t t = 0; t < n_tokens; ++t)
    quantize_act_q8(x + t * cols, cols, act.data() + t * blocks);
  int8_parallel(w, act.data(), blocks, n_tokens, pool,
                [&](auto n, const ActQ8* a, size_t t, size_t r0, size_t r1) {
                  int8_rows<Q4KBlocks, decltype(n)::value>(w, a, blocks, t, y, r0, r1);
                });
}
#else
// The scalar variant: the statement, one thread.
inline void matmul_int8(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool&) {
  matmul_int8_reference(w, x, n_tokens, y);
}
#endif
