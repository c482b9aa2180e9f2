#include "runtime/generate.h"

#include <algorithm>

namespace ss {

void generate(Runtime& rt, std::vector<int>& ids, int n_new, Sampler& sampler,
              const std::vector<int>& stop_ids, const std::function<void(int, int)>& on_token) {
  if (ids.empty() || n_new <= 0 || static_cast<int>(ids.size()) >= rt.max_ctx()) return;
  std::vector<float> logits = rt.forward(ids, 0, Logits::Last);
  for (int step = 0; step < n_new; ++step) {
    int next = sampler.sample(logits);
    if (std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) return;
    if (on_token) on_token(ids.back(), next);
    ids.push_back(next);
    if (step + 1 == n_new || static_cast<int>(ids.size()) >= rt.max_ctx()) return;
    logits = rt.forward({&ids.back(), 1}, static_cast<int>(ids.size()) - 1, Logits::Last);
  }
}

}  // namespace ss
