#pragma once
// The analysis document (analysis.json, heads.json and what the HTML report reads) from the
// typed result.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/result.h"

namespace ss {

nlohmann::json to_json(const AnalysisResult& result);

// heads.csv, layers.csv and massive.csv before formatting: the rows of every run of a document
// (layers' rows gain their run's ctx and bos) and the columns in file order.
struct AnalysisTable {
  std::vector<std::string> columns;
  nlohmann::json rows = nlohmann::json::array();
};
struct AnalysisTables {
  AnalysisTable heads, layers, massive;
};
AnalysisTables analysis_tables(const nlohmann::json& doc);

}  // namespace ss
