// sinkscope convert: llama2.c checkpoint, GGUF or Hugging Face folder (+ tokenizer) -> GGUF, or
// any of them -> a Hugging Face folder (--format safetensors).
#include <cstdio>
#include <fstream>

#include "base/error.h"
#include "cli/common.h"
#include "format/gguf.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"

namespace ss::cli {

namespace {
struct ConvertArgs : CommonArgs {
  std::string out;
  std::string dtype = "f32";
  std::string format = "gguf";
  int shards = 1;
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
  cmd->add_option("-o,--out", a->out, "Output GGUF file (a folder with --format safetensors)")
      ->required();
  cmd->add_option("--format", a->format,
                  "gguf, or safetensors: a Hugging Face folder (config.json, model.safetensors, "
                  "the model folder's or --tokenizer's tokenizer.json when there is one)")
      ->capture_default_str();
  cmd->add_option("--shards", a->shards, "safetensors: number of files (> 1 adds the index)")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--dtype", a->dtype, "Type of the weight matrices: f32, f16, bf16, q8_0")
      ->capture_default_str();
  cmd->callback([a] {
    DType type = parse_dtype(a->dtype);
    require(a->format == "gguf" || a->format == "safetensors", "--format",
            "unknown format '" + a->format + "' (gguf, safetensors)");
    Model model = load_model(a->model);
    if (a->format == "safetensors") {
      require(type != DType::Q8_0, "--dtype", "safetensors holds f32, f16 or bf16");
      HfWriteOptions o;
      o.weight_type = type;
      o.shards = a->shards;
      auto ends_with_json = [](const std::string& s) {
        return s.size() >= 5 && s.compare(s.size() - 5, 5, ".json") == 0;
      };
      if (ends_with_json(a->tokenizer))
        o.tokenizer_json = a->tokenizer;
      else if (a->tokenizer.empty() && is_model_dir(a->model) &&
               std::ifstream(a->model + "/tokenizer.json"))
        o.tokenizer_json = a->model + "/tokenizer.json";
      write_hf_model(model, a->out, o);
      if (!a->quiet) std::fprintf(stderr, "wrote %s\n", a->out.c_str());
      return;
    }
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
