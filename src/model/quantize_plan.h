#pragma once
// llama.cpp's quantized file types (llama-quantize's Q4_K_M, ...) and the dtype each tensor of a
// model gets in one: the rules of llama.cpp's src/llama-quant.cpp, restated (docs/quantize.md).
#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "model/config.h"
#include "model/model_export.h"

namespace ss {

struct FileType {
  const char* name;      // as llama-quantize spells it
  uint32_t llama_ftype;  // general.file_type: llama.cpp's LLAMA_FTYPE_MOSTLY_* value
  DType base;            // the type of most weight matrices
};

// Every file type `sinkscope quantize` writes.
const std::vector<FileType>& file_types();
// The file type of that name (any case); nullptr if there is none.
const FileType* find_file_type(const std::string& name);
// "Q8_0, Q4_0, ..." for error messages.
std::string file_type_names();

// The dtype of one tensor in the quantized file; `wanted` is the rules' choice before the
// fallback for rows its blocks do not divide (equal to `type` when none was needed).
struct PlannedTensor {
  std::string name;
  DType type;
  DType wanted;
};

// The dtype of each of `tensors` (a model's GGUF tensors, model_gguf_tensors) in file type `ft`,
// in the order given. Throws InputError(path, ...) naming the tensor where llama.cpp refuses too:
// rows that a legacy type's 32-value blocks do not divide (llama.cpp defines no fallback there).
std::vector<PlannedTensor> quantize_plan(const FileType& ft,
                                         const std::vector<GgufTensorInfo>& tensors,
                                         const ModelConfig& c, const std::string& path);

}  // namespace ss
