#include "report/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

namespace ss::svg {

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string num(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v == 0 ? 0.0 : v);  // no "-0"
  return buf;
}

namespace {

// A coordinate: at most two decimals, no trailing zeros.
std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

struct Rgb {
  double r, g, b;
};
// Viridis at t = 0, 1/8, ..., 1.
constexpr std::array<Rgb, 9> kAnchors{{{68, 1, 84},
                                       {71, 45, 123},
                                       {59, 82, 139},
                                       {44, 114, 142},
                                       {33, 145, 140},
                                       {40, 174, 128},
                                       {94, 201, 98},
                                       {173, 220, 48},
                                       {253, 231, 37}}};

// The smallest and largest finite values (0, 1 when there are none; widened when equal).
std::pair<double, double> finite_range(const std::vector<double>& v) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (lo > hi) return {0.0, 1.0};
  if (lo == hi) return {lo, lo + (lo == 0 ? 1.0 : std::abs(lo) * 1e-6)};
  return {lo, hi};
}

// Every how many cells a tick label goes so that labels are at least min_gap pixels apart.
int tick_step(double cell, double min_gap) {
  for (int step = 1;; step *= 10)
    for (int m : {1, 2, 5})
      if (step * m * cell >= min_gap) return step * m;
}

std::string text(double x, double y, const std::string& s, const char* anchor,
                 const std::string& extra = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" text-anchor=\"" + anchor + "\"" + extra +
         ">" + escape(s) + "</text>";
}

// A vertical axis name, rotated, centred at (x, y).
std::string vertical_name(double x, double y, const std::string& s) {
  return "<text transform=\"translate(" + px(x) + "," + px(y) +
         ") rotate(-90)\" text-anchor=\"middle\" class=\"axis\">" + escape(s) + "</text>";
}

std::string svg_open(const char* cls, double w, double h) {
  return "<svg class=\"" + std::string(cls) + "\" width=\"" + px(w) + "\" height=\"" + px(h) +
         "\" viewBox=\"0 0 " + px(w) + " " + px(h) + "\" font-size=\"10\">";
}

}  // namespace

std::string colour(double t) {
  if (std::isnan(t)) return "#cccccc";
  t = std::clamp(t, 0.0, 1.0) * (kAnchors.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kAnchors.size() - 2);
  const double f = t - i;
  const Rgb &a = kAnchors[i], &b = kAnchors[i + 1];
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x",
                static_cast<int>(std::lround(a.r + f * (b.r - a.r))),
                static_cast<int>(std::lround(a.g + f * (b.g - a.g))),
                static_cast<int>(std::lround(a.b + f * (b.b - a.b))));
  return buf;
}

bool is_dark(double t) {
  return !(t > 0.55);
}

std::string colour_legend(double lo, double hi, double x, double y, double width) {
  const int n = 24;
  std::string out = "<g transform=\"translate(" + px(x) + "," + px(y) + ") scale(" + px(width / n) +
                    ",10)\" shape-rendering=\"crispEdges\">";
  for (int i = 0; i < n; ++i)
    out += "<rect x=\"" + std::to_string(i) + "\" width=\"1.1\" height=\"1\" fill=\"" +
           colour((i + 0.5) / n) + "\"/>";
  out += "</g>";
  out += text(x, y + 21, num(lo), "start");
  out += text(x + width / 2, y + 21, num((lo + hi) / 2), "middle");
  out += text(x + width, y + 21, num(hi), "end");
  return out;
}

