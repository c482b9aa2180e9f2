// qwen3 (Qwen 3 dense): the llama block with an RMSNorm of every q and k head before RoPE, NEOX
// RoPE, and a head_dim that may differ from dim / n_heads. Facts: llama.cpp
// src/llama-model.cpp (LLM_ARCH_QWEN3) and transformers' modeling_qwen3.py / Qwen3Config.
#include "model/arch.h"

namespace ss {

namespace {
void synth_shape(ModelConfig& c, bool) {
  c.norm_eps = 1e-6f;
  c.rope_theta = 1e6f;
  c.head_dim *= 2;  // wider than dim / n_heads, as the real models
}
}  // namespace

extern const ArchSpec kQwen3Arch;
const ArchSpec kQwen3Arch = {
    .name = "qwen3",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = false,
    .qk_norm = true,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = false,
    .global_every = 0,
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"qwen3"},
    .hf_write_type = "qwen3",
    .hf_class = "Qwen3ForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "post_attention_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = true,
    .hf_writes_use_sliding_window = true,
    .hf_defaults = {},
    .hf_read = nullptr,
    .hf_write = nullptr,
    .synth_shape = synth_shape,
    .synth_tied = true,
};

}  // namespace ss
