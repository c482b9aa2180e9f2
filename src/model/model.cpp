#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "model/arch.h"
#include "model/attention_kind.h"
#include "ops/quants.h"

namespace ss {

const std::vector<LayerSlot>& layer_slots() {
  using L = LayerWeights;
  static const std::vector<LayerSlot> slots = {
      {&L::attn_norm, "attn_norm.weight", false},
      {&L::attn_norm_b, "attn_norm.bias", false},
      {&L::wq, "attn_q.weight", true},
      {&L::bq, "attn_q.bias", false},
      {&L::wk, "attn_k.weight", true},
      {&L::bk, "attn_k.bias", false},
      {&L::wv, "attn_v.weight", true},
      {&L::bv, "attn_v.bias", false},
      {&L::q_norm, "attn_q_norm.weight", false},
      {&L::k_norm, "attn_k_norm.weight", false},
      {&L::wo, "attn_output.weight", true},
      {&L::bo, "attn_output.bias", false},
      {&L::post_attn_norm, "post_attention_norm.weight", false},
      {&L::ffn_norm, "ffn_norm.weight", false},
      {&L::ffn_norm_b, "ffn_norm.bias", false},
      {&L::w_gate, "ffn_gate.weight", true},
      {&L::w_up, "ffn_up.weight", true},
      {&L::b_up, "ffn_up.bias", false},
      {&L::w_down, "ffn_down.weight", true},
      {&L::b_down, "ffn_down.bias", false},
      {&L::post_ffn_norm, "post_ffw_norm.weight", false},
      {&L::attn_sinks, "attn_sinks.weight", false},
      {&L::attn_sink_k, "attn_sink_k.weight", false},
      {&L::attn_sink_v, "attn_sink_v.weight", false},
      {&L::router, "ffn_gate_inp.weight", true},
      {&L::router_b, "ffn_gate_inp.bias", false},
      {&L::exp_gate, "ffn_gate_exps.weight", true},
      {&L::exp_gate_b, "ffn_gate_exps.bias", false},
      {&L::exp_up, "ffn_up_exps.weight", true},
      {&L::exp_up_b, "ffn_up_exps.bias", false},
      {&L::exp_down, "ffn_down_exps.weight", true},
      {&L::exp_down_b, "ffn_down_exps.bias", false},
  };
  return slots;
}

const std::vector<GlobalSlot>& global_slots() {
  static const std::vector<GlobalSlot> slots = {
      {&Model::output_norm_b, "output_norm.bias"},
      {&Model::position_embd, "position_embd.weight"},
      {&Model::rope_freqs, "rope_freqs.weight"},
      {&Model::rope_factors_short, "rope_factors_short.weight"},
      {&Model::rope_factors_long, "rope_factors_long.weight"},
  };
  return slots;
}

const char* gguf_slot_name(const LayerSlot& s, const ArchSpec& a) {
  const std::string ffn_norm = a.gguf_ffn_norm;
  if (s.member == &LayerWeights::ffn_norm) return a.gguf_ffn_norm;
  if (ffn_norm != "ffn_norm.weight" && ffn_norm == s.gguf_name) return nullptr;
  return s.gguf_name;
}

std::vector<const Tensor*> Model::all_tensors() const {
  std::vector<const Tensor*> out{&token_embd, &output_norm};
  if (!tied_output) out.push_back(&output);
  for (const GlobalSlot& s : global_slots())
    if ((this->*s.member).data) out.push_back(&(this->*s.member));
  for (const auto& l : layers)
    for (const LayerSlot& s : layer_slots())
      if ((l.*s.member).data) out.push_back(&(l.*s.member));
  return out;
}

size_t Model::n_params() const {
  size_t n = 0;
  for (const Tensor* t : all_tensors()) n += static_cast<size_t>(t->n_elements());
  return n;
}

bool has_sink_column(const Model& m) {
  return (!m.layers.empty() && m.layers[0].attn_sinks.data) || has_sink_column(m.config.attention);
}

static void check_shape(const Model& m, const Tensor& t, int64_t cols, int64_t rows) {
  require(t.data != nullptr, m.path, "missing tensor " + t.name);
  bool ok = t.ne.size() <= 2 && t.cols() == cols && t.rows() == rows;
  auto info = dtype_info(static_cast<uint32_t>(t.type));
  if (!ok) {
    // What the expected shape would take in the tensor's type: a dimension claimed far beyond
    // the file's tensors says so in bytes (issue 21, absurd sizes).
    char need[64];
    std::snprintf(
        need, sizeof need, " (%.0f bytes of %s)",
        info ? static_cast<double>(cols) * rows / info->block_elems * info->block_bytes : 0.0,
        dtype_name(t.type).c_str());
    throw InputError(m.path, "tensor " + t.name + " has shape [" + std::to_string(t.cols()) + ", " +
                                 std::to_string(t.rows()) + "], expected [" + std::to_string(cols) +
                                 ", " + std::to_string(rows) + "]" + need);
  }
  require(info && cols % static_cast<int64_t>(info->block_elems) == 0, m.path,
          "tensor " + t.name + ": row length " + std::to_string(cols) +
              " is not a multiple of the block size of " + dtype_name(t.type));
}

// A stack of n matrices [cols] x rows (3-D, ne {cols, rows, n}), or of n vectors of cols f32
// values (2-D, ne {cols, n}) when rows is 0.
static void check_stack(const Model& m, const Tensor& t, int64_t cols, int64_t rows, int64_t n) {
  require(t.data != nullptr, m.path, "missing tensor " + t.name);
  const std::vector<int64_t> want =
      rows ? std::vector<int64_t>{cols, rows, n} : std::vector<int64_t>{cols, n};
  auto str = [](const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  };
  require(t.ne == want, m.path,
          "tensor " + t.name + " has shape " + str(t.ne) + ", expected " + str(want) +
              " (expert_count " + std::to_string(n) + ")");
  auto info = dtype_info(static_cast<uint32_t>(t.type));
  require(info && cols % static_cast<int64_t>(info->block_elems) == 0, m.path,
          "tensor " + t.name + ": row length " + std::to_string(cols) +
              " is not a multiple of the block size of " + dtype_name(t.type));
  require(rows || t.type == DType::F32, m.path, "bias tensor " + t.name + " must be F32");
}

static void check_norm(const Model& m, const Tensor& t, int64_t n) {
  check_shape(m, t, n, 1);
  require(t.type == DType::F32, m.path, "norm tensor " + t.name + " must be F32");
}

// sinkscope.norm post and sinkscope.positional none or learned: on architectures whose blocks are
// llama's (pre-norms only, sequential, rotary positions), with position_embd exactly when learned.
static void check_block_options(const Model& m) {
  const ModelConfig& c = m.config;
  const ArchSpec& arch = arch_of(c);
  if (c.norm_placement == NormPlacement::Post)
    require(
        arch.pre_norms && !arch.post_norms && !c.parallel_residual && c.norm == NormKind::Rms,
        m.path,
        std::string(kNormKey) + " post needs blocks with RMS pre-norms only, not " + c.arch + "'s");
  if (c.positional == PositionKind::Rope) return;
  const std::string key = std::string(kPositionalKey) + " " + position_kind_name(c.positional);
  require(!arch.learned_positions, m.path,
          c.arch + " has learned positions of its own: " + key + " cannot apply");
  if (c.positional == PositionKind::Learned)
    require(m.position_embd.data != nullptr, m.path, key + " needs tensor position_embd.weight");
  else
    require(m.position_embd.data == nullptr, m.path,
            "tensor position_embd.weight contradicts " + key);
}

// The tensors of the attention variant (sinkscope.attention) and of the architecture's own learned
// sinks: present where they are needed, absent where nothing would read them.
static void check_attention_variant(const Model& m, const LayerWeights& l, int layer) {
  const ModelConfig& c = m.config;
  const ArchSpec& arch = arch_of(c);
  const std::string b = "blk." + std::to_string(layer) + ".";
  const std::string kind = attention_kind_name(c.attention);
  require(!arch.attn_sinks || c.attention == AttentionKind::Softmax, m.path,
          c.arch + " has learned sink logits of its own: " + kAttentionKey + " " + kind +
              " cannot apply");
  const bool logit = arch.attn_sinks || c.attention == AttentionKind::SinkLogit;
  const bool kv = c.attention == AttentionKind::SinkKv;
  auto needed = [&](const Tensor& t, bool need, const char* name) {
    if (need)
      require(t.data != nullptr, m.path,
              kind + " attention needs tensor " + b + name + " (" + kAttentionKey + ")");
    else
      require(t.data == nullptr, m.path,
              "tensor " + t.name + " belongs to another attention variant than " + kind + " (" +
                  kAttentionKey + ")");
  };
  needed(l.attn_sinks, logit, "attn_sinks.weight");
  needed(l.attn_sink_k, kv, "attn_sink_k.weight");
  needed(l.attn_sink_v, kv, "attn_sink_v.weight");
  if (logit) check_norm(m, l.attn_sinks, c.heads(layer));
  if (kv) {
    for (const Tensor* t : {&l.attn_sink_k, &l.attn_sink_v}) {
      check_shape(m, *t, c.head_dim, c.kv_heads(layer));
      require(t->type == DType::F32, m.path, "tensor " + t->name + " must be F32");
    }
  }
}

// Per-layer head counts (a physically pruned model): one per layer, each in 1..n_heads (and
// 1..n_kv_heads) with n_heads and n_kv_heads their largest, every layer's query heads a multiple
// of its KV heads.
static void check_layer_heads(const Model& m) {
  const ModelConfig& c = m.config;
  if (c.uniform_heads() && c.layer_n_kv_heads.empty()) return;
  require(static_cast<int>(c.layer_n_heads.size()) == c.n_layers &&
              static_cast<int>(c.layer_n_kv_heads.size()) == c.n_layers,
          m.path,
          "per-layer head counts: " + std::to_string(c.layer_n_heads.size()) + " query and " +
              std::to_string(c.layer_n_kv_heads.size()) + " KV counts for " +
              std::to_string(c.n_layers) + " layers");
  int most_q = 0, most_kv = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    const int q = c.heads(l), kv = c.kv_heads(l);
    require(q > 0 && kv > 0 && q <= c.n_heads && kv <= c.n_kv_heads && q % kv == 0, m.path,
            "layer " + std::to_string(l) + " has " + std::to_string(q) + " query heads and " +
                std::to_string(kv) +
                " KV heads: each must be at least 1, and the query heads a multiple of the KV "
                "heads");
    most_q = std::max(most_q, q), most_kv = std::max(most_kv, kv);
  }
  require(most_q == c.n_heads && most_kv == c.n_kv_heads, m.path,
          "n_heads and n_kv_heads must be the largest per-layer head counts");
  const ArchSpec& arch = arch_of(c);
  require(!arch.qk_norm_whole && !arch.gguf_query_width_is_dim, m.path,
          c.arch +
              " cannot have per-layer head counts (its q/k norms or query width span every "
              "head)");
}

