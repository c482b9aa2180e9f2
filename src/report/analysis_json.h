#pragma once
// The analysis document (analysis.json, heads.json and what the HTML report reads) from the
// typed result.
#include <nlohmann/json.hpp>

#include "analysis/result.h"

namespace ss {

nlohmann::json to_json(const AnalysisResult& result);

}  // namespace ss
