#pragma once
// Next-token choice: greedy (temperature 0) or temperature + nucleus (top-p) sampling with a
// seeded generator, so a run is repeatable.
#include <cstdint>
#include <random>
#include <span>

namespace ss {

class Sampler {
 public:
  Sampler(float temperature, float top_p, uint64_t seed);
  int sample(std::span<const float> logits);

 private:
  float temperature_, top_p_;
  std::mt19937_64 rng_;
};

}  // namespace ss
