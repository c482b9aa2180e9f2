#include "cli/common.h"

namespace ss::cli {

void add_common(CLI::App* cmd, CommonArgs& a, bool with_tokenizer) {
  cmd->add_option("-m,--model", a.model, "Model file: GGUF, or a llama2.c checkpoint (.bin)")
      ->required();
  if (with_tokenizer)
    cmd->add_option("--tokenizer", a.tokenizer,
                    "Tokenizer file (llama2.c tokenizer .bin or GGUF); default: the model's GGUF "
                    "metadata");
  cmd->add_option("--threads", a.threads, "Worker threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--quiet", a.quiet, "No progress output on stderr");
}

}  // namespace ss::cli
