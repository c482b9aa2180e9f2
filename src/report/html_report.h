#pragma once
// The self-contained HTML report of an analysis run (inline SVG and CSS, no network).
#include <nlohmann/json.hpp>
#include <string>

namespace ss {

// analysis: the document analyze() returns (see analysis/analyze.h and analysis.json);
// run_info: what run.json holds (command, model, options, timings).
std::string render_analysis_report(const nlohmann::json& analysis, const nlohmann::json& run_info);

}  // namespace ss
