#pragma once
// What the mechanism analysis (analysis/sink_mechanism.h) needs of one window, taken from the
// forward pass without any T × T matrix: the first token's (the sink's) residual stream, and
// the input the attention's projections read (the block's pre-norm output: RMSNorm(x) times the
// norm weight) at the sink and at a baseline position, from which each KV head's key is
// recomputed in double. Keys are taken before rotary encoding: at a fixed position every window's
// key turns by the same rotation, which leaves the cosines between windows as they are.
#include <span>
#include <vector>

#include "model/model.h"
#include "runtime/hooks.h"
#include "runtime/linear_input.h"

namespace ss {

struct MechanismWindow {
  // [n_layers + 1]: the embedding (the residual entering layer 0), then each block's output.
  std::vector<double> sink_max_abs;
  std::vector<int> sink_channel;
  // [n_layers]: the largest channel's share of ‖a‖², a the attention's normed input; for the
  // sink, its channel, and the same for the baseline token.
  std::vector<double> norm_share, base_norm_share;
  std::vector<int> share_channel;
  // [n_layers]: the largest channel's share of ‖x‖², x the sink's residual entering the layer
  // (RMSNorm without its weight only rescales x, so this is its share after a weightless norm).
  std::vector<double> resid_share;
  // [n_layers][kv_dim]: each KV head's key at the sink and at the baseline, scaled to unit length
  // (zero for a zero key).
  std::vector<double> sink_keys, base_keys;
};

// Observer and linear-input hook at once (Runtime::add_observer and set_linear_input); the
// transform returns its input untouched, so the forward pass is unchanged.
class SinkCaptureObserver : public Observer, public LinearInputTransform {
 public:
  SinkCaptureObserver(const Model& model, int baseline_pos);
  void begin_window();
  const MechanismWindow& window() const { return w_; }

  void on_resid_pre(int layer, int pos0, int n_tokens, const float* x) override;
  void on_resid_post(int layer, int pos0, int n_tokens, const float* x) override;
  const float* transform(int layer, LinearSite site, int pos0, int n, size_t width, const float* x,
                         float* scratch) override;

 private:
  void keys(int layer, const float* a, double* out) const;
  const Model& model_;
  int baseline_;
  MechanismWindow w_;
};

// The normed FFN input (what W_gate and W_up read) of one token in one layer.
class FfnInputCapture : public LinearInputTransform {
 public:
  FfnInputCapture(int layer, int pos) : layer_(layer), pos_(pos) {}
  const std::vector<float>& input() const { return input_; }
  const float* transform(int layer, LinearSite site, int pos0, int n, size_t width, const float* x,
                         float* scratch) override;

 private:
  int layer_, pos_;
  std::vector<float> input_;
};

// Largest |v_c| over the channels (lowest channel on ties) and its share of Σ v_c² (0 for zero v).
struct TopChannel {
  int channel = 0;
  double max_abs = 0, share = 0;
};
TopChannel top_channel(std::span<const float> v);

}  // namespace ss
