#include "report/sweep_report.h"

#include <cmath>
#include <map>

#include "report/svg.h"

namespace ss {

namespace {
// Distinct colours for the criteria, in order of first appearance.
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                          "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
}  // namespace

std::string render_sweep_report(const nlohmann::json& sweep) {
  const auto& points = sweep["points"];
  std::vector<std::string> criteria;
  std::vector<double> ratios;
  for (const auto& p : points) {
    const std::string c = p["criterion"];
    if (std::find(criteria.begin(), criteria.end(), c) == criteria.end()) criteria.push_back(c);
    const double r = p["ratio"];
    if (std::find(ratios.begin(), ratios.end(), r) == ratios.end()) ratios.push_back(r);
  }
  std::sort(ratios.begin(), ratios.end());
  std::vector<std::string> labels;
  for (double r : ratios) labels.push_back(svg::num(r));

  std::string html =
      svg::page_start("sinkscope pruning sweep") + "<h1>sinkscope pruning sweep</h1><p>scope " +
      svg::escape(sweep.value("scope", "")) + ", pruned heads " +
      svg::escape(sweep.value("mode", "")) +
      "; one curve per criterion, the dense model (ratio 0) dashed grey.</p><div class=\"row\">";
  for (const auto& col : sweep["columns"]) {
    const std::string metric = col;
    if (metric.find('.') == std::string::npos) continue;
    svg::Chart chart;
    chart.x_name = "pruning ratio";
    chart.y_name = metric;
    chart.x_labels = labels;
    double dense = svg::kNaN;
    for (size_t k = 0; k < criteria.size(); ++k) {
      svg::Series s{criteria[k], std::vector<double>(ratios.size(), svg::kNaN), kPalette[k % 10],
                    ""};
      for (const auto& p : points) {
        if (p["criterion"] != criteria[k] || !p.contains(metric) || !p[metric].is_number())
          continue;
        const size_t i =
            std::find(ratios.begin(), ratios.end(), p["ratio"].get<double>()) - ratios.begin();
        s.y[i] = p[metric];
        if (p["heads_pruned"] == 0) dense = p[metric];
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
  for (const auto& c : sweep["columns"])
    html += "<th>" + svg::escape(c.get<std::string>()) + "</th>";
  html += "</tr>";
  for (const auto& p : points) {
    html += "<tr>";
    for (const auto& c : sweep["columns"]) {
      const auto& v = p.value(c.get<std::string>(), nlohmann::json());
      html += "<td>" +
              (v.is_number() ? svg::num(v.get<double>())
                             : svg::escape(v.is_string() ? v.get<std::string>() : v.dump())) +
              "</td>";
    }
    html += "</tr>";
  }
  return html + "</table></div></body></html>\n";
}

}  // namespace ss
