#include "report/html_report.h"

namespace ss {

// Placeholder until the full report lands: a valid page with the run summary.
std::string render_analysis_report(const nlohmann::json& analysis, const nlohmann::json& run_info) {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>sinkscope report</title></head>"
         "<body><h1>sinkscope analysis</h1><pre>" +
         run_info.dump(2) + "</pre></body></html>\n";
}

}  // namespace ss
