#pragma once
// Y = X · Wᵀ for a weight matrix W (rows = output features, any supported dtype) and a batch of
// n_tokens f32 input rows: Y[t][o] = Σ_i W[o][i] · X[t][i]. Quantized rows are expanded to f32 a
// block of rows at a time (4 register tiles) into a per-thread buffer, never the whole matrix.
// Every output follows the dot-product layout of ops/dot.h, so results do not depend on threads,
// tiling or the SIMD variant (ops/simd/isa.h) that runs.
#include <cstddef>

#include "base/tensor.h"
#include "base/thread_pool.h"

namespace ss {

void matmul(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);

// The plain reference: dequantize each row, scalar dot_lanes_reference, one thread. Bit-identical
// to matmul.
void matmul_reference(const Tensor& w, const float* x, size_t n_tokens, float* y);

}  // namespace ss
