#pragma once
// Barbero et al.'s over-mixing measures on residual streams (SPEC.md §Experiments "Over-mixing"):
// how far T token vectors are from collapsing onto their mean, and how far a perturbation of one
// input token moved each token's vector. Sums in double, in a fixed order, so results do not
// depend on threads.
#include <cstddef>

namespace ss {

// µ(V)/‖V‖_F = ‖V − (1/T)·1·1ᵀ·V‖_F / ‖V‖_F for V of T rows of width d (row-major): 0 when every
// row is the same, 1 when the rows have zero mean; 0 for V = 0.
double over_mixing(const float* v, size_t T, size_t d);

// For each of T rows: delta[t] = ‖v_t − v′_t‖₂ and ratio[t] = delta[t] / ‖v_t‖₂ (0 when both are
// 0), with v the clean rows and v′ the perturbed ones.
void token_spread(const float* clean, const float* perturbed, size_t T, size_t d, double* delta,
                  double* ratio);

}  // namespace ss
