#pragma once
// AdamW (Loshchilov & Hutter): Adam moments with bias correction, and weight decay applied
// directly to the weights (decoupled), only where the layout marks a tensor for decay.
#include <cstdint>
#include <string>
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

// How the learning rate falls from its peak after the warm-up: cosine to the minimum; linear to
// it; constant (the peak until the end); or wsd, warm-up-stable-decay (the peak until the last
// kWsdDecayShare of the steps after the warm-up, then linear to the minimum), a lever of
// pretraining studies since the decay phase is where the loss drops.
enum class LrSchedule { Cosine, Linear, Constant, Wsd };
inline constexpr double kWsdDecayShare = 0.2;
// "cosine", "linear", "constant", "wsd"; throws InputError naming `option` for anything else.
LrSchedule parse_lr_schedule(const std::string& name, const std::string& option);
const char* lr_schedule_name(LrSchedule s);

// Learning rate at `step` (0-based): linear warm-up over `warmup` steps to peak, then the
// schedule's fall to min_lr at `total` steps.
double lr_at(int64_t step, int64_t warmup, int64_t total, double peak, double min_lr,
             LrSchedule schedule = LrSchedule::Cosine);

}  // namespace ss::train
