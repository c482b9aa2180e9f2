// gptneox (Pythia, GPT-NeoX): a parallel residual (attention and the FFN both read the layer's
// input, x + attn(ln1(x)) + mlp(ln2(x))), NEOX rotary embedding of the first rotary_pct of each
// head only, LayerNorm with bias, a plain FFN with the exact erf GELU, biases on every linear,
// untied output. q, k and v are fused: Hugging Face interleaves them per head ([head][q, k, v]
// [head_dim] rows), llama.cpp's converter repacks the GGUF attn_qkv as [Q; K; V]. Facts:
// llama.cpp src/llama-model.cpp (LLM_ARCH_GPTNEOX) and convert_hf_to_gguf.py's GPTNeoXModel,
// transformers' modeling_gpt_neox.py and GPTNeoXConfig.
#include <cmath>
#include <nlohmann/json.hpp>

#include "format/gguf.h"
#include "model/arch.h"
#include "model/hf_config.h"
#include "model/hf_layout.h"
#include "model/model.h"

namespace ss {

namespace {

using L = LayerWeights;
const HfLayout kLayout = {
    .norm_eps = "layer_norm_eps",
    .rope_theta = "rotary_emb_base",
    .embed = "gpt_neox.embed_in.weight",
    .final_norm = "gpt_neox.final_layer_norm",
    .lm_head = "embed_out.weight",
    .layers = "gpt_neox.layers.",
    .layer = {{"input_layernorm.weight", {&L::attn_norm}},
              {"input_layernorm.bias", {&L::attn_norm_b}},
              {"attention.query_key_value.weight", {&L::wq, &L::wk, &L::wv}},
              {"attention.query_key_value.bias", {&L::bq, &L::bk, &L::bv}},
              {"attention.dense.weight", {&L::wo}},
              {"attention.dense.bias", {&L::bo}},
              {"post_attention_layernorm.weight", {&L::ffn_norm}},
              {"post_attention_layernorm.bias", {&L::ffn_norm_b}},
              {"mlp.dense_h_to_4h.weight", {&L::w_up}},
              {"mlp.dense_h_to_4h.bias", {&L::b_up}},
              {"mlp.dense_4h_to_h.weight", {&L::w_down}},
              {"mlp.dense_4h_to_h.bias", {&L::b_down}}},
    .qkv_per_head = true,
};

void gguf_read(const GgufFile& g, ModelConfig& c) {
  c.parallel_residual = g.get_bool("gptneox.use_parallel_residual", true);
}

void gguf_write(const ModelConfig& c, GgufWriter& w) {
  w.set("gptneox.use_parallel_residual", GgufValue::of_bool(c.parallel_residual));
}

void hf_read(const HfConfig& cfg, const nlohmann::json&, ModelConfig& c) {
  // Newer transformers call the base rope_theta.
  if (!cfg.find("rotary_emb_base"))
    c.rope_theta = static_cast<float>(cfg.number("rope_theta", c.rope_theta));
  if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta))
    cfg.fail(cfg.name("rope_theta") + " must be a finite number > 0, got " +
             std::to_string(c.rope_theta));
  const double pct = cfg.number("rotary_pct", 0.25);
  if (!(pct > 0 && pct <= 1)) cfg.fail(cfg.name("rotary_pct") + " must be in (0, 1]");
  const int rotated = static_cast<int>(c.head_dim * pct);  // int(), as transformers
  if (rotated < 2 || rotated % 2 != 0)
    cfg.fail(cfg.name("rotary_pct") + " gives " + std::to_string(rotated) +
             " rotary dimensions per head: must be even and at least 2");
  c.rope_dims = rotated == c.head_dim ? 0 : rotated;
  c.parallel_residual = cfg.flag("use_parallel_residual", true);
}

void hf_write(const Model& m, nlohmann::json& j) {
  const ModelConfig& c = m.config;
  j["rotary_pct"] = static_cast<double>(c.rotated_dims()) / c.head_dim;
  j["rotary_emb_base"] = j["rope_theta"];
  j["use_parallel_residual"] = c.parallel_residual;
  j["attention_bias"] = true;
  j.erase("num_key_value_heads");
  j.erase("head_dim");
}

void synth_shape(ModelConfig& c, bool) {
  c.n_kv_heads = c.n_heads;      // no GQA
  c.rope_dims = c.head_dim / 4;  // Pythia's rotary_pct 0.25
  c.parallel_residual = true;
}

}  // namespace

extern const ArchSpec kGptNeoxArch;
const ArchSpec kGptNeoxArch = {
    .name = "gptneox",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::GeluErf,
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
    .hf_model_types = {"gpt_neox"},
    .hf_write_type = "gpt_neox",
    .hf_class = "GPTNeoXForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "gelu",
    .hf_ffn_norm = nullptr,
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = false,
    // GPTNeoXConfig's defaults (GPT-NeoX 20B).
    .hf_defaults = {.hidden_size = 6144,
                    .intermediate_size = 24576,
                    .num_hidden_layers = 44,
                    .num_attention_heads = 64,
                    .vocab_size = 50432,
                    .max_position_embeddings = 2048,
                    .rope_theta = 10000,
                    .tie_word_embeddings = false,
                    .rms_norm_eps = 1e-5},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = false,
    .norm = NormKind::Layer,
    .ffn_gated = false,
    .linear_biases = true,
    .partial_rope = true,
    .gguf_fused_qkv = true,
    .gguf_query_width_is_dim = true,
    .gguf_read = gguf_read,
    .gguf_write = gguf_write,
    .hf_layout = &kLayout,
};

}  // namespace ss
