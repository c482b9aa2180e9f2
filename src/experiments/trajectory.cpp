#include "experiments/trajectory.h"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "experiments/analyze.h"
#include "format/gguf.h"
#include "model/load_model.h"

namespace ss {

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  namespace fs = std::filesystem;
  require(fs::is_directory(dir), dir, "not a directory");
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".gguf") continue;
    const std::string p = e.path().string();
    GgufFile g(p);
    int64_t step = g.get_int("sinkscope.train.step", -1);
    if (step < 0) {
      std::smatch m;
      const std::string name = e.path().stem().string();
      step = std::regex_search(name, m, std::regex("[0-9]+")) ? std::stoll(m.str()) : 0;
    }
    out.emplace_back(step, p);
  }
  require(!out.empty(), dir, "no .gguf checkpoints");
  std::sort(out.begin(), out.end());
  return out;
}

TrajectoryResult trajectory(const std::vector<std::pair<int64_t, std::string>>& ckpts,
                            std::span<const int> text_ids, int bos_id, const TrajectoryOptions& opt,
                            ThreadPool& pool, const std::function<void(int, int)>& progress) {
  TrajectoryResult r;
  r.ctx = opt.ctx;
  r.chunks = opt.chunks;
  r.eps = opt.eps;
  r.dormant_score = opt.dormant.score;
  r.dormant_threshold = opt.dormant.threshold;
  std::vector<TrajectoryPoint>& pts = r.points;
  AnalyzeOptions ao;
  ao.contexts = {opt.ctx};
  ao.chunks = opt.chunks;
  ao.modes = {{"on", bos_id}};
  ao.stats.eps = opt.eps;
  for (const auto& [step, path] : ckpts) {
    Model m = load_model(path);
    r.n_heads = m.config.n_heads;
    const AnalysisResult doc = analyze(m, pool, text_ids, ao);
    const AnalysisRun& run = doc.runs.at(0);
    TrajectoryPoint p;
    p.step = step;
    p.path = path;
    p.sink_rate = run.sink_rate;
    p.sink_rate_08 = run.sink_rate_08;
    p.nll_mean = run.nll_mean.value_or(0.0);
    const size_t bos = stat_index("bos_sink_score"), dormant = stat_index(opt.dormant.score);
    std::vector<double> dormant_scores;
    for (const auto& h : run.heads) {
      p.bos_sink.push_back(h.mean[bos]);
      dormant_scores.push_back(h.mean[dormant]);
    }
    p.bos_sink_max = *std::max_element(p.bos_sink.begin(), p.bos_sink.end());
    for (double b : p.bos_sink) p.bos_sink_mean += b / static_cast<double>(p.bos_sink.size());
    p.dormant = flag_dormant(dormant_scores, opt.dormant, m.config);
    pts.push_back(std::move(p));
    if (progress) progress(static_cast<int>(pts.size()), static_cast<int>(ckpts.size()));
  }
  return r;
}

}  // namespace ss
