#pragma once
// Writes a model (and its tokenizer vocabulary) as a GGUF file of architecture `llama` that
// sinkscope and llama.cpp load. Rotary convention needs no change: see rope_adjacent().
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

namespace ss {

// weight_type: dtype of the 2-D weight matrices (F32, F16, BF16 or Q8_0; nullopt keeps each
// tensor's own type); norms stay F32.
// extra: further metadata (e.g. the pruned head set), written after the standard keys.
void write_llama_gguf(const Model& model, const Vocab& vocab, const std::string& path,
                      std::optional<DType> weight_type = DType::F32, const std::string& name = "",
                      const std::vector<std::pair<std::string, GgufValue>>& extra = {});

}  // namespace ss
