#include "report/trajectory_files.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "base/atomic_file.h"
#include "prune/dormant_rule.h"
#include "report/svg.h"

namespace ss {

namespace {
// "L3H5" for head index i = layer · n_heads + head.
std::string head_label(size_t i, int n_heads) {
  const size_t h = static_cast<size_t>(n_heads);
  return "L" + std::to_string(i / h) + "H" + std::to_string(i % h);
}
}  // namespace

nlohmann::json to_json(const TrajectoryResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& p : r.points) {
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
  return {{"ctx", r.ctx},
          {"chunks", r.chunks},
          {"eps", r.eps},
          {"dormant_score", r.dormant_score},
          {"dormant_threshold", r.dormant_threshold},
          {"n_heads", r.n_heads},
          {"checkpoints", rows}};
}

void write_trajectory(const std::string& dir, const TrajectoryResult& r) {
  const std::vector<TrajectoryPoint>& pts = r.points;
  const int n_heads = r.n_heads;
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
  write_file_atomic(dir + "/trajectory.json", to_json(r).dump(2) + "\n");

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
      {series("sink_rate (ε=" + svg::num(r.eps) + ")",
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
    per_head.series.push_back(series(head_label(i, n_heads), [i](const TrajectoryPoint& p) {
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
      std::string title = head_label(i, n_heads);  // appended: GCC 12 misreads a chain of +
      title += " step " + std::to_string(p.step) + ": " + svg::num(grid.values.back());
      grid.titles.push_back(std::move(title));
    }
  std::string html = svg::page_start("sinkscope trajectory");
  html += "<h1>Attention sinks over training</h1>\n<p>" + std::to_string(pts.size()) +
          " checkpoints, windows of " + std::to_string(r.ctx) + " tokens with BOS first (" +
          std::to_string(r.chunks) + " per checkpoint); sink head: bos_sink_score &gt; ε; " +
          "dormant: " + svg::escape(r.dormant_score) +
          (dormant_when_high(r.dormant_score) ? " &gt; " : " &lt; ") +
          svg::num(r.dormant_threshold) +
          ".</p>\n<h2>Sink rate, BOS sink score, dormant heads</h2>\n" + svg::line_chart(rates) +
          "\n<h2>Loss on the analysis text</h2>\n" + svg::line_chart(loss) +
          "\n<h2>BOS sink score per head</h2>\n" + svg::line_chart(per_head) + "\n" +
          svg::heatmap(grid) + "\n</body></html>\n";
  write_file_atomic(dir + "/report.html", html);
}

}  // namespace ss
