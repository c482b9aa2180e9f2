#pragma once
// Forward and backward kernels of the training pass, f32 over rows of activations. Each kernel
// has a plain scalar reference (suffix _ref) beside it; the fast versions split work so that every
// output is computed by one thread in a fixed order, so results do not depend on the thread count.
// Backward kernels accumulate (+=) into the gradients they produce, so shared weights and residual
// branches simply add up.
#include <cstddef>
#include <vector>

#include "base/thread_pool.h"
#include "ops/kinds.h"

namespace ss::train {

// y[t][o] = x[t] · w[o] for n rows; w is [out][in] (GGUF layout: rows of `in` values).
void linear_fwd(float* y, const float* x, const float* w, size_t n, size_t in, size_t out,
                ThreadPool& pool);
// dx[t] += Σ_o dy[t][o] w[o];  dw[o] += Σ_t dy[t][o] x[t]. dx may be null.
void linear_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, size_t n,
                size_t in, size_t out, ThreadPool& pool);
void linear_fwd_ref(float* y, const float* x, const float* w, size_t n, size_t in, size_t out);
void linear_bwd_ref(float* dx, float* dw, const float* dy, const float* x, const float* w, size_t n,
                    size_t in, size_t out);

// RMSNorm per row: y = x · r · w with r = 1/sqrt(mean(x²) + eps); r is kept for the backward.
void rmsnorm_fwd(float* y, float* r, const float* x, const float* w, size_t n, size_t d, float eps);
// dx += r·(w⊙dy) − x·r³·mean(x ⊙ w ⊙ dy);  dw += Σ_t dy ⊙ x·r.
void rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* r,
                 const float* w, size_t n, size_t d);

// Rotary tables for positions 0..max_pos-1 (adjacent-pair convention of rope_adjacent()).
struct RopeTable {
  RopeTable(int max_pos, int head_dim, float theta);
  int head_dim;
  std::vector<float> cos, sin;  // [pos][head_dim/2]
};
// Rotates n_heads vectors of head_dim in v by pos (forward) or by −pos (backward: the rotation's
// transpose is its inverse).
void rope_apply(float* v, int n_heads, int pos, const RopeTable& t, bool inverse);

// h = silu(g) ⊙ u; backward: dg, du (overwritten, not accumulated).
void swiglu_fwd(float* h, const float* g, const float* u, size_t n);
void swiglu_bwd(float* dg, float* du, const float* dh, const float* g, const float* u, size_t n);

// Causal grouped-query attention over `batch` sequences of `seq` tokens. q: [b][t][n_heads][hd],
// k, v: [b][t][n_kv][hd] (already rotated); p receives the probabilities [b][h][t][t] (row i holds
// columns 0..i); z: [b][t][n_heads][hd].
struct AttnShape {
  int batch, seq, n_heads, n_kv, head_dim;
};
// The attention variant (ops/kinds.h) and its parameters: sink-logit's per-head logits
// [n_heads]; sink-kv's key and value per KV head [n_kv][head_dim] (the key is not rotated).
// softmax1 is a sink logit of 0. With one of these, p_sink receives each row's sink probability
// [b][h][t]. Sigmoid rows hold σ(score), not normalised.
struct AttnVariant {
  AttentionKind kind = AttentionKind::Softmax;
  const float* sink_logit = nullptr;
  const float* sink_k = nullptr;
  const float* sink_v = nullptr;
};
// Gradients of the variant's parameters (accumulated; null where the variant has none).
struct AttnVariantGrads {
  float* sink_logit = nullptr;
  float* sink_k = nullptr;
  float* sink_v = nullptr;
};
void attention_fwd(float* z, float* p, const float* q, const float* k, const float* v,
                   const AttnShape& s, ThreadPool& pool, const AttnVariant& var = {},
                   float* p_sink = nullptr);
// dq, dk, dv and the variant's gradients are accumulated. The variant's gradients are summed
// over sequences in order after the parallel part, so they do not depend on the thread count.
void attention_bwd(float* dq, float* dk, float* dv, const float* dz, const float* p, const float* q,
                   const float* k, const float* v, const AttnShape& s, ThreadPool& pool,
                   const AttnVariant& var = {}, const float* p_sink = nullptr,
                   const AttnVariantGrads& grads = {});
void attention_fwd_ref(float* z, float* p, const float* q, const float* k, const float* v,
                       const AttnShape& s, const AttnVariant& var = {}, float* p_sink = nullptr);

// Mean cross-entropy over rows with weight[t] > 0 (weights are 0 or 1): returns the summed NLL
// (double) and writes dlogits = (softmax − onehot)·weight/norm; norm is the divisor of the mean.
double cross_entropy(float* dlogits, const float* logits, const int* targets, const float* weight,
                     size_t n, size_t vocab, double norm, ThreadPool& pool);

}  // namespace ss::train
