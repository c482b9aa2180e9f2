#include "analysis/block_influence.h"

#include <cmath>

namespace ss {

BlockInfluenceObserver::BlockInfluenceObserver(const ModelConfig& c)
    : dim_(c.dim), sum_(c.n_layers, 0.0), count_(c.n_layers, 0) {}

void BlockInfluenceObserver::on_resid_pre(int, int, int n_tokens, const float* x) {
  in_.assign(x, x + static_cast<size_t>(n_tokens) * dim_);
}

void BlockInfluenceObserver::on_resid_post(int layer, int, int n_tokens, const float* x) {
  for (int t = 0; t < n_tokens; ++t) {
    const float* a = in_.data() + static_cast<size_t>(t) * dim_;
    const float* b = x + static_cast<size_t>(t) * dim_;
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < dim_; ++d)
      ab += double(a[d]) * b[d], aa += double(a[d]) * a[d], bb += double(b[d]) * b[d];
    // A zero vector has no direction: count it as unturned.
    sum_[layer] += aa > 0 && bb > 0 ? 1.0 - ab / std::sqrt(aa * bb) : 0.0;
  }
  count_[layer] += n_tokens;
}

std::vector<double> BlockInfluenceObserver::influence() const {
  std::vector<double> out(sum_.size(), 0.0);
  for (size_t l = 0; l < out.size(); ++l)
    if (count_[l]) out[l] = sum_[l] / count_[l];
  return out;
}

}  // namespace ss
