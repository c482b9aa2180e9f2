#include "ops/basic.h"

#include <cmath>

namespace ss {

void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (size_t i = 0; i < n; ++i) out[i] = w[i] * (scale * x[i]);
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
    float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
    float a = v[i], b = v[i + 1];
    v[i] = a * c - b * s;
    v[i + 1] = a * s + b * c;
  }
}

void swiglu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace ss
