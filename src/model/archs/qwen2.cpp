// qwen2 (Qwen 1.5, Qwen 2, Qwen 2.5): the llama block with biases on q, k and v, and NEOX
// (rotate-half) RoPE. Facts: llama.cpp src/llama-model.cpp (LLM_ARCH_QWEN2) and transformers'
// modeling_qwen2.py / Qwen2Config.
#include "model/arch.h"

namespace ss {

namespace {
void synth_shape(ModelConfig& c, bool) {
  c.norm_eps = 1e-6f;
  c.rope_theta = 1e6f;
}
}  // namespace

extern const ArchSpec kQwen2Arch;
const ArchSpec kQwen2Arch = {
    .name = "qwen2",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = true,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = false,  // Qwen2Config's use_sliding_window is off in every released model
    .global_every = 0,
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"qwen2"},
    .hf_write_type = "qwen2",
    .hf_class = "Qwen2ForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "post_attention_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = true,
    .hf_defaults = {},
    .hf_read = nullptr,
    .hf_write = nullptr,
    .synth_shape = synth_shape,
    .synth_tied = true,
    .gguf_query_width_is_dim = true,
};

}  // namespace ss
