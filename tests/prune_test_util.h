#pragma once
// Helpers of the physical-removal tests (test_prune_physical.cpp, test_prune_per_layer.cpp): the
// logits of a model with some heads zeroed at run time, to compare with a model without them.
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"

namespace ss {

using Heads = std::vector<std::pair<int, int>>;  // (layer, head)

// Every position's logits of `ids`, with `mask` (may be null) applied.
inline std::vector<float> logits_of(const Model& m, const HeadMask* mask,
                                    const std::vector<int>& ids) {
  ThreadPool pool(2);
  Runtime rt(m, pool, 64);
  rt.set_head_mask(mask);
  return rt.forward(ids, 0, Logits::All);
}

inline HeadMask mask_of(const ModelConfig& c, const Heads& heads) {
  HeadMask mask(c);
  for (auto [l, h] : heads) mask.set(l, h, HeadAction::Zero);
  return mask;
}

}  // namespace ss
