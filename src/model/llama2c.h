#pragma once
// llama2.c checkpoints: the legacy layout (28-byte header of 7 int32; a negative vocab_size means
// a separate classifier follows the weights) and the version-1 "ak42" layout (256-byte header).
// Weights are f32 and are used in place from the file mapping.
#include <string>

#include "model/model.h"

namespace ss {

Model load_llama2c(const std::string& path);

}  // namespace ss
