#include "ops/basic.h"

#include <cmath>

namespace ss {

void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  // Computed in double and rounded once: q and k inherit this error, and attention is compared
  // to a float64 reference at 1e-6.
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(w[i] * (scale * x[i]));
}

void softmax(float* x, size_t n) {
  float mx = x[0];
  for (size_t i = 1; i < n; ++i) mx = std::fmax(mx, x[i]);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope_adjacent(float* v, size_t head_dim, int pos, float theta) {
  for (size_t i = 0; i < head_dim; i += 2) {
    double freq = std::pow(static_cast<double>(theta),
                           -static_cast<double>(i) / static_cast<double>(head_dim));
    double angle = pos * freq;
    const double c = std::cos(angle), s = std::sin(angle);
    const double a = v[i], b = v[i + 1];
    v[i] = static_cast<float>(a * c - b * s);
    v[i + 1] = static_cast<float>(a * s + b * c);
  }
}

void swiglu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i];
    gate[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

}  // namespace ss
