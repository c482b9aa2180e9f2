#include "analysis/ffn_quadratic.h"

#include <cmath>
#include <limits>

#include "analysis/symmetric_eigen.h"
#include "ops/dequant.h"

namespace ss {

std::optional<std::string> quadratic_form_unsupported(const ModelConfig& c) {
  if (c.n_experts > 0) return "a mixture of experts (the form is for a dense gated SiLU FFN)";
  if (!c.ffn_gated) return "a plain (ungated) FFN (the form is for a gated SiLU FFN)";
  if (c.ffn_act != FfnAct::Silu) return "a gated GELU FFN (the form is for a gated SiLU FFN)";
  return std::nullopt;
}

namespace {

// Row r of a weight matrix, dequantized.
std::vector<float> weight_row(const Tensor& t, int64_t r) {
  std::vector<float> out(static_cast<size_t>(t.cols()));
  dequantize_row(t.type, t.row(r), out.data(), out.size());
  return out;
}

}  // namespace

std::vector<double> ffn_quadratic_matrix(const Model& model, int layer, int channel,
                                         ThreadPool& pool) {
  const LayerWeights& w = model.layers[layer];
  const size_t D = model.config.dim, F = model.config.hidden_dim;
  const std::vector<float> down = weight_row(w.w_down, channel);
  std::vector<float> gate(F * D), up(F * D);
  pool.parallel_for(F, [&](size_t i0, size_t i1, int) {
    for (size_t i = i0; i < i1; ++i) {
      dequantize_row(w.w_gate.type, w.w_gate.row(static_cast<int64_t>(i)), &gate[i * D], D);
      dequantize_row(w.w_up.type, w.w_up.row(static_cast<int64_t>(i)), &up[i * D], D);
    }
  });
  // Upper triangle row by row: A[p][q] = Σ_i W_down[c,i] (g_ip u_iq + u_ip g_iq) / 2, then the
  // mirror, so that A is exactly symmetric.
  std::vector<double> a(D * D, 0.0);
  pool.parallel_for(D, [&](size_t p0, size_t p1, int) {
    for (size_t p = p0; p < p1; ++p) {
      double* row = &a[p * D];
      for (size_t i = 0; i < F; ++i) {
        const double wd = down[i];
        const double g = wd * gate[i * D + p], u = wd * up[i * D + p];
        const float* gi = &gate[i * D];
        const float* ui = &up[i * D];
        for (size_t q = p; q < D; ++q) row[q] += g * ui[q] + u * gi[q];
      }
      for (size_t q = p; q < D; ++q) row[q] *= 0.5;
    }
  });
  for (size_t p = 0; p < D; ++p)
    for (size_t q = 0; q < p; ++q) a[p * D + q] = a[q * D + p];
  return a;
}

FfnQuadraticForm ffn_quadratic_form(const Model& model, int layer, int channel,
                                    std::span<const float> x, ThreadPool& pool) {
  const size_t D = model.config.dim, F = model.config.hidden_dim;
  FfnQuadraticForm f;
  f.layer = layer;
  f.channel = channel;
  f.input.assign(x.begin(), x.end());
  const std::vector<double> a = ffn_quadratic_matrix(model, layer, channel, pool);
  const SymmetricEigen eig = symmetric_eigen(a, static_cast<int>(D));
  const std::vector<int> order = order_by_magnitude(eig.values);
  for (size_t k = 0; k < order.size() && k < static_cast<size_t>(kTopEigenvalues); ++k)
    f.eigenvalues.push_back(eig.values[order[k]]);
  if (f.eigenvalues.size() >= 2)
    f.ratio = f.eigenvalues[1] != 0 ? std::abs(f.eigenvalues[0]) / std::abs(f.eigenvalues[1])
                                    : std::numeric_limits<double>::infinity();

  const double* v = eig.vector(order[0]);
  double vx = 0, xx = 0, form = 0;
  for (size_t i = 0; i < D; ++i) vx += v[i] * x[i], xx += static_cast<double>(x[i]) * x[i];
  for (size_t p = 0; p < D; ++p) {
    double s = 0;
    for (size_t q = 0; q < D; ++q) s += a[p * D + q] * x[q];
    form += x[p] * s;
  }
  const double sign = vx < 0 ? -1.0 : 1.0;
  f.top_vector.resize(D);
  for (size_t i = 0; i < D; ++i) f.top_vector[i] = sign * v[i];
  f.cosine = xx > 0 ? std::abs(vx) / std::sqrt(xx) : 0.0;
  f.top_share = form != 0 ? f.eigenvalues[0] * vx * vx / form : 0.0;
  f.quadratic = kSiluLinearFactor * form;

  // The true output: Σ_i W_down[c,i] SiLU(g_i) u_i.
  const LayerWeights& w = model.layers[layer];
  const std::vector<float> down = weight_row(w.w_down, channel);
  double out = 0;
  for (size_t i = 0; i < F; ++i) {
    const std::vector<float> gi = weight_row(w.w_gate, static_cast<int64_t>(i));
    const std::vector<float> ui = weight_row(w.w_up, static_cast<int64_t>(i));
    double g = 0, u = 0;
    for (size_t d = 0; d < D; ++d)
      g += static_cast<double>(gi[d]) * x[d], u += static_cast<double>(ui[d]) * x[d];
    out += down[i] * (g / (1.0 + std::exp(-g))) * u;
  }
  f.ffn_output = out;
  return f;
}

}  // namespace ss
