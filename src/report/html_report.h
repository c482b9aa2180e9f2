#pragma once
// The self-contained HTML report of an analysis run (inline SVG and CSS, no network).
#include <nlohmann/json.hpp>
#include <string>

namespace ss {

// analysis: the document analyze() returns (see analysis/analyze.h and analysis.json);
// run_info: what run.json holds (command, model, options, timings); extra_html: sections appended
// at the end (analyze --cache: report/stream_sinks_files.h).
std::string render_analysis_report(const nlohmann::json& analysis, const nlohmann::json& run_info,
                                   const std::string& extra_html = {});

}  // namespace ss
