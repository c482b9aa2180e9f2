#pragma once
// Hugging Face model folders: config.json, tokenizer.json, and model.safetensors or shards listed
// by model.safetensors.index.json (weight_map). model_type llama, qwen2, qwen3 and gemma3 /
// gemma3_text (a multimodal gemma3 config's text_config, language-model tensors only) map onto
// the same Model the GGUF loader builds, doing what llama.cpp's convert_hf_to_gguf.py does:
//   llama   q_proj / k_proj rows (and biases) are permuted from the rotate-half layout of
//           transformers to the adjacent-pair layout that GGUF `llama` and sinkscope's llama
//           rope use; rope_scaling "llama3" becomes rope_freqs divisors, "linear" rope_scale.
//   qwen2, qwen3, gemma3   rotate-half (NEOX) rope as in transformers: rows stay as they are.
//   gemma3  every RMSNorm weight (input/post_attention/pre_feedforward/post_feedforward
//           layernorms, q_norm, k_norm, final norm) is stored as w and applied as (1 + w), so 1
//           is added (GGUF stores 1 + w); query_pre_attn_scalar sets the query scale.
// Matrices stay in the file mapping (F32, F16 or BF16); norms and biases become F32 copies.
#include <optional>
#include <string>

#include "base/dtype.h"
#include "model/llama3_rope.h"
#include "model/model.h"

namespace ss {

// True when path is a directory (a Hugging Face model folder).
bool is_model_dir(const std::string& path);

// Throws InputError("<file>: <what is wrong>") naming the offending file: config.json, the
// index, or the .safetensors file that lacks a tensor or holds one of the wrong shape or dtype.
Model load_hf_model(const std::string& dir);

struct HfWriteOptions {
  // Type of the 2-D weight matrices: F32, F16 or BF16; nullopt keeps each matrix's own type
  // when safetensors can hold it and writes F32 otherwise (quantized GGUF types).
  std::optional<DType> weight_type;
  DType norm_type = DType::F32;  // norms and biases (real checkpoints: the weights' type)
  int shards = 1;                // > 1: model-0000k-of-0000n.safetensors + index
  std::string tokenizer_json;    // copied into the folder when set (with a tokenizer_config.json
                                 // beside it)
  // Parameters of a llama model's rope_freqs for config.json; when absent they are recovered
  // from the divisors (factor, low/high frequency factors, original context), or an error says
  // they cannot be.
  std::optional<Llama3RopeScaling> llama3_rope;
};

// Writes `model` as a Hugging Face folder (created if needed), inverting the load mappings, so
// load_hf_model(dir) runs the same computation. Throws InputError(dir or file, ...).
void write_hf_model(const Model& model, const std::string& dir, const HfWriteOptions& options = {});

}  // namespace ss
