#include "ops/basic.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ss {

void rmsnorm(float* out, const float* x, const float* w, size_t n, float eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  // Computed in double and rounded once: q and k inherit this error, and attention is compared
  // to a float64 reference at 1e-6.
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(w[i] * (scale * x[i]));
}

void layernorm(float* out, const float* x, const float* w, const float* b, size_t n, float eps) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double var = 0;
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  // In double and rounded once, as rmsnorm.
  const double scale = 1.0 / std::sqrt(var / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(w[i] * ((x[i] - mean) * scale) + (b ? b[i] : 0.0));
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
  rope(v, head_dim, pos, theta, RopeStyle::Adjacent);
}

namespace {
template <typename Div>
void rope_angles_by(double* cos_sin, size_t head_dim, int pos, float theta, float pos_scale,
                    const Div* freq_div) {
  for (size_t p = 0; p < head_dim / 2; ++p) {
    double freq = std::pow(static_cast<double>(theta),
                           -static_cast<double>(2 * p) / static_cast<double>(head_dim));
    if (freq_div) freq /= static_cast<double>(freq_div[p]);
    // Multiplying or dividing by 1 is exact, so the unscaled llama path is unchanged.
    const double angle = pos / static_cast<double>(pos_scale) * freq;
    cos_sin[2 * p] = std::cos(angle);
    cos_sin[2 * p + 1] = std::sin(angle);
  }
}
}  // namespace

void rope_angles(double* cos_sin, size_t head_dim, int pos, float theta, float pos_scale,
                 const float* freq_div) {
  rope_angles_by(cos_sin, head_dim, pos, theta, pos_scale, freq_div);
}

void rope_angles(double* cos_sin, size_t head_dim, int pos, float theta, float pos_scale,
                 const double* freq_div) {
  rope_angles_by(cos_sin, head_dim, pos, theta, pos_scale, freq_div);
}

void rope_rotate(float* v, size_t head_dim, RopeStyle style, const double* cos_sin) {
  if (style == RopeStyle::None) return;
  const size_t half = head_dim / 2;
  for (size_t p = 0; p < half; ++p) {
    const double c = cos_sin[2 * p], s = cos_sin[2 * p + 1];
    const size_t i = style == RopeStyle::Adjacent ? 2 * p : p;
    const size_t j = style == RopeStyle::Adjacent ? 2 * p + 1 : p + half;
    const double a = v[i], b = v[j];
    v[i] = static_cast<float>(a * c - b * s);
    v[j] = static_cast<float>(a * s + b * c);
  }
}

void rope(float* v, size_t head_dim, int pos, float theta, RopeStyle style, float pos_scale,
          const float* freq_div) {
  std::vector<double> cos_sin(head_dim);
  rope_angles(cos_sin.data(), head_dim, pos, theta, pos_scale, freq_div);
  rope_rotate(v, head_dim, style, cos_sin.data());
}

void geglu_tanh(float* gate, const float* up, size_t n) {
  const double k = std::sqrt(2.0 / 3.14159265358979323846);
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i];
    gate[i] =
        static_cast<float>(0.5 * g * (1.0 + std::tanh(k * (g + 0.044715 * g * g * g))) * up[i]);
  }
}

void gelu_tanh(float* x, size_t n) {
  const double k = std::sqrt(2.0 / 3.14159265358979323846);
  for (size_t i = 0; i < n; ++i) {
    const double g = x[i];
    x[i] = static_cast<float>(0.5 * g * (1.0 + std::tanh(k * (g + 0.044715 * g * g * g))));
  }
}

void gelu_erf(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double g = x[i];
    x[i] = static_cast<float>(0.5 * g * (1.0 + std::erf(g / std::sqrt(2.0))));
  }
}

void swiglu_clamped(float* gate, const float* up, size_t n, float alpha, float limit) {
  for (size_t i = 0; i < n; ++i) {
    const double g = std::min(gate[i], limit);
    const double u = std::clamp(up[i], -limit, limit);
    gate[i] = static_cast<float>((u + 1.0) * g / (1.0 + std::exp(-static_cast<double>(alpha) * g)));
  }
}

void softcap(float* x, size_t n, float cap) {
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(cap * std::tanh(x[i] / static_cast<double>(cap)));
}

void swiglu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i];
    gate[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

}  // namespace ss
