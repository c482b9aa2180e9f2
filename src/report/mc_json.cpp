#include "report/mc_json.h"

namespace ss {

nlohmann::json mc_result_json(const McResult& r, const McTask& t, const std::string& file) {
  nlohmann::json j{{"task", r.task},
                   {"file", file},
                   {"format", t.format},
                   {"n", r.n},
                   {"acc", r.acc},
                   {"acc_stderr", r.acc_stderr},
                   {"truncated", r.truncated}};
  if (r.is_cloze) {
    j["ppl"] = r.ppl;
    j["ppl_token"] = r.ppl_token;
  } else {
    j["acc_norm"] = r.acc_norm;
    j["acc_norm_stderr"] = r.acc_norm_stderr;
  }
  return j;
}

}  // namespace ss
