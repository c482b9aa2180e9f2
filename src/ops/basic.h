#pragma once
// Small element-wise kernels of the transformer block.
#include <cstddef>

namespace ss {

// out = x / sqrt(mean(x²) + eps) * w
void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps);

// In-place softmax over n values; returns nothing, the row sums to 1.
void softmax(float* x, size_t n);

// Rotary embedding of one head vector at position pos, rotating adjacent pairs (2i, 2i+1) by
// angle pos · theta^(-2i/head_dim). This is llama2.c's convention and also that of GGUF `llama`
// tensors (llama.cpp's rope "normal" mode: the HF→GGUF converter permutes Q/K rows so that pairs
// are adjacent), so llama2.c weights go to GGUF without any permutation.
void rope_adjacent(float* v, size_t head_dim, int pos, float theta);

// SwiGLU: gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, size_t n);

}  // namespace ss
