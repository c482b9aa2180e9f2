#include "model/arch.h"

#include <cmath>
#include <stdexcept>

namespace ss {

namespace {
// name, rope, activation, qkv bias, qk norm, post norms, embed scaled, swa pattern
const ArchTraits kArchs[] = {
    {"llama", RopeStyle::Adjacent, FfnAct::Silu, false, false, false, false, 0},
    {"qwen2", RopeStyle::Neox, FfnAct::Silu, true, false, false, false, 0},
    {"qwen3", RopeStyle::Neox, FfnAct::Silu, false, true, false, false, 0},
    {"gemma3", RopeStyle::Neox, FfnAct::GeluTanh, false, true, true, true, 6},
};
}  // namespace

const ArchTraits* find_arch(const std::string& name) {
  for (const ArchTraits& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

std::string supported_archs() {
  std::string out;
  for (const ArchTraits& a : kArchs) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

void apply_arch(ModelConfig& c) {
  const ArchTraits* a = find_arch(c.arch);
  if (!a) throw std::logic_error("apply_arch: unknown architecture " + c.arch);
  c.rope_style = a->rope_style;
  c.ffn_act = a->ffn_act;
  c.embed_scale = a->embed_scaled ? static_cast<float>(std::sqrt(static_cast<double>(c.dim))) : 1;
  c.swa_pattern = c.sliding_window > 0 ? a->swa_pattern : 0;
  if (c.arch == "gemma3") {
    // llama.cpp: query_pre_attn_scalar is head_dim except for the 27B (62 layers), where it is
    // dim / n_heads; the score is not scaled again.
    const int scalar = c.n_layers == 62 && c.n_heads > 0 ? c.dim / c.n_heads : c.head_dim;
    c.query_scale =
        scalar > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(scalar))) : 0.0f;
  }
}

}  // namespace ss
