#pragma once
// Opens a model or tokenizer from whatever file the user points at.
#include <string>

#include "model/model.h"
#include "tokenizer/spm_tokenizer.h"

namespace ss {

class GgufFile;

// GGUF (architecture `llama`) or llama2.c checkpoint, chosen by the file's first bytes.
Model load_model(const std::string& path);
Model load_gguf_model(const std::string& path);

// The tokenizer from tokenizer_path (llama2.c .bin or GGUF) if given, else from the model's GGUF
// metadata; a llama2.c model without --tokenizer is an error.
SpmTokenizer load_tokenizer(const std::string& model_path, const std::string& tokenizer_path);

bool is_gguf_file(const std::string& path);

}  // namespace ss
