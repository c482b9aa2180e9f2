#pragma once
// Sinks under eviction (issue 15, part 3): a text run token by token under a window:W or
// sink:K+window:W cache (stream_nll, runtime/streaming.h) with a StreamSinksObserver
// (analysis/stream_sinks.h) watching every head's attention rows. `analyze --cache` runs it.
#include <functional>
#include <span>

#include "analysis/stream_sinks.h"
#include "base/thread_pool.h"
#include "model/model.h"
#include "runtime/head_mask.h"
#include "runtime/streaming.h"

namespace ss {

struct StreamSinksOptions {
  CachePolicy policy;  // window:W, sink:K+window:W or dense (re-computing policies: refused)
  StreamPositions positions = StreamPositions::Cache;
  const HeadMask* mask = nullptr;
  int step_bins = 64;  // at most this many equal bins of steps
};

// Runs tokens[0 .. n−2] one at a time (each predicts the next, as stream_nll scores them) and
// returns the sink statistics with the policy's name, the mean nll and the time. Throws
// InputError("--cache", ...) for recompute:W and any other policy that re-encodes windows.
// setup(rt) may add more observers.
StreamSinksResult stream_sinks(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                               const StreamSinksOptions& opt,
                               const std::function<void(Runtime&)>& setup = nullptr,
                               const std::function<void(size_t)>& progress = nullptr);

}  // namespace ss
