#include "model/llama3_rope.h"

#include <cmath>

namespace ss {

std::vector<float> llama3_rope_divisors(int head_dim, double theta, const Llama3RopeScaling& s) {
  const double pi = 3.14159265358979323846;
  const double low_wavelen = s.original_context / s.low_freq_factor;
  const double high_wavelen = s.original_context / s.high_freq_factor;
  std::vector<float> out(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < out.size(); ++i) {
    const double freq = std::pow(theta, -2.0 * static_cast<double>(i) / head_dim);
    const double wavelen = 2 * pi / freq;
    double div = 1.0;
    if (wavelen > low_wavelen) {
      div = s.factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (s.original_context / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      div = 1.0 / ((1.0 - smooth) / s.factor + smooth);
    }
    out[i] = static_cast<float>(div);
  }
  return out;
}

}  // namespace ss
