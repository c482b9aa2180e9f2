#pragma once
// One multiple-choice task's result as `sinkscope eval --json` prints it (and the Python module's
// m.eval returns it).
#include <nlohmann/json.hpp>
#include <string>

#include "eval/mc_eval.h"
#include "eval/mc_task.h"

namespace ss {

// {"task", "file", "format", "n", "acc", "acc_stderr", "truncated", then "ppl" and "ppl_token"
// for a cloze task or "acc_norm" and "acc_norm_stderr"}.
nlohmann::json mc_result_json(const McResult& r, const McTask& t, const std::string& file);

}  // namespace ss
