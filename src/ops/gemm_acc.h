#pragma once
// C += A · B for the training backward pass, where the shared dimension k runs down the rows of B
// (dx = dy · W and dW = dyᵀ · X both have that shape): a register tile of C accumulates
// broadcast(A[m][k]) · B[k][j..j+W) with fused multiply-adds, so neither operand is transposed.
//
// Each element of C gets acc = fma(A[m][k], B[k][j], acc) for k = 0, 1, ... from acc = 0, then
// C += acc: one sequential order whatever the ISA, vector width, tiling or thread count, so
// training stays bit-reproducible (std::fma rounds exactly as the SIMD instructions do).
#include <cstddef>

#include "base/thread_pool.h"

namespace ss {

// A is addressed as a[m * a_m + k * a_k], so A or Aᵀ of a row-major array; B and C are row-major
// with leading dimensions ldb and ldc. C has m_rows × n_cols elements; k_len is the shared size.
struct GemmOperands {
  const float* a;
  size_t a_m, a_k;
  const float* b;
  size_t ldb;
  float* c;
  size_t ldc;
  size_t m_rows, n_cols, k_len;
};

void gemm_accumulate(const GemmOperands& g, ThreadPool& pool);

// The scalar reference with the same arithmetic, one thread.
void gemm_accumulate_reference(const GemmOperands& g);

}  // namespace ss
