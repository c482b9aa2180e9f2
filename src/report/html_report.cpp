#include "report/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/statistics.h"
#include "report/csv.h"
#include "report/svg.h"

namespace ss {
namespace {

using json = nlohmann::json;
using svg::escape;
using svg::num;

// j[key], or null when j is not an object or has no such key.
const json& get(const json& j, const std::string& key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

int integer(const json& v) {
  return v.is_number() ? v.get<int>() : -1;
}
std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Any value as escaped HTML text: integers exactly, other numbers to 4 significant digits.
std::string cell(const json& v) {
  if (v.is_null()) return "–";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return num(v.get<double>());
  return escape(str(v));
}

// value ± std of a head statistic.
std::string mean_std(const json& head, const std::string& name) {
  return num(json_double(get(head, name))) + " <small>± " +
         num(json_double(get(head, name + "_std"))) + "</small>";
}

// An HTML table; head and rows are HTML already.
std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<div class=\"tw\"><table><tr>";
  for (const auto& h : head) out += "<th>" + h + "</th>";
  out += "</tr>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& c : r) out += "<td>" + c + "</td>";
    out += "</tr>";
  }
  return out + "</table></div>";
}

std::string figure(const std::string& body, const std::string& caption) {
  return "<figure>" + body + "<figcaption>" + caption + "</figcaption></figure>";
}

std::string run_name(const json& run) {
  return "ctx " + cell(get(run, "ctx")) + " · bos " + cell(get(run, "bos"));
}

// Heatmap statistics, with their captions from the registry.
const std::vector<std::pair<std::string, std::string>> kHeatmapStats = [] {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* name : {"bos_sink_score", "first_k_mass", "entropy_mean_q1",
                           "z_norm_layer_ratio", "contrib_norm_mean", "value_norm_ratio"})
    out.emplace_back(name, std::string(find_statistic(name)->caption));
  return out;
}();

// Series style: colour by window length, dash by first-token mode.
svg::Series series_for(const json& run, const std::vector<int>& ctxs, const std::string& stat) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                  "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
  const size_t ci = std::find(ctxs.begin(), ctxs.end(), integer(get(run, "ctx"))) - ctxs.begin();
  const std::string bos = str(get(run, "bos"));
  const char* dash = bos == "on"            ? ""
                     : bos == "off"         ? "6 3"
                     : bos == "first-token" ? "2 2"
                                            : "8 3 2 3";
  svg::Series s{run_name(run), {}, palette[ci % 8], dash};
  for (const auto& l : get(run, "layers")) s.y.push_back(json_double(get(l, stat)));
  return s;
}

std::string line_chart(const json& runs, const std::vector<int>& ctxs, const std::string& stat,
                       double y_lo, double y_hi) {
  svg::Chart c{{}, "layer", stat, {}, y_lo, y_hi};
  for (const auto& run : runs) c.series.push_back(series_for(run, ctxs, stat));
  return svg::line_chart(c);
}

std::string header(const json& a, const json& info) {
  const json& m = get(a, "model");
  std::string shape = cell(get(m, "arch")) + ", " + cell(get(m, "n_layers")) + " layers × " +
                      cell(get(m, "n_heads")) + " heads (" + cell(get(m, "n_kv_heads")) +
                      " KV heads), dim " + cell(get(m, "dim")) + ", head_dim " +
                      cell(get(m, "head_dim")) + ", vocab " + cell(get(m, "vocab_size"));
  std::vector<std::pair<std::string, std::string>> rows = {
      {"model", "<code>" + cell(get(get(info, "model"), "path")) + "</code>"},
      {"architecture", shape},
      {"sha256", "<code>" + cell(get(get(info, "model"), "sha256")) + "</code>"},
      {"tokenizer", "<code>" + cell(get(info, "tokenizer")) + "</code>"},
      {"command", "<code>" + cell(get(info, "command")) + "</code>"},
      {"tokens", cell(get(a, "tokens_processed"))},
      {"wall time", cell(get(info, "wall_time_s")) + " s"},
      {"ε (is_sink_head)", cell(get(a, "eps")) + " (also 0.8)"},
      {"K (first_k_mass)", cell(get(a, "sink_tokens"))},
      {"sinkscope", cell(get(info, "sinkscope_version"))},
  };
  std::string out = "<h1>sinkscope analysis report</h1><table class=\"kv\">";
  for (const auto& [k, v] : rows) out += "<tr><th>" + escape(k) + "</th><td>" + v + "</td></tr>";
  return out + "</table>";
}

