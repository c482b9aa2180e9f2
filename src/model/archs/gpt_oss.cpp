// gpt-oss (gpt-oss-20b, -120b): a learned sink logit per head in every attention softmax
// (attn_sinks: one more column no value follows), q/k/v/o with biases and GQA, sliding-window
// (128) and full layers alternating from layer 0, NEOX rope with YaRN scaling, RMSNorm, and a
// mixture of experts instead of the FFN: a router with bias picks the top-k experts on its raw
// logits and weighs them by a softmax over those k; each expert is a clamped SwiGLU
// ((clamp(up, ±7) + 1) · g · σ(1.702 g), g = min(gate, 7)) with biases. The pre-MoE norm is
// GGUF post_attention_norm. Facts: llama.cpp src/models/openai-moe.cpp, llama-graph.cpp
// (build_moe_ffn, build_attn_mha), ggml's soft_max with sinks and swiglu_oai; transformers'
// modeling_gpt_oss.py and GptOssConfig.
#include <cmath>

#include "model/arch.h"

namespace ss {

namespace {

void synth_shape(ModelConfig& c, bool tiny) {
  c.head_dim *= 2;  // q_dim ≠ dim, as in gpt-oss (64 heads of 64 over 2880)
  c.n_experts = 4;
  c.n_experts_used = 2;
  c.sliding_window = tiny ? 8 : 64;  // shorter than a test prompt
  c.rope_theta = 150000.0f;
  // YaRN over four times an original context the test prompts exceed only with --ctx.
  c.yarn_factor = 4.0f;
  c.yarn_orig_ctx = c.max_seq_len / 4;
  c.rope_attn_factor = static_cast<float>(0.1 * std::log(4.0) + 1.0);
}

}  // namespace

extern const ArchSpec kGptOssArch;
const ArchSpec kGptOssArch = {
    .name = "gpt-oss",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = true,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = true,
    .global_every = 2,  // layer 0 slides, layer 1 is full, ...
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"gpt_oss"},
    .hf_write_type = nullptr,  // Hugging Face folders: not yet (MXFP4 blocks, interleaved gate/up)
    .hf_class = "GptOssForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "post_attention_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = true,
    .hf_writes_use_sliding_window = false,
    .hf_defaults = {},
    .hf_read = nullptr,
    .hf_write = nullptr,
    .synth_shape = synth_shape,
    .synth_tied = false,
    .attn_out_bias = true,
    .attn_sinks = true,
    .moe = true,
    .gguf_ffn_norm = "post_attention_norm.weight",
};

}  // namespace ss
