#pragma once
// The self-contained HTML report of an analysis run (inline SVG and CSS, no network).
#include <nlohmann/json.hpp>
#include <string>

namespace ss {

// analysis: the document analyze() returns (see analysis/analyze.h and analysis.json);
// run_info: what run.json holds (command, model, options, timings); extra_html: sections appended
// at the end (analyze --cache: report/stream_sinks_files.h); view_href: the attention viewer of
// the first window beside the report (report/attention_view.h), which the top sink heads link to,
// or "" for none.
std::string render_analysis_report(const nlohmann::json& analysis, const nlohmann::json& run_info,
                                   const std::string& extra_html = {},
                                   const std::string& view_href = {});

}  // namespace ss
