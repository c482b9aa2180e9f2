// gemma3 (Gemma 3, text model): embeddings × sqrt(dim); q/k head norms; RMSNorm after attention
// and after the FFN too (GGUF stores every Gemma norm weight as 1 + w); GeGLU with tanh GELU;
// query scale 1/sqrt(query_pre_attn_scalar) (llama.cpp: head_dim, and dim / n_heads for the 27B);
// with a sliding window, 5 of every 6 layers slide (rope base 10000, no scaling) and the 6th is
// global; NEOX RoPE. Facts: llama.cpp src/llama-model.cpp and src/models/gemma3.cpp,
// transformers' modeling_gemma3.py and Gemma3TextConfig, convert_hf_to_gguf.py's Gemma3Model.
#include <cmath>
#include <nlohmann/json.hpp>

#include "model/arch.h"
#include "model/archs/gemma_common.h"
#include "model/hf_config.h"
#include "model/model.h"

namespace ss {

namespace {

constexpr int kGlobalEvery = 6;  // five sliding layers, then a global one

void finish(ModelConfig& c) {
  if (c.query_scale > 0) return;  // set by the file (config.json's query_pre_attn_scalar)
  const int scalar = c.n_layers == 62 && c.n_heads > 0 ? c.dim / c.n_heads : c.head_dim;
  c.query_scale =
      scalar > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(scalar))) : 0.0f;
}

void hf_read(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c) {
  // Gemma3TextConfig's default window is 4096.
  gemma::read_sliding_layers(cfg, text, c, kGlobalEvery, 4096);
  c.rope_theta_swa = static_cast<float>(cfg.number("rope_local_base_freq", 10000.0));
  if (!(c.rope_theta_swa > 0) || !std::isfinite(c.rope_theta_swa))
    cfg.fail(cfg.name("rope_local_base_freq") + " must be a finite number > 0, got " +
             std::to_string(c.rope_theta_swa));
  if (cfg.find("sliding_window_pattern") && c.sliding_window > 0 &&
      cfg.dim("sliding_window_pattern") != kGlobalEvery)
    cfg.fail(cfg.name("sliding_window_pattern") + " must be 6 (five sliding layers per global)");
  gemma::read_query_scale(cfg, c, 256);
}

void hf_write(const Model& m, nlohmann::json& j) {
  const ModelConfig& c = m.config;
  if (c.final_logit_softcap == 0) j["final_logit_softcapping"] = nullptr;
  if (c.attn_logit_softcap == 0) j["attn_logit_softcapping"] = nullptr;
  j["rope_local_base_freq"] = hf_float(c.rope_theta_swa);
  gemma::write_sliding_layers(c, j, true);
  gemma::write_query_scale(c, j);
}

void synth_shape(ModelConfig& c, bool tiny) {
  c.norm_eps = 1e-6f;
  c.rope_theta = 1e6f;
  c.head_dim *= 2;
  c.n_layers = kGlobalEvery;         // five sliding layers and a global one
  c.sliding_window = tiny ? 8 : 64;  // shorter than a test prompt
  c.rope_theta_swa = 10000.0f;
  c.rope_scale = 8.0f;  // Gemma 3 4B+: linear scaling of the global layers
}

}  // namespace

extern const ArchSpec kGemma3Arch;
const ArchSpec kGemma3Arch = {
    .name = "gemma3",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::GeluTanh,
    .qkv_bias = false,
    .qk_norm = true,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = true,
    .embed_scaled = true,
    .llama3_rope = false,
    .sliding = true,
    .global_every = kGlobalEvery,
    .swa_local_rope = true,
    .finish = finish,
    .hf_model_types = {"gemma3", "gemma3_text"},
    .hf_write_type = "gemma3_text",
    .hf_class = "Gemma3ForCausalLM",
    .hf_multimodal_type = "gemma3",  // 4B and larger: the language model is text_config
    .hf_act_key = "hidden_activation",
    .hf_act = "gelu_pytorch_tanh",
    .hf_ffn_norm = "pre_feedforward_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = true,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = false,
    // Gemma 3 configs leave out whatever equals Gemma3TextConfig's defaults.
    .hf_defaults = {.hidden_size = 2304,
                    .intermediate_size = 9216,
                    .num_hidden_layers = 26,
                    .num_attention_heads = 8,
                    .num_key_value_heads = 4,
                    .vocab_size = 262208,
                    .head_dim = 256,
                    .max_position_embeddings = 131072,
                    .rope_theta = 1e6,
                    .tie_word_embeddings = true},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = true,
};

}  // namespace ss
