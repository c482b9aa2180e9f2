#pragma once
// How the tensors of a Hugging Face llama-family folder map onto LayerWeights, shared by the
// reader (hf_load.cpp) and the writer (hf_save.cpp). Names follow transformers' modeling files
// and llama.cpp's convert_hf_to_gguf.py.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "model/arch.h"
#include "model/model.h"

namespace ss::hf {

std::string join(const std::string& dir, const std::string& name);
// The name of a layer tensor under model.layers.{L}. (nullptr: none in HF folders).
const char* hf_layer_name(Tensor LayerWeights::*m, const ArchSpec& a);
// GGUF-order shape (cols, rows) of a layer tensor, as validate_model checks it.
std::pair<int64_t, int64_t> slot_shape(Tensor LayerWeights::*m, const ModelConfig& c);
// Heads whose rows the llama rope permutation reorders (0: none).
int permuted_heads(Tensor LayerWeights::*m, const ModelConfig& c);
bool is_norm(Tensor LayerWeights::*m);
// gpt-oss's expert stacks and their biases, which model/hf_experts.h lays out.
bool is_expert(Tensor LayerWeights::*m);
// convert_hf_to_gguf.py's LlamaModel.permute (to_hf: its inverse) over rows of row_bytes each.
void permute_rows(const uint8_t* src, uint8_t* dst, size_t row_bytes, int64_t rows, int n_heads,
                  bool to_hf);

// A [rows, cols] matrix of elem-byte values transposed into dst ([cols, rows]): GPT-2's Conv1D
// weights are stored [in, out].
void transpose(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols, size_t elem);
// GPT-NeoX's fused qkv rows [head][q, k, v][head_dim] reordered to [q, k, v][head][head_dim]
// (to_hf: back), rows of row_bytes each.
void qkv_per_head(const uint8_t* src, uint8_t* dst, size_t row_bytes, int n_heads, int head_dim,
                  bool to_hf);

}  // namespace ss::hf
