// Element-wise kernels for one SIMD variant (included inside a variant's target region). Each is
// one fixed operation per element, so the compiler's vectorization cannot change a bit.

// y[i] = fma(a, x[i], y[i]) in double (the statistics' quadratic forms).
inline void axpy_f64(double* y, const double* x, double a, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

// The same with f32 x, widened exactly.
inline void axpy_f32_f64(double* y, const float* x, double a, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::fma(a, static_cast<double>(x[i]), y[i]);
}

// y[i] += x[i] in double (a probability row into its per-key sums).
inline void add_f32_to_f64(double* y, const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += static_cast<double>(x[i]);
}

// IEEE half bits to f32 (exact: the hardware conversion equals f16_to_f32).
inline void f16_to_f32_row(const uint8_t* src, float* dst, size_t n) {
  size_t i = 0;
#if SS_ISA_LEVEL >= 1
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) dst[i] = f16_to_f32(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
}
