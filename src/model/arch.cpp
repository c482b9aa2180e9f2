#include "model/arch.h"

#include <cmath>
#include <stdexcept>

#include "model/model.h"

namespace ss {

// Defined each in its own file under model/archs/.
extern const ArchSpec kLlamaArch, kQwen2Arch, kQwen3Arch, kGemma2Arch, kGemma3Arch, kOlmo2Arch,
    kGpt2Arch, kGptNeoxArch, kPhi3Arch, kGptOssArch;

const std::vector<const ArchSpec*>& arch_specs() {
  static const std::vector<const ArchSpec*> specs = {
      &kLlamaArch, &kQwen2Arch, &kQwen3Arch,   &kGemma2Arch, &kGemma3Arch,
      &kOlmo2Arch, &kGpt2Arch,  &kGptNeoxArch, &kPhi3Arch,   &kGptOssArch};
  return specs;
}

const ArchSpec* find_arch(const std::string& name) {
  for (const ArchSpec* a : arch_specs())
    if (name == a->name) return a;
  return nullptr;
}

const ArchSpec& arch_of(const ModelConfig& c) {
  const ArchSpec* a = find_arch(c.arch);
  if (!a) throw std::logic_error("unknown architecture " + c.arch);
  return *a;
}

std::string supported_archs() {
  std::string out;
  for (const ArchSpec* a : arch_specs()) out += (out.empty() ? "" : ", ") + std::string(a->name);
  return out;
}

void apply_arch(ModelConfig& c) {
  const ArchSpec& a = arch_of(c);
  c.rope_style = a.learned_positions ? RopeStyle::None : a.rope_style;
  c.ffn_act = a.ffn_act;
  c.ffn_gated = a.ffn_gated;
  c.norm = a.norm;
  c.embed_scale = a.embed_scaled ? static_cast<float>(std::sqrt(static_cast<double>(c.dim))) : 1;
  c.global_every = c.sliding_window > 0 ? a.global_every : 0;
  c.swa_local_rope = a.swa_local_rope;
  if (a.finish) a.finish(c);
}

float default_query_scale(const ModelConfig& c) {
  ModelConfig d = c;
  d.query_scale = 0;
  if (const ArchSpec& a = arch_of(c); a.finish) a.finish(d);
  return d.query_scale;
}

bool tensor_required(const ArchSpec& a, Tensor LayerWeights::*t) {
  using L = LayerWeights;
  if (t == &L::bo) return a.linear_biases || a.attn_out_bias;
  if (t == &L::b_up || t == &L::b_down) return a.linear_biases;
  if (t == &L::attn_sinks) return a.attn_sinks;
  if (t == &L::attn_sink_k || t == &L::attn_sink_v) return false;  // sinkscope.attention's
  if (t == &L::w_gate || t == &L::w_up || t == &L::w_down)
    return !a.moe && (a.ffn_gated || t != &L::w_gate);
  if (t == &L::router || t == &L::router_b || t == &L::exp_gate || t == &L::exp_up ||
      t == &L::exp_down || t == &L::exp_gate_b || t == &L::exp_up_b || t == &L::exp_down_b)
    return a.moe;
  if (t == &L::bq || t == &L::bk || t == &L::bv) return a.qkv_bias;
  if (t == &L::attn_norm_b || t == &L::ffn_norm_b) return a.norm == NormKind::Layer;
  if (t == &L::q_norm || t == &L::k_norm) return a.qk_norm;
  if (t == &L::attn_norm || t == &L::ffn_norm) return a.pre_norms;
  if (t == &L::post_attn_norm || t == &L::post_ffn_norm) return a.post_norms;
  return true;
}

}  // namespace ss
