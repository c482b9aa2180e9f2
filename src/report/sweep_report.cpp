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
  for (const std::string& metric : columns) {
    if (metric.find('.') == std::string::npos) continue;
    svg::Chart chart;
    chart.x_name = "pruning ratio";
    chart.y_name = metric;
    chart.x_labels = labels;
    double dense = svg::kNaN;
    for (size_t k = 0; k < criteria.size(); ++k) {
      svg::Series s{criteria[k], std::vector<double>(ratios.size(), svg::kNaN), kPalette[k % 10],
                    ""};
      for (const SweepPoint& p : points) {
        const auto v = p.metrics.find(metric);
        if (p.criterion != criteria[k] || v == p.metrics.end()) continue;
        const size_t i = std::find(ratios.begin(), ratios.end(), p.ratio) - ratios.begin();
        s.y[i] = v->second;
        if (p.heads.empty() && p.layers.empty()) dense = v->second;
      }
      chart.series.push_back(std::move(s));
    }
    if (!std::isnan(dense))
      chart.series.push_back(
          {"dense", std::vector<double>(ratios.size(), dense), "#999999", "4 3"});
    html += "<figure>" + svg::line_chart(chart) + "<figcaption>" + svg::escape(metric) +
            "</figcaption></figure>";
  }
  html += "</div><h2>Points</h2><div class=\"tw\"><table><tr>";
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
        const auto v = p.metrics.find(c);
        cell = v != p.metrics.end() ? svg::num(v->second) : "null";
      }
      html += "<td>" + cell + "</td>";
    }
    html += "</tr>";
  }
  return html + "</table></div></body></html>\n";
}

}  // namespace ss
