// C += A · B of ops/gemm_acc.h for one SIMD variant (included inside a variant's target region).
// Each element gets acc = fma(A[m][k], B[k][j], acc) for k = 0, 1, ... then C += acc, whatever
// the vector width: the same bits as gemm_accumulate_reference.

// One SIMD register of f32 and the operations the kernel needs.
#if SS_ISA_LEVEL >= 2
struct GemmAccVec {
  using V = __m512;
  static constexpr size_t kW = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static void add_store(float* p, V v) {
    _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), v));
  }
  static void pin(V& v) { __asm__("" : "+v"(v)); }
};
#elif SS_ISA_LEVEL == 1
struct GemmAccVec {
  using V = __m256;
  static constexpr size_t kW = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V broadcast(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void add_store(float* p, V v) {
    _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), v));
  }
  static void pin(V& v) { __asm__("" : "+x"(v)); }
};
#else
struct GemmAccVec {
  using V = float;
  static constexpr size_t kW = 1;
  static V zero() { return 0.0f; }
  static V load(const float* p) { return *p; }
  static V broadcast(float x) { return x; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static void add_store(float* p, V v) { *p += v; }
  static void pin(V&) {}
};
#endif

// Register tile: kMR rows of C × kNV vectors (16 accumulators with AVX-512).
inline constexpr size_t kGemmAccMR = 4, kGemmAccNV = 4;
// Rows of C per parallel task: enough tiles to reuse each B panel from L2.
inline constexpr size_t kGemmAccRowsPerTask = 32;

template <size_t MR, size_t NV>
void gemm_acc_tile(const GemmOperands& g, size_t m0, size_t j0) {
  using Vec = GemmAccVec;
  Vec::V acc[MR][NV];
  for (size_t r = 0; r < MR; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = Vec::zero();
  const float* a0 = g.a + m0 * g.a_m;
  for (size_t k = 0; k < g.k_len; ++k) {
    const float* brow = g.b + k * g.ldb + j0;
    Vec::V bv[NV];
    for (size_t v = 0; v < NV; ++v) {
      bv[v] = Vec::load(brow + v * Vec::kW);
      Vec::pin(bv[v]);  // keep B in registers: a folded load would be repeated for every row
    }
    const float* ak = a0 + k * g.a_k;
    for (size_t r = 0; r < MR; ++r) {
      const Vec::V a = Vec::broadcast(ak[r * g.a_m]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = Vec::fma(a, bv[v], acc[r][v]);
    }
  }
  for (size_t r = 0; r < MR; ++r)
    for (size_t v = 0; v < NV; ++v)
      Vec::add_store(g.c + (m0 + r) * g.ldc + j0 + v * Vec::kW, acc[r][v]);
}

// Rows [m_begin, m_end) of C.
inline void gemm_acc_rows(const GemmOperands& g, size_t m_begin, size_t m_end) {
  using TileFn = void (*)(const GemmOperands&, size_t, size_t);
  static constexpr auto kTiles = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{
        &gemm_acc_tile<I / kGemmAccNV + 1, I % kGemmAccNV + 1>...};
  }
  (std::make_index_sequence<kGemmAccMR * kGemmAccNV>());
  constexpr size_t kW = GemmAccVec::kW;
  const size_t vec_cols = g.n_cols / kW * kW;
  // Panels of kNV vectors outermost: a panel of B (k_len × 64 floats) stays in L2 while every
  // row tile of this task passes over it.
  for (size_t j = 0; j < vec_cols; j += kGemmAccNV * kW) {
    const size_t nv = std::min(kGemmAccNV, (vec_cols - j) / kW);
    for (size_t m = m_begin; m < m_end; m += kGemmAccMR)
      kTiles[(std::min(kGemmAccMR, m_end - m) - 1) * kGemmAccNV + (nv - 1)](g, m, j);
  }
  // Columns past the last whole vector, one element at a time.
  for (size_t m = m_begin; m < m_end; ++m)
    for (size_t j = vec_cols; j < g.n_cols; ++j) {
      float acc = 0.0f;
      for (size_t k = 0; k < g.k_len; ++k)
        acc = std::fma(g.a[m * g.a_m + k * g.a_k], g.b[k * g.ldb + j], acc);
      g.c[m * g.ldc + j] += acc;
    }
}

inline void gemm_accumulate(const GemmOperands& g, ThreadPool& pool) {
  const size_t tasks = (g.m_rows + kGemmAccRowsPerTask - 1) / kGemmAccRowsPerTask;
  pool.parallel_for(tasks, [&](size_t t0, size_t t1, int) {
    gemm_acc_rows(g, t0 * kGemmAccRowsPerTask, std::min(g.m_rows, t1 * kGemmAccRowsPerTask));
  });
}
