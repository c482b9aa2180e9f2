#pragma once
// The Hugging Face tensor names and layouts of an architecture whose checkpoints do not follow
// the llama family's (model.embed_tokens, model.layers.N.self_attn.q_proj, ...): GPT-2,
// GPT-NeoX, Phi-3. A spec points at one of these; hf_load.cpp and hf_save.cpp read and write by
// it. Names follow transformers' modeling files and llama.cpp's gguf-py tensor_mapping.
#include <vector>

#include "model/model.h"

namespace ss {

struct HfLayout {
  // config.json key names where the config class calls them otherwise (GPT-2's n_embd, ...).
  const char* hidden_size = "hidden_size";
  const char* intermediate_size = "intermediate_size";
  const char* num_hidden_layers = "num_hidden_layers";
  const char* num_attention_heads = "num_attention_heads";
  const char* max_position_embeddings = "max_position_embeddings";
  const char* norm_eps = "rms_norm_eps";
  const char* rope_theta = "rope_theta";

  // Tensors outside the layers; `final_norm` is a prefix (".weight", ".bias" follow).
  const char* embed = "model.embed_tokens.weight";
  const char* positions = nullptr;  // learned position embeddings (GPT-2)
  const char* final_norm = "model.norm";
  const char* lm_head = "lm_head.weight";

  // Layer tensors under `layers` + N + ".": each file tensor and the layer tensors it holds, as
  // consecutive row blocks (several for a fused tensor).
  const char* layers = "model.layers.";
  struct Entry {
    const char* name;
    std::vector<Tensor LayerWeights::*> parts;
  };
  std::vector<Entry> layer;

  bool conv1d = false;        // matrices stored [in, out], transposed (GPT-2's Conv1D)
  bool qkv_per_head = false;  // the fused qkv rows are [head][q, k, v][head_dim] (GPT-NeoX)
};

}  // namespace ss
