#include "analysis/over_mixing.h"

#include <cmath>
#include <vector>

namespace ss {

double over_mixing(const float* v, size_t T, size_t d) {
  if (T == 0 || d == 0) return 0.0;
  // The column means first, then the centred sum: ‖V‖² − T‖mean‖² would cancel badly when the
  // rows are nearly equal, which is exactly the regime being measured.
  std::vector<double> mean(d, 0.0);
  for (size_t t = 0; t < T; ++t)
    for (size_t j = 0; j < d; ++j) mean[j] += v[t * d + j];
  for (double& m : mean) m /= static_cast<double>(T);
  double centred = 0.0, total = 0.0;
  for (size_t t = 0; t < T; ++t)
    for (size_t j = 0; j < d; ++j) {
      const double x = v[t * d + j];
      centred += (x - mean[j]) * (x - mean[j]);
      total += x * x;
    }
  return total > 0.0 ? std::sqrt(centred / total) : 0.0;
}

void token_spread(const float* clean, const float* perturbed, size_t T, size_t d, double* delta,
                  double* ratio) {
  for (size_t t = 0; t < T; ++t) {
    double diff = 0.0, norm = 0.0;
    for (size_t j = 0; j < d; ++j) {
      const double a = clean[t * d + j], b = perturbed[t * d + j];
      diff += (a - b) * (a - b);
      norm += a * a;
    }
    delta[t] = std::sqrt(diff);
    ratio[t] = norm > 0.0 ? delta[t] / std::sqrt(norm) : 0.0;
  }
}

}  // namespace ss
