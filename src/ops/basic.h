#pragma once
// Small element-wise kernels of the transformer block.
#include <cstddef>

#include "ops/kinds.h"

namespace ss {

// out = x / sqrt(mean(x²) + eps) * w
void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps);

// out = (x - mean(x)) / sqrt(var(x) + eps) * w + b (LayerNorm; b may be null)
void layernorm(float* out, const float* x, const float* w, const float* b, size_t n, float eps);

// In-place softmax over n values; returns nothing, the row sums to 1.
void softmax(float* x, size_t n);

// Rotary embedding of one head vector at position pos, rotating adjacent pairs (2i, 2i+1) by
// angle pos · theta^(-2i/head_dim). This is llama2.c's convention and also that of GGUF `llama`
// tensors (llama.cpp's rope "normal" mode: the HF→GGUF converter permutes Q/K rows so that pairs
// are adjacent), so llama2.c weights go to GGUF without any permutation.
void rope_adjacent(float* v, size_t head_dim, int pos, float theta);

// Rotary embedding of one head vector at position pos in either pairing (see RopeStyle): pair i
// (i < head_dim/2) turns by pos / pos_scale · theta^(-2i/head_dim) / freq_div[i] (freq_div:
// Llama 3's per-frequency divisors, or nullptr). With pos_scale 1 and no divisors the adjacent
// style is exactly rope_adjacent().
void rope(float* v, size_t head_dim, int pos, float theta, RopeStyle style, float pos_scale = 1,
          const float* freq_div = nullptr);
// rope() in two steps, so that the heads of a token share one evaluation of the angles:
// cos_sin[2i], cos_sin[2i+1] = cos, sin of pair i's angle (head_dim values), then the rotation.
void rope_angles(double* cos_sin, size_t head_dim, int pos, float theta, float pos_scale,
                 const float* freq_div);
void rope_rotate(float* v, size_t head_dim, RopeStyle style, const double* cos_sin);
// rope_angles with divisors in double (YaRN's, computed rather than read from a file).
void rope_angles(double* cos_sin, size_t head_dim, int pos, float theta, float pos_scale,
                 const double* freq_div);

// SwiGLU: gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, size_t n);

// GeGLU with tanh GELU (PyTorch gelu(approximate="tanh"), ggml_gelu):
// gate[i] = 0.5·g·(1 + tanh(sqrt(2/π)·(g + 0.044715·g³))) * up[i]
void geglu_tanh(float* gate, const float* up, size_t n);

// In place, x[i] = gelu(x[i]): the tanh approximation (GPT-2's gelu_new) or the exact erf form
// (PyTorch's default, GPT-NeoX).
void gelu_tanh(float* x, size_t n);
void gelu_erf(float* x, size_t n);

// gpt-oss's clamped SwiGLU: g = min(gate, limit), u = clamp(up, −limit, limit),
// gate[i] = (u + 1) · g · σ(alpha · g)
void swiglu_clamped(float* gate, const float* up, size_t n, float alpha, float limit);

// Logit soft-capping: x[i] = cap · tanh(x[i] / cap)
void softcap(float* x, size_t n, float cap);

}  // namespace ss
