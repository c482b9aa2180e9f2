#pragma once
// Simulated ("fake") integer quantization for quant-study, computed in float: a value is
// replaced by the nearest point of a symmetric integer grid times a scale, x -> q(x)·s with
// q(x) = clamp(round(x / s), -qmax, qmax) and qmax = 2^(bits-1) - 1 (127 for 8 bits, so the grid
// is symmetric and -128 is never used). Rounding is to nearest, ties to even (as torch.round),
// and is done in double.
//   Activations: static, per tensor: one scale per linear input site and layer
//   (runtime/linear_input.h), s = calibration max |x| / qmax.
//   Weights: per output channel: each row r of the q, k, v, o, gate, up and down matrices has
//   s_r = max_j |W_rj| / qmax. The embedding, the LM head and the norms stay as they are.
#include <vector>

#include "model/model.h"
#include "runtime/linear_input.h"

namespace ss {

// 2^(bits-1) - 1; throws std::invalid_argument unless 2 <= bits <= 16.
int quant_qmax(int bits);

// clamp(round(x / scale), -qmax, qmax) · scale; 0 when scale is 0.
float fake_quant(float x, double scale, int qmax);

// Per (layer, site) maxima of |x| over the positions at or after `skip` (the cushion, a prefix
// whose activations are kept unquantized, is not counted). Passes the inputs on unchanged.
class InputMaxima : public LinearInputTransform {
 public:
  InputMaxima(int n_layers, int skip)
      : skip_(skip), max_(static_cast<size_t>(n_layers) * kLinearSites) {}
  const float* transform(int layer, LinearSite site, int pos0, int n, size_t width, const float* x,
                         float* scratch) override;
  double max(int layer, LinearSite site) const { return max_[index(layer, site)]; }
  // [layer · kLinearSites + site]
  const std::vector<double>& all() const { return max_; }

 private:
  static size_t index(int layer, LinearSite s) {
    return static_cast<size_t>(layer) * kLinearSites + static_cast<size_t>(s);
  }
  int skip_;
  std::vector<double> max_;
};

// Fake-quantizes each linear input with the scale of its (layer, site) maximum; the positions
// before `skip` (the cushion) pass unchanged.
class FakeQuantInputs : public LinearInputTransform {
 public:
  // maxima: [layer · kLinearSites + site], as InputMaxima::all().
  FakeQuantInputs(const std::vector<double>& maxima, int bits, int skip);
  const float* transform(int layer, LinearSite site, int pos0, int n, size_t width, const float* x,
                         float* scratch) override;

 private:
  std::vector<double> scale_;
  int qmax_, skip_;
};

// The rows of t (any dtype) as f32, each fake-quantized on a grid of `bits` with its own scale
// max |row| / qmax.
std::vector<float> fake_quant_rows(const Tensor& t, int bits);

// A copy of m whose attention and FFN matrices are f32, each row fake-quantized on a grid of
// `bits` with its own scale. Throws InputError for a mixture of experts (not simulated).
Model fake_quant_weights(const Model& m, int bits);

}  // namespace ss
