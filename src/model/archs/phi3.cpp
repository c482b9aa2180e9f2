// phi3 (Phi-3, Phi-3.5, Phi-4-mini): the llama block with NEOX (rotate-half) RoPE, q, k and v
// fused (attn_qkv [Q; K; V]) and gate and up fused (GGUF ffn_up, HF gate_up_proj: [gate; up]),
// a sliding window on every layer when the config has one, and "longrope" scaling: per-
// frequency divisors, the short ones while the positions stay within the original context and
// the long ones beyond it (transformers decides by the forward pass's largest position), with
// cos and sin multiplied by an attention factor. llama.cpp instead picks the factors by the
// configured context and ignores the window. Facts: llama.cpp src/llama-model.cpp
// (LLM_ARCH_PHI3) and convert_hf_to_gguf.py's Phi3MiniModel, transformers' modeling_phi3.py,
// Phi3Config and modeling_rope_utils.py (_compute_longrope_parameters).
#include <cmath>
#include <cstring>
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
    .layer = {{"input_layernorm.weight", {&L::attn_norm}},
              {"self_attn.qkv_proj.weight", {&L::wq, &L::wk, &L::wv}},
              {"self_attn.o_proj.weight", {&L::wo}},
              {"post_attention_layernorm.weight", {&L::ffn_norm}},
              {"mlp.gate_up_proj.weight", {&L::w_gate, &L::w_up}},
              {"mlp.down_proj.weight", {&L::w_down}}},
};

void gguf_read(const GgufFile& g, ModelConfig& c) {
  const int64_t orig = g.get_int("phi3.rope.scaling.original_context_length", c.max_seq_len);
  if (orig <= 0 || orig >= (int64_t{1} << 24))
    g.fail("invalid phi3.rope.scaling.original_context_length (" + std::to_string(orig) + ")");
  c.rope_orig_ctx = static_cast<int>(orig);
  const double factor = g.get_float("phi3.rope.scaling.attn_factor", 1.0);
  if (!std::isfinite(factor) || factor <= 0)
    g.fail("invalid phi3.rope.scaling.attn_factor (" + std::to_string(factor) + ")");
  c.rope_attn_factor = static_cast<float>(factor);
}

void gguf_write(const ModelConfig& c, GgufWriter& w) {
  w.set("phi3.rope.scaling.original_context_length", GgufValue::of_u32(c.rope_orig_ctx));
  if (c.rope_attn_factor != 1.0f)
    w.set("phi3.rope.scaling.attn_factor", GgufValue::of_f32(c.rope_attn_factor));
}

void hf_read(const HfConfig& cfg, const nlohmann::json&, ModelConfig& c) {
  const double partial = cfg.number("partial_rotary_factor", 1.0);
  const int rotated = static_cast<int>(c.head_dim * partial);
  if (!(partial > 0 && partial <= 1) || rotated < 2 || rotated % 2 != 0)
    cfg.fail(cfg.name("partial_rotary_factor") +
             " must give an even number of rotary "
             "dimensions per head");
  c.rope_dims = rotated == c.head_dim ? 0 : rotated;
  c.sliding_window = cfg.find("sliding_window") ? cfg.dim("sliding_window") : 0;
  c.rope_orig_ctx = cfg.dim("original_max_position_embeddings", c.max_seq_len);
}

// longrope's factors become rope_factors_{short,long}; its attention factor is the config's, or
// sqrt(1 + ln(s) / ln(original context)) for s = max_position_embeddings / original context
// when s > 1 (transformers' _compute_longrope_parameters).
void hf_read_tensors(const HfConfig& cfg, const nlohmann::json& scaling, Model& m) {
  ModelConfig& c = m.config;
  HfConfig r(scaling, cfg.file(), cfg.name("rope_scaling."));
  const size_t n = static_cast<size_t>(c.rotated_dims() / 2);
  auto factors = [&](const char* key, const char* gguf_name) {
    const nlohmann::json* v = r.find(key);
    if (!v || !v->is_array() || v->size() != n)
      r.fail(r.name(key) + " must be an array of " + std::to_string(n) + " numbers");
    std::vector<float> f;
    for (const nlohmann::json& x : *v) {
      if (!x.is_number() || !(x.get<double>() > 0) || !std::isfinite(x.get<double>()))
        r.fail(r.name(key) + " holds " + one_line(x.dump()) + ", not a positive number");
      f.push_back(x.get<float>());
    }
    auto& buf = m.owned.emplace_back(n * sizeof(float));
    std::memcpy(buf.data(), f.data(), buf.size());
    return Tensor{gguf_name, DType::F32, {static_cast<int64_t>(n)}, buf.data()};
  };
  m.rope_factors_short = factors("short_factor", "rope_factors_short.weight");
  m.rope_factors_long = factors("long_factor", "rope_factors_long.weight");
  const double s = static_cast<double>(c.max_seq_len) / c.rope_orig_ctx;
  const double dflt = s <= 1 ? 1.0 : std::sqrt(1 + std::log(s) / std::log(c.rope_orig_ctx));
  const double factor = r.number("attention_factor", dflt);
  if (!(factor > 0) || !std::isfinite(factor))
    r.fail(r.name("attention_factor") + " must be a positive number");
  c.rope_attn_factor = static_cast<float>(factor);
}

