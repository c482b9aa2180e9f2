#pragma once
// Writes the files of an analysis run directory from the typed analysis result: heads.csv,
// heads.json, layers.csv, massive.csv, stability.csv, moe.csv (models with experts), attention
// dumps, analysis.json and report.html (with extra_html appended). Every file is written
// atomically.
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/result.h"

namespace ss {

// view_href: as render_analysis_report's (report/html_report.h).
void write_analysis_files(const std::string& dir, const AnalysisResult& result,
                          const nlohmann::json& run_info, const std::string& extra_html = {},
                          const std::string& view_href = {});

}  // namespace ss
