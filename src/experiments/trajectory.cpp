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
#include "report/svg.h"

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

std::vector<TrajectoryPoint> trajectory(const std::vector<std::pair<int64_t, std::string>>& ckpts,
                                        std::span<const int> text_ids, int bos_id,
                                        const TrajectoryOptions& opt, ThreadPool& pool,
                                        const std::function<void(int, int)>& progress) {
  std::vector<TrajectoryPoint> pts;
  AnalyzeOptions ao;
  ao.contexts = {opt.ctx};
  ao.chunks = opt.chunks;
  ao.modes = {{"on", bos_id}};
  ao.stats.eps = opt.eps;
  for (const auto& [step, path] : ckpts) {
    Model m = load_model(path);
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
  return pts;
}

nlohmann::json trajectory_json(const std::vector<TrajectoryPoint>& pts, int n_heads,
                               const TrajectoryOptions& opt) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& p : pts) {
    nlohmann::json dormant = nlohmann::json::array();
    for (auto [l, h] : p.dormant) dormant.push_back({l, h});
    rows.push_back({{"step", p.step},
                    {"checkpoint", p.path},
                    {"sink_rate", p.sink_rate},
                    {"sink_rate_0.8", p.sink_rate_08},
                    {"bos_sink_max", p.bos_sink_max},
                    {"bos_sink_mean", p.bos_sink_mean},
                    {"nll_mean", p.nll_mean},
                    {"dormant_heads", dormant},
                    {"bos_sink_score", p.bos_sink}});
  }
  return {{"ctx", opt.ctx},
          {"chunks", opt.chunks},
          {"eps", opt.eps},
          {"dormant_score", opt.dormant.score},
          {"dormant_threshold", opt.dormant.threshold},
          {"n_heads", n_heads},
          {"checkpoints", rows}};
}

void write_trajectory(const std::string& dir, const std::vector<TrajectoryPoint>& pts, int n_heads,
                      const TrajectoryOptions& opt) {
  std::filesystem::create_directories(dir);
  std::ostringstream csv, heads;
  csv << "step,sink_rate,sink_rate_0.8,bos_sink_max,bos_sink_mean,dormant_heads,nll_mean\n";
  heads << "step,layer,head,bos_sink_score,dormant\n";
  for (const auto& p : pts) {
    csv << p.step << ',' << p.sink_rate << ',' << p.sink_rate_08 << ',' << p.bos_sink_max << ','
        << p.bos_sink_mean << ',' << p.dormant.size() << ',' << p.nll_mean << '\n';
    for (size_t i = 0; i < p.bos_sink.size(); ++i) {
      const int l = static_cast<int>(i) / n_heads, h = static_cast<int>(i) % n_heads;
      const bool d =
          std::find(p.dormant.begin(), p.dormant.end(), std::pair{l, h}) != p.dormant.end();
      heads << p.step << ',' << l << ',' << h << ',' << p.bos_sink[i] << ',' << d << '\n';
    }
  }
  write_file_atomic(dir + "/trajectory.csv", csv.str());
  write_file_atomic(dir + "/trajectory_heads.csv", heads.str());
  write_file_atomic(dir + "/trajectory.json", trajectory_json(pts, n_heads, opt).dump(2) + "\n");

  // Report: summary curves, then every head's BOS sink score, over steps.
  std::vector<std::string> steps;
  for (const auto& p : pts) steps.push_back(std::to_string(p.step));
  size_t n_series = 0;  // colours in order within each chart
  auto series = [&](const std::string& name, auto get) {
    svg::Series s{name, {}, svg::palette(n_series++), ""};
    for (const auto& p : pts) s.y.push_back(get(p));
    return s;
  };
  svg::Chart rates{
      {series("sink_rate (ε=" + svg::num(opt.eps) + ")",
              [](const TrajectoryPoint& p) { return p.sink_rate; }),
       series("sink_rate_0.8", [](const TrajectoryPoint& p) { return p.sink_rate_08; }),
       series("bos_sink_max", [](const TrajectoryPoint& p) { return p.bos_sink_max; }),
       series("bos_sink_mean", [](const TrajectoryPoint& p) { return p.bos_sink_mean; }),
       series("dormant fraction",
              [](const TrajectoryPoint& p) {
                return static_cast<double>(p.dormant.size()) /
                       static_cast<double>(std::max<size_t>(1, p.bos_sink.size()));
              })},
      "step",
      "value",
      steps,
      0.0,
      1.0};
  n_series = 0;
  svg::Chart loss{{series("nll_mean", [](const TrajectoryPoint& p) { return p.nll_mean; })},
                  "step",
                  "nats/token",
                  steps};
  svg::Chart per_head{{}, "step", "bos_sink_score", steps, 0.0, 1.0};
  n_series = 0;
  const size_t n = pts.empty() ? 0 : pts.front().bos_sink.size();
  for (size_t i = 0; i < n; ++i)
    per_head.series.push_back(
        series("L" + std::to_string(i / n_heads) + "H" + std::to_string(i % n_heads),
               [i](const TrajectoryPoint& p) {
                 return i < p.bos_sink.size() ? p.bos_sink[i] : svg::kNaN;
               }));
  svg::Grid grid;
  grid.rows = static_cast<int>(n);
  grid.cols = static_cast<int>(pts.size());
  grid.row_name = "head (layer·H + head)";
  grid.col_name = "checkpoint";
  for (size_t i = 0; i < n; ++i)
    for (const auto& p : pts) {
      grid.values.push_back(i < p.bos_sink.size() ? p.bos_sink[i] : svg::kNaN);
      grid.titles.push_back("L" + std::to_string(i / n_heads) + "H" + std::to_string(i % n_heads) +
                            " step " + std::to_string(p.step) + ": " +
                            svg::num(grid.values.back()));
    }
  std::string html = svg::page_start("sinkscope trajectory");
  html += "<h1>Attention sinks over training</h1>\n<p>" + std::to_string(pts.size()) +
          " checkpoints, windows of " + std::to_string(opt.ctx) + " tokens with BOS first (" +
          std::to_string(opt.chunks) + " per checkpoint); sink head: bos_sink_score &gt; ε; " +
          "dormant: " + svg::escape(opt.dormant.score) +
          (dormant_when_high(opt.dormant.score) ? " &gt; " : " &lt; ") +
          svg::num(opt.dormant.threshold) +
          ".</p>\n<h2>Sink rate, BOS sink score, dormant heads</h2>\n" + svg::line_chart(rates) +
          "\n<h2>Loss on the analysis text</h2>\n" + svg::line_chart(loss) +
          "\n<h2>BOS sink score per head</h2>\n" + svg::line_chart(per_head) + "\n" +
          svg::heatmap(grid) + "\n</body></html>\n";
  write_file_atomic(dir + "/report.html", html);
}

}  // namespace ss
