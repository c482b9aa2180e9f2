#pragma once
// What `analyze --mechanism` adds to its folder (analysis/sink_mechanism.h): mechanism.json (every
// run's result, the quadratic form with its eigenvalues, eigenvector and the spike's input),
// mechanism.csv (per run and layer), mechanism_keys.csv (per run, layer and KV head: the key
// cosines) and a section of report.html.
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/result.h"

namespace ss {

nlohmann::json mechanism_json(const AnalysisResult& result);
// The report section (HTML) from the JSON document; empty when no run has a mechanism result.
std::string mechanism_html(const nlohmann::json& doc);
// mechanism.json, mechanism.csv and mechanism_keys.csv into dir, atomically.
void write_mechanism_files(const std::string& dir, const nlohmann::json& doc);

}  // namespace ss
