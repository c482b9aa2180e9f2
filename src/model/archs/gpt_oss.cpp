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
#include <nlohmann/json.hpp>

#include "model/arch.h"
#include "model/archs/gemma_common.h"
#include "model/hf_config.h"
#include "model/model.h"
#include "model/yarn_rope.h"

namespace ss {

namespace {

// GptOssConfig: experts, the SwiGLU clamp (sinkscope runs transformers' 7.0, as llama.cpp), and
// layer_types alternating from a sliding layer 0.
void hf_read(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c) {
  c.n_experts = cfg.dim("num_local_experts", 128);
  c.n_experts_used = cfg.dim("num_experts_per_tok", cfg.dim("experts_per_token", 4));
  if (c.n_experts >= (1 << 16))
    cfg.fail(cfg.name("num_local_experts") + " " + std::to_string(c.n_experts) +
             " exceeds the cap of 65535");
  if (c.n_experts_used > c.n_experts)
    cfg.fail(cfg.name("num_experts_per_tok") + " " + std::to_string(c.n_experts_used) +
             " exceeds num_local_experts " + std::to_string(c.n_experts));
  if (cfg.number("swiglu_limit", 7.0) != 7.0)
    cfg.fail(cfg.name("swiglu_limit") + " must be 7.0 (the value sinkscope and llama.cpp run)");
  gemma::read_sliding_layers(cfg, text, c, 2, 128);
}

// get_mscale of transformers' _compute_yarn_parameters.
double yarn_mscale(double factor, double mscale) {
  return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

// rope_scaling {"rope_type": "yarn", ...}: the ramp's ends rounded unless "truncate" is false
// (gpt-oss's config says false; llama.cpp always rounds, so a GGUF of the same model differs
// slightly in a few frequencies), the attention factor given or 0.1 ln(factor) + 1.
void hf_read_tensors(const HfConfig& cfg, const nlohmann::json& scaling, Model& m) {
  ModelConfig& c = m.config;
  HfConfig r(scaling, cfg.file(), cfg.name("rope_scaling."));
  const double factor = r.number("factor", 1.0);
  if (!(factor >= 1) || !std::isfinite(factor)) r.fail(r.name("factor") + " must be >= 1");
  c.yarn_factor = static_cast<float>(factor);
  c.yarn_orig_ctx = r.dim("original_max_position_embeddings", c.max_seq_len);
  c.yarn_beta_fast = static_cast<float>(r.number("beta_fast", 32.0));
  c.yarn_beta_slow = static_cast<float>(r.number("beta_slow", 1.0));
  for (const auto& [key, v] :
       {std::pair{"beta_fast", c.yarn_beta_fast}, {"beta_slow", c.yarn_beta_slow}})
    if (!(v > 0) || !std::isfinite(v))
      r.fail(r.name(key) + " must be a finite number > 0, got " + std::to_string(v));
  c.yarn_truncate = r.flag("truncate", true);
  double attn = yarn_mscale(factor, 1.0);
  if (r.find("attention_factor"))
    attn = r.number("attention_factor", attn);
  else if (r.find("mscale") && r.find("mscale_all_dim"))
    attn = yarn_mscale(factor, r.number("mscale", 1)) /
           yarn_mscale(factor, r.number("mscale_all_dim", 1));
  if (!(attn > 0) || !std::isfinite(attn))
    r.fail((r.find("attention_factor") ? r.name("attention_factor")
                                       : r.name("mscale") + " / mscale_all_dim") +
           " gives a YaRN attention factor of " + std::to_string(attn) +
           ": must be a finite number > 0");
  c.rope_attn_factor = static_cast<float>(attn);
}

void hf_write(const Model& m, nlohmann::json& j) {
  const ModelConfig& c = m.config;
  j["num_local_experts"] = c.n_experts;
  j["num_experts_per_tok"] = c.n_experts_used;
  j["experts_per_token"] = c.n_experts_used;
  j["swiglu_limit"] = 7.0;
  gemma::write_sliding_layers(c, j, false);
  if (c.yarn_factor > 0) {
    j["rope_scaling"] = {{"rope_type", "yarn"},
                         {"factor", hf_float(c.yarn_factor)},
                         {"original_max_position_embeddings", c.yarn_orig_ctx},
                         {"beta_fast", hf_float(c.yarn_beta_fast)},
                         {"beta_slow", hf_float(c.yarn_beta_slow)},
                         {"truncate", c.yarn_truncate}};
    if (c.rope_attn_factor != static_cast<float>(yarn_attention_factor(c.yarn_factor)))
      j["rope_scaling"]["attention_factor"] = hf_float(c.rope_attn_factor);
  }
  // transformers reads MXFP4 experts only under a quantization_config that says so.
  if (m.layers[0].exp_gate.type == DType::MXFP4)
    j["quantization_config"] = {{"quant_method", "mxfp4"},
                                {"modules_to_not_convert",
                                 {"model.layers.*.self_attn", "model.layers.*.mlp.router",
                                  "model.embed_tokens", "lm_head"}}};
}

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
    .hf_write_type = "gpt_oss",
    .hf_class = "GptOssForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = "post_attention_layernorm.weight",
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = true,
    .hf_writes_use_sliding_window = false,
    .hf_defaults = {.head_dim = 64,
                    .max_position_embeddings = 131072,
                    .rope_theta = 150000,
                    .rms_norm_eps = 1e-5},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = false,
    .attn_out_bias = true,
    .attn_sinks = true,
    .moe = true,
    .gguf_ffn_norm = "post_attention_norm.weight",
    .hf_rope_types = {"yarn"},
    .hf_read_tensors = hf_read_tensors,
};

}  // namespace ss
