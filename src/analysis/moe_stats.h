#pragma once
// Mixture-of-experts statistics per layer (gpt-oss), from the router hook: router_entropy (the
// mean entropy of the softmax over all router logits), expert_load (each expert's share of the
// token × k routing slots) and topk_agreement (how often the same k experts are the most loaded
// of a layer across windows). Definitions: docs/statistics.md, moe_statistics_markdown().
#include <optional>
#include <string>
#include <vector>

#include "runtime/hooks.h"

namespace ss {

struct MoeLayerResult {
  int layer = 0;
  double router_entropy = 0;             // mean over tokens, nats
  double router_entropy_normalised = 0;  // router_entropy / ln(n_experts); 0 with one expert
  std::vector<double> expert_load;       // [n_experts], sums to 1
  std::optional<double> topk_agreement;  // absent with fewer than two windows
};

struct MoeResult {
  int n_experts = 0, n_experts_used = 0;
  long tokens = 0;  // tokens routed per layer
  int windows = 0;
  std::vector<MoeLayerResult> layers;
};

// Folds every on_router call between begin_window() and end_window(). The runtime calls the hook
// once per layer and forward call, on the calling thread, with all tokens of the call; sums run in
// token order in double within a window, and window sums are added in window order; the window
// statistics are integer counts, so the result does not
// depend on the thread count.
class MoeStatsObserver : public Observer {
 public:
  MoeStatsObserver(int n_layers, int n_experts, int n_experts_used);
  void begin_window();
  void on_router(int layer, int n_tokens, const float* logits, const int* chosen) override;
  void end_window();  // add_window(window())
  MoeResult result() const;

  // What one window contributes, per layer: the sum of its tokens' router entropies, its token
  // count and its slots per expert [layer × expert]. Windows seen elsewhere (another rank of a
  // cluster) are folded in with add_window, in window order, as if they had run here.
  struct Window {
    std::vector<double> entropy;
    std::vector<long> tokens, slots;
  };
  const Window& window() const { return window_; }
  void add_window(const Window& w);

  // The Shannon entropy (nats) of the softmax of logits[0..n), in double with the maximum
  // subtracted.
  static double softmax_entropy(const float* logits, int n);
  // The k experts with the most slots in counts (ties to the lower index), in increasing order.
  static std::vector<int> top_experts(const std::vector<long>& counts, int k);

 private:
  int layers_, experts_, used_;
  int windows_ = 0;
  std::vector<double> entropy_sum_;  // [layer]: the windows' entropy sums, added in order
  std::vector<long> tokens_;         // [layer]
  std::vector<long> slots_;          // [layer × expert]: slots over all windows
  Window window_;                    // the current window
  std::vector<long> in_top_;         // [layer × expert]: windows whose top k hold the expert
};

// The section of docs/statistics.md that defines the statistics above.
std::string moe_statistics_markdown();

}  // namespace ss
