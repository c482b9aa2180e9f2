#pragma once
// Autoregressive generation: prefill the prompt, then decode one token at a time with the KV cache.
#include <functional>
#include <vector>

#include "runtime/runtime.h"
#include "runtime/sampler.h"

namespace ss {

// Appends up to n_new tokens to ids (which holds the prompt, BOS first), stopping early at any
// of stop_ids or at the cache's end. on_token(prev, next) is called for each new token.
void generate(Runtime& rt, std::vector<int>& ids, int n_new, Sampler& sampler,
              const std::vector<int>& stop_ids,
              const std::function<void(int, int)>& on_token = nullptr);

}  // namespace ss
