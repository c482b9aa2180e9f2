#pragma once
// A trajectory's files: trajectory.csv (a row per checkpoint), trajectory_heads.csv (a row per
// checkpoint and head), trajectory.json and report.html (curves over training steps).
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/trajectory_result.h"

namespace ss {

nlohmann::json to_json(const TrajectoryResult& r);
// The four files in dir (created when missing), each written atomically.
void write_trajectory(const std::string& dir, const TrajectoryResult& r);

}  // namespace ss
