#include "report/sweep_report.h"

#include <algorithm>
#include <cmath>

#include "report/svg.h"

namespace ss {

namespace {
// Distinct colours for the criteria, in order of first appearance.
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                          "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
}  // namespace

std::string render_sweep_report(const SweepResult& sweep) {
  const std::vector<SweepPoint>& points = sweep.points;
  const std::vector<std::string> columns = sweep.columns();
  std::vector<std::string> criteria;
  std::vector<double> ratios;
  for (const SweepPoint& p : points) {
    if (std::find(criteria.begin(), criteria.end(), p.criterion) == criteria.end())
      criteria.push_back(p.criterion);
    if (std::find(ratios.begin(), ratios.end(), p.ratio) == ratios.end()) ratios.push_back(p.ratio);
  }
  std::sort(ratios.begin(), ratios.end());
  std::vector<std::string> labels;
  for (double r : ratios) labels.push_back(svg::num(r));

  std::string html =
      svg::page_start("sinkscope pruning sweep") + "<h1>sinkscope pruning sweep</h1><p>" +
      (sweep.layers ? std::string("whole layers skipped")
                    : std::string("scope ") + prune_scope_name(sweep.scope) + ", pruned heads " +
                          (sweep.mode == HeadAction::Mean ? "mean" : "zero")) +
      "; one curve per criterion, the dense model (ratio 0) dashed grey.</p><div class=\"row\">";
  // The value of a column at a point: a metric or a cost (NaN: none).
  auto value = [](const SweepPoint& p, const std::string& name) {
    auto v = p.metrics.find(name);
    if (v != p.metrics.end()) return v->second;
    v = p.cost.find(name);
    return v != p.cost.end() ? v->second : svg::kNaN;
  };
  auto is_cost = [](const std::string& name) {
    return name.rfind("cost.", 0) == 0 || name.rfind("llama.", 0) == 0;
  };
  for (const std::string& metric : columns) {
    if (metric.find('.') == std::string::npos) continue;
    // Against the ratio: the quality metrics, parameters and speed-ups (not the raw timings).
    if (is_cost(metric) && metric.find("speedup") == std::string::npos && metric != "cost.params")
      continue;
    svg::Chart chart;
    chart.x_name = "pruning ratio";
    chart.y_name = metric;
    chart.x_labels = labels;
    double dense = svg::kNaN;
    for (size_t k = 0; k < criteria.size(); ++k) {
      svg::Series s{criteria[k], std::vector<double>(ratios.size(), svg::kNaN), kPalette[k % 10],
                    ""};
      for (const SweepPoint& p : points) {
        const double v = value(p, metric);
        if (p.criterion != criteria[k] || std::isnan(v)) continue;
        const size_t i = std::find(ratios.begin(), ratios.end(), p.ratio) - ratios.begin();
        s.y[i] = v;
        if (p.heads.empty() && p.layers.empty()) dense = v;
      }
      chart.series.push_back(std::move(s));
    }
    if (!std::isnan(dense))
      chart.series.push_back(
          {"dense", std::vector<double>(ratios.size(), dense), "#999999", "4 3"});
    html += "<figure>" + svg::line_chart(chart) + "<figcaption>" + svg::escape(metric) +
            "</figcaption></figure>";
  }
  html += "</div>";

  // Quality against measured speed-up (prune --cost): one curve per criterion, the dense model a
  // diamond; the points up and to the right of a curve's (lower perplexity, higher accuracy) are
  // the better trade.
  std::vector<std::pair<std::string, std::string>> speedups;
  for (const auto& [name, label] :
       {std::pair<const char*, const char*>{"cost.prefill_speedup", "prefill speed-up"},
        {"cost.decode_speedup", "decode speed-up"},
        {"llama.prefill_speedup", "llama.cpp prefill speed-up"},
        {"llama.decode_speedup", "llama.cpp decode speed-up"}})
    if (std::find(columns.begin(), columns.end(), name) != columns.end())
      speedups.emplace_back(name, label);
  if (!speedups.empty()) {
    html +=
        "<h2>Quality against speed-up</h2><p>Each point's exported model (heads removed where "
        "the set allows it, else zeroed, which saves nothing) timed against the dense model; "
        "speed-up = dense time / pruned time, the median over pairs timed back to back. The "
        "dense model is the diamond.</p><div class=\"row\">";
    // Perplexity first, then the other metrics.
    std::vector<std::string> quality;
    for (const std::string& metric : columns)
      if (metric.find('.') != std::string::npos && !is_cost(metric)) quality.push_back(metric);
    std::stable_partition(quality.begin(), quality.end(),
                          [](const std::string& m) { return m.rfind("ppl:", 0) == 0; });
    for (const std::string& metric : quality) {
      for (const auto& [x_name, x_label] : speedups) {
        svg::XYChart chart;
        chart.x_name = x_label;
        chart.y_name = metric;
        double dense_x = svg::kNaN, dense_y = svg::kNaN;
        for (size_t k = 0; k < criteria.size(); ++k) {
          svg::XYSeries s{criteria[k], {}, {}, kPalette[k % 10], "", false};
          for (const SweepPoint& p : points) {
            if (p.criterion != criteria[k]) continue;
            const double x = value(p, x_name), y = value(p, metric);
            // Every curve starts at the dense point, drawn once more as the diamond.
            if (p.heads.empty() && p.layers.empty() && std::isnan(dense_x))
              dense_x = x, dense_y = y;
            s.x.push_back(x), s.y.push_back(y);
          }
          chart.series.push_back(std::move(s));
        }
        if (!std::isnan(dense_x))
          chart.series.push_back({"dense", {dense_x}, {dense_y}, "#ffffff", "", true});
        html += "<figure>" + svg::xy_chart(chart) + "<figcaption>" + svg::escape(metric) +
                " against " + svg::escape(x_label) + "</figcaption></figure>";
      }
    }
    html += "</div>";
  }
  html += "<h2>Points</h2><div class=\"tw\"><table><tr>";
  for (const std::string& c : columns) html += "<th>" + svg::escape(c) + "</th>";
  html += "</tr>";
  for (const SweepPoint& p : points) {
    html += "<tr>";
    for (const std::string& c : columns) {
      std::string cell;
      if (c == "criterion") {
        cell = svg::escape(p.criterion);
      } else if (c == "ratio") {
        cell = svg::num(p.ratio);
      } else if (c == "heads_pruned") {
        cell = svg::num(static_cast<double>(p.heads.size()));
      } else if (c == "layers_pruned") {
        cell = svg::num(static_cast<double>(p.layers.size()));
      } else {
        const double v = value(p, c);
        cell = std::isnan(v) ? "null" : svg::num(v);
      }
      html += "<td>" + cell + "</td>";
    }
    html += "</tr>";
  }
  return html + "</table></div></body></html>\n";
}

}  // namespace ss
