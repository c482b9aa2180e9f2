#pragma once
// Small SVG building blocks for the HTML report: number and text formatting, a viridis-like
// colour scale, heatmaps (per-cell <title> tooltips, axis names, a labelled colour legend) and
// line charts. The output is inline SVG for an HTML page: no xmlns, no ids, no scripts.
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace ss::svg {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// HTML/XML text with & < > " ' escaped.
std::string escape(std::string_view s);
// 4 significant digits ("0.1235", "1.235e+04"); "n/a" for NaN.
std::string num(double v);
// The colour scale at t in [0, 1] (clamped) as "#rrggbb"; NaN gives grey.
std::string colour(double t);
// Whether text drawn on colour(t) should be light.
bool is_dark(double t);

struct Grid {
  int rows = 0, cols = 0;
  std::vector<double> values;       // row-major; NaN: no data (grey)
  std::vector<std::string> titles;  // plain-text tooltip per cell, or empty for none
  std::string row_name, col_name;   // axis names
  int max_width = 520, max_height = 640;
};
// A heatmap with rows top to bottom and columns left to right, coloured from the smallest to
// the largest finite value, with its colour legend underneath.
std::string heatmap(const Grid& g);

// A horizontal colour bar from lo to hi with its numbers: an SVG fragment at (x, y).
std::string colour_legend(double lo, double hi, double x, double y, double width);

// Ten well-separated line colours (the Tableau 10 palette), by series index.
inline const char* palette(size_t i) {
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                  "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  return colours[i % 10];
}

struct Series {
  std::string name;
  std::vector<double> y;  // at x = 0, 1, ...; NaN points are skipped
  std::string colour, dash;
};
struct Chart {
  std::vector<Series> series;
  std::string x_name, y_name;
  std::vector<std::string> x_labels;  // label of x = i (default: i)
  double y_lo = kNaN, y_hi = kNaN;    // NaN: from the data
  int width = 520, height = 260;
};
// Lines with a point marker (tooltip) per value and a legend on the right.
std::string line_chart(const Chart& c);

// Points at numeric x and y, joined in order of x, a marker (tooltip) at each; a series with
// `star` set is drawn as large black-edged diamonds and no line (e.g. the reference point).
struct XYSeries {
  std::string name;
  std::vector<double> x, y;  // pairs with a NaN are skipped
  std::string colour, dash;
  bool star = false;
};
struct XYChart {
  std::vector<XYSeries> series;
  std::string x_name, y_name;
  int width = 520, height = 260;
};
// Both axes from the data with round ticks, a legend under the plot.
std::string xy_chart(const XYChart& c);

// "<!doctype html>…<body>" with the reports' shared style sheet.
std::string page_start(const std::string& title);

}  // namespace ss::svg
