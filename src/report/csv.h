#pragma once
// CSV text from rows of JSON objects: one column per listed key; numbers with 9 significant
// digits (floats round-trip), strings quoted when they need it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ss {

std::string to_csv(const nlohmann::json& rows, const std::vector<std::string>& columns);

// A JSON number as a double; NaN for null or anything else (a statistic left out).
double json_double(const nlohmann::json& v);

}  // namespace ss
