#pragma once
// Sinks under eviction (issue 15, part 3): what the attention of each head does while a text runs
// token by token through a window or sink + window cache (runtime/streaming.h). Statistics refer
// to cache slots; the text position each slot holds is known from the policy, so the text
// positions and tokens that take the sink role are recorded too.
//
// For the query at text position t in cache slot s, with row α over slots 0..s (one decode step):
//   sink_mass     Σ_{k<K} α_k: mass on the kept first tokens (sink policies; K = the sinks)
//   oldest_mass   α_K: the oldest window slot (slot 0 under window:W), defined when s > K
//   bos_mass      α of the slot holding text position 0, while that token is cached
//   top           the slot k < s (the query itself left out) with the largest α_k, lowest on
//                 ties, defined when s ≥ 1: top_mass = α_top, top_in_sinks = top < K,
//                 top_is_oldest = top == K
// Means over the steps of each bin, for every head: bins of the distance from the start
// (t = 0, 1–16, 17–64, 65–256, …: powers of 4) and equal bins of steps (for curves), and over
// the eviction phase (t ≥ the cache's capacity, once every step evicts a slot): the same means,
// the mean α of each slot, and "sink migration": the text position that holds the top most
// often and the three most frequent top tokens. Memory: O(layers × heads × (bins + capacity)),
// plus the distinct top tokens per head; nothing grows with the number of steps.
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/hooks.h"

namespace ss {

// Per-head means over a set of steps; each statistic counts the steps where it is defined, and a
// mean over no steps is NaN.
struct StreamSinkMeans {
  long steps = 0;
  long sink_steps = 0, oldest_steps = 0, bos_steps = 0, top_steps = 0;
  // [layer * n_heads + head]
  std::vector<double> sink_mass, oldest_mass, bos_mass, top_mass, top_in_sinks, top_is_oldest;
};

struct StreamSinkBin {
  long from = 0, to = 0;  // text positions of the queries, inclusive
  StreamSinkMeans means;
};

// One head in the eviction phase.
struct StreamSinkMigration {
  long top_position = -1;  // the text position holding the top most often (lowest on ties)
  long top_position_steps = 0;
  int top_position_token = -1;                   // the token at top_position
  std::vector<std::pair<int, long>> top_tokens;  // up to 3 (token id, steps), most frequent first
  std::vector<double> slot_mass;                 // [capacity]: mean α of each slot
};

struct StreamSinksResult {
  std::string policy;     // CachePolicy::name()
  std::string positions;  // "cache" or "original"
  int sinks = 0, window = 0, capacity = 0;
  int n_layers = 0, n_heads = 0;
  long tokens = 0;           // steps run (text positions 0 .. tokens−1)
  long first_eviction = -1;  // the first step that evicted a slot (= capacity), or −1
  long bos_evicted_at = -1;  // the first step without text position 0 cached, or −1
  std::vector<StreamSinkBin> distance_bins, step_bins;
  StreamSinkMeans eviction;                // steps t ≥ capacity
  std::vector<StreamSinkMigration> heads;  // [layer * n_heads + head], eviction phase
  int first_token_id = -1;                 // the token at text position 0
  double nll_mean = 0;                     // next-token loss of the streaming run
  double seconds = 0;
};

// Distance bins of a text of n tokens: {0}, [1, 16], [17, 64], [65, 256], …, up to n − 1.
std::vector<std::pair<long, long>> stream_distance_bins(long n);
// Equal bins of steps: the width is the smallest 1, 2 or 5 × 10^k giving at most max_bins bins.
std::vector<std::pair<long, long>> stream_step_bins(long n, int max_bins);

// Folds every attention row of a streaming run. The runtime must run the tokens one at a time at
// the slots SlidingCache gives (stream_nll does): the observer follows the steps by the first
// layer's on_resid_pre (called on the calling thread before any row of the step), and checks the
// slot it is given. keep = the sink count K (0 for window:W and dense), capacity = the cache's
// slots. Sums run per head in step order in double, so results do not depend on the thread count.
class StreamSinksObserver : public Observer {
 public:
  StreamSinksObserver(int n_layers, int n_heads, int keep, int capacity,
                      std::span<const int> tokens, int max_step_bins = 64);

  bool wants_pattern(int) const override { return true; }
  void on_resid_pre(int layer, int pos0, int n_tokens, const float* x) override;
  void on_pattern_row(int layer, int head, int pos, std::span<const float> row,
                      double entropy) override;

  // The means and the migration so far (policy names, nll and timing left for the caller).
  StreamSinksResult result() const;

  // The text position held by slot k at step t.
  long slot_position(int k, long t) const;

 private:
  struct Sums {  // one bin or phase: per head
    std::vector<double> sink, oldest, bos, top_mass;
    std::vector<long> in_sinks, is_oldest;
  };
  struct Counts {
    long steps = 0, sink = 0, oldest = 0, bos = 0, top = 0;
  };
  void resize(Sums& s) const;
  StreamSinkMeans means(const Sums& s, const Counts& c) const;

  int L_, H_, keep_, cap_;
  std::span<const int> tokens_;
  long step_ = -1;  // the current step (text position of the query)
  int slot_ = -1;   // its slot
  std::vector<std::pair<long, long>> dist_edges_, step_edges_;
  size_t dist_bin_ = 0, step_bin_ = 0;  // bins of the current step
  std::vector<Sums> dist_, steps_;
  std::vector<Counts> dist_counts_, step_counts_;
  Sums evict_;
  Counts evict_counts_;
  // Eviction phase, per head: slot mass sums [head × capacity]; counts of the top's text
  // position in a ring over the cached positions (sinks first, then window positions modulo the
  // window), with the best position of those already evicted; top token counts.
  std::vector<double> slot_sum_;
  std::vector<long> ring_pos_, ring_count_;
  std::vector<long> best_pos_, best_count_;
  std::vector<std::map<int, long>> token_count_;
};

}  // namespace ss
