#pragma once
// Per-head interventions applied at blocks.{L}.attn.hook_z: keep the head, zero its output, or
// replace it by its mean output over a calibration pass. Zeroing z_h is the same as removing the
// head's column slice of W_O, because the head only reaches the residual stream through it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"
#include "runtime/hooks.h"

namespace ss {

enum class HeadAction : uint8_t { Keep, Zero, Mean };

class HeadMask {
 public:
  HeadMask() = default;
  explicit HeadMask(const ModelConfig& c);

  void set(int layer, int head, HeadAction action);
  HeadAction get(int layer, int head) const { return action_[index(layer, head)]; }
  // --ablate-sinks: the head's learned sink logit is taken as −∞ (gpt-oss without its explicit
  // sink); the head itself stays.
  void remove_sink(int layer, int head) { sink_removed_[index(layer, head)] = true; }
  bool sink_removed(int layer, int head) const {
    return !sink_removed_.empty() && sink_removed_[index(layer, head)];
  }
  bool any() const;  // some head is not kept, or has lost its sink
  int n_masked() const;
  // Mean head outputs for HeadAction::Mean, [n_layers][n_heads][head_dim].
  void set_means(std::vector<float> means);
  // Throws std::logic_error when a head is set to Mean and no means were given (a programming
  // error: the commands always compute them); Runtime::set_head_mask calls it.
  void check_means() const;
  // The mean z of a head ([head_dim]), or nullptr without means.
  const float* mean(int layer, int head) const {
    return mean_.empty() ? nullptr : mean_.data() + index(layer, head) * head_dim_;
  }

  // Rewrites z ([n_tokens][n_heads*head_dim]) of one layer in place.
  void apply(int layer, float* z, int n_tokens) const;

 private:
  size_t index(int layer, int head) const { return static_cast<size_t>(layer) * n_heads_ + head; }
  int n_layers_ = 0, n_heads_ = 0, head_dim_ = 0;
  std::vector<HeadAction> action_;
  std::vector<bool> sink_removed_;
  std::vector<float> mean_;
};

// Accumulates the mean of every head's z over all tokens it sees (the calibration pass for
// HeadAction::Mean).
class MeanZObserver : public Observer {
 public:
  explicit MeanZObserver(const ModelConfig& c);
  void on_z(int layer, int pos0, int n_tokens, const float* z) override;
  std::vector<float> means() const;  // [n_layers][n_heads][head_dim]

 private:
  int q_dim_;
  std::vector<double> sum_;     // [n_layers][q_dim]
  std::vector<int64_t> count_;  // tokens per layer
};

// Parses "L:H,L:H" (0-based) into pairs; throws InputError(what, ...) on malformed text or
// out-of-range indices.
std::vector<std::pair<int, int>> parse_head_list(const std::string& text, const ModelConfig& c,
                                                 const std::string& what = "--ablate");

// A head list given on the command line: "L:H,..." or the path of a JSON file holding
// [[layer, head], ...], [{"layer": L, "head": H}, ...] or {"heads": <either>}.
std::vector<std::pair<int, int>> parse_heads_option(const std::string& value, const ModelConfig& c,
                                                    const std::string& what);

}  // namespace ss