void validate_model(const Model& m) {
  const ModelConfig& c = m.config;
  auto positive = [&](int v, const char* what) {
    require(v > 0 && v < (1 << 24), m.path,
            std::string("invalid ") + what + ": " + std::to_string(v));
  };
  positive(c.dim, "dim");
  positive(c.hidden_dim, "hidden_dim");
  positive(c.n_layers, "n_layers");
  positive(c.n_heads, "n_heads");
  positive(c.n_kv_heads, "n_kv_heads");
  positive(c.vocab_size, "vocab_size");
  positive(c.max_seq_len, "max_seq_len");
  positive(c.head_dim, "head_dim");
  require(!c.uniform_heads() || c.n_heads % c.n_kv_heads == 0, m.path,
          "n_heads is not a multiple of n_kv_heads");
  check_layer_heads(m);
  const int rotated = c.rotated_dims();
  require(rotated % 2 == 0 && rotated <= c.head_dim && c.rope_dims >= 0, m.path,
          "invalid rotary dimensions " + std::to_string(rotated) + " of a head of " +
              std::to_string(c.head_dim) +
              " (rope_dims, head_dim): must be even and at most the head");
  require(static_cast<int>(m.layers.size()) == c.n_layers, m.path, "layer count mismatch");
  check_shape(m, m.token_embd, c.dim, c.vocab_size);
  check_norm(m, m.output_norm, c.dim);
  check_shape(m, m.output, c.dim, c.vocab_size);
  // Rope divisors (Llama 3's rope_freqs, Phi-3's longrope factors): finite and positive, or the
  // angles are NaN or infinite.
  for (const Tensor* t : {&m.rope_freqs, &m.rope_factors_short, &m.rope_factors_long}) {
    if (!t->data) continue;
    check_norm(m, *t, rotated / 2);
    for (int64_t i = 0; i < t->cols(); ++i)
      require(std::isfinite(t->f32()[i]) && t->f32()[i] > 0, m.path,
              "tensor " + t->name + " value " + std::to_string(i) + " is " +
                  std::to_string(t->f32()[i]) + ": rope divisors must be finite and > 0");
  }
  if (c.norm == NormKind::Layer || m.output_norm_b.data) check_norm(m, m.output_norm_b, c.dim);
  check_block_options(m);
  if (arch_of(c).learned_positions || m.position_embd.data)
    check_shape(m, m.position_embd, c.dim, c.max_seq_len);
  // The readers check each key by name first; these name the config field for models made in
  // code.
  require(std::isfinite(c.rope_attn_factor) && c.rope_attn_factor > 0 && c.rope_orig_ctx >= 0,
          m.path,
          "invalid longrope attention factor or original context (rope_attn_factor " +
              std::to_string(c.rope_attn_factor) + ", rope_orig_ctx " +
              std::to_string(c.rope_orig_ctx) + ")");
  require(std::isfinite(c.yarn_factor) && c.yarn_factor >= 0 && c.yarn_orig_ctx >= 0 &&
              std::isfinite(c.yarn_beta_fast) && std::isfinite(c.yarn_beta_slow) &&
              c.yarn_beta_fast > 0 && c.yarn_beta_slow > 0,
          m.path,
          "invalid YaRN rope scaling (yarn_factor, yarn_orig_ctx, yarn_beta_fast or "
          "yarn_beta_slow)");
  require(arch_of(c).moe == (c.n_experts > 0) && (c.n_experts_used > 0) == (c.n_experts > 0) &&
              c.n_experts_used <= c.n_experts && c.n_experts < (1 << 16),
          m.path,
          "invalid expert counts: " + std::to_string(c.n_experts_used) + " used of " +
              std::to_string(c.n_experts) + " (n_experts_used, n_experts)");
  require(c.sliding_window >= 0 && c.global_every >= 0, m.path,
          "invalid sliding window (sliding_window, global_every)");
  require(c.sliding_window == 0 || arch_of(c).sliding, m.path,
          c.arch + " has no sliding-window layers");
  // Every float finite (NaN fails each comparison; infinity the finite check).
  const std::pair<const char*, float> floats[] = {{"norm_eps", c.norm_eps},
                                                  {"rope_scale", c.rope_scale},
                                                  {"embed_scale", c.embed_scale},
                                                  {"query_scale", c.query_scale},
                                                  {"final_logit_softcap", c.final_logit_softcap},
                                                  {"attn_logit_softcap", c.attn_logit_softcap},
                                                  {"rope_theta", c.rope_theta},
                                                  {"rope_theta_swa", c.rope_theta_swa}};
  for (const auto& [name, v] : floats)
    require(std::isfinite(v), m.path,
            std::string(name) + " is not finite (" + std::to_string(v) + ")");
  require(c.norm_eps > 0 && c.norm_eps <= 1, m.path,
          "invalid norm epsilon " + std::to_string(c.norm_eps) + ": must be in (0, 1]");
  require(c.rope_scale > 0 && c.embed_scale > 0 && c.query_scale >= 0 &&
              c.final_logit_softcap >= 0 && c.attn_logit_softcap >= 0 && c.rope_theta > 0 &&
              c.rope_theta_swa > 0,
          m.path,
          "invalid rope, embedding, query or logit scale (rope_scale, embed_scale, query_scale, "
          "final_logit_softcap, attn_logit_softcap, rope_theta or rope_theta_swa)");
  // MXFP4 scale bytes above 252 decode to NaN or overflow: one line naming the tensor, rather
  // than NaNs later (one byte read per 32 weights).
  for (const Tensor* t : m.all_tensors()) {
    if (t->type != DType::MXFP4 || !t->data) continue;
    const size_t blocks = t->nbytes() / sizeof(BlockMXFP4);
    const size_t bad = check_mxfp4_scales(t->data, blocks);
    require(bad == blocks, m.path,
            "tensor " + t->name + ": MXFP4 block " + std::to_string(bad) + " has scale byte " +
                std::to_string(bad < blocks ? t->data[bad * sizeof(BlockMXFP4)] : 0) +
                " (above 252: NaN or beyond f32)");
  }
  for (const auto& l : m.layers) {
    const ArchSpec& arch = arch_of(c);
    const bool layer_norm = c.norm == NormKind::Layer;
    if (arch.pre_norms || l.attn_norm.data) check_norm(m, l.attn_norm, c.dim);
    if (layer_norm || l.attn_norm_b.data) check_norm(m, l.attn_norm_b, c.dim);
    const int li = static_cast<int>(&l - m.layers.data());
    const int q_dim = c.q_dim(li), kv_dim = c.kv_dim(li);
    check_shape(m, l.wq, c.dim, q_dim);
    check_shape(m, l.wk, c.dim, kv_dim);
    check_shape(m, l.wv, c.dim, kv_dim);
    check_shape(m, l.wo, q_dim, c.dim);
    if (l.bo.data) check_norm(m, l.bo, c.dim);
    if (arch.pre_norms || l.ffn_norm.data) check_norm(m, l.ffn_norm, c.dim);
    if (layer_norm || l.ffn_norm_b.data) check_norm(m, l.ffn_norm_b, c.dim);
    check_attention_variant(m, l, li);
    // The attention's biases and norms, before the FFN checks (which end early for experts).
    if (l.bq.data) check_norm(m, l.bq, q_dim);
    if (l.bk.data) check_norm(m, l.bk, kv_dim);
    if (l.bv.data) check_norm(m, l.bv, kv_dim);
    if (l.q_norm.data) check_norm(m, l.q_norm, q_norm_width(arch, c));
    if (l.k_norm.data) check_norm(m, l.k_norm, k_norm_width(arch, c));
    if (l.post_attn_norm.data) check_norm(m, l.post_attn_norm, c.dim);
    if (l.post_ffn_norm.data) check_norm(m, l.post_ffn_norm, c.dim);
    if (c.n_experts > 0) {
      const int64_t E = c.n_experts;
      check_shape(m, l.router, c.dim, E);
      check_norm(m, l.router_b, E);
      check_stack(m, l.exp_gate, c.dim, c.hidden_dim, E);
      check_stack(m, l.exp_up, c.dim, c.hidden_dim, E);
      check_stack(m, l.exp_down, c.hidden_dim, c.dim, E);
      check_stack(m, l.exp_gate_b, c.hidden_dim, 0, E);
      check_stack(m, l.exp_up_b, c.hidden_dim, 0, E);
      check_stack(m, l.exp_down_b, c.dim, 0, E);
      continue;
    }
    if (c.ffn_gated || l.w_gate.data) check_shape(m, l.w_gate, c.dim, c.hidden_dim);
    if (l.b_up.data) check_norm(m, l.b_up, c.hidden_dim);
    if (l.b_down.data) check_norm(m, l.b_down, c.dim);
    check_shape(m, l.w_down, c.hidden_dim, c.dim);
    check_shape(m, l.w_up, c.dim, c.hidden_dim);
  }
}

double kv_cache_bytes(const ModelConfig& c, double tokens) {
  return 2.0 * c.n_layers * tokens * c.n_kv_heads * c.head_dim * sizeof(float);
}

std::string context_beyond_cap(const std::string& key, int64_t claimed, const ModelConfig& c) {
  char what[96];
  std::snprintf(what, sizeof what, "%.0f bytes", kv_cache_bytes(c, static_cast<double>(claimed)));
  return key + " " + std::to_string(claimed) + " exceeds the cap of " +
         std::to_string(kMaxDim - 1) + " positions: a KV cache of that many would need " + what;
}

}  // namespace ss