void hf_write(const Model& m, nlohmann::json& j) {
  const ModelConfig& c = m.config;
  j["original_max_position_embeddings"] = c.rope_orig_ctx;
  j["partial_rotary_factor"] = static_cast<double>(c.rotated_dims()) / c.head_dim;
  j["sliding_window"] = c.sliding_window > 0 ? nlohmann::json(c.sliding_window) : nullptr;
  if (m.rope_factors_short.data) {
    auto list = [](const Tensor& t) {
      nlohmann::json a = nlohmann::json::array();
      for (int64_t i = 0; i < t.cols(); ++i) a.push_back(hf_float(t.f32()[i]));
      return a;
    };
    j["rope_scaling"] = {{"type", "longrope"},
                         {"short_factor", list(m.rope_factors_short)},
                         {"long_factor", list(m.rope_factors_long)},
                         {"attention_factor", hf_float(c.rope_attn_factor)}};
  }
}

void synth_shape(ModelConfig& c, bool tiny) {
  c.n_kv_heads = c.n_heads;  // Phi-3 mini has no GQA
  // small: longrope over twice the original context, so that windows beyond 512 take the long
  // factors.
  c.rope_orig_ctx = tiny ? c.max_seq_len : 512;
  if (!tiny)
    c.rope_attn_factor = static_cast<float>(std::sqrt(1 + std::log(2.0) / std::log(512.0)));
}

}  // namespace

extern const ArchSpec kPhi3Arch;
const ArchSpec kPhi3Arch = {
    .name = "phi3",
    .rope_style = RopeStyle::Neox,
    .ffn_act = FfnAct::Silu,
    .qkv_bias = false,
    .qk_norm = false,
    .qk_norm_whole = false,
    .pre_norms = true,
    .post_norms = false,
    .embed_scaled = false,
    .llama3_rope = false,
    .sliding = true,
    .global_every = 0,  // every layer slides when there is a window
    .swa_local_rope = false,
    .finish = nullptr,
    .hf_model_types = {"phi3"},
    .hf_write_type = "phi3",
    .hf_class = "Phi3ForCausalLM",
    .hf_multimodal_type = nullptr,
    .hf_act_key = "hidden_act",
    .hf_act = "silu",
    .hf_ffn_norm = nullptr,
    .hf_rope_permuted = false,
    .hf_norm_plus_one = false,
    .hf_writes_attention_bias = false,
    .hf_writes_use_sliding_window = false,
    // Phi3Config's defaults (Phi-3 mini 4k).
    .hf_defaults = {.hidden_size = 3072,
                    .intermediate_size = 8192,
                    .num_hidden_layers = 32,
                    .num_attention_heads = 32,
                    .vocab_size = 32064,
                    .max_position_embeddings = 4096,
                    .rope_theta = 10000,
                    .tie_word_embeddings = false,
                    .rms_norm_eps = 1e-5},
    .hf_read = hf_read,
    .hf_write = hf_write,
    .synth_shape = synth_shape,
    .synth_tied = false,
    .partial_rope = true,
    .gguf_fused_qkv = true,
    .gguf_fused_gate_up = true,
    .gguf_query_width_is_dim = true,
    .gguf_read = gguf_read,
    .gguf_write = gguf_write,
    .hf_rope_types = {"longrope", "su"},
    .hf_read_tensors = hf_read_tensors,
    .hf_layout = &kLayout,
};

}  // namespace ss