std::string summary(const json& a) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : get(a, "runs"))
    rows.push_back({cell(get(r, "ctx")), cell(get(r, "bos")), cell(get(r, "windows")),
                    cell(get(r, "tokens")), cell(get(r, "nll_mean")), cell(get(r, "ppl")),
                    cell(get(r, "sink_rate")), cell(get(r, "sink_rate_0.8")),
                    cell(get(r, "sink_rate_top_key"))});
  return "<h2>Runs</h2>" + table({"ctx", "bos", "windows", "tokens", "nll", "ppl",
                                  "sink_rate (ε=" + cell(get(a, "eps")) + ")", "sink_rate (0.8)",
                                  "sink_rate_top_key"},
                                 rows);
}

std::string layer_curves(const json& runs, const std::vector<int>& ctxs) {
  return "<h2>Depth</h2><div class=\"row\">" +
         figure(line_chart(runs, ctxs, "sink_rate", 0, 1),
                "sink_rate per layer: fraction of heads with bos_sink_score &gt; ε") +
         figure(line_chart(runs, ctxs, "bos_sink_score", 0, svg::kNaN),
                "mean bos_sink_score over the heads of each layer") +
         "</div>";
}

double mean_over_heads(const json& run, const std::string& stat) {
  double s = 0;
  int n = 0;
  for (const auto& h : get(run, "heads")) s += json_double(get(h, stat)), ++n;
  return n ? s / n : svg::kNaN;
}

// Per window length with both "on" and "off" runs: per-layer bos_sink_score of every mode, and
// the change in NLL against "on".
std::string bos_comparison(const json& runs, const std::vector<int>& ctxs) {
  std::string charts;
  std::vector<std::vector<std::string>> rows;
  for (int ctx : ctxs) {
    json same = json::array();
    const json* on = nullptr;
    bool off = false;
    for (const auto& r : runs) {
      if (get(r, "ctx") != ctx) continue;
      same.push_back(r);
      if (get(r, "bos") == "on") on = &r;
      off = off || get(r, "bos") == "off";
    }
    if (!on || !off) continue;
    for (const auto& r : same)
      rows.push_back({cell(get(r, "ctx")), cell(get(r, "bos")), cell(get(r, "nll_mean")),
                      cell(get(r, "ppl")),
                      num(json_double(get(r, "nll_mean")) - json_double(get(*on, "nll_mean"))),
                      num(mean_over_heads(r, "bos_sink_score")), cell(get(r, "sink_rate")),
                      cell(get(r, "sink_rate_top_key"))});
    charts +=
        figure(line_chart(same, ctxs, "bos_sink_score", 0, svg::kNaN),
               "ctx " + std::to_string(ctx) + ": per-layer mean bos_sink_score by first token");
  }
  if (rows.empty()) return "";
  return "<h2>First token: BOS on / off</h2><div class=\"row\">" + charts + "</div>" +
         table({"ctx", "bos", "nll", "ppl", "Δnll vs on", "mean bos_sink_score", "sink_rate",
                "sink_rate_top_key"},
               rows);
}

