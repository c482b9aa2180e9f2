#include "report/analysis_json.h"

#include <cmath>

namespace ss {

namespace {

using json = nlohmann::json;

json pattern_json(const HeadPattern& p) {
  return {{"layer", p.layer}, {"head", p.head}, {"size", p.rows.size()}, {"rows", p.rows}};
}

json head_json(const AnalysisRun& run, const HeadResult& h) {
  json row{{"ctx", run.ctx},
           {"bos", run.bos},
           {"layer", h.layer},
           {"head", h.head},
           {"windows", run.windows}};
  const auto& stats = statistics();
  for (size_t s = 0; s < stats.size(); ++s) {
    const std::string name(stats[s].name);
    if (stats[s].aggregate == Aggregate::Mode) {
      row[name] = static_cast<int>(h.mean[s]);  // an index
      continue;
    }
    row[name] = h.mean[s];
    row[name + "_std"] = h.stddev[s];
  }
  row["is_sink_head"] = h.is_sink;
  row["is_sink_head_0.8"] = h.is_sink_08;
  return row;
}

json layer_json(const LayerResult& l) {
  json row{{"layer", l.layer}};
  const auto& stats = statistics();
  for (size_t s = 0; s < stats.size(); ++s)
    if (stats[s].aggregate == Aggregate::Mean) row[std::string(stats[s].name)] = l.mean[s];
  row["sink_rate"] = l.sink_rate;
  row["sink_rate_0.8"] = l.sink_rate_08;
  row["sink_rate_top_key"] = l.sink_rate_top_key;
  return row;
}

json massive_json(const AnalysisRun& run, const MassiveEntry& e) {
  return {{"ctx", run.ctx},
          {"bos", run.bos},
          {"layer", e.layer},
          {"rank", e.rank},
          {"value", e.value},
          {"abs", std::abs(e.value)},
          {"window", e.window},
          {"pos", e.pos},
          {"channel", e.channel},
          {"token", e.token},
          {"median_abs", e.median_abs},
          {"ratio", e.ratio()},
          {"massive", e.massive()}};
}

json moe_json(const MoeResult& m) {
  json layers = json::array();
  for (const MoeLayerResult& l : m.layers)
    layers.push_back({{"layer", l.layer},
                      {"router_entropy", l.router_entropy},
                      {"router_entropy_normalised", l.router_entropy_normalised},
                      {"expert_load", l.expert_load},
                      {"topk_agreement", l.topk_agreement ? json(*l.topk_agreement) : json()}});
  return {{"n_experts", m.n_experts},
          {"n_experts_used", m.n_experts_used},
          {"tokens", m.tokens},
          {"windows", m.windows},
          {"layers", std::move(layers)}};
}

json run_json(const AnalysisRun& run) {
  json heads = json::array(), layers = json::array(), massive = json::array(),
       dumps = json::array();
  for (const auto& h : run.heads) heads.push_back(head_json(run, h));
  for (const auto& l : run.layers) layers.push_back(layer_json(l));
  for (const auto& e : run.massive) massive.push_back(massive_json(run, e));
  for (const auto& d : run.dumps) dumps.push_back(pattern_json(d));
  json out = {{"ctx", run.ctx},
              {"bos", run.bos},
              {"first_token_id", run.first_token_id},
              {"windows", run.windows},
              {"tokens", run.tokens},
              {"nll_mean", run.nll_mean ? json(*run.nll_mean) : json()},
              {"ppl", run.nll_mean ? json(std::exp(*run.nll_mean)) : json()},
              {"sink_rate", run.sink_rate},
              {"sink_rate_0.8", run.sink_rate_08},
              {"sink_rate_top_key", run.sink_rate_top_key},
              {"heads", std::move(heads)},
              {"layers", std::move(layers)},
              {"massive", std::move(massive)},
              {"strongest_sink_pattern", pattern_json(run.strongest_sink)},
              {"dumps", std::move(dumps)}};
  if (run.learned_vs_bos)
    out["learned_sink_vs_bos_spearman"] = {{"all", run.learned_vs_bos->all},
                                           {"sliding", run.learned_vs_bos->sliding},
                                           {"full", run.learned_vs_bos->full}};
  if (run.moe) out["moe"] = moe_json(*run.moe);
  return out;
}

}  // namespace

json to_json(const AnalysisResult& r) {
  json runs = json::array(), stability = json::array();
  for (const auto& run : r.runs) runs.push_back(run_json(run));
  for (const auto& s : r.stability)
    stability.push_back(
        {{"bos", s.bos}, {"ctx_a", s.ctx_a}, {"ctx_b", s.ctx_b}, {"spearman", s.spearman}});
  std::vector<std::string> names;
  for (const auto& s : statistics()) names.emplace_back(s.name);
  json model = {{"arch", r.arch},
                {"n_layers", r.n_layers},
                {"n_heads", r.n_heads},
                {"n_kv_heads", r.n_kv_heads},
                {"head_dim", r.head_dim},
                {"dim", r.dim},
                {"vocab_size", r.vocab_size}};
  // Per-layer head counts: which rows of "heads" are absent heads.
  if (!r.heads_per_layer.empty()) model["n_heads_per_layer"] = r.heads_per_layer;
  return {{"model", std::move(model)},
          {"stat_names", names},
          {"eps", r.eps},
          {"sink_tokens", r.sink_tokens},
          {"runs", std::move(runs)},
          {"stability", std::move(stability)},
          {"tokens_processed", r.tokens_processed}};
}

AnalysisTables analysis_tables(const nlohmann::json& doc) {
  AnalysisTables t;
  t.heads.columns = {"ctx", "bos", "layer", "head", "windows"};
  t.layers.columns = {"ctx", "bos", "layer", "sink_rate", "sink_rate_0.8", "sink_rate_top_key"};
  for (const Statistic& stat : statistics()) {
    const std::string name(stat.name);
    t.heads.columns.push_back(name);
    if (stat.aggregate == Aggregate::Mean) {
      t.heads.columns.push_back(name + "_std");
      t.layers.columns.push_back(name);
    }
  }
  t.heads.columns.push_back("is_sink_head");
  t.heads.columns.push_back("is_sink_head_0.8");
  t.massive.columns = {"ctx", "bos",     "layer", "rank",       "value", "abs",    "window",
                       "pos", "channel", "token", "median_abs", "ratio", "massive"};
  for (const auto& run : doc["runs"]) {
    for (const auto& h : run["heads"]) t.heads.rows.push_back(h);
    for (auto l : run["layers"]) {
      l["ctx"] = run["ctx"];
      l["bos"] = run["bos"];
      t.layers.rows.push_back(std::move(l));
    }
    for (const auto& m : run["massive"]) t.massive.rows.push_back(m);
  }
  return t;
}

}  // namespace ss
