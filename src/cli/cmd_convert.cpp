// sinkscope convert: llama2.c checkpoint (or GGUF) + tokenizer -> GGUF.
#include <cstdio>

#include "cli/common.h"
#include "io/gguf.h"
#include "io/load_model.h"
#include "io/model_export.h"
#include "util/error.h"

namespace ss::cli {

namespace {
struct ConvertArgs : CommonArgs {
  std::string out;
  std::string dtype = "f32";
};

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::F32;
  if (s == "f16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  if (s == "q8_0") return DType::Q8_0;
  throw InputError("--dtype", "unknown type '" + s + "' (f32, f16, bf16, q8_0)");
}
}  // namespace

void add_convert(CLI::App& root) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* cmd = root.add_subcommand("convert",
                                      "Write a model and its tokenizer as GGUF (the model's "
                                      "architecture; a GGUF keeps its tokenizer)");
  add_common(cmd, *a);
  cmd->add_option("-o,--out", a->out, "Output GGUF file")->required();
  cmd->add_option("--dtype", a->dtype, "Type of the weight matrices: f32, f16, bf16, q8_0")
      ->capture_default_str();
  cmd->callback([a] {
    DType type = parse_dtype(a->dtype);
    Model model = load_model(a->model);
    GgufMetadata tokenizer;
    size_t vocab_size = 0;
    if (a->tokenizer.empty() && is_gguf_file(a->model)) {
      // A GGUF keeps its own tokenizer keys as they are (BPE merges, pre-tokenizer, ...).
      GgufFile g(a->model);
      if (!g.has("tokenizer.ggml.tokens"))
        g.fail("no tokenizer in this file: pass --tokenizer FILE");
      tokenizer = tokenizer_metadata(g);
      vocab_size = g.get_string_array("tokenizer.ggml.tokens").size();
    } else {
      SpmTokenizer tok = load_tokenizer(a->model, a->tokenizer);
      tokenizer = vocab_metadata(tok.vocab());
      vocab_size = tok.vocab().size();
    }
    require(static_cast<int>(vocab_size) == model.config.vocab_size,
            a->tokenizer.empty() ? a->model : a->tokenizer,
            "tokenizer has " + std::to_string(vocab_size) + " tokens, model expects " +
                std::to_string(model.config.vocab_size));
    write_model_gguf(model, tokenizer, a->out, type);
    if (!a->quiet) std::fprintf(stderr, "wrote %s\n", a->out.c_str());
  });
}

}  // namespace ss::cli