// Spearman ρ between window lengths, one coloured matrix per first-token mode.
std::string stability(const json& a) {
  std::vector<std::string> modes;  // in order of appearance
  std::map<std::string, std::map<std::pair<int, int>, double>> rho;
  std::map<std::string, std::set<int>> lengths;
  for (const auto& s : get(a, "stability")) {
    if (!get(s, "ctx_a").is_number() || !get(s, "ctx_b").is_number()) continue;
    const std::string bos = str(get(s, "bos"));
    const int x = get(s, "ctx_a").get<int>(), y = get(s, "ctx_b").get<int>();
    if (!rho.count(bos)) modes.push_back(bos);
    rho[bos][{x, y}] = rho[bos][{y, x}] = json_double(get(s, "spearman"));
    lengths[bos].insert({x, y});
  }
  if (rho.empty()) return "";
  std::string out;
  for (const auto& bos : modes) {
    const std::set<int>& ctxs = lengths[bos];
    std::vector<std::string> head{"ctx"};
    std::vector<std::vector<std::string>> rows;
    for (int x : ctxs) {
      head.push_back(std::to_string(x));
      rows.push_back({"<b>" + std::to_string(x) + "</b>"});
      for (int y : ctxs) {
        const double v = x == y ? 1.0 : rho[bos].count({x, y}) ? rho[bos][{x, y}] : svg::kNaN;
        const double t = (v + 1) / 2;
        rows.back().push_back("<span class=\"swatch\" style=\"background:" + svg::colour(t) +
                              ";color:" + (svg::is_dark(t) ? "#fff" : "#000") + "\">" + num(v) +
                              "</span>");
      }
    }
    out += figure(table(head, rows), "bos " + escape(bos));
  }
  return "<h2>Length stability</h2><p>Spearman ρ of the bos_sink_score ranking of all heads "
         "between window lengths (colour: −1 to 1).</p><div class=\"row\">" +
         out + "</div>";
}

// One heatmap per statistic of kHeatmapStats; tooltips: a <title> per cell.
std::string head_heatmaps(const json& run, bool tooltips) {
  const json& heads = get(run, "heads");
  int L = 0, H = 0;
  for (const auto& h : heads)
    L = std::max(L, integer(get(h, "layer")) + 1), H = std::max(H, integer(get(h, "head")) + 1);
  // A model with learned sinks (gpt-oss) gets their mass beside BOS's.
  auto stats = kHeatmapStats;
  bool sinks = false;
  for (const auto& h : heads)
    sinks =
        sinks || (h.contains("learned_sink_mass") && json_double(get(h, "learned_sink_mass")) > 0);
  if (sinks)
    stats.insert(stats.begin() + 1,
                 {"learned_sink_mass", std::string(find_statistic("learned_sink_mass")->caption)});
  std::string out = "<div class=\"row\">";
  for (const auto& [stat, meaning] : stats) {
    const size_t n = static_cast<size_t>(L) * H;
    svg::Grid g{L,
                H,
                std::vector<double>(n, svg::kNaN),
                std::vector<std::string>(tooltips ? n : 0),
                "layer",
                "head"};
    for (const auto& h : heads) {
      const int l = integer(get(h, "layer")), hd = integer(get(h, "head"));
      if (l < 0 || hd < 0) continue;
      const size_t i = static_cast<size_t>(l) * H + hd;
      g.values[i] = json_double(get(h, stat));
      if (tooltips)
        g.titles[i] = "layer " + std::to_string(l) + " head " + std::to_string(hd) + ": " +
                      num(g.values[i]) + " ± " + num(json_double(get(h, stat + "_std")));
    }
    out += figure(svg::heatmap(g), "<b>" + stat + "</b> — " + escape(meaning));
  }
  return out + "</div>";
}

// The 10 heads first by `stat` (descending or ascending), with the given columns.
// view_href: the attention viewer's file, to link each head to its view ("" for no links).
std::string head_table(const json& run, const std::string& stat, bool descending,
                       const std::vector<std::string>& columns, const std::string& view_href = {}) {
  std::vector<const json*> heads;
  for (const auto& h : get(run, "heads")) heads.push_back(&h);
  auto key = [&](const json* h) {  // missing values last
    const double v = json_double(get(*h, stat));
    return std::isnan(v) ? -INFINITY : descending ? v : -v;
  };
  std::stable_sort(heads.begin(), heads.end(),
                   [&](const json* a, const json* b) { return key(a) > key(b); });
  heads.resize(std::min<size_t>(heads.size(), 10));
  std::vector<std::string> head{"layer", "head"};
  for (const auto& c : columns) head.push_back(c);
  std::vector<std::vector<std::string>> rows;
  for (const json* h : heads) {
    rows.push_back({cell(get(*h, "layer")), cell(get(*h, "head"))});
    if (!view_href.empty()) {
      const std::string bos = str(get(run, "bos"));
      const std::string href = escape(view_href) + "#L" + cell(get(*h, "layer")) + "H" +
                               cell(get(*h, "head")) + (bos == "off" ? "&amp;bos=off" : "");
      rows.back()[1] += " <a class=\"view\" href=\"" + href + "\">view</a>";
    }
    for (const auto& c : columns)
      rows.back().push_back(get(*h, c + "_std").is_null() ? cell(get(*h, c)) : mean_std(*h, c));
  }
  return table(head, rows);
}

