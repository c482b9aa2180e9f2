#pragma once
// The architectures sinkscope runs, and what sets each apart from the llama block. Facts follow
// llama.cpp (src/llama-model.cpp, src/models/gemma3.cpp, src/llama-hparams.cpp) and Hugging Face
// transformers (modeling_qwen2.py, modeling_qwen3.py, modeling_gemma3.py):
//   llama   RMSNorm, adjacent-pair RoPE (optional Llama-3 frequency divisors), SwiGLU.
//   qwen2   + biases on q, k, v; NEOX RoPE.
//   qwen3   + RMSNorm of every q and k head before RoPE; NEOX RoPE; head_dim may differ from
//           dim / n_heads.
//   gemma3  embeddings × sqrt(dim); q/k head norms; RMSNorm after attention and after the FFN
//           too (GGUF stores every Gemma norm weight as 1 + w); GeGLU with tanh GELU; query
//           scale 1/sqrt(head_dim) (27B: 1/sqrt(dim/n_heads)); with a sliding window, 5 of every
//           6 layers slide (rope base 10000, no scaling) and the 6th is global; NEOX RoPE.
#include <string>

#include "model/config.h"

namespace ss {

struct ArchTraits {
  const char* name;
  RopeStyle rope_style;
  FfnAct ffn_act;
  bool qkv_bias;      // attn_{q,k,v}.bias present
  bool qk_norm;       // attn_{q,k}_norm present
  bool post_norms;    // post_attention_norm and post_ffw_norm present
  bool embed_scaled;  // embeddings multiplied by sqrt(dim)
  int swa_pattern;    // with a sliding window, layers per global layer (0: no sliding layers)
};

// nullptr for an architecture sinkscope does not know.
const ArchTraits* find_arch(const std::string& name);
// "llama, qwen2, qwen3, gemma3"
std::string supported_archs();

// Fills the fields the architecture fixes (rope style, activation, embedding and query scale,
// sliding-window pattern) from c.arch, c.dim, c.n_heads, c.head_dim, c.n_layers and
// c.sliding_window. c.arch must be known.
void apply_arch(ModelConfig& c);

}  // namespace ss
