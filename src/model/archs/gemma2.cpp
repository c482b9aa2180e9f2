// gemma2 (Gemma 2): Gemma 3's block without the q/k head norms, with the attention scores
// soft-capped (c·tanh(s/c), c = attn_logit_softcapping, 50 in the released models) before the
// softmax, the logits too (final_logit_softcapping, 30), and sliding-window and global layers
// alternating from layer 0, all with one rope base. Embeddings × sqrt(dim); RMSNorm before and
// after attention and the FFN (GGUF stores every norm weight as 1 + w); GeGLU with tanh GELU.
// Query scale 1/sqrt(query_pre_attn_scalar); a GGUF has no such key, and llama.cpp derives
// 1/sqrt(dim / n_heads) for the 46-layer 27B and 1/sqrt(head_dim) otherwise. Facts: llama.cpp
// src/llama-model.cpp (LLM_ARCH_GEMMA2) and src/models/gemma2-iswa.cpp, transformers'
// modeling_gemma2.py and Gemma2Config, convert_hf_to_gguf.py's Gemma2Model.
#include <cmath>
#include <nlohmann/json.hpp>

#include "model/arch.h"
#include "model/archs/gemma_common.h"
#include "model/hf_config.h"
#include "model/model.h"

namespace ss {

namespace {

void finish(ModelConfig& c) {
  if (c.query_scale > 0) return;  // set by the file
  const int scalar = c.n_layers == 46 && c.n_heads > 0 ? c.dim / c.n_heads : c.head_dim;
  c.query_scale =
      scalar > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(scalar))) : 0.0f;
}

void hf_read(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c) {
  gemma::read_sliding_layers(cfg, text, c, 2, 4096);
  gemma::read_query_scale(cfg, c, 256);
}

void hf_write(const Model& m, nlohmann::json& j) {
  gemma::write_sliding_layers(m.config, j, false);
  gemma::write_query_scale(m.config, j);
}

void synth_shape(ModelConfig& c, bool tiny) {
  c.norm_eps = 1e-6f;
  c.head_dim *= 2;
  c.sliding_window = tiny ? 8 : 64;  // shorter than a test prompt
  c.attn_logit_softcap = 50.0f;
  c.final_logit_softcap = 30.0f;
}

}  // namespace

extern const ArchSpec kGemma2Arch;
const ArchSpec kGemma2Arch = {
    .name = "gemma2",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::GeluTanh,
    .qkv_bias = false,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = true,
    .embed_scaled = true,
    .llama3_rope = false,
    .sliding = true,
    .global_every = 2,  // layer 0 slides, layer 1 is global, ...
    .swa_local_rope = false,
    .finish = finish,
    .hf_model_types = {"gemma2"},
    .hf_write_type = "gemma2",
    .hf_class = "Gemma2ForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_activation",
    .hf_act = "gelu_pytorch_tanh",
    .hf_ffn_norm = "pre_feedforward_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = true,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = false,
    // Gemma2Config's defaults (those of Gemma 2 2B).
    .hf_defaults = {.hidden_size = 2304,
                    .intermediate_size = 9216,
                    .num_hidden_layers = 26,
                    .num_attention_heads = 8,
                    .num_key_value_heads = 4,
                    .vocab_size = 256000,
                    .head_dim = 256,
                    .max_position_embeddings = 8192,
                    .rope_theta = 10000,
                    .tie_word_embeddings = true,
                    .final_logit_softcapping = 30,
                    .attn_logit_softcapping = 50},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = true,
};

}  // namespace ss