std::string heatmap(const Grid& g) {
  // Plain variables: clang 14 cannot capture structured bindings in lambdas.
  const auto range = finite_range(g.values);
  const double lo = range.first, hi = range.second;
  const double left = 48, top = 6, right = 12;
  const double cw =
      std::clamp(std::floor((g.max_width - left - right) / std::max(g.cols, 1)), 1.0, 28.0);
  const double ch =
      std::clamp(std::floor(static_cast<double>(g.max_height) / std::max(g.rows, 1)), 1.0, cw);
  const double w = cw * g.cols, h = ch * g.rows, legend_w = std::max(w, 150.0);
  std::string out = svg_open("heatmap", left + legend_w + right, top + h + 66);
  out += "<g transform=\"translate(" + px(left) + "," + px(top) + ") scale(" + px(cw) + "," +
         px(ch) + ")\" shape-rendering=\"crispEdges\">";
  // Cells in 64 colour levels. With tooltips one <rect> per cell; without, the lowest colour
  // as background and one <path> per other colour covering its runs in each row.
  auto fill = [&](size_t i) {
    return colour(std::round((g.values[i] - lo) / (hi - lo) * 63) / 63);
  };
  std::map<std::string, std::string> paths;
  for (int r = 0; r < g.rows; ++r) {
    for (int c = 0; c < g.cols;) {
      const size_t i = static_cast<size_t>(r) * g.cols + c;
      const std::string f = fill(i);
      int n = 1;
      if (!g.titles.empty()) {
        out += "<rect x=\"" + std::to_string(c) + "\" y=\"" + std::to_string(r) +
               "\" width=\"1\" height=\"1\" fill=\"" + f + "\"><title>" + escape(g.titles[i]) +
               "</title></rect>";
      } else {
        while (c + n < g.cols && fill(i + n) == f) ++n;
        char d[64];
        std::snprintf(d, sizeof d, "M%d %dh%dv1h-%dz", c, r, n, n);
        paths[f] += d;
      }
      c += n;
    }
  }
  if (!paths.empty())
    out += "<rect width=\"" + std::to_string(g.cols) + "\" height=\"" + std::to_string(g.rows) +
           "\" fill=\"" + colour(0) + "\"/>";
  for (const auto& [f, d] : paths)
    if (f != colour(0)) out += "<path fill=\"" + f + "\" d=\"" + d + "\"/>";
  out += "</g>";
  for (int r = 0; r < g.rows; r += tick_step(ch, 12))
    out += text(left - 4, top + (r + 0.5) * ch + 3.5, std::to_string(r), "end");
  for (int c = 0; c < g.cols; c += tick_step(cw, 20))
    out += text(left + (c + 0.5) * cw, top + h + 12, std::to_string(c), "middle");
  out += vertical_name(14, top + h / 2, g.row_name);
  out += text(left + w / 2, top + h + 25, g.col_name, "middle", " class=\"axis\"");
  out += colour_legend(lo, hi, left, top + h + 33, legend_w);
  return out + "</svg>";
}

