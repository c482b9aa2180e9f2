#include "experiments/calibrate.h"

#include "analysis/block_influence.h"
#include "base/error.h"
#include "experiments/analyze.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"

namespace ss {

Calibration::Calibration(const Model& model, ThreadPool& pool, CalibrationData data)
    : model_(model), pool_(pool), data_(std::move(data)) {}

const std::vector<double>& Calibration::stat_means(const std::string& stat) {
  if (!stats_) {
    AnalyzeOptions opt;
    opt.contexts = {data_.ctx};
    opt.chunks = data_.windows;
    opt.modes = {{"on", data_.bos_id}};
    opt.pattern_window = 1;
    const AnalysisResult a = analyze(model_, pool_, data_.ids, opt);
    stats_.emplace();
    const auto& stats = statistics();
    for (const auto& h : a.runs.at(0).heads)
      for (size_t s = 0; s < stats.size(); ++s)
        (*stats_)[std::string(stats[s].name)].push_back(h.mean[s]);
  }
  const auto it = stats_->find(stat);
  if (it == stats_->end()) throw InputError(stat, "is not a statistic of the registry");
  return it->second;
}

std::vector<float> Calibration::z_means() {
  MeanZObserver obs(model_.config);
  Runtime rt(model_, pool_, data_.ctx);
  rt.add_observer(&obs);
  for (const auto& w : make_windows(data_.ids, data_.ctx, {"on", data_.bos_id}, data_.windows))
    rt.forward(w, 0, Logits::None);
  return obs.means();
}

double Calibration::mean_nll(Runtime& rt) const {
  double sum = 0;
  long n = 0;
  for (const auto& w : make_windows(data_.ids, data_.ctx, {"on", data_.bos_id}, data_.windows))
    for (double x : rt.forward_nll(w, 0)) sum += x, ++n;
  return n ? sum / n : 0.0;
}

double Calibration::nll(const std::vector<std::pair<int, int>>& zeroed) {
  HeadMask mask(model_.config);
  for (auto [l, h] : zeroed) mask.set(l, h, HeadAction::Zero);
  Runtime rt(model_, pool_, data_.ctx);
  rt.set_head_mask(&mask);
  return mean_nll(rt);
}

double Calibration::nll_without_layers(const std::vector<int>& skipped) {
  std::vector<bool> skip(model_.config.n_layers, false);
  for (int l : skipped) skip.at(l) = true;
  Runtime rt(model_, pool_, data_.ctx);
  rt.set_skipped_layers(skip);
  return mean_nll(rt);
}

const std::vector<double>& Calibration::block_influence() {
  if (!block_influence_) {
    BlockInfluenceObserver obs(model_.config);
    Runtime rt(model_, pool_, data_.ctx);
    rt.add_observer(&obs);
    for (const auto& w : make_windows(data_.ids, data_.ctx, {"on", data_.bos_id}, data_.windows))
      rt.forward(w, 0, Logits::None);
    block_influence_ = obs.influence();
  }
  return *block_influence_;
}

CriterionInputs Calibration::criterion_inputs() {
  CriterionInputs in;
  in.stat_means = [this](const std::string& s) -> const std::vector<double>& {
    return stat_means(s);
  };
  in.nll_with = [this](const std::vector<std::pair<int, int>>& z) { return nll(z); };
  in.seed = data_.seed;
  in.block_influence = [this]() -> const std::vector<double>& { return block_influence(); };
  in.nll_without_layers = [this](const std::vector<int>& l) { return nll_without_layers(l); };
  return in;
}

}  // namespace ss
