#pragma once
// Hyper-parameters of a model, whatever file it came from.
#include <algorithm>
#include <string>
#include <vector>

#include "model/block_options.h"
#include "ops/kinds.h"

namespace ss {

struct ModelConfig {
  std::string arch = "llama";
  int dim = 0;         // residual stream width
  int hidden_dim = 0;  // FFN width
  int n_layers = 0;
  int n_heads = 0;     // query heads (per-layer counts: the largest)
  int n_kv_heads = 0;  // key/value heads (GQA: n_heads is a multiple; per-layer: the largest)
  // A physically pruned model may keep a different number of heads in each layer
  // (prune/remove_heads.h): then these hold every layer's counts, and n_heads and n_kv_heads are
  // their largest, so tables indexed [layer * n_heads + head] keep one width (a layer's heads
  // from heads(l) on are absent). Empty: every layer has n_heads and n_kv_heads.
  std::vector<int> layer_n_heads, layer_n_kv_heads;
  int head_dim = 0;
  int vocab_size = 0;
  int max_seq_len = 0;  // training context
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;

  // Architecture variations (defaults: the llama family).
  RopeStyle rope_style = RopeStyle::Adjacent;
  int rope_dims = 0;  // leading values of each head that rotate (0: all; GPT-NeoX's rotary_pct)
  FfnAct ffn_act = FfnAct::Silu;
  bool ffn_gated = true;           // act(W_gate x) * W_up x; false: act(W_up x + b) (GPT-2)
  NormKind norm = NormKind::Rms;   // the blocks' and the final norm
  bool parallel_residual = false;  // attention and FFN read the same x (GPT-NeoX)
  // Mixture of experts (gpt-oss): hidden_dim is each expert's FFN width.
  int n_experts = 0;       // experts per layer (0: a dense FFN)
  int n_experts_used = 0;  // experts each token is routed to (top-k)
  // YaRN rope scaling (factor > 1): divisors from model/yarn_rope.h, cos and sin × the attention
  // factor (rope_attn_factor).
  float yarn_factor = 0.0f;
  int yarn_orig_ctx = 0;
  float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
  bool yarn_truncate = true;
  int rope_orig_ctx = 0;          // Phi-3 longrope: contexts longer than this use the long
  float rope_attn_factor = 1.0f;  // factors; cos and sin are multiplied by the attn factor
  float rope_scale = 1.0f;        // linear rope scaling of global layers: positions / scale
  int sliding_window = 0;         // keys a sliding-window layer sees, itself included (0: none)
  int global_every = 0;  // with a sliding window, layers l with (l+1) % global_every == 0 are
                         // global and the others slide (0: every layer slides)
  float rope_theta_swa = 10000.0f;   // rope base of sliding-window layers ...
  bool swa_local_rope = false;       // ... when they have one of their own, unscaled (Gemma 3)
  float query_scale = 0.0f;          // attention score scale (0: 1/sqrt(head_dim))
  float embed_scale = 1.0f;          // token embeddings are multiplied by this (Gemma: sqrt(dim))
  float final_logit_softcap = 0.0f;  // logits = c·tanh(logits/c) when > 0
  float attn_logit_softcap = 0.0f;   // attention scores = c·tanh(score/c) when > 0 (Gemma 2)
  // sinkscope's own variants (GGUF sinkscope.attention; gpt-oss's learned sink logits come with
  // the architecture and leave this Softmax).
  AttentionKind attention = AttentionKind::Softmax;
  // sinkscope's pretraining options of the block (model/block_options.h; GGUF sinkscope.norm and
  // sinkscope.positional): Post-LN, and no rotary embedding (none, or learned position_embd).
  NormPlacement norm_placement = NormPlacement::Pre;
  PositionKind positional = PositionKind::Rope;

  // Values of each head that rotate (none with RopeStyle::None or positions other than rope).
  int rotated_dims() const {
    if (rope_style == RopeStyle::None || positional != PositionKind::Rope) return 0;
    return rope_dims > 0 ? rope_dims : head_dim;
  }
  int kv_dim() const { return n_kv_heads * head_dim; }
  int q_dim() const { return n_heads * head_dim; }
  int kv_group() const { return n_heads / n_kv_heads; }  // query heads per KV head
  // Each layer's own counts (see layer_n_heads).
  bool uniform_heads() const { return layer_n_heads.empty(); }
  int heads(int layer) const { return uniform_heads() ? n_heads : layer_n_heads[layer]; }
  int kv_heads(int layer) const { return uniform_heads() ? n_kv_heads : layer_n_kv_heads[layer]; }
  int q_dim(int layer) const { return heads(layer) * head_dim; }
  int kv_dim(int layer) const { return kv_heads(layer) * head_dim; }
  int kv_group(int layer) const { return heads(layer) / kv_heads(layer); }
  // The config as one layer sees it: that layer's head counts as the only ones.
  ModelConfig layer_view(int layer) const {
    ModelConfig v = *this;
    v.n_heads = heads(layer), v.n_kv_heads = kv_heads(layer);
    v.layer_n_heads.clear(), v.layer_n_kv_heads.clear();
    return v;
  }
  // Sets every layer's counts (one per layer each): n_heads and n_kv_heads become the largest,
  // and the per-layer lists stay empty when every layer has the same counts.
  void set_layer_heads(std::vector<int> q, std::vector<int> kv) {
    n_heads = q.empty() ? 0 : *std::max_element(q.begin(), q.end());
    n_kv_heads = kv.empty() ? 0 : *std::max_element(kv.begin(), kv.end());
    const bool same = std::all_of(q.begin(), q.end(), [&](int h) { return h == n_heads; }) &&
                      std::all_of(kv.begin(), kv.end(), [&](int h) { return h == n_kv_heads; });
    layer_n_heads = same ? std::vector<int>{} : std::move(q);
    layer_n_kv_heads = same ? std::vector<int>{} : std::move(kv);
  }
  bool is_sliding(int layer) const {
    return sliding_window > 0 && (global_every == 0 || (layer + 1) % global_every != 0);
  }
  // Keys visible to a query of this layer, itself included (0: all earlier keys).
  int window(int layer) const { return is_sliding(layer) ? sliding_window : 0; }
};

}  // namespace ss
