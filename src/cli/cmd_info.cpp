// sinkscope info: what a model file holds.
#include <cstdio>
#include <map>
#include <string>

#include "analysis/statistics.h"
#include "cli/common.h"
#include "model/attention_kind.h"
#include "model/load_model.h"
#include "ops/simd/isa.h"

namespace ss::cli {

void add_info(CLI::App& root) {
  auto a = std::make_shared<CommonArgs>();
  CLI::App* cmd =
      root.add_subcommand("info", "Architecture, dimensions, dtypes and parameter count");
  add_common(cmd, *a, false, true);
  auto statistics = std::make_shared<bool>(false);
  cmd->add_flag(
      "--statistics", *statistics,
      "Print the registry of per-head statistics as Markdown (docs/statistics.md) and exit");
  cmd->callback([a, statistics] {
    if (*statistics) {
      std::fputs(statistics_markdown().c_str(), stdout);
      return;
    }
    Model m = load_model(a->model);
    const ModelConfig& c = m.config;
    std::printf("file          %s\n", m.path.c_str());
    std::printf("architecture  %s\n", c.arch.c_str());
    std::printf("dim           %d\n", c.dim);
    std::printf("hidden_dim    %d\n", c.hidden_dim);
    std::printf("layers        %d\n", c.n_layers);
    std::printf("heads         %d\n", c.n_heads);
    std::printf("kv_heads      %d\n", c.n_kv_heads);
    if (!c.uniform_heads()) {  // a physically pruned model: the counts above are the largest
      std::printf("layer heads  ");
      for (int l = 0; l < c.n_layers; ++l) std::printf(" %d/%d", c.heads(l), c.kv_heads(l));
      std::printf("  (query/KV per layer)\n");
    }
    std::printf("head_dim      %d\n", c.head_dim);
    std::printf("vocab         %d\n", c.vocab_size);
    std::printf("context       %d\n", c.max_seq_len);
    std::printf("rope_theta    %g\n", static_cast<double>(c.rope_theta));
    std::printf("norm_eps      %g\n", static_cast<double>(c.norm_eps));
    const LayerWeights& l0 = m.layers.front();
    if (c.norm_placement == NormPlacement::Post)
      std::printf("norms         post (Post-LN: after each residual sum, %s)\n", kNormKey);
    else
      std::printf("norms         %s%s%s\n", l0.attn_norm.data ? "pre" : "",
                  l0.post_attn_norm.data ? (l0.attn_norm.data ? " and post" : "post only") : "",
                  c.norm == NormKind::Layer ? " (LayerNorm with bias)" : "");
    if (l0.q_norm.data)
      std::printf("qk_norm       %s\n",
                  l0.q_norm.cols() == c.head_dim ? "per head" : "whole projection");
    std::printf("rope_style    %s\n", c.rotated_dims() == 0             ? "none"
                                      : c.rope_style == RopeStyle::Neox ? "neox"
                                                                        : "adjacent");
    if (c.rotated_dims() > 0 && c.rotated_dims() < c.head_dim)
      std::printf("rope_dims     %d of %d per head\n", c.rotated_dims(), c.head_dim);
    if (c.positional == PositionKind::None)
      std::printf("positions     none (NoPE: the causal mask only, %s)\n", kPositionalKey);
    else if (c.positional == PositionKind::Learned)
      std::printf("positions     learned (position_embd.weight, %s)\n", kPositionalKey);
    else if (m.position_embd.data)
      std::printf("positions     learned (position_embd.weight)\n");
    if (m.rope_factors_short.data)
      std::printf("rope_factors  longrope, long beyond %d tokens, attn_factor %g\n",
                  c.rope_orig_ctx, static_cast<double>(c.rope_attn_factor));
    if (c.rope_scale != 1.0f)
      std::printf("rope_scale    %g (linear)\n", static_cast<double>(c.rope_scale));
    if (m.rope_freqs.data) std::printf("rope_freqs    llama3 (rope_freqs.weight)\n");
    const char* act = c.ffn_act == FfnAct::GeluTanh  ? "gelu-tanh"
                      : c.ffn_act == FfnAct::GeluErf ? "gelu-erf"
                                                     : "silu";
    std::printf("ffn           %s\n", c.n_experts ? "mixture of experts"
                                      : c.ffn_gated
                                          ? (c.ffn_act == FfnAct::Silu ? "swiglu" : "geglu-tanh")
                                          : act);
    if (c.parallel_residual) std::printf("residual      parallel (attention and FFN read x)\n");
    if (c.n_experts > 0)
      std::printf("experts       %d, top %d, clamped swiglu\n", c.n_experts, c.n_experts_used);
    if (c.yarn_factor > 0)
      std::printf("rope_scaling  yarn, factor %g, original context %d, attn_factor %g\n",
                  static_cast<double>(c.yarn_factor), c.yarn_orig_ctx,
                  static_cast<double>(c.rope_attn_factor));
    if (c.attention != AttentionKind::Softmax)
      std::printf("attention     %s (%s)\n", attention_kind_name(c.attention), kAttentionKey);
    if (l0.attn_sinks.data) std::printf("sinks         learned logits (attn_sinks.weight)\n");
    if (l0.attn_sink_k.data)
      std::printf("sinks         learned key and value (attn_sink_k.weight, attn_sink_v.weight)\n");
    if (c.sliding_window > 0) {
      std::string layers;
      for (int l = 0; l < c.n_layers; ++l)
        if (c.is_sliding(l)) layers += (layers.empty() ? "" : ",") + std::to_string(l);
      std::printf("sliding       window %d, layers %s, rope_theta %g\n", c.sliding_window,
                  layers.c_str(),
                  static_cast<double>(c.swa_local_rope ? c.rope_theta_swa : c.rope_theta));
    }
    if (c.query_scale > 0) std::printf("query_scale   %g\n", static_cast<double>(c.query_scale));
    if (c.embed_scale != 1.0f)
      std::printf("embed_scale   %g\n", static_cast<double>(c.embed_scale));
    if (c.final_logit_softcap > 0)
      std::printf("logit_softcap %g\n", static_cast<double>(c.final_logit_softcap));
    if (c.attn_logit_softcap > 0)
      std::printf("attn_softcap  %g\n", static_cast<double>(c.attn_logit_softcap));
    std::printf("classifier    %s\n", m.tied_output ? "tied to the embedding" : "separate");
    std::printf("parameters    %zu\n", m.n_params());
    // dtype per tensor kind: "blk.3.attn_q.weight" -> "attn_q.weight"
    std::map<std::string, std::map<std::string, int>> kinds;
    for (const Tensor* t : m.all_tensors()) {
      std::string kind = t->name;
      if (kind.rfind("blk.", 0) == 0) kind = kind.substr(kind.find('.', 4) + 1);
      ++kinds[kind][dtype_name(t->type)];
    }
    std::string variants;
    for (Isa isa : supported_isas())
      variants += std::string(variants.empty() ? "" : " ") + isa_name(isa);
    std::printf("cpu_features  %s\n",
                cpu_feature_list().empty() ? "none" : cpu_feature_list().c_str());
    std::printf("simd          %s (this CPU runs: %s; SINKSCOPE_ISA chooses)\n",
                isa_name(active_isa()), variants.c_str());
    std::printf("dtypes\n");
    for (const auto& [kind, types] : kinds)
      for (const auto& [type, count] : types)
        std::printf("  %-22s %-5s x%d\n", kind.c_str(), type.c_str(), count);
  });
}

}  // namespace ss::cli
