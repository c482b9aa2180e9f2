// gpt2 (GPT-2): learned absolute positions added to the embeddings and no rotary embedding;
// LayerNorm with bias before attention, before the FFN and at the end; a plain FFN with the
// tanh GELU (gelu_new); biases on every linear; q, k and v fused (GGUF attn_qkv, rows [Q; K; V]);
// the output tied to the embeddings. Hugging Face stores its Conv1D weights [in, out], the
// transpose of a Linear's, and old checkpoints drop the "transformer." prefix. Facts: llama.cpp
// src/llama-model.cpp (LLM_ARCH_GPT2), transformers' modeling_gpt2.py and GPT2Config.
#include <nlohmann/json.hpp>

#include "model/arch.h"
#include "model/hf_config.h"
#include "model/hf_layout.h"
#include "model/model.h"

namespace ss {

namespace {

using L = LayerWeights;
const HfLayout kLayout = {
    .hidden_size = "n_embd",
    .intermediate_size = "n_inner",
    .num_hidden_layers = "n_layer",
    .num_attention_heads = "n_head",
    .max_position_embeddings = "n_positions",
    .norm_eps = "layer_norm_epsilon",
    .embed = "transformer.wte.weight",
    .positions = "transformer.wpe.weight",
    .final_norm = "transformer.ln_f",
    .layers = "transformer.h.",
    .layer = {{"ln_1.weight", {&L::attn_norm}},
              {"ln_1.bias", {&L::attn_norm_b}},
              {"attn.c_attn.weight", {&L::wq, &L::wk, &L::wv}},
              {"attn.c_attn.bias", {&L::bq, &L::bk, &L::bv}},
              {"attn.c_proj.weight", {&L::wo}},
              {"attn.c_proj.bias", {&L::bo}},
              {"ln_2.weight", {&L::ffn_norm}},
              {"ln_2.bias", {&L::ffn_norm_b}},
              {"mlp.c_fc.weight", {&L::w_up}},
              {"mlp.c_fc.bias", {&L::b_up}},
              {"mlp.c_proj.weight", {&L::w_down}},
              {"mlp.c_proj.bias", {&L::b_down}}},
    .conv1d = true,
};

void hf_read(const HfConfig&, const nlohmann::json&, ModelConfig& c) {
  if (c.hidden_dim == 0) c.hidden_dim = 4 * c.dim;  // n_inner null: 4 × n_embd
}

void hf_write(const Model&, nlohmann::json& j) {
  // GPT2Config has neither head_dim nor separate key/value heads.
  j.erase("num_key_value_heads");
  j.erase("head_dim");
  j.erase("rope_theta");
  j.erase("rope_scaling");
}

void synth_shape(ModelConfig& c, bool) {
  c.n_kv_heads = c.n_heads;  // no GQA
  c.hidden_dim = 4 * c.dim;
}

}  // namespace

extern const ArchSpec kGpt2Arch;
const ArchSpec kGpt2Arch = {
    .name = "gpt2",
    .rope_style = RopeStyle::None,
    .ffn_act = FfnAct::GeluTanh,
    .qkv_bias = true,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = false,
    .global_every = 0,
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"gpt2"},
    .hf_write_type = "gpt2",
    .hf_class = "GPT2LMHeadModel",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "activation_function",
    .hf_act = "gelu_new",
    .hf_ffn_norm = nullptr,
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = false,
    // GPT2Config's defaults (GPT-2 small); n_inner null means 4 × n_embd.
    .hf_defaults = {.hidden_size = 768,
                    .intermediate_size = 0,
                    .num_hidden_layers = 12,
                    .num_attention_heads = 12,
                    .vocab_size = 50257,
                    .max_position_embeddings = 1024,
                    .tie_word_embeddings = true,
                    .rms_norm_eps = 1e-5},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = true,
    .norm = NormKind::Layer,
    .ffn_gated = false,
    .linear_biases = true,
    .learned_positions = true,
    .gguf_fused_qkv = true,
    .gguf_query_width_is_dim = true,
    .hf_layout = &kLayout,
};

}  // namespace ss
