#pragma once
// The FFN of a block as a quadratic form (Sun et al. 2026, "The Spike, the Sparse and the Sink"):
// near 0 SiLU(a) = a·σ(a) ≈ a/2, so the SwiGLU FFN's output channel c,
//   Σ_i W_down[c,i] · SiLU(w_gate,i · x) · (w_up,i · x)  ≈  ½ · xᵀ A_c x,
//   A_c = Σ_i W_down[c,i] · sym(w_gate,i w_up,iᵀ),  sym(M) = (M + Mᵀ) / 2,
// with x the FFN's normed input. A_c is defined without the ½ (xᵀ A_c x = Σ_i W_down[c,i] ·
// (w_gate,i · x)(w_up,i · x) exactly): the factor scales every eigenvalue alike and changes
// neither their ratios nor the eigenvectors. Everything in double, from dequantized weights.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"

namespace ss {

// The SiLU-to-linear factor above: the FFN output ≈ kSiluLinearFactor · xᵀ A_c x.
constexpr double kSiluLinearFactor = 0.5;
// Eigenvalues reported, largest |λ| first.
constexpr int kTopEigenvalues = 8;

// Why the model's FFN has no such form (a plain GELU FFN, GeGLU, experts), or nullopt for a
// dense gated SiLU FFN.
std::optional<std::string> quadratic_form_unsupported(const ModelConfig& c);

// A_c of layer `layer` (dim × dim, row-major, exactly symmetric). The rows of A are shared out
// among the pool's threads; each is a sum over the hidden units in their order, so the result
// does not depend on the thread count.
std::vector<double> ffn_quadratic_matrix(const Model& model, int layer, int channel,
                                         ThreadPool& pool);

struct FfnQuadraticForm {
  int layer = 0, channel = 0;
  std::vector<double> eigenvalues;  // the kTopEigenvalues largest by |λ|, that order, signed
  double ratio = 0;                 // |λ1| / |λ2| (infinity when λ2 = 0)
  std::vector<double> top_vector;   // unit eigenvector of λ1, signed so that cosine ≥ 0
  // Of the spike token's normed FFN input x (what W_gate and W_up read):
  double cosine = 0;          // cos(x, top_vector) ≥ 0
  double top_share = 0;       // λ1 (v1·x)² / xᵀ A_c x: the part of the form carried by λ1
  double quadratic = 0;       // kSiluLinearFactor · xᵀ A_c x, the near-linear approximation
  double ffn_output = 0;      // the FFN's true channel-c output at x (SiLU, before any post-norm)
  std::vector<double> input;  // x itself
};

// The form of (layer, channel) and its spectrum, evaluated at the normed FFN input x.
FfnQuadraticForm ffn_quadratic_form(const Model& model, int layer, int channel,
                                    std::span<const float> x, ThreadPool& pool);

}  // namespace ss
