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

namespace {

using Progress = std::function<void(int, int)>;
using Scores = std::vector<double>;

Scores negated(Scores v) {
  for (double& x : v) x = -x;
  return v;
}

// A criterion: removability from the model and the calibration inputs, highest pruned first.
struct Criterion {
  const char* name;
  Scores (*score)(const Model&, const CriterionInputs&, const Progress&);
};

// The fixed criteria; "dormant:<score>" adds one per dormant score of the registry.
const Criterion kCriteria[] = {
    {"bos-sink", [](const Model&, const CriterionInputs& in,
                    const Progress&) { return Scores(in.stat_means("bos_sink_score")); }},
    {"weight-magnitude", [](const Model& m, const CriterionInputs&,
                            const Progress&) { return negated(weight_magnitude(m)); }},
    {"activation-magnitude",
     [](const Model&, const CriterionInputs& in, const Progress&) {
       return negated(in.stat_means("contrib_norm_mean"));
     }},
    {"random",
     [](const Model& m, const CriterionInputs& in, const Progress&) {
       std::mt19937_64 rng(in.seed);
       Scores r(static_cast<size_t>(m.config.n_layers) * m.config.n_heads);
       for (double& x : r) x = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
       return r;
     }},
    // The expensive reference: the loss increase of zeroing each head alone; the smallest
    // increase is the most removable.
    {"ablation-delta",
     [](const Model& m, const CriterionInputs& in, const Progress& progress) {
       const ModelConfig& c = m.config;
       const int n_heads = c.n_layers * c.n_heads;
       const double base = in.nll_with({});
       Scores r(static_cast<size_t>(n_heads));
       for (int i = 0; i < n_heads; ++i) {
         r[i] = base - in.nll_with({{i / c.n_heads, i % c.n_heads}});
         if (progress) progress(i + 1, n_heads);
       }
       return r;
     }},
};

}  // namespace

const std::vector<std::string>& criterion_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Criterion& c : kCriteria) n.emplace_back(c.name);
    for (const auto& s : dormant_score_names()) n.push_back("dormant:" + s);
    return n;
  }();
  return names;
}

bool is_valid_criterion(const std::string& name) {
  const auto& n = criterion_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::vector<double> removability(const Model& model, const std::string& criterion,
                                 const CriterionInputs& in,
                                 const std::function<void(int, int)>& progress) {
  // Selection ranks [layer * n_heads + head] over full layers; a layer without some heads would
  // offer absent ones.
  require(model.config.uniform_heads(), model.path,
          "has per-layer head counts (already physically pruned): criteria rank models with one "
          "head count for every layer; give the heads with --prune-heads");
  for (const Criterion& c : kCriteria)
    if (criterion == c.name) return c.score(model, in, progress);
  if (criterion.rfind("dormant:", 0) == 0) {
    // Dormant heads are the removable ones: the score itself, or its negation when low values
    // mark them.
    const Statistic& score = dormant_score(criterion.substr(8), "--criteria");
    Scores s = in.stat_means(std::string(score.name));
    return score.direction == Direction::HighIsDormant ? s : negated(s);
  }
  throw InputError("--criteria", "unknown criterion '" + criterion + "'");
}

}  // namespace ss
