#include "report/analysis_files.h"

#include <filesystem>

#include "analysis/head_stats.h"
#include "analysis/statistics.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "report/analysis_json.h"
#include "report/csv.h"
#include "report/html_report.h"

namespace ss {

void write_analysis_files(const std::string& dir, const AnalysisResult& result,
                          const nlohmann::json& run_info, const std::string& extra_html,
                          const std::string& view_href) {
  const nlohmann::json analysis = to_json(result);
  ensure_output_dir(dir);
  auto path = [&](const std::string& name) { return (std::filesystem::path(dir) / name).string(); };

  const AnalysisTables tables = analysis_tables(analysis);
  nlohmann::json moe = nlohmann::json::array();
  for (const auto& run : analysis["runs"]) {
    if (run.contains("moe"))
      for (const auto& l : run["moe"]["layers"])
        for (size_t e = 0; e < l["expert_load"].size(); ++e)
          moe.push_back({{"ctx", run["ctx"]},
                         {"bos", run["bos"]},
                         {"layer", l["layer"]},
                         {"expert", e},
                         {"load", l["expert_load"][e]}});
    for (const auto& d : run["dumps"]) {
      std::string csv;
      for (const auto& row : d["rows"]) {
        for (size_t k = 0; k < row.size(); ++k) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%s%.9g", k ? "," : "", row[k].get<double>());
          csv += buf;
        }
        csv += "\n";
      }
      write_file_atomic(path("attention_L" + d["layer"].dump() + "_H" + d["head"].dump() + "_ctx" +
                             run["ctx"].dump() + "_bos-" + run["bos"].get<std::string>() + ".csv"),
                        csv);
    }
  }

  write_file_atomic(path("heads.csv"), to_csv(tables.heads.rows, tables.heads.columns));
  write_file_atomic(path("heads.json"), tables.heads.rows.dump(1) + "\n");
  write_file_atomic(path("layers.csv"), to_csv(tables.layers.rows, tables.layers.columns));
  write_file_atomic(path("massive.csv"), to_csv(tables.massive.rows, tables.massive.columns));
  if (!moe.empty())  // models with experts only
    write_file_atomic(path("moe.csv"), to_csv(moe, {"ctx", "bos", "layer", "expert", "load"}));
  write_file_atomic(path("stability.csv"),
                    to_csv(analysis["stability"], {"bos", "ctx_a", "ctx_b", "spearman"}));
  write_file_atomic(path("analysis.json"), analysis.dump() + "\n");
  write_file_atomic(path("run.json"), run_info.dump(2) + "\n");
  write_file_atomic(path("report.html"),
                    render_analysis_report(analysis, run_info, extra_html, view_href));
}

}  // namespace ss
