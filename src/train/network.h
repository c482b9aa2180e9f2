#pragma once
// Forward and backward pass of the llama architecture over a batch of windows, keeping every
// activation the backward needs. Gradients accumulate into a flat array laid out like the params.
#include <vector>

#include "train/grad_ops.h"
#include "train/params.h"

namespace ss::train {

// `batch` rows of `seq` positions. Position t of row b reads tokens[b·seq+t] and predicts
// targets[b·seq+t] with loss weight weight[b·seq+t] (0 for padding; padding only ever follows a
// row's real tokens, so causal attention keeps it from influencing them).
struct Batch {
  int batch = 0, seq = 0;
  std::vector<int> tokens, targets;
  std::vector<float> weight;
};

class Network {
 public:
  Network(const ParamLayout& layout, ThreadPool& pool);

  // Mean cross-entropy over weighted positions; with grads non-null also runs the backward and
  // adds ∂loss/∂params into grads (layout.total floats). Returns 0 when no weight is set.
  double step(const float* params, float* grads, const Batch& b);

  // Logits of the last step(), [batch·seq][vocab].
  const std::vector<float>& logits() const { return logits_; }

 private:
  struct LayerActs {
    std::vector<float> xin, xn1, r1, q, k, v, p, p_sink, z, xmid, xn2, r2, g, u, h;
  };
  void resize(int batch, int seq);

  const ParamLayout& l_;
  ThreadPool& pool_;
  RopeTable rope_;
  int batch_ = 0, seq_ = 0;
  std::vector<LayerActs> acts_;
  std::vector<float> xf_, xnf_, rf_, logits_, dlogits_;
  // backward scratch
  std::vector<float> dx_, dtmp_, dh_, dg_, du_, dz_, dq_, dk_, dv_, dxn_;
};

}  // namespace ss::train
