#pragma once
// ShortGPT's block influence (Men et al. 2024): BI_l = 1 − cos(x_in, x_out), the cosine between
// the residual stream entering and leaving block l, averaged over every token seen. A block that
// barely turns the stream (low BI) is the first candidate for removal.
#include <vector>

#include "model/config.h"
#include "runtime/hooks.h"

namespace ss {

class BlockInfluenceObserver : public Observer {
 public:
  explicit BlockInfluenceObserver(const ModelConfig& c);
  void on_resid_pre(int layer, int pos0, int n_tokens, const float* x) override;
  void on_resid_post(int layer, int pos0, int n_tokens, const float* x) override;
  // Mean BI of each layer over the tokens seen ([n_layers]; 0 for a layer that saw none).
  std::vector<double> influence() const;

 private:
  int dim_;
  std::vector<float> in_;  // the current layer's input, [n_tokens][dim]
  std::vector<double> sum_;
  std::vector<long> count_;
};

}  // namespace ss