std::string line_chart(const Chart& c) {
  const double left = 54, right = 12, top = 10, bottom = 36;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  const size_t legend_rows = (c.series.size() + 1) / 2;  // two columns under the plot
  size_t n = 1;
  std::vector<double> all;
  for (const auto& s : c.series) {
    n = std::max(n, s.y.size());
    all.insert(all.end(), s.y.begin(), s.y.end());
  }
  const auto range = finite_range(all);
  double lo = range.first, hi = range.second;
  if (!std::isnan(c.y_lo)) lo = c.y_lo;
  if (!std::isnan(c.y_hi)) hi = c.y_hi;
  if (hi <= lo) hi = lo + 1;
  // Ticks at a round step, about 5 of them, the range widened to whole steps.
  const double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = mag * (raw / mag <= 1 ? 1 : raw / mag <= 2 ? 2 : raw / mag <= 5 ? 5 : 10);
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  auto X = [&](double i) { return left + (n > 1 ? i * pw / (n - 1) : pw / 2); };
  auto Y = [&](double v) { return top + ph - (v - lo) / (hi - lo) * ph; };

  std::string out = svg_open("chart", c.width, c.height + 15.0 * legend_rows + 4);
  for (double t = lo; t <= hi + step * 1e-6; t += step) {
    out += "<line x1=\"" + px(left) + "\" x2=\"" + px(left + pw) + "\" y1=\"" + px(Y(t)) +
           "\" y2=\"" + px(Y(t)) + "\" class=\"grid\"/>";
    out += text(left - 4, Y(t) + 3.5, num(std::abs(t) < step * 1e-6 ? 0.0 : t), "end");
  }
  const int xstep = tick_step(n > 1 ? pw / (n - 1) : pw, 20);
  auto x_label = [&](size_t i) {
    return i < c.x_labels.size() ? c.x_labels[i] : std::to_string(i);
  };
  for (size_t i = 0; i < n; i += xstep) out += text(X(i), top + ph + 13, x_label(i), "middle");
  out += "<path d=\"M" + px(left) + " " + px(top) + "V" + px(top + ph) + "H" + px(left + pw) +
         "\" class=\"frame\"/>";
  out += text(left + pw / 2, top + ph + 28, c.x_name, "middle", " class=\"axis\"");
  out += vertical_name(12, top + ph / 2, c.y_name);

  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& s = c.series[k];
    const std::string stroke = " stroke=\"" + s.colour + "\"";
    const std::string dash = s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"";
    std::string points, markers;
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      points += px(X(i)) + "," + px(Y(s.y[i])) + " ";
      markers += "<circle cx=\"" + px(X(i)) + "\" cy=\"" + px(Y(s.y[i])) + "\" r=\"" +
                 (n > 32 ? "1.6" : "2.5") + "\" fill=\"" + s.colour + "\"><title>" +
                 escape(s.name + ", " + c.x_name + " " + x_label(i) + ": " + num(s.y[i])) +
                 "</title></circle>";
    }
    out += "<polyline points=\"" + points + "\" fill=\"none\" stroke-width=\"1.6\"" + stroke +
           dash + "/>" + markers;
    const double lx = left + (k % 2) * pw / 2, ly = c.height + 6 + 15 * (k / 2);
    out += "<line x1=\"" + px(lx) + "\" x2=\"" + px(lx + 24) + "\" y1=\"" + px(ly) + "\" y2=\"" +
           px(ly) + "\" stroke-width=\"2\"" + stroke + dash + "/>";
    out += text(lx + 30, ly + 3.5, s.name, "start");
  }
  return out + "</svg>";
}

namespace {
// Round ticks over [lo, hi] (about 5), the range widened to whole steps: {lo, hi, step}.
std::array<double, 3> round_axis(double lo, double hi) {
  if (hi <= lo) hi = lo + 1;
  const double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = mag * (raw / mag <= 1 ? 1 : raw / mag <= 2 ? 2 : raw / mag <= 5 ? 5 : 10);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
}
}  // namespace

