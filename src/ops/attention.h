#pragma once
// Causal softmax attention of one query head over its KV head, one block of queries at a time,
// never more than a few rows of scores in memory. Each query's probability row is handed to a
// callback (the hook_pattern observers) before it is used, so statistics are fused into the
// kernel rather than computed from a stored T×T matrix.
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>

namespace ss {

struct AttentionShape {
  int head_dim = 0;
  size_t q_stride = 0;  // floats between consecutive queries' vectors
  // Keys are stored transposed: element d of the key at position j is k[d * k_stride + j], so a
  // query's scores against consecutive keys are vector operations with no horizontal sums. The
  // kernel reads kKeyPad positions past the last key it needs (ignored), so k_stride ≥ T + 15.
  size_t k_stride = 0;
  size_t v_stride = 0;  // floats between consecutive positions in the V cache
  size_t z_stride = 0;  // floats between consecutive outputs
  double scale = 1.0;   // score = q·k · scale
  int window = 0;       // > 0: a query at pos sees keys pos-window+1..pos only
  double softcap = 0;   // > 0: scores become softcap · tanh(score / softcap) (Gemma 2)
  // The head's learned sink logit (gpt-oss): one more softmax column that no value follows, so
  // the key probabilities sum to 1 − p_sink. −∞: none, and bit for bit the plain softmax.
  double sink = -INFINITY;
  // sink-kv attention: the head's learned key (head_dim floats, never rotated: it has no
  // position) and value. The key's score q·k·scale (soft-capped like the others) is the row's
  // sink logit in place of `sink`, and z gains p_sink · value.
  const float* sink_key = nullptr;
  const float* sink_value = nullptr;
  // Sigmoid attention (Gu et al. 2024): weights σ(score), not normalised, so z = Σ_k σ_k v_k.
  // Observers get each row's share σ_k / Σ_j σ_j and that share's entropy (docs/statistics.md).
  bool sigmoid = false;
  // Non-null: sink_probs[i] receives query i's sink probability (0 without a sink) before the
  // row goes to the callback.
  float* sink_probs = nullptr;
};

// The score of a query (its vector in double) against a sink-kv key, as a key's score is made:
// the double sum of exact products in order of d, times scale, soft-capped when capped.
double sink_key_score(const double* q, const AttentionShape& s);

// A sigmoid row over keys k0..pos: weights[k] = σ(scores[k]) (zero before k0), shares[k] = each
// one's part of the row's sum (zero before k0); returns the shares' entropy in nats. One
// function (not per SIMD variant), so every variant gives the same bits.
double sigmoid_row(const double* scores, int k0, int pos, float* weights, float* shares);

// Gemma 2's attention logit soft-capping of one score, in double with the C library's tanh:
// every variant and the reference call this one function, so they keep the same bits.
double softcap_score(double score, double cap);

// Called for query i (0..n-1) at position pos with its probabilities over keys 0..pos (zero
// outside a sliding window) and the entropy −Σ p log p of those probabilities in nats (a
// learned sink's share is not among them), in order of i.
using PatternFn = std::function<void(int i, int pos, std::span<const float> row, double entropy)>;

inline constexpr size_t kKeyPad = 16;

// q: n query vectors at positions pos0..pos0+n-1; k, v: caches holding positions 0..pos0+n-1;
// z: n outputs Σ_k p_k v_k. A score is the double sum of the exact double products q_d·k_d in
// order of d (bit for bit the reference's dot_f64), times scale; the f32 exponentials are summed
// in double; z accumulates the f32 probabilities in f32 FMAs.
void attend_head(const float* q, const float* k, const float* v, int pos0, int n,
                 const AttentionShape& s, float* z, const PatternFn& on_row);

// The plain reference: everything in double from dot_f64 and std::exp, one query at a time.
void attend_head_reference(const float* q, const float* k, const float* v, int pos0, int n,
                           const AttentionShape& s, float* z, const PatternFn& on_row);

}  // namespace ss
