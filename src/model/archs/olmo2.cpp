// olmo2 (OLMo 2): the llama block with its norms moved after the sublayers. Attention and the FFN
// read the residual stream as it is; their outputs pass an RMSNorm (post_attention_norm,
// post_ffw_norm) before they are added to it. q and k are RMS-normed over the whole projection
// (all heads at once) before RoPE. NEOX RoPE, SwiGLU, no biases. Physical head removal is not
// possible: the q/k norms mix every head. Facts: llama.cpp src/llama-model.cpp (LLM_ARCH_OLMO2,
// NEOX rope) and src/models/olmo2.cpp, transformers' modeling_olmo2.py and Olmo2Config.
#include "model/arch.h"

namespace ss {

namespace {
void synth_shape(ModelConfig& c, bool) {
  c.norm_eps = 1e-6f;
  c.rope_theta = 500000.0f;  // OLMo 2's base
}
}  // namespace

extern const ArchSpec kOlmo2Arch;
const ArchSpec kOlmo2Arch = {
    .name = "olmo2",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = false,
    .qk_norm = true,
    .qk_norm_whole = true,
    .pre_norms = false,
    .post_norms = true,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = false,
    .global_every = 0,
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"olmo2"},
    .hf_write_type = "olmo2",
    .hf_class = "Olmo2ForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "pre_feedforward_layernorm.weight",  // none: OLMo 2 has no pre-norms
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = true,
    .hf_writes_use_sliding_window = false,
    // Olmo2Config's defaults (OLMo 2 7B).
    .hf_defaults = {.hidden_size = 4096,
                    .intermediate_size = 11008,
                    .num_hidden_layers = 32,
                    .num_attention_heads = 32,
                    .vocab_size = 50304,
                    .rms_norm_eps = 1e-5},
    .hf_read = nullptr,
    .hf_write = nullptr,
    .synth_shape = synth_shape,
    .synth_tied = false,
    .gguf_query_width_is_dim = true,
};

}  // namespace ss