std::string pattern(const json& run) {
  const json& p = get(run, "strongest_sink_pattern");
  const json& rows = get(p, "rows");
  if (!rows.is_array() || rows.empty()) return "";
  const int n = static_cast<int>(rows.size());
  svg::Grid g{n,   n,       std::vector<double>(static_cast<size_t>(n) * n, svg::kNaN),
              {},  "query", "key",
              400, 400};
  for (int q = 0; q < n; ++q)
    for (int k = 0; k < n && k < static_cast<int>(rows[q].size()); ++k)
      g.values[static_cast<size_t>(q) * n + k] = json_double(rows[q][k]);
  return figure(svg::heatmap(g), "attention α<sub>t,k</sub> of the strongest sink head, layer " +
                                     cell(get(p, "layer")) + " head " + cell(get(p, "head")) +
                                     ": first " + std::to_string(n) +
                                     " queries and keys of the first window");
}

// Per layer, the entry with the largest |h|.
std::string massive(const json& run) {
  std::map<int, const json*> top;
  for (const auto& m : get(run, "massive")) {
    const json*& t = top[integer(get(m, "layer"))];
    if (!t || json_double(get(m, "abs")) > json_double(get(*t, "abs"))) t = &m;
  }
  if (top.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [layer, m] : top) {
    std::string token = cell(get(*m, "token"));
    if (!get(*m, "token_text").is_null())
      token += " <code>" + cell(get(*m, "token_text")) + "</code>";
    rows.push_back({std::to_string(layer), cell(get(*m, "value")), cell(get(*m, "window")),
                    cell(get(*m, "pos")), cell(get(*m, "channel")), token,
                    cell(get(*m, "median_abs")), cell(get(*m, "ratio")),
                    get(*m, "massive") == true ? "<b>yes</b>" : "no"});
  }
  return "<div><h3>Massive activations</h3><p>largest |h| of the residual stream after each "
         "layer; massive = |h| &gt; 100 and &gt; 1000 × median</p>" +
         table({"layer", "value", "window", "pos", "channel", "token", "median |h|", "ratio",
                "massive"},
               rows) +
         "</div>";
}

// A mixture of experts (gpt-oss): every expert's load per layer as a heatmap, and per layer the
// router's entropy and the agreement of the most loaded experts between windows.
std::string moe(const json& run, bool tooltips) {
  const json& m = get(run, "moe");
  const json& layers = get(m, "layers");
  const int E = integer(get(m, "n_experts"));
  if (!layers.is_array() || layers.empty() || E <= 0) return "";
  int L = 0;
  for (const auto& l : layers) L = std::max(L, integer(get(l, "layer")) + 1);
  const size_t n = static_cast<size_t>(L) * E;
  svg::Grid g{L,
              E,
              std::vector<double>(n, svg::kNaN),
              std::vector<std::string>(tooltips ? n : 0),
              "layer",
              "expert"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : layers) {
    const int layer = integer(get(l, "layer"));
    if (layer < 0) continue;
    const json& load = get(l, "expert_load");
    for (int e = 0; e < E && load.is_array() && e < static_cast<int>(load.size()); ++e) {
      const size_t i = static_cast<size_t>(layer) * E + e;
      g.values[i] = json_double(load[e]);
      if (tooltips)
        g.titles[i] = "layer " + std::to_string(layer) + " expert " + std::to_string(e) + ": " +
                      num(g.values[i]);
    }
    rows.push_back({cell(get(l, "layer")), cell(get(l, "router_entropy")),
                    cell(get(l, "router_entropy_normalised")), cell(get(l, "topk_agreement"))});
  }
  return "<h3>Mixture of experts</h3><p>top-" + cell(get(m, "n_experts_used")) + " of " +
         std::to_string(E) +
         " experts per token; topk_agreement: mean share of the k most loaded experts two "
         "windows have in common (– with one window)</p><div class=\"row\">" +
         figure(svg::heatmap(g), "<b>expert_load</b> — share of the token × k routing slots") +
         table({"layer", "router_entropy (nats)", "/ ln(n_experts)", "topk_agreement"}, rows) +
         "</div>";
}

