#include "report/mixing_files.h"

#include <algorithm>
#include <cmath>

#include "base/atomic_file.h"
#include "report/csv.h"
#include "report/svg.h"

namespace ss {

namespace {

nlohmann::json mean_sd_json(const LayerMeanSd& m) {
  return {{"mean", m.mean}, {"sd", m.sd}};
}

nlohmann::json spread_json(const SpreadResult& s) {
  return {{"perturbation", s.perturbation},   {"windows", s.windows},
          {"delta", mean_sd_json(s.delta)},   {"ratio", mean_sd_json(s.ratio)},
          {"token_delta", s.token_delta},     {"token_ratio", s.token_ratio},
          {"token_windows", s.token_windows}, {"delta_before_max", s.before_max},
          {"positions", s.positions},         {"pairs", s.pairs}};
}

// The report's heatmap holds at most this many offsets (the files hold them all).
constexpr size_t kHeatOffsets = 64;

std::string spread_heatmap(const SpreadResult& s, int n_layers) {
  svg::Grid g;
  const size_t rows = std::min(s.token_ratio.size(), kHeatOffsets);
  g.rows = static_cast<int>(rows);
  g.cols = n_layers;
  g.row_name = "offset from the perturbed token";
  g.col_name = "layer";
  for (size_t o = 0; o < rows; ++o)
    for (int l = 0; l < n_layers; ++l) {
      const double v = s.token_ratio[o][l];
      g.values.push_back(v > 0 ? std::log10(v) : svg::kNaN);
      std::string title = "offset " + std::to_string(o);  // appended: GCC 12 misreads a chain
      title += ", layer " + std::to_string(l) + ": ‖Δh‖/‖h‖ = " + svg::num(v);
      g.titles.push_back(std::move(title));
    }
  return svg::heatmap(g);
}

}  // namespace

nlohmann::json to_json(const MixingResult& r) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const MixingCondition& c : r.conditions) {
    nlohmann::json spread = nlohmann::json::array();
    for (const SpreadResult& s : c.spread) spread.push_back(spread_json(s));
    conditions.push_back({{"name", c.name},
                          {"bos", c.bos},
                          {"masked_heads", c.masked_heads},
                          {"over_mixing", mean_sd_json(c.over_mixing)},
                          {"spread", spread},
                          {"window_ids", c.window_ids}});
  }
  nlohmann::json pair_tokens = nlohmann::json::array();
  for (const auto& [from, to] : r.pair_tokens) pair_tokens.push_back({{"from", from}, {"to", to}});
  nlohmann::json heads = nlohmann::json::array();
  for (auto [l, h] : r.ablated) heads.push_back({l, h});
  return {{"ctx", r.ctx},           {"windows", r.windows},
          {"n_layers", r.n_layers}, {"delta", r.delta},
          {"position", r.position}, {"seed", r.seed},
          {"eps", r.eps},           {"ablate", r.ablate},
          {"ablated_heads", heads}, {"ablated_bos_sink_score", r.ablated_scores},
          {"pairs", r.pairs},       {"pair_tokens", pair_tokens},
          {"notes", r.notes},       {"conditions", conditions}};
}

void write_mixing(const std::string& dir, const MixingResult& r, const nlohmann::json& run) {
  ensure_output_dir(dir);
  nlohmann::json mu = nlohmann::json::array(), spread = nlohmann::json::array(),
                 tokens = nlohmann::json::array();
  for (const MixingCondition& c : r.conditions) {
    for (int l = 0; l < r.n_layers; ++l)
      mu.push_back({{"condition", c.name},
                    {"layer", l},
                    {"mu_mean", c.over_mixing.mean[l]},
                    {"mu_sd", c.over_mixing.sd[l]},
                    {"windows", r.windows}});
    for (const SpreadResult& s : c.spread) {
      for (int l = 0; l < r.n_layers; ++l)
        spread.push_back({{"condition", c.name},
                          {"perturbation", s.perturbation},
                          {"layer", l},
                          {"delta_mean", s.delta.mean[l]},
                          {"delta_sd", s.delta.sd[l]},
                          {"ratio_mean", s.ratio.mean[l]},
                          {"ratio_sd", s.ratio.sd[l]},
                          {"windows", s.windows}});
      for (size_t o = 0; o < s.token_delta.size(); ++o)
        for (int l = 0; l < r.n_layers; ++l)
          tokens.push_back({{"condition", c.name},
                            {"perturbation", s.perturbation},
                            {"offset", o},
                            {"layer", l},
                            {"delta_mean", s.token_delta[o][l]},
                            {"ratio_mean", s.token_ratio[o][l]},
                            {"windows", s.token_windows[o]}});
    }
  }
  write_file_atomic(dir + "/over_mixing.csv",
                    to_csv(mu, {"condition", "layer", "mu_mean", "mu_sd", "windows"}));
  write_file_atomic(dir + "/spread.csv",
                    to_csv(spread, {"condition", "perturbation", "layer", "delta_mean", "delta_sd",
                                    "ratio_mean", "ratio_sd", "windows"}));
  write_file_atomic(dir + "/spread_tokens.csv",
                    to_csv(tokens, {"condition", "perturbation", "offset", "layer", "delta_mean",
                                    "ratio_mean", "windows"}));
  write_file_atomic(dir + "/mixing.json", to_json(r).dump(1) + "\n");
  nlohmann::json info = run;
  info["result"] = "mixing.json";
  write_file_atomic(dir + "/run.json", info.dump(2) + "\n");

  // report.html: µ per layer, the spread per layer, and one heatmap per condition and kind.
  svg::Chart mu_chart{{}, "layer", "µ(V) / ‖V‖_F", {}, svg::kNaN, svg::kNaN};
  size_t i = 0;
  for (const MixingCondition& c : r.conditions)
    mu_chart.series.push_back({c.name, c.over_mixing.mean, svg::palette(i++), ""});
  std::string html = svg::page_start("sinkscope mixing");
  html += "<h1>Over-mixing and perturbation spread</h1>\n<p>" + std::to_string(r.windows) +
          " windows of " + std::to_string(r.ctx) +
          " tokens; embedding perturbation δ = " + svg::num(r.delta) + " × ‖x‖ at text token " +
          std::to_string(r.position) + "; ablated heads: " + std::to_string(r.ablated.size()) +
          " (" + svg::escape(r.ablate) + ").</p>\n<h2>Over-mixing per layer</h2>\n" +
          svg::line_chart(mu_chart);
  for (const char* kind : {"embedding", "substitute"}) {
    svg::Chart chart{{}, "layer", "mean ‖Δh‖/‖h‖ of later tokens", {}, svg::kNaN, svg::kNaN};
    std::string maps;
    i = 0;
    for (const MixingCondition& c : r.conditions)
      for (const SpreadResult& s : c.spread)
        if (s.perturbation == kind) {
          chart.series.push_back({c.name, s.ratio.mean, svg::palette(i++), ""});
          maps += "<h3>" + c.name + ": log10 ‖Δh‖/‖h‖</h3>\n" + spread_heatmap(s, r.n_layers);
        }
    if (chart.series.empty()) continue;
    html += std::string("\n<h2>Spread of the ") + kind + " perturbation</h2>\n" +
            svg::line_chart(chart) + "\n" + maps;
  }
  html += "\n</body></html>\n";
  write_file_atomic(dir + "/report.html", html);
}

}  // namespace ss
