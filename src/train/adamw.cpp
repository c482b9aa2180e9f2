#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/error.h"

namespace ss::train {

void AdamW::update(const ParamLayout& l, float* p, const float* g, float lr, float wd) {
  if (m.empty()) m.assign(l.total, 0.0f), v.assign(l.total, 0.0f);
  ++t;
  const double c1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(t));
  const double c2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(t));
  const float step = static_cast<float>(lr / c1);
  const float vscale = static_cast<float>(1.0 / c2);
  for (const ParamTensor& tensor : l.tensors) {
    const float decay = tensor.decay ? 1.0f - lr * wd : 1.0f;
    for (size_t i = tensor.offset; i < tensor.offset + tensor.size; ++i) {
      m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
      v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
      p[i] = p[i] * decay - step * m[i] / (std::sqrt(v[i] * vscale) + eps);
    }
  }
}

double clip_grad_norm(float* g, size_t n, double max_norm) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  const double norm = std::sqrt(s);
  if (max_norm > 0 && norm > max_norm) {
    const float k = static_cast<float>(max_norm / norm);
    for (size_t i = 0; i < n; ++i) g[i] *= k;
  }
  return norm;
}

LrSchedule parse_lr_schedule(const std::string& name, const std::string& option) {
  for (LrSchedule s :
       {LrSchedule::Cosine, LrSchedule::Linear, LrSchedule::Constant, LrSchedule::Wsd})
    if (name == lr_schedule_name(s)) return s;
  throw InputError(option, "'" + name + "' is not a schedule (cosine, linear, constant, wsd)");
}

const char* lr_schedule_name(LrSchedule s) {
  switch (s) {
    case LrSchedule::Cosine:
      return "cosine";
    case LrSchedule::Linear:
      return "linear";
    case LrSchedule::Constant:
      return "constant";
    case LrSchedule::Wsd:
      return "wsd";
  }
  return "cosine";
}

double lr_at(int64_t step, int64_t warmup, int64_t total, double peak, double min_lr,
             LrSchedule schedule) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (total <= warmup || schedule == LrSchedule::Constant) return peak;
  // x: the fraction of the steps after the warm-up done, 0 .. 1.
  const double x =
      std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(total - warmup));
  switch (schedule) {
    case LrSchedule::Linear:
      return min_lr + (peak - min_lr) * (1.0 - x);
    case LrSchedule::Wsd: {
      const double rest = std::min(1.0, (1.0 - x) / kWsdDecayShare);  // 1 until the decay
      return min_lr + (peak - min_lr) * rest;
    }
    default:
      return min_lr + 0.5 * (peak - min_lr) * (1.0 + std::cos(std::numbers::pi * x));
  }
}

}  // namespace ss::train