// One run's heads; the primary run open, the others folded.
std::string run_section(const json& run, bool primary, bool tooltips,
                        const std::string& view_href) {
  // The viewer holds the BOS-on and BOS-off runs of the first window.
  const std::string bos = str(get(run, "bos"));
  const std::string href = bos == "on" || bos == "off" ? view_href : std::string();
  int dormant = 0, total = 0;
  for (const auto& h : get(run, "heads"))
    dormant += json_double(get(h, "z_norm_layer_ratio")) < 0.1, ++total;
  return std::string("<details") + (primary ? " open" : "") + "><summary>" + run_name(run) + " — " +
         cell(get(run, "windows")) + " windows, sink_rate " + cell(get(run, "sink_rate")) +
         ", ppl " + cell(get(run, "ppl")) + "</summary>" +
         (tooltips ? "" : "<p>No per-cell values here (large model): see heads.csv.</p>") +
         head_heatmaps(run, tooltips) +
         "<h3>Top sink heads</h3><p>highest bos_sink_score (mean ± std over windows)" +
         (href.empty() ? std::string()
                       : "; <i>view</i> opens the head in the attention viewer (the first "
                         "window, <code>" +
                             escape(href) + "</code>)") +
         "</p>" +
         head_table(run, "bos_sink_score", true,
                    {"bos_sink_score", "bos_attention_mean_q1", "first_k_mass", "top_key",
                     "top_key_score", "entropy_mean_q1"},
                    href) +
         "<h3>Dormant heads</h3><p>lowest z_norm_layer_ratio (AHON-LN); " +
         std::to_string(dormant) + " of " + std::to_string(total) + " heads below 0.1</p>" +
         head_table(run, "z_norm_layer_ratio", false,
                    {"z_norm_layer_ratio", "z_norm_mean", "contrib_norm_mean", "bos_sink_score",
                     "entropy_mean_q1"}) +
         "<div class=\"row\">" + pattern(run) + massive(run) + "</div>" + moe(run, tooltips) +
         "</details>";
}

// Heatmap cells (heads × runs) up to which every run's heatmaps get tooltips.
constexpr size_t kMaxTooltipCells = 4096;

}  // namespace

std::string render_analysis_report(const nlohmann::json& analysis, const nlohmann::json& run_info,
                                   const std::string& extra_html, const std::string& view_href) {
  const json& runs = get(analysis, "runs");
  std::vector<int> ctxs;
  for (const auto& r : runs)
    if (std::find(ctxs.begin(), ctxs.end(), integer(get(r, "ctx"))) == ctxs.end())
      ctxs.push_back(integer(get(r, "ctx")));

  std::string out =
      svg::page_start("sinkscope report") + header(analysis, run_info) + summary(analysis);
  if (runs.is_array() && !runs.empty()) {
    out += layer_curves(runs, ctxs) + bos_comparison(runs, ctxs) + stability(analysis);
    // The first BOS-on run first and open. Per-cell tooltips in every run's heatmaps unless
    // there are too many cells in all: then in the first run only (file size).
    size_t primary = 0;
    for (size_t i = runs.size(); i-- > 0;)
      if (get(runs[i], "bos") == "on") primary = i;
    const bool all_tooltips = get(runs[primary], "heads").size() * runs.size() <= kMaxTooltipCells;
    out += "<h2>Heads per run</h2><p>Hover a cell for its value (mean ± std over windows).</p>" +
           run_section(runs[primary], true, true, view_href);
    for (size_t i = 0; i < runs.size(); ++i)
      if (i != primary) out += run_section(runs[i], false, all_tooltips, view_href);
  }
  return out + extra_html + "</body></html>\n";
}

}  // namespace ss
