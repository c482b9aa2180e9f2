// llama (Llama 1-3, TinyLlama, stories*, sinkscope's own models): the block every other
// architecture is described against. RMSNorm before attention and FFN, adjacent-pair RoPE
// (optionally with Llama-3's frequency divisors), SwiGLU, no biases. Facts: llama.cpp
// src/llama-model.cpp (LLM_ARCH_LLAMA) and transformers' modeling_llama.py / LlamaConfig.
#include "model/arch.h"

namespace ss {

extern const ArchSpec kLlamaArch;
const ArchSpec kLlamaArch = {
    .name = "llama",
    .rope_style = RopeStyle::Adjacent,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = false,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = true,
    .sliding = false,
    .global_every = 0,
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"llama"},
    .hf_write_type = "llama",
    .hf_class = "LlamaForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "post_attention_layernorm.weight",
    // convert_hf_to_gguf.py's LlamaModel.permute: HF rotates halves, GGUF adjacent pairs.
    .hf_rope_permuted = true,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = true,
    .hf_writes_use_sliding_window = false,
    .hf_defaults = {},
    .hf_read = nullptr,
    .hf_write = nullptr,
    .synth_shape = nullptr,  // the common shape is llama's
    .synth_tied = false,
};

}  // namespace ss
