#pragma once
// Llama 3.1's rope scaling ("rope_type": "llama3" in a Hugging Face config). llama.cpp's
// converter stores it as the tensor rope_freqs.weight: one divisor per frequency, 1 for high
// frequencies (wavelength < original_context / high_freq_factor), `factor` for low ones
// (wavelength > original_context / low_freq_factor), and a smooth blend between.
#include <vector>

namespace ss {

struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int original_context = 8192;
};

// head_dim / 2 divisors of the frequencies theta^(-2i/head_dim).
std::vector<float> llama3_rope_divisors(int head_dim, double theta, const Llama3RopeScaling& s);

}  // namespace ss
