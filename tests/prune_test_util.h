#pragma once
// Helpers of the physical-removal tests (test_prune_physical.cpp, test_prune_per_layer.cpp): a
// mask of heads zeroed at run time, to compare with a model without them (test::logits_of).
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"

namespace ss {

using Heads = std::vector<std::pair<int, int>>;  // (layer, head)
using test::logits_of;

inline HeadMask mask_of(const ModelConfig& c, const Heads& heads) {
  HeadMask mask(c);
  for (auto [l, h] : heads) mask.set(l, h, HeadAction::Zero);
  return mask;
}

}  // namespace ss
