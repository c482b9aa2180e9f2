#pragma once
// Y = X · Wᵀ for BF16 weights with the activations rounded to BF16 too, as llama.cpp computes a
// BF16 model: the CPU's BF16 dot-product instruction (AVX512-BF16 vdpbf16ps) does 32
// multiply-adds where an f32 FMA does 16. It is an opt-in approximation (--bf16-activations);
// matmul() stays the exact product of f32 activations.
//
// The arithmetic of every output, whatever the path, tiling or thread count:
//   1. x is rounded to BF16 (nearest even); BF16 × BF16 products are exact in f32;
//   2. in each group of 32 elements, f32 lane l (0..15) takes elements 2l+1 then 2l, each with a
//      fused multiply-add (the order vdpbf16ps uses: measured on Zen 5, bit for bit);
//   3. the 16 lanes are summed in double by ops/dot.h's tree, the n % 32 tail added in double,
//      and the sum rounded to f32 once.
// The instruction flushes subnormal inputs and results to zero; the scalar path does not, so the
// two can differ for values below 1.2e-38, which activations and weights do not reach.
#include <cstddef>

#include "base/tensor.h"
#include "base/thread_pool.h"

namespace ss {

// Whether the SIMD variant in use (ops/simd/isa.h) is avx512bf16, which has the BF16 kernel.
// Otherwise matmul_bf16 runs the scalar statement: same bits, slowly.
bool bf16_dot_supported();

// w must be BF16.
void matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);

// The plain statement of the arithmetic above, one thread.
void matmul_bf16_reference(const Tensor& w, const float* x, size_t n_tokens, float* y);

}  // namespace ss
