#pragma once
// StreamingLLM (SPEC §Streaming): a text run token by token through a KV cache that keeps the
// first K tokens (sinks) and the most recent W, or only the most recent W, or all of them, or
// none (each step re-encodes the last W tokens from scratch: the quality reference; with the
// first K kept too, the reference of the sink cache).
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "runtime/sampler.h"

namespace ss {

struct CachePolicy {
  enum class Kind { Dense, Window, SinkWindow, Recompute, SinkRecompute };
  Kind kind = Kind::Dense;
  int sinks = 0, window = 0;

  // "dense", "window:W", "sink:K+window:W", "recompute:W" or "sink:K+recompute:W"; anything
  // else, or K or W below 1, throws InputError naming `option`.
  static CachePolicy parse(const std::string& text, const std::string& option = "--cache");
  std::string name() const;
  // Cache slots the policy needs for a text of n tokens.
  int capacity(int n) const;
};

// Positions of cached tokens: their slot in the cache (StreamingLLM; keys are kept unrotated and
// rotated again after each eviction) or their position in the text.
enum class StreamPositions { Cache, Original };

// A runtime's cache under a window or sink + window policy, fed one token at a time: the first
// K slots stay, and a full cache drops its oldest other slot before taking the next token.
class SlidingCache {
 public:
  // rt's capacity is the cache's (policy.capacity of the text, or sinks + window).
  SlidingCache(Runtime& rt, const CachePolicy& policy, StreamPositions positions);
  // Makes room for the token at text position t (t = 0, 1, ... in order), sets the runtime's
  // position offset for it, and returns its slot: run it with rt.forward(token, slot).
  int next_slot(int t);
  // Slots in use, for a checkpoint; restore(used) continues a cache whose runtime holds a saved
  // cache (Runtime::read_cache) of that many slots.
  int used() const { return used_; }
  void restore(int used);

 private:
  Runtime& rt_;
  int keep_, used_ = 0;
  StreamPositions positions_;
};

struct StreamResult {
  // Tokens per entry of block_seconds.
  static constexpr int kTimingBlock = 1000;
  std::vector<double> nll;  // nll[t]: of token t + 1 after tokens 0..t
  double seconds = 0;
  // Wall seconds of each whole block of kTimingBlock steps, in order: whether a token costs the
  // same at step 1k and step 100k (a full cache does not grow).
  std::vector<double> block_seconds;
  size_t cache_bytes = 0;  // the KV cache's size (constant: a full cache does not grow)
};

// A stream run that saves its state as it goes and can continue from a saved state (the resume
// of `sinkscope stream`). The state is bytes (wire.h): the steps done, their nll and timing, the
// sliding cache's slots and the runtime's KV cache (none for recompute policies, which encode
// afresh at every step). A continued run's nll are bit-identical to an uninterrupted run's.
struct StreamCheckpoints {
  // A state saved by an earlier run with the same model, tokens, policy and positions (empty:
  // start afresh).
  std::string resume;
  // Called after step t (not the last); true: save the state now.
  std::function<bool(int t)> due;
  // Stores a state (its time is not counted in StreamResult's seconds).
  std::function<void(std::string&& state)> save;
};

// A saved state that does not fit the run (truncated, another policy or text length).
class BadStreamState : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs tokens one at a time under the policy (decode mode, as StreamingLLM evaluates), calling
// progress(t) after token t. Observers added by `setup` see every step this call runs. With
// checkpoints, seconds and block_seconds add up the work of every run that made the result,
// not the time spent saving states or the steps a killed run did after its last state.
// Throws BadStreamState when checkpoints->resume does not fit.
StreamResult stream_nll(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                        const CachePolicy& policy, StreamPositions positions,
                        const std::function<void(Runtime&)>& setup = nullptr,
                        const std::function<void(size_t)>& progress = nullptr,
                        const StreamCheckpoints* checkpoints = nullptr);

// generate() under a window or sink + window cache: the prompt and every new token go through
// the cache one at a time, so memory and the cost of a token stay constant however long it runs.
void generate_streaming(Runtime& rt, const CachePolicy& policy, StreamPositions positions,
                        std::vector<int>& ids, int n_new, Sampler& sampler,
                        const std::vector<int>& stop_ids,
                        const std::function<void(int, int)>& on_token = nullptr);

}  // namespace ss
