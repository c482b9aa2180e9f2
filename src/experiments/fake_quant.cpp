#include "experiments/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "base/error.h"
#include "model/synth.h"
#include "ops/dequant.h"

namespace ss {

int quant_qmax(int bits) {
  if (bits < 2 || bits > 16)
    throw std::invalid_argument("quantization bits must be 2..16, not " + std::to_string(bits));
  return (1 << (bits - 1)) - 1;
}

float fake_quant(float x, double scale, int qmax) {
  if (scale == 0) return 0.0f;
  const double q =
      std::clamp(std::nearbyint(x / scale), -static_cast<double>(qmax), static_cast<double>(qmax));
  return static_cast<float>(q * scale);
}

const float* InputMaxima::transform(int layer, LinearSite site, int pos0, int n, size_t width,
                                    const float* x, float*) {
  const int first = std::clamp(skip_ - pos0, 0, n);
  double& m = max_[index(layer, site)];
  for (size_t i = static_cast<size_t>(first) * width; i < static_cast<size_t>(n) * width; ++i)
    m = std::max(m, static_cast<double>(std::abs(x[i])));
  return x;
}

FakeQuantInputs::FakeQuantInputs(const std::vector<double>& maxima, int bits, int skip)
    : qmax_(quant_qmax(bits)), skip_(skip) {
  for (double m : maxima) scale_.push_back(m / qmax_);
}

const float* FakeQuantInputs::transform(int layer, LinearSite site, int pos0, int n, size_t width,
                                        const float* x, float* out) {
  const double s = scale_[static_cast<size_t>(layer) * kLinearSites + static_cast<size_t>(site)];
  const size_t first = static_cast<size_t>(std::clamp(skip_ - pos0, 0, n)) * width;
  std::copy_n(x, first, out);
  for (size_t i = first; i < static_cast<size_t>(n) * width; ++i)
    out[i] = fake_quant(x[i], s, qmax_);
  return out;
}

std::vector<float> fake_quant_rows(const Tensor& t, int bits) {
  const int qmax = quant_qmax(bits);
  const size_t cols = static_cast<size_t>(t.cols()), rows = static_cast<size_t>(t.rows());
  std::vector<float> v(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    float* row = v.data() + r * cols;
    dequantize_row(t.type, t.row(static_cast<int64_t>(r)), row, cols);
    double mx = 0;
    for (size_t j = 0; j < cols; ++j) mx = std::max(mx, static_cast<double>(std::abs(row[j])));
    for (size_t j = 0; j < cols; ++j) row[j] = fake_quant(row[j], mx / qmax, qmax);
  }
  return v;
}

Model fake_quant_weights(const Model& m, int bits) {
  if (m.config.n_experts > 0)
    throw InputError(m.path, "fake quantization of a mixture of experts is not supported");
  quant_qmax(bits);  // checks bits
  Model q = clone_model(m);
  q.bf16_activations = m.bf16_activations;
  q.int8_activations = m.int8_activations;
  for (LayerWeights& w : q.layers)
    for (Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      if (t->data)
        *t = add_owned_f32(q, t->name, {t->cols(), t->rows()}, fake_quant_rows(*t, bits));
  return q;
}

}  // namespace ss
