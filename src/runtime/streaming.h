#pragma once
// StreamingLLM (SPEC §Streaming): a text run token by token through a KV cache that keeps the
// first K tokens (sinks) and the most recent W, or only the most recent W, or all of them, or
// none (each step re-encodes the last W tokens from scratch: the quality reference).
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace ss {

struct CachePolicy {
  enum class Kind { Dense, Window, SinkWindow, Recompute };
  Kind kind = Kind::Dense;
  int sinks = 0, window = 0;

  // "dense", "window:W", "sink:K+window:W" or "recompute:W"; anything else, or K or W below 1,
  // throws InputError naming `option`.
  static CachePolicy parse(const std::string& text, const std::string& option = "--cache");
  std::string name() const;
  // Cache slots the policy needs for a text of n tokens.
  int capacity(int n) const;
};

// Positions of cached tokens: their slot in the cache (StreamingLLM; keys are kept unrotated and
// rotated again after each eviction) or their position in the text.
enum class StreamPositions { Cache, Original };

struct StreamResult {
  std::vector<double> nll;  // nll[t]: of token t + 1 after tokens 0..t
  double seconds = 0;
  size_t cache_bytes = 0;  // the KV cache's size (constant: a full cache does not grow)
};

// Runs tokens one at a time under the policy (decode mode, as StreamingLLM evaluates), calling
// progress(t) after token t. Observers added by `setup` see every step.
StreamResult stream_nll(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                        const CachePolicy& policy, StreamPositions positions,
                        const std::function<void(Runtime&)>& setup = nullptr,
                        const std::function<void(size_t)>& progress = nullptr);

}  // namespace ss