std::string xy_chart(const XYChart& c) {
  const double left = 54, right = 12, top = 10, bottom = 36;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  const size_t legend_rows = (c.series.size() + 1) / 2;
  std::vector<double> xs, ys;
  for (const auto& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
        xs.push_back(s.x[i]), ys.push_back(s.y[i]);
  const auto xr = finite_range(xs), yr = finite_range(ys);
  const auto [x0, x1, xstep] = round_axis(xr.first, xr.second);
  const auto [y0, y1, ystep] = round_axis(yr.first, yr.second);
  auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return top + ph - (v - y0) / (y1 - y0) * ph; };

  std::string out = svg_open("chart", c.width, c.height + 15.0 * legend_rows + 4);
  for (double t = y0; t <= y1 + ystep * 1e-6; t += ystep) {
    out += "<line x1=\"" + px(left) + "\" x2=\"" + px(left + pw) + "\" y1=\"" + px(Y(t)) +
           "\" y2=\"" + px(Y(t)) + "\" class=\"grid\"/>";
    out += text(left - 4, Y(t) + 3.5, num(std::abs(t) < ystep * 1e-6 ? 0.0 : t), "end");
  }
  for (double t = x0; t <= x1 + xstep * 1e-6; t += xstep) {
    out += "<line x1=\"" + px(X(t)) + "\" x2=\"" + px(X(t)) + "\" y1=\"" + px(top) + "\" y2=\"" +
           px(top + ph) + "\" class=\"grid\"/>";
    out += text(X(t), top + ph + 13, num(std::abs(t) < xstep * 1e-6 ? 0.0 : t), "middle");
  }
  out += "<path d=\"M" + px(left) + " " + px(top) + "V" + px(top + ph) + "H" + px(left + pw) +
         "\" class=\"frame\"/>";
  out += text(left + pw / 2, top + ph + 28, c.x_name, "middle", " class=\"axis\"");
  out += vertical_name(12, top + ph / 2, c.y_name);

  for (size_t k = 0; k < c.series.size(); ++k) {
    const XYSeries& s = c.series[k];
    std::vector<size_t> order;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    const std::string stroke = " stroke=\"" + s.colour + "\"";
    const std::string dash = s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"";
    std::string points, markers;
    for (size_t i : order) {
      const std::string tip = "<title>" +
                              escape(s.name + ": " + c.x_name + " " + num(s.x[i]) + ", " +
                                     c.y_name + " " + num(s.y[i])) +
                              "</title>";
      const double cx = X(s.x[i]), cy = Y(s.y[i]);
      points += px(cx) + "," + px(cy) + " ";
      if (s.star)
        markers += "<path d=\"M" + px(cx) + " " + px(cy - 6) + "L" + px(cx + 6) + " " + px(cy) +
                   "L" + px(cx) + " " + px(cy + 6) + "L" + px(cx - 6) + " " + px(cy) +
                   "Z\" fill=\"" + s.colour + "\" stroke=\"#000\">" + tip + "</path>";
      else
        markers += "<circle cx=\"" + px(cx) + "\" cy=\"" + px(cy) + "\" r=\"2.5\" fill=\"" +
                   s.colour + "\">" + tip + "</circle>";
    }
    if (!s.star)
      out += "<polyline points=\"" + points + "\" fill=\"none\" stroke-width=\"1.4\"" + stroke +
             dash + "/>";
    out += markers;
    const double lx = left + (k % 2) * pw / 2, ly = c.height + 6 + 15 * (k / 2);
    if (s.star)
      out += "<path d=\"M" + px(lx + 12) + " " + px(ly - 5) + "l5 5l-5 5l-5 -5Z\" fill=\"" +
             s.colour + "\" stroke=\"#000\"/>";
    else
      out += "<line x1=\"" + px(lx) + "\" x2=\"" + px(lx + 24) + "\" y1=\"" + px(ly) + "\" y2=\"" +
             px(ly) + "\" stroke-width=\"2\"" + stroke + dash + "/>";
    out += text(lx + 30, ly + 3.5, s.name, "start");
  }
  return out + "</svg>";
}

namespace {
constexpr const char* kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;color:#222;max-width:1100px;margin:0 auto;padding:8px 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 4px}
p{margin:4px 0}.tw{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f4f4f4}small{color:#777}
table.kv th{text-align:left}table.kv td{text-align:left;white-space:normal;overflow-wrap:anywhere}
code{font-size:12px}.row{display:flex;flex-wrap:wrap;gap:12px 16px;align-items:flex-start}
figure{margin:4px 0;display:table}figcaption{display:table-caption;caption-side:bottom;font-size:12px;color:#444}
details{margin:10px 0;border:1px solid #ddd;border-radius:4px;padding:4px 10px}
summary{font-weight:600;cursor:pointer;padding:4px 0}
.swatch{display:inline-block;min-width:44px;padding:1px 4px}
svg text{fill:#333}svg text.axis{font-size:11px;fill:#000}
svg .grid{stroke:#e4e4e4}svg .frame{stroke:#555;fill:none}
svg rect:hover{stroke:#f0f;stroke-width:.15}
</style>)";
}  // namespace

std::string page_start(const std::string& title) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         escape(title) + "</title>" + kStyle + "</head><body>";
}

}  // namespace ss::svg
