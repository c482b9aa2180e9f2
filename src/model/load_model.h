#pragma once
// Opens a model or tokenizer from whatever file the user points at.
#include <memory>
#include <string>

#include "model/model.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ss {

class GgufFile;

// GGUF, llama2.c checkpoint (chosen by the file's first bytes), or a Hugging Face folder
// (config.json + safetensors, io/hf_model.h) when path is a directory.
Model load_model(const std::string& path);
Model load_gguf_model(const std::string& path);

// The tokenizer from tokenizer_path (llama2.c .bin or GGUF) if given, else from the model's GGUF
// metadata; a llama2.c model without --tokenizer is an error.
SpmTokenizer load_tokenizer(const std::string& model_path, const std::string& tokenizer_path);

// The same for commands that only encode and decode text, any tokenizer algorithm: GGUF by
// tokenizer.ggml.model (llama: SentencePiece, gpt2: byte-level BPE), a Hugging Face
// tokenizer.json (a model folder's own by default), or a llama2.c tokenizer .bin. With
// model_vocab > 0, a tokenizer with more tokens than the model's embedding rows is an InputError
// (ids it gives would have no row); fewer is allowed (Hugging Face pads embeddings).
std::unique_ptr<Tokenizer> load_text_tokenizer(const std::string& model_path,
                                               const std::string& tokenizer_path,
                                               int model_vocab = 0);

bool is_gguf_file(const std::string& path);

}  // namespace ss
