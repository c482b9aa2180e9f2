#include "experiments/sweep.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "base/atomic_file.h"
#include "base/error.h"
#include "experiments/analyze.h"
#include "prune/layer_criteria.h"
#include "report/sweep_files.h"
#include "report/sweep_report.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json_or_null(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::string point_file(const std::string& dir, const std::string& criterion, double ratio) {
  std::string name = criterion + "@" + ratio_text(ratio);
  for (char& ch : name)
    if (ch == ':' || ch == '/') ch = '_';
  return (fs::path(dir) / "points" / (name + ".json")).string();
}

}  // namespace

std::string ratio_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", r);
  return buf;
}

SweepResult run_sweep(const Model& model, ThreadPool& pool, const SweepOptions& opt,
                      const std::vector<SweepMetric>& metrics,
                      const std::function<void(int, int, const std::string&)>& progress) {
  const ModelConfig& c = model.config;
  ensure_output_dir(opt.out_dir);
  ensure_output_dir((fs::path(opt.out_dir) / "points").string());
  const std::string scores_path = (fs::path(opt.out_dir) / "scores.json").string();

  // Scores: reuse those saved by an earlier run of the same setup, save each new one at once.
  // A directory holding another setup's points must not be mixed into this sweep.
  nlohmann::json scores = read_json_or_null(scores_path);
  if (scores.is_object() && scores.value("setup", "") != opt.setup_key)
    throw InputError(opt.out_dir,
                     "holds a sweep with other settings (model, calibration, evaluation, mode or "
                     "scope); use another --out");
  if (!scores.is_object())
    scores = {{"setup", opt.setup_key}, {"criteria", nlohmann::json::object()}};
  const int total = static_cast<int>(opt.criteria.size() * opt.ratios.size());
  int done = 0;
  Calibration calib(model, pool, opt.calib);  // one analysis for every statistic-based criterion
  for (const auto& crit : opt.criteria) {
    if (scores["criteria"].contains(crit)) continue;
    if (progress) progress(done, total, "scoring " + crit);
    scores["criteria"][crit] = opt.layers
                                   ? layer_removability(model, crit, calib.criterion_inputs())
                                   : removability(model, crit, calib.criterion_inputs());
    write_file_atomic(scores_path, scores.dump() + "\n");
  }

  // Calibration means for mean replacement.
  std::vector<float> means;
  if (opt.mode == HeadAction::Mean) means = calib.z_means();

  Runtime rt(model, pool, opt.eval_ctx);
  std::unique_ptr<CostMeter> meter;
  if (opt.cost) meter = std::make_unique<CostMeter>(model, pool, *opt.cost);
  SweepResult result;
  result.scope = opt.scope;
  result.mode = opt.mode;
  result.layers = opt.layers;
  // Points that prune the same heads (every criterion at ratio 0, say) share their metrics; a
  // layer sweep keys its points by (layer, -1).
  std::map<std::vector<std::pair<int, int>>, SweepPoint> by_heads;
  auto key_of = [](const SweepPoint& p) {
    std::vector<std::pair<int, int>> key = p.heads;
    for (int l : p.layers) key.emplace_back(l, -1);
    return key;
  };
  auto mask_of = [&](const SweepPoint& p) {
    HeadMask mask(c);
    for (auto [l, h] : p.heads) mask.set(l, h, opt.mode);
    if (!means.empty()) mask.set_means(means);
    return mask;
  };
  // Whether a point lacks cost columns this run measures.
  auto lacks_cost = [&](const SweepPoint& p) {
    if (!meter) return false;
    if (!p.cost.count("cost.prefill_speedup")) return true;
    const auto physical = p.cost.find("cost.physical");
    const bool skipped = !p.layers.empty() && (physical == p.cost.end() || physical->second == 0);
    return !opt.cost->llama_bench.empty() && !skipped && !p.cost.count("llama.prefill_speedup");
  };
  int written = 0;  // new points on disk
  for (const auto& crit : opt.criteria) {
    const std::vector<double> r = scores["criteria"][crit].get<std::vector<double>>();
    for (double ratio : opt.ratios) {
      const std::string path = point_file(opt.out_dir, crit, ratio);
      std::optional<SweepPoint> point = sweep_point_from_json(read_json_or_null(path));
      bool changed = false;
      if (!point) {
        SweepPoint p;
        if (opt.layers)
          p.layers = select_layers(r, ratio);
        else
          p.heads = select_heads(r, c, ratio, opt.scope);
        auto same = by_heads.find(key_of(p));
        if (same != by_heads.end()) {
          p = same->second;
        } else {
          const HeadMask mask = mask_of(p);
          rt.set_head_mask(&mask);
          std::vector<bool> skip(c.n_layers, false);
          for (int l : p.layers) skip[l] = true;
          rt.set_skipped_layers(skip);
          for (const auto& m : metrics)
            for (const auto& [k, v] : m.run(rt)) p.metrics[m.name + "." + k] = v;
          rt.set_head_mask(nullptr);
          rt.set_skipped_layers({});
        }
        p.criterion = crit;
        p.ratio = ratio;
        point = p;
        changed = true;
      }
      if (lacks_cost(*point)) {
        auto same = by_heads.find(key_of(*point));
        if (same != by_heads.end() && !lacks_cost(same->second)) {
          point->cost = same->second.cost;
        } else {
          if (progress) progress(done, total, "cost of " + crit + " @ " + ratio_text(ratio));
          point->cost = meter->measure(mask_of(*point), point->heads, point->layers);
        }
        changed = true;
      }
      if (changed) {
        write_file_atomic(path, to_json(*point).dump() + "\n");
        if (++written == opt.kill_after_points) raise(SIGKILL);
      }
      auto [it, inserted] = by_heads.emplace(key_of(*point), *point);
      if (!inserted && lacks_cost(it->second) && !lacks_cost(*point)) it->second = *point;
      result.points.push_back(*point);
      if (progress) progress(++done, total, crit + " @ " + ratio_text(ratio));
    }
  }

  write_file_atomic((fs::path(opt.out_dir) / "sweep.csv").string(), sweep_csv(result));
  write_file_atomic((fs::path(opt.out_dir) / "sweep.json").string(),
                    to_json(result).dump(1) + "\n");
  write_file_atomic((fs::path(opt.out_dir) / "report.html").string(), render_sweep_report(result));
  return result;
}

}  // namespace ss
