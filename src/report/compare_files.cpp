#include "report/compare_files.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "base/atomic_file.h"
#include "report/svg.h"

namespace ss {

namespace {

size_t index_of(const SinkDrift& d, const std::string& name) {
  return static_cast<size_t>(std::find(d.names.begin(), d.names.end(), name) - d.names.begin());
}

nlohmann::json heads_json(const std::vector<std::pair<int, int>>& heads) {
  nlohmann::json j = nlohmann::json::array();
  for (auto [l, h] : heads) j.push_back({l, h});
  return j;
}

nlohmann::json drift_json(const SinkDrift& d) {
  nlohmann::json heads = nlohmann::json::array();
  for (const HeadDrift& h : d.heads) {
    nlohmann::json a, b, delta;
    for (size_t s = 0; s < d.names.size(); ++s) {
      a[d.names[s]] = h.a[s];
      b[d.names[s]] = h.b[s];
      delta[d.names[s]] = h.b[s] - h.a[s];
    }
    heads.push_back({{"layer", h.layer}, {"head", h.head}, {"a", a}, {"b", b}, {"delta", delta}});
  }
  return {{"eps", d.eps},
          {"bos_sink_score_spearman", d.bos_spearman},
          {"sink_heads_a", d.sinks_a},
          {"sink_heads_b", d.sinks_b},
          {"entered", heads_json(d.entered)},
          {"left", heads_json(d.left)},
          {"heads", heads}};
}

std::string tokens_csv(const CompareResult& r) {
  std::string out = "position,window_position,token,kl,top1_agree,nll_a,nll_b,delta_nll\n";
  char line[200];
  for (const TokenComparison& t : r.tokens) {
    std::snprintf(line, sizeof line, "%lld,%d,%d,%.9g,%d,%.9g,%.9g,%.9g\n",
                  static_cast<long long>(t.pos), t.window_pos, t.token, t.kl, t.top1_agree ? 1 : 0,
                  t.nll_a, t.nll_b, t.nll_b - t.nll_a);
    out += line;
  }
  return out;
}

std::string heads_csv(const SinkDrift& d) {
  std::string out = "layer,head,statistic,a,b,delta\n";
  char line[200];
  for (const HeadDrift& h : d.heads)
    for (size_t s = 0; s < d.names.size(); ++s) {
      std::snprintf(line, sizeof line, "%d,%d,%s,%.9g,%.9g,%.9g\n", h.layer, h.head,
                    d.names[s].c_str(), h.a[s], h.b[s], h.b[s] - h.a[s]);
      out += line;
    }
  return out;
}

std::string row(const std::string& name, const std::string& value) {
  return "<tr><td>" + svg::escape(name) + "</td><td>" + value + "</td></tr>\n";
}

// Mean KL by position in the window: where in a window the two models part.
std::string kl_by_position(const CompareResult& r, int ctx) {
  const int bins = std::min(ctx, 64), width = (ctx + bins - 1) / bins;
  std::vector<double> sum(bins, 0.0), count(bins, 0.0);
  for (const TokenComparison& t : r.tokens) {
    const int b = std::min(bins - 1, t.window_pos / width);
    sum[b] += t.kl, count[b] += 1;
  }
  svg::Chart chart;
  chart.x_name = "position in the window (bins of " + std::to_string(width) + ")";
  chart.y_name = "mean KL (nats)";
  svg::Series s{"KL(A||B)", {}, svg::palette(0), ""};
  for (int b = 0; b < bins; ++b) {
    s.y.push_back(count[b] > 0 ? sum[b] / count[b] : svg::kNaN);
    chart.x_labels.push_back(std::to_string(b * width));
  }
  chart.series.push_back(std::move(s));
  chart.width = 720;
  return svg::line_chart(chart);
}

std::string drift_html(const SinkDrift& d) {
  const size_t bos = index_of(d, "bos_sink_score");
  if (bos == d.names.size() || d.heads.empty()) return "";
  int layers = 0, heads = 0;
  for (const HeadDrift& h : d.heads) layers = std::max(layers, h.layer + 1);
  heads = static_cast<int>(d.heads.size()) / layers;
  svg::Grid g;
  g.rows = layers, g.cols = heads;
  g.row_name = "layer", g.col_name = "head";
  for (const HeadDrift& h : d.heads) {
    g.values.push_back(h.b[bos] - h.a[bos]);
    g.titles.push_back("L" + std::to_string(h.layer) + " H" + std::to_string(h.head) + ": " +
                       svg::num(h.a[bos]) + " -> " + svg::num(h.b[bos]));
  }
  std::string out = "<h2>Sink drift</h2>\n<p>Spearman &rho; of the bos_sink_score rankings: " +
                    svg::num(d.bos_spearman) + ". Sink heads (bos_sink_score &gt; " +
                    svg::num(d.eps) + "): " + std::to_string(d.sinks_a) + " in A, " +
                    std::to_string(d.sinks_b) + " in B; " + std::to_string(d.entered.size()) +
                    " entered, " + std::to_string(d.left.size()) + " left.</p>\n";
  out += "<h3>&Delta; bos_sink_score (B &minus; A)</h3>\n" + svg::heatmap(g);
  std::vector<const HeadDrift*> order;
  for (const HeadDrift& h : d.heads) order.push_back(&h);
  std::stable_sort(order.begin(), order.end(), [&](const HeadDrift* x, const HeadDrift* y) {
    return std::abs(x->b[bos] - x->a[bos]) > std::abs(y->b[bos] - y->a[bos]);
  });
  out +=
      "<h3>Heads that moved most</h3>\n<table><tr><th>head</th><th>A</th><th>B</th>"
      "<th>&Delta;</th><th>sink set</th></tr>\n";
  for (size_t i = 0; i < order.size() && i < 12; ++i) {
    const HeadDrift& h = *order[i];
    const bool in_a = h.a[bos] > d.eps, in_b = h.b[bos] > d.eps;
    const char* set = in_a == in_b ? (in_a ? "sink in both" : "") : (in_b ? "entered" : "left");
    out += "<tr><td>L" + std::to_string(h.layer) + " H" + std::to_string(h.head) + "</td><td>" +
           svg::num(h.a[bos]) + "</td><td>" + svg::num(h.b[bos]) + "</td><td>" +
           svg::num(h.b[bos] - h.a[bos]) + "</td><td>" + set + "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string html(const CompareInfo& info, const CompareResult& r,
                 const std::optional<SinkDrift>& drift) {
  const CompareSummary& s = r.summary;
  std::string out = svg::page_start("sinkscope compare");
  out += "<h1>Two models, token by token</h1>\n<p>A = " + svg::escape(info.model_a) +
         ", B = " + svg::escape(info.model_b) + ", text " + svg::escape(info.text) + ": " +
         std::to_string(s.windows) + " windows of " + std::to_string(info.plan.ctx) +
         " tokens, scoring " + scoring_name(info.plan.scoring) + ".</p>\n<table>\n";
  out += row("tokens scored", std::to_string(s.tokens));
  out += row("KL(A||B) mean / median / p90 / p99 / max",
             svg::num(s.kl_mean) + " / " + svg::num(s.kl_median) + " / " + svg::num(s.kl_p90) +
                 " / " + svg::num(s.kl_p99) + " / " + svg::num(s.kl_max));
  out += row("top-1 agreement", svg::num(s.top1_agreement));
  out += row("perplexity A / B", svg::num(s.ppl_a) + " / " + svg::num(s.ppl_b));
  out += row("Δppl (B − A)", svg::num(s.delta_ppl));
  out += "</table>\n<h2>KL by position in the window</h2>\n" + kl_by_position(r, info.plan.ctx);
  if (drift) out += drift_html(*drift);
  return out + "</body></html>\n";
}

}  // namespace

nlohmann::json compare_json(const CompareInfo& info, const CompareSummary& s,
                            const std::optional<SinkDrift>& drift) {
  nlohmann::json j = {{"model_a", info.model_a},
                      {"model_b", info.model_b},
                      {"text", info.text},
                      {"ctx", info.plan.ctx},
                      {"scoring", scoring_name(info.plan.scoring)},
                      {"windows", s.windows},
                      {"tokens_scored", s.tokens},
                      {"kl_mean", s.kl_mean},
                      {"kl_median", s.kl_median},
                      {"kl_p90", s.kl_p90},
                      {"kl_p99", s.kl_p99},
                      {"kl_max", s.kl_max},
                      {"top1_agreement", s.top1_agreement},
                      {"nll_a", s.nll_a},
                      {"nll_b", s.nll_b},
                      {"ppl_a", s.ppl_a},
                      {"ppl_b", s.ppl_b},
                      {"delta_ppl", s.delta_ppl}};
  if (drift) j["sink_drift"] = drift_json(*drift);
  return j;
}

void write_compare_files(const std::string& dir, const CompareInfo& info,
                         const CompareResult& result, const std::optional<SinkDrift>& drift,
                         const nlohmann::json& run_info) {
  std::filesystem::create_directories(dir);
  nlohmann::json j = compare_json(info, result.summary, drift);
  j["run"] = run_info;
  write_file_atomic(dir + "/compare.json", j.dump(2) + "\n");
  write_file_atomic(dir + "/compare.csv", tokens_csv(result));
  if (drift) write_file_atomic(dir + "/compare_heads.csv", heads_csv(*drift));
  write_file_atomic(dir + "/report.html", html(info, result, drift));
}

}  // namespace ss
