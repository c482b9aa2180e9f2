#pragma once
// Writes a model (and its tokenizer) as a GGUF file of its own architecture (llama, qwen2,
// qwen3, gemma3) that sinkscope and llama.cpp load. GGUF `llama` Q/K rows are in the
// adjacent-pair rotary order sinkscope runs, so no permutation is needed: see rope().
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

namespace ss {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// tokenizer.ggml.* keys describing a vocabulary.
GgufMetadata vocab_metadata(const Vocab& vocab);
// Every tokenizer.* key of a GGUF file as it is (merges, pre-tokenizer, special ids, ...).
GgufMetadata tokenizer_metadata(const GgufFile& gguf);

// One tensor write_model_gguf writes: its GGUF name, shape (a fused tensor's whole shape), the
// dtype the model holds it in, and whether it is a weight matrix rather than a norm or bias.
struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;
  DType type;
  bool matrix;
};
// Every tensor of the file write_model_gguf makes of `model`, in file order.
std::vector<GgufTensorInfo> model_gguf_tensors(const Model& model);

// The dtype each tensor is written in, chosen from its GgufTensorInfo.
using TensorTypeFn = std::function<DType(const GgufTensorInfo&)>;

// type_of: each tensor's written dtype (any type quantize_row writes).
// tokenizer: the tokenizer.* keys; extra: further metadata (e.g. the pruned head set), written
// after the standard keys (a key of both takes extra's value).
void write_model_gguf(const Model& model, const GgufMetadata& tokenizer, const std::string& path,
                      const TensorTypeFn& type_of, const std::string& name,
                      const GgufMetadata& extra = {});

// The same with one dtype for every weight matrix: weight_type (nullopt keeps each tensor's own
// type); norms, biases and rope frequencies are written as F32.
void write_model_gguf(const Model& model, const GgufMetadata& tokenizer, const std::string& path,
                      std::optional<DType> weight_type = DType::F32, const std::string& name = "",
                      const GgufMetadata& extra = {});

// write_model_gguf with the tokenizer of `vocab` (the name predates the other architectures).
void write_llama_gguf(const Model& model, const Vocab& vocab, const std::string& path,
                      std::optional<DType> weight_type = DType::F32, const std::string& name = "",
                      const std::vector<std::pair<std::string, GgufValue>>& extra = {});

}  // namespace ss
