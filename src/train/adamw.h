#pragma once
// AdamW (Loshchilov & Hutter): Adam moments with bias correction, and weight decay applied
// directly to the weights (decoupled), only where the layout marks a tensor for decay.
#include <cstdint>
#include <vector>

#include "train/params.h"

namespace ss::train {

struct AdamW {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  int64_t t = 0;  // updates done so far
  std::vector<float> m, v;

  void update(const ParamLayout& l, float* params, const float* grads, float lr, float wd);
};

// Global L2 norm of the gradient (in double, in a fixed order); when above max_norm > 0 the
// gradient is scaled down to it. Returns the norm before clipping.
double clip_grad_norm(float* grads, size_t n, double max_norm);

// Learning rate at `step` (0-based): linear warm-up over `warmup` steps to peak, then a cosine
// decay to min_lr at `total` steps.
double lr_at(int64_t step, int64_t warmup, int64_t total, double peak, double min_lr);

}  // namespace ss::train
