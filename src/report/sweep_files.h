#pragma once
// A pruning sweep's files: each point as points/<criterion>@<ratio>.json (read back on resume),
// and the whole sweep as sweep.json and sweep.csv (report/sweep_report.h draws report.html).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "prune/sweep_result.h"

namespace ss {

nlohmann::json to_json(const SweepPoint& p);
// A point file's contents; nullopt when they are not a point (the point is then computed again).
std::optional<SweepPoint> sweep_point_from_json(const nlohmann::json& j);
// {"scope", "mode", "columns", "points"}
nlohmann::json to_json(const SweepResult& r);
std::string sweep_csv(const SweepResult& r);

}  // namespace ss
