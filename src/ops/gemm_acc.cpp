#include "ops/gemm_acc.h"

#include <cmath>

#include "ops/simd/kernels.h"

namespace ss {

void gemm_accumulate(const GemmOperands& g, ThreadPool& pool) {
  kernels().gemm_accumulate(g, pool);
}

void gemm_accumulate_reference(const GemmOperands& g) {
  for (size_t m = 0; m < g.m_rows; ++m)
    for (size_t j = 0; j < g.n_cols; ++j) {
      float acc = 0.0f;
      for (size_t k = 0; k < g.k_len; ++k)
        acc = std::fma(g.a[m * g.a_m + k * g.a_k], g.b[k * g.ldb + j], acc);
      g.c[m * g.ldc + j] += acc;
    }
}

}  // namespace ss
