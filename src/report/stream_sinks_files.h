#pragma once
// What `analyze --cache window:W|sink:K+window:W` adds to its folder: stream_sinks.csv (per
// first-token mode, bin and head, every mean of analysis/stream_sinks.h: bins of the distance
// from the start, equal bins of steps, and the eviction phase), stream_sinks.json (the same with
// per-layer means, each head's migration and slot profile, and the run's settings) and a section
// of report.html.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/stream_sinks.h"

namespace ss {

struct StreamSinksRun {
  std::string bos;  // analyze's first-token mode: "on", "off" or "first-token"
  StreamSinksResult result;
};

// The JSON document; token_text(id) labels tokens (printable, valid UTF-8).
nlohmann::json stream_sinks_json(const std::vector<StreamSinksRun>& runs, int model_ctx,
                                 const std::function<std::string(int)>& token_text);
std::string stream_sinks_csv(const std::vector<StreamSinksRun>& runs);
// The report section (HTML) from the JSON document.
std::string stream_sinks_html(const nlohmann::json& doc);

// stream_sinks.csv and stream_sinks.json into dir, atomically.
void write_stream_sinks_files(const std::string& dir, const std::vector<StreamSinksRun>& runs,
                              const nlohmann::json& doc);

}  // namespace ss
