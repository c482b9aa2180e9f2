#include "model/yarn_rope.h"

#include <algorithm>
#include <cmath>

namespace ss {

namespace {

// The dimension whose frequency turns `rotations` times over the original context.
double correction_dim(double rotations, int dims, double theta, int context) {
  const double pi = 3.14159265358979323846;
  return dims * std::log(context / (rotations * 2 * pi)) / (2 * std::log(theta));
}

}  // namespace

std::vector<double> yarn_rope_divisors(int dims, double theta, const YarnRopeScaling& s) {
  double low = correction_dim(s.beta_fast, dims, theta, s.original_context);
  double high = correction_dim(s.beta_slow, dims, theta, s.original_context);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dims - 1));
  if (low == high) high += 0.001;  // no division by zero
  std::vector<double> out(static_cast<size_t>(dims / 2));
  for (size_t i = 0; i < out.size(); ++i) {
    // extrapolation weight: 1 below `low` (plain frequency), 0 above `high` (divided by factor)
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double keep = 1.0 - ramp;
    const double plain = std::pow(theta, -2.0 * static_cast<double>(i) / dims);
    const double yarn = plain / s.factor * (1.0 - keep) + plain * keep;
    out[i] = plain / yarn;
  }
  return out;
}

double yarn_attention_factor(double factor) {
  return factor <= 1 ? 1.0 : 0.1 * std::log(factor) + 1.0;
}

}  // namespace ss
