#pragma once
// Y = X · Wᵀ for a weight matrix W (rows = output features, any supported dtype) and a batch of
// n_tokens f32 input rows: Y[t][o] = Σ_i W[o][i] · X[t][i]. Rows of W are expanded to f32 one at a
// time into a per-thread buffer, never the whole matrix.
#include <cstddef>

#include "model/tensor.h"
#include "util/thread_pool.h"

namespace ss {

void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);

// The plain reference: dequantize each row, scalar dot products, one thread.
void matmul_reference(const Tensor& w, const float* x, size_t n_tokens, float* y);

}  // namespace ss
