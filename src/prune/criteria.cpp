#include "prune/criteria.h"

#include <algorithm>
#include <random>

#include "analysis/statistics.h"
#include "base/error.h"
#include "ops/dequant.h"

namespace ss {
namespace {

double sum_sq_rows(const Tensor& t, int64_t r0, int64_t r1) {
  std::vector<float> row(t.cols());
  double s = 0;
  for (int64_t r = r0; r < r1; ++r) {
    dequantize_row(t.type, t.row(r), row.data(), row.size());
    for (float v : row) s += static_cast<double>(v) * v;
  }
  return s;
}

}  // namespace

const std::vector<std::string>& criterion_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"bos-sink", "weight-magnitude", "activation-magnitude", "random",
                                  "ablation-delta"};
    for (const auto& s : dormant_score_names()) n.push_back("dormant:" + s);
    return n;
  }();
  return names;
}

bool is_valid_criterion(const std::string& name) {
  const auto& n = criterion_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::vector<double> weight_magnitude(const Model& model) {
  const ModelConfig& c = model.config;
  const int hd = c.head_dim;
  std::vector<double> out;
  for (const auto& w : model.layers) {
    // W_O^(h) is a column slice: accumulate per head over rows.
    std::vector<double> wo(c.n_heads, 0.0);
    std::vector<float> row(c.q_dim());
    for (int r = 0; r < c.dim; ++r) {
      dequantize_row(w.wo.type, w.wo.row(r), row.data(), row.size());
      for (int h = 0; h < c.n_heads; ++h)
        for (int d = 0; d < hd; ++d)
          wo[h] += static_cast<double>(row[h * hd + d]) * row[h * hd + d];
    }
    for (int h = 0; h < c.n_heads; ++h) {
      const int g = h / c.kv_group();
      double s = sum_sq_rows(w.wq, h * hd, (h + 1) * hd) + wo[h];
      s += (sum_sq_rows(w.wk, g * hd, (g + 1) * hd) + sum_sq_rows(w.wv, g * hd, (g + 1) * hd)) /
           c.kv_group();
      out.push_back(s);
    }
  }
  return out;
}

std::vector<double> removability(const Model& model, const std::string& criterion,
                                 const CriterionInputs& in,
                                 const std::function<void(int, int)>& progress) {
  const ModelConfig& c = model.config;
  const int n_heads = c.n_layers * c.n_heads;
  auto negate = [](std::vector<double> v) {
    for (double& x : v) x = -x;
    return v;
  };
  if (criterion == "bos-sink") return in.stat_means("bos_sink_score");
  if (criterion == "activation-magnitude") return negate(in.stat_means("contrib_norm_mean"));
  if (criterion == "weight-magnitude") return negate(weight_magnitude(model));
  if (criterion == "random") {
    std::mt19937_64 rng(in.seed);
    std::vector<double> r(n_heads);
    for (double& x : r) x = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    return r;
  }
  if (criterion == "ablation-delta") {
    // The expensive reference: the loss increase of zeroing each head alone; the smallest
    // increase is the most removable.
    const double base = in.nll_with({});
    std::vector<double> r(n_heads);
    for (int i = 0; i < n_heads; ++i) {
      r[i] = base - in.nll_with({{i / c.n_heads, i % c.n_heads}});
      if (progress) progress(i + 1, n_heads);
    }
    return r;
  }
  if (criterion.rfind("dormant:", 0) == 0) {
    const Statistic& score = dormant_score(criterion.substr(8), "--criteria");
    std::vector<double> s = in.stat_means(std::string(score.name));
    return score.direction == Direction::HighIsDormant ? s : negate(s);
  }
  throw InputError("--criteria", "unknown criterion '" + criterion + "'");
}

}  // namespace ss
