#pragma once
// What `sinkscope compare` writes: compare.json (the summary, and with --stats the sink drift
// per head), compare.csv (per scored token: KL, top-1 agreement, both NLLs), compare_heads.csv
// (with --stats: per head and statistic, both values and Δ) and report.html.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analysis/sink_drift.h"
#include "eval/compare.h"

namespace ss {

struct CompareInfo {
  std::string model_a, model_b, text;
  WindowPlan plan;
};

nlohmann::json compare_json(const CompareInfo& info, const CompareSummary& summary,
                            const std::optional<SinkDrift>& drift);

// Writes the files into dir (created if needed), each atomically; run_info goes into
// compare.json as "run".
void write_compare_files(const std::string& dir, const CompareInfo& info,
                         const CompareResult& result, const std::optional<SinkDrift>& drift,
                         const nlohmann::json& run_info);

}  // namespace ss
