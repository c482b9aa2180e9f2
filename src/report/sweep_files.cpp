#include "report/sweep_files.h"

#include "report/csv.h"

namespace ss {

nlohmann::json to_json(const SweepPoint& p) {
  nlohmann::json heads = nlohmann::json::array();
  for (auto [l, h] : p.heads) heads.push_back({l, h});
  nlohmann::json j = {{"criterion", p.criterion}, {"ratio", p.ratio},
                      {"heads", heads},           {"heads_pruned", p.heads.size()},
                      {"layers", p.layers},       {"layers_pruned", p.layers.size()}};
  for (const auto& [name, value] : p.metrics) j[name] = value;
  for (const auto& [name, value] : p.cost) j[name] = value;
  return j;
}

std::optional<SweepPoint> sweep_point_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("criterion") || !j["criterion"].is_string() ||
      !j.contains("ratio") || !j["ratio"].is_number() || !j.contains("heads") ||
      !j["heads"].is_array())
    return std::nullopt;
  SweepPoint p;
  p.criterion = j["criterion"].get<std::string>();
  p.ratio = j["ratio"].get<double>();
  for (const auto& lh : j["heads"]) {
    if (!lh.is_array() || lh.size() != 2 || !lh[0].is_number_integer() ||
        !lh[1].is_number_integer())
      return std::nullopt;
    p.heads.emplace_back(lh[0].get<int>(), lh[1].get<int>());
  }
  if (j.contains("layers")) {  // absent in points written before layer sweeps
    if (!j["layers"].is_array()) return std::nullopt;
    for (const auto& l : j["layers"]) {
      if (!l.is_number_integer()) return std::nullopt;
      p.layers.push_back(l.get<int>());
    }
  }
  for (const auto& [key, value] : j.items()) {
    if (key.find('.') == std::string::npos) continue;  // the metrics are "<eval>.<metric>"
    if (!value.is_number()) return std::nullopt;
    const bool cost = key.rfind("cost.", 0) == 0 || key.rfind("llama.", 0) == 0;
    (cost ? p.cost : p.metrics)[key] = value.get<double>();
  }
  return p;
}

nlohmann::json to_json(const SweepResult& r) {
  nlohmann::json points = nlohmann::json::array();
  for (const SweepPoint& p : r.points) points.push_back(to_json(p));
  return {{"unit", r.layers ? "layer" : "head"},
          {"scope", prune_scope_name(r.scope)},
          {"mode", r.mode == HeadAction::Mean ? "mean" : "zero"},
          {"columns", r.columns()},
          {"points", points}};
}

std::string sweep_csv(const SweepResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SweepPoint& p : r.points) rows.push_back(to_json(p));
  return to_csv(rows, r.columns());
}

}  // namespace ss
