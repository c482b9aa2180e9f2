// sinkscope quantize: an F32/F16/BF16 GGUF -> a GGUF of one of llama.cpp's file types (Q4_K_M,
// ...), each tensor's type chosen by llama.cpp's rules (model/quantize_plan.h), the weights
// quantized by the reference quantizers, the tokenizer and every metadata key kept.
#include <cstdio>
#include <map>
#include <string>

#include "base/error.h"
#include "cli/common.h"
#include "format/gguf.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/quantize_plan.h"

namespace ss::cli {

namespace {

struct QuantizeArgs : CommonArgs {
  std::string out;
  std::string type;
};

// Every key of the input but the tokenizer's (passed apart) and the two that describe the
// quantization, which are set anew.
GgufMetadata kept_metadata(const GgufFile& g, const FileType& ft) {
  GgufMetadata out;
  for (const auto& [key, value] : g.metadata())
    if (key.rfind("tokenizer.", 0) != 0 && key != "general.file_type" &&
        key != "general.quantization_version")
      out.emplace_back(key, value);
  out.emplace_back("general.file_type", GgufValue::of_u32(ft.llama_ftype));
  out.emplace_back("general.quantization_version", GgufValue::of_u32(2));  // GGML_QNT_VERSION
  return out;
}

std::string shape_of(const std::vector<int64_t>& ne) {
  std::string s;
  for (int64_t d : ne) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

}  // namespace

void add_quantize(CLI::App& root) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "quantize",
      "Quantize an F32/F16/BF16 GGUF to one of llama.cpp's file types, with its per-tensor rules "
      "(docs/quantize.md)");
  add_common(cmd, *a, false, true);
  cmd->add_option("-o,--out", a->out, "Output GGUF file")->required();
  cmd->add_option("--type", a->type, "File type: " + file_type_names())->required();
  cmd->callback([a] {
    const FileType* ft = find_file_type(a->type);
    if (!ft)
      throw InputError("--type", "unsupported type '" + a->type + "' (" + file_type_names() + ")");
    require(is_gguf_file(a->model), a->model,
            "not a GGUF file: quantize reads GGUF (make one with sinkscope convert)");
    GgufFile g(a->model);
    Model model = load_model(a->model);
    for (const Tensor* t : model.all_tensors())
      require(t->type == DType::F32 || t->type == DType::F16 || t->type == DType::BF16, a->model,
              "tensor " + t->name + " is already " + dtype_name(t->type) +
                  ": quantize from an F32, F16 or BF16 model");

    const std::vector<GgufTensorInfo> tensors = model_gguf_tensors(model);
    const std::vector<PlannedTensor> plan = quantize_plan(*ft, tensors, model.config, a->model);
    std::map<std::string, DType> type_of;
    for (const PlannedTensor& p : plan) type_of[p.name] = p.type;
    if (!a->quiet) {
      for (size_t i = 0; i < plan.size(); ++i) {
        const PlannedTensor& p = plan[i];
        std::fprintf(stderr, "%-32s %-18s %-5s -> %s", p.name.c_str(),
                     shape_of(tensors[i].ne).c_str(), dtype_name(tensors[i].type).c_str(),
                     dtype_name(p.type).c_str());
        if (p.wanted != p.type)
          std::fprintf(stderr, " (rows of %lld: fallback for %s)",
                       static_cast<long long>(tensors[i].ne[0]), dtype_name(p.wanted).c_str());
        std::fputc('\n', stderr);
      }
    }
    write_model_gguf(
        model, tokenizer_metadata(g), a->out,
        [&](const GgufTensorInfo& t) { return type_of.at(t.name); }, "", kept_metadata(g, *ft));
    if (!a->quiet) std::fprintf(stderr, "wrote %s (%s)\n", a->out.c_str(), ft->name);
  });
}

}  // namespace ss::cli
