#include "experiments/sweep.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/atomic_file.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/wire.h"
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
  const Cluster& ranks = opt.cluster ? *opt.cluster : single_process();
  const std::string scores_path = (fs::path(opt.out_dir) / "scores.json").string();
  const int total = static_cast<int>(opt.criteria.size() * opt.ratios.size());
  int done = 0;

  // The root scores the criteria (and makes the calibration means of mean replacement); every
  // rank gets them. Scores saved by an earlier run of the same setup are reused, each new one is
  // saved at once. A directory holding another setup's points must not be mixed into this sweep.
  std::vector<float> means;
  const std::string shared = on_root(ranks, [&] {
    ensure_output_dir(opt.out_dir);
    ensure_output_dir((fs::path(opt.out_dir) / "points").string());
    nlohmann::json scores = read_json_or_null(scores_path);
    if (scores.is_object() && scores.value("setup", "") != opt.setup_key)
      throw InputError(opt.out_dir,
                       "holds a sweep with other settings (model, calibration, evaluation, mode "
                       "or scope); use another --out");
    if (!scores.is_object())
      scores = {{"setup", opt.setup_key}, {"criteria", nlohmann::json::object()}};
    Calibration calib(model, pool, opt.calib);  // one analysis for every statistic criterion
    for (const auto& crit : opt.criteria) {
      if (scores["criteria"].contains(crit)) continue;
      if (progress) progress(done, total, "scoring " + crit);
      scores["criteria"][crit] = opt.layers
                                     ? layer_removability(model, crit, calib.criterion_inputs())
                                     : removability(model, crit, calib.criterion_inputs());
      write_file_atomic(scores_path, scores.dump() + "\n");
    }
    if (opt.mode == HeadAction::Mean) means = calib.z_means();
    WireWriter w;
    w.put_string(scores.dump()).put_vector<float>(means);
    return w.take();
  });
  WireReader shared_in(shared);
  const nlohmann::json scores = nlohmann::json::parse(shared_in.get_string());
  means = shared_in.get_vector<float>();

  // Every point in order, with the heads (or layers, keyed as (layer, -1)) it prunes. Points that
  // prune the same heads (every criterion at ratio 0, say) share their metrics.
  struct Planned {
    std::string crit;
    double ratio;
    std::vector<int> layers;
    std::vector<std::pair<int, int>> heads, key;
    std::string path;
  };
  std::vector<Planned> plan;
  for (const auto& crit : opt.criteria) {
    const std::vector<double> r = scores["criteria"][crit].get<std::vector<double>>();
    for (double ratio : opt.ratios) {
      Planned p{crit, ratio, {}, {}, {}, point_file(opt.out_dir, crit, ratio)};
      if (opt.layers) {
        p.layers = select_layers(r, ratio);
        for (int l : p.layers) p.key.emplace_back(l, -1);
      } else {
        p.key = p.heads = select_heads(r, c, ratio, opt.scope);
      }
      plan.push_back(std::move(p));
    }
  }

  // The root finds the heads sets no finished point file has measured yet; the ranks share them
  // in that order, each writing the point files of its sets (the unit of resume).
  auto finished = [&](const Planned& p) {
    return sweep_point_from_json(read_json_or_null(p.path));
  };
  std::string todo_bytes = on_root(ranks, [&] {
    std::map<std::vector<std::pair<int, int>>, bool> measured;
    for (const Planned& p : plan)
      if (finished(p)) measured[p.key] = true;
    std::vector<int> todo;  // the first point of each set still to measure
    for (size_t i = 0; i < plan.size(); ++i)
      if (!measured.count(plan[i].key)) {
        measured[plan[i].key] = true;
        todo.push_back(static_cast<int>(i));
      }
    WireWriter w;
    w.put_vector<int>(todo);
    return w.take();
  });
  const std::vector<int> todo = WireReader(todo_bytes).get_vector<int>();

  Runtime rt(model, pool, opt.eval_ctx);
  int written = 0;  // new points on disk, by this rank
  auto measure = [&](size_t t) {
    const Planned& first = plan[todo[t]];
    HeadMask mask(c);
    for (auto [l, h] : first.heads) mask.set(l, h, opt.mode);
    if (!means.empty()) mask.set_means(means);
    rt.set_head_mask(&mask);
    std::vector<bool> skip(c.n_layers, false);
    for (int l : first.layers) skip[l] = true;
    rt.set_skipped_layers(skip);
    SweepPoint measured;
    measured.heads = first.heads;
    measured.layers = first.layers;
    for (const auto& m : metrics)
      for (const auto& [k, v] : m.run(rt)) measured.metrics[m.name + "." + k] = v;
    rt.set_head_mask(nullptr);
    rt.set_skipped_layers({});
    // Every point of this set without a file gets one.
    for (const Planned& p : plan) {
      if (p.key != first.key || finished(p)) continue;
      SweepPoint point = measured;
      point.criterion = p.crit;
      point.ratio = p.ratio;
      write_file_atomic(p.path, to_json(point).dump() + "\n");
      if (++written == opt.kill_after_points) raise(SIGKILL);
    }
    return std::string();
  };
  auto measured = [&](size_t t, std::string_view) {
    if (progress)
      progress(static_cast<int>(t) + 1, static_cast<int>(todo.size()),
               plan[todo[t]].crit + " @ " + ratio_text(plan[todo[t]].ratio));
  };
  distribute(ranks, todo.size(), measure, measured);
  if (!ranks.root()) return {};  // the root gathers the points and writes the files

  // Every point from its file, in order; a point whose set another point measured (a file from
  // an older run, say) takes its metrics.
  SweepResult result;
  result.scope = opt.scope;
  result.mode = opt.mode;
  result.layers = opt.layers;
  std::map<std::vector<std::pair<int, int>>, SweepPoint> by_heads;
  for (const Planned& p : plan) {
    std::optional<SweepPoint> point = finished(p);
    if (!point) {
      auto same = by_heads.find(p.key);
      if (same == by_heads.end()) throw std::logic_error("run_sweep: no point file for " + p.path);
      point = same->second;
      point->criterion = p.crit;
      point->ratio = p.ratio;
      write_file_atomic(p.path, to_json(*point).dump() + "\n");
    }
    by_heads.emplace(p.key, *point);
    result.points.push_back(*point);
  }
  write_file_atomic((fs::path(opt.out_dir) / "sweep.csv").string(), sweep_csv(result));
  write_file_atomic((fs::path(opt.out_dir) / "sweep.json").string(),
                    to_json(result).dump(1) + "\n");
  write_file_atomic((fs::path(opt.out_dir) / "report.html").string(), render_sweep_report(result));
  return result;
}

}  // namespace ss
