#pragma once
// YaRN rope scaling (gpt-oss: "rope_type": "yarn"), as transformers' _compute_yarn_parameters
// defines it: frequencies whose wavelength fits the original context many times (more than
// beta_fast rotations over it) stay, those that rotate fewer than beta_slow times are divided by
// `factor`, and a linear ramp over the dimensions between blends the two; cos and sin are
// multiplied by the attention factor 0.1·ln(factor) + 1. The blend is kept here as divisors of
// the plain frequencies theta^(-2i/dims), in double.
#include <vector>

namespace ss {

struct YarnRopeScaling {
  double factor = 1.0;
  int original_context = 4096;
  double beta_fast = 32.0, beta_slow = 1.0;
  bool truncate = true;  // round the ramp's ends to whole dimensions (floor, ceil)
};

// dims / 2 divisors: plain frequency / YaRN frequency.
std::vector<double> yarn_rope_divisors(int dims, double theta, const YarnRopeScaling& s);
// The factor cos and sin are multiplied by (1 for factor <= 1).
double yarn_attention_factor(double factor);

}  // namespace ss
