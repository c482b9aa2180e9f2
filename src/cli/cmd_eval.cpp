// sinkscope eval: zero-shot multiple-choice scoring (placeholder until the evaluator lands).
#include "cli/common.h"
#include "util/error.h"

namespace ss::cli {

void add_eval(CLI::App& root) {
  auto a = std::make_shared<CommonArgs>();
  CLI::App* cmd = root.add_subcommand("eval", "Multiple-choice evaluation (not yet available)");
  add_common(cmd, *a);
  cmd->callback([] { throw InputError("eval", "not implemented yet"); });
}

}  // namespace ss::cli
