#include "runtime/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

#include "base/error.h"
#include "model/yarn_rope.h"
#include "ops/attention.h"
#include "ops/basic.h"
#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/matmul.h"
#include "ops/matmul_bf16.h"
#include "ops/matmul_int8.h"

namespace ss {

namespace {

// Grows a buffer the runtime keeps between calls (never shrinks it): fresh buffers would cost a
// page fault and a zeroed page per 4 KiB on every call.
template <class T>
void fit(std::vector<T>& b, size_t size) {
  if (b.size() < size) b.resize(size);
}

}  // namespace

Runtime::Runtime(const Model& model, ThreadPool& pool, int max_ctx)
    : model_(model),
      pool_(pool),
      max_ctx_(max_ctx > 0 ? max_ctx : model.config.max_seq_len),
      plans_(layer_plans(model.config)) {
  const ModelConfig& c = model.config;
  // Divisors of the rope frequencies, in double whatever their source: Llama 3's rope_freqs,
  // Phi-3's longrope factors (short, and long for positions past the original context), or
  // YaRN's, computed here. Empty: none.
  auto from = [](const Tensor& t) {
    return t.data ? std::vector<double>(t.f32(), t.f32() + t.cols()) : std::vector<double>{};
  };
  if (model.rope_freqs.data) {
    rope_div_short_ = from(model.rope_freqs);
  } else if (c.yarn_factor > 0) {
    rope_div_short_ = yarn_rope_divisors(
        c.rotated_dims(), c.rope_theta,
        {c.yarn_factor, c.yarn_orig_ctx, c.yarn_beta_fast, c.yarn_beta_slow, c.yarn_truncate});
  } else {
    rope_div_short_ = from(model.rope_factors_short);
    rope_div_long_ = from(model.rope_factors_long);
  }
  // A context a file or an option claims is refused before the cache is allocated when the cache
  // alone would not fit in this machine's memory (issue 21: absurd sizes).
  const double cache_bytes =
      2.0 * c.n_layers * static_cast<double>(k_stride()) * c.kv_dim() * sizeof(float);
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  if (memory > 0 && cache_bytes > memory) {
    const double gib = 1024.0 * 1024 * 1024;
    char what[200];
    std::snprintf(what, sizeof what,
                  "a KV cache of %d tokens needs %.1f GiB (%d layers x %d key/value values x 2 "
                  "x 4 bytes per token), more than this machine's %.1f GiB: use a shorter --ctx",
                  max_ctx_, cache_bytes / gib, c.n_layers, c.kv_dim(), memory / gib);
    throw InputError(model.path, what);
  }
  // The activations of a forward pass over max_ctx tokens at once (hidden()'s buffers, the
  // MoE's, a block of 64 rows of logits), with the cache: what a window of the whole context
  // needs beyond the file's mapping.
  const double per_token =
      4.0 * c.dim + 2.0 * c.q_dim() + 2.0 * c.kv_dim() +
      (c.n_experts > 0 ? c.n_experts + 3.0 * c.n_experts_used + c.n_experts_used * c.dim +
                             2.0 * c.hidden_dim + c.dim
                       : 2.0 * c.hidden_dim);
  const double activation_bytes = (per_token * max_ctx_ + 64.0 * c.vocab_size) * sizeof(float);
  if (memory > 0 && cache_bytes + activation_bytes > memory) {
    char what[320];
    std::snprintf(what, sizeof what,
                  "a forward pass over %d tokens needs %.0f bytes (KV cache %.0f, activations "
                  "%.0f: %.0f values of 4 bytes per token for dim %d and FFN %d, and 64 rows of "
                  "%d logits), more than this machine's %.0f: use a shorter --ctx",
                  max_ctx_, cache_bytes + activation_bytes, cache_bytes, activation_bytes,
                  per_token, c.dim, c.hidden_dim, c.vocab_size, memory);
    throw InputError(model.path, what);
  }
  const size_t n = static_cast<size_t>(model.config.n_layers) * max_ctx_ * model.config.kv_dim();
  k_cache_.assign(static_cast<size_t>(model.config.n_layers) * model.config.kv_dim() * k_stride(),
                  0.0f);
  v_cache_.assign(n, 0.0f);
}

void Runtime::keep_unrotated_keys() {
  const ModelConfig& c = model_.config;
  k_unrotated_.assign(static_cast<size_t>(c.n_layers) * max_ctx_ * c.kv_dim(), 0.0f);
}

void Runtime::rope_table(int l, int pos, const double* freq_div,
                         std::vector<double>& cos_sin) const {
  const ModelConfig& c = model_.config;
  const LayerPlan& plan = plans_[l];
  cos_sin.resize(static_cast<size_t>(c.rotated_dims()));
  rope_angles(cos_sin.data(), cos_sin.size(), pos, plan.rope_theta, plan.rope_scale, freq_div);
  if (c.rope_attn_factor != 1.0f)
    for (double& v : cos_sin) v *= c.rope_attn_factor;
}

void Runtime::evict(int first, int count, int end) {
  if (first < 0 || count <= 0 || first + count > end || end > max_ctx_)
    throw std::invalid_argument("evict: slots out of range");
  const ModelConfig& c = model_.config;
  const size_t moved = static_cast<size_t>(end - first - count);
  for (int l = 0; l < c.n_layers; ++l) {
    // Each layer's cache region is c.kv_dim() wide; a layer with fewer KV heads uses its start.
    const size_t KV = c.kv_dim(l), region = c.kv_dim();
    float* kc = k_cache_.data() + static_cast<size_t>(l) * region * k_stride();
    float* vc = v_cache_.data() + static_cast<size_t>(l) * max_ctx_ * region;
    std::copy_n(vc + static_cast<size_t>(first + count) * KV, moved * KV, vc + first * KV);
    if (k_unrotated_.empty()) {
      for (size_t e = 0; e < KV; ++e)
        std::copy_n(kc + e * k_stride() + first + count, moved, kc + e * k_stride() + first);
      continue;
    }
    float* ku = k_unrotated_.data() + static_cast<size_t>(l) * max_ctx_ * region;
    std::copy_n(ku + static_cast<size_t>(first + count) * KV, moved * KV, ku + first * KV);
    // The divisors of a forward pass over the cache as it now stands (longrope's choice).
    const double* freq_div = rope_divisors(end - count + pos_offset_);
    const LayerPlan& plan = plans_[l];
    pool_.parallel_for(moved, [&](size_t s0, size_t s1, int) {
      std::vector<float> k(KV);
      std::vector<double> cos_sin;
      for (size_t s = first + s0; s < first + s1; ++s) {
        std::copy_n(ku + s * KV, KV, k.data());
        if (c.rotated_dims() > 0) {
          rope_table(l, static_cast<int>(s) + pos_offset_, freq_div, cos_sin);
          for (int h = 0; h < c.kv_heads(l); ++h)
            rope_rotate(k.data() + static_cast<size_t>(h) * c.head_dim, cos_sin.size(),
                        plan.rope_style, cos_sin.data());
        }
        for (size_t e = 0; e < KV; ++e) kc[e * k_stride() + s] = k[e];
      }
    });
  }
}

void Runtime::write_cache(WireWriter& w) const {
  w.put<int32_t>(pos_offset_);
  w.put_vector<float>(k_cache_).put_vector<float>(v_cache_).put_vector<float>(k_unrotated_);
}

void Runtime::read_cache(WireReader& r) {
  const int32_t offset = r.get<int32_t>();
  for (std::vector<float>* v : {&k_cache_, &v_cache_, &k_unrotated_}) {
    std::vector<float> saved = r.get_vector<float>();
    if (saved.size() != v->size()) throw std::runtime_error("KV cache of another size");
    *v = std::move(saved);
  }
  pos_offset_ = offset;
}

// Causal attention of n queries (positions pos0..pos0+n-1) over the cached keys of one layer.
// One task per query head, so each head's rows reach observers in order from one thread.
void Runtime::attention(int layer, int pos0, int n, const float* q, float* z) {
  const ModelConfig& c = model_.config;
  const int hd = c.head_dim, q_dim = c.q_dim(layer), kv_dim = c.kv_dim(layer);
  const size_t region = c.kv_dim();  // see evict
  const float* kc = k_cache_.data() + static_cast<size_t>(layer) * region * k_stride();
  const float* vc = v_cache_.data() + static_cast<size_t>(layer) * max_ctx_ * region;
  const LayerPlan& plan = plans_[layer];
  std::vector<Observer*> watching;
  for (Observer* o : observers_)
    if (o->wants_pattern(layer)) watching.push_back(o);

  AttentionShape shape;
  shape.head_dim = hd;
  shape.q_stride = shape.z_stride = static_cast<size_t>(q_dim);
  shape.k_stride = k_stride();
  shape.v_stride = static_cast<size_t>(kv_dim);
  shape.scale = plan.query_scale;
  shape.window = plan.window;
  shape.softcap = plan.attn_softcap;
  const LayerWeights& lw = model_.layers[layer];
  const float* sinks = lw.attn_sinks.data ? lw.attn_sinks.f32() : nullptr;
  const float* sink_k = lw.attn_sink_k.data ? lw.attn_sink_k.f32() : nullptr;
  const float* sink_v = lw.attn_sink_v.data ? lw.attn_sink_v.f32() : nullptr;
  const AttentionKind kind = c.attention;
  shape.sigmoid = kind == AttentionKind::Sigmoid;
  const bool sink_column = has_sink_column(model_);
  const int group = c.kv_group(layer);
  pool_.parallel_for(c.heads(layer), [&](size_t h0, size_t h1, int) {
    for (size_t h = h0; h < h1; ++h) {
      // A head the mask zeroes or replaces, whose rows nobody watches: its z is overwritten
      // after this, so its attention is not computed at all.
      if (mask_ && watching.empty() && mask_->get(layer, static_cast<int>(h)) != HeadAction::Keep)
        continue;
      const size_t kv_off = (h / group) * hd;
      AttentionShape head_shape = shape;
      std::vector<float> sink_probs(sink_column && !watching.empty() ? n : 0);
      if (!sink_probs.empty()) head_shape.sink_probs = sink_probs.data();
      PatternFn on_row;
      if (!watching.empty())
        on_row = [&](int i, int pos, std::span<const float> row, double entropy) {
          for (Observer* o : watching) {
            if (!sink_probs.empty()) o->on_sink_row(layer, static_cast<int>(h), pos, sink_probs[i]);
            o->on_pattern_row(layer, static_cast<int>(h), pos, row, entropy);
          }
        };
      // --ablate-sinks takes the sink column away whatever made it.
      if (!(mask_ && mask_->sink_removed(layer, static_cast<int>(h)))) {
        if (sinks) head_shape.sink = sinks[h];
        if (kind == AttentionKind::Softmax1) head_shape.sink = 0.0;  // a fixed logit of 0
        if (sink_k) {
          head_shape.sink_key = sink_k + kv_off;
          head_shape.sink_value = sink_v + kv_off;
        }
      }
      attend_head(q + h * hd, kc + kv_off * k_stride(), vc + kv_off, pos0, n, head_shape,
                  z + h * hd, on_row);
    }
  });
}

// The rope divisors of a forward pass ending before end_pos: longrope's long factors when the
// positions reach beyond the original context (transformers decides by the largest position of
// the forward pass: the same rule per call here), else the others; nullptr for none.
const double* Runtime::rope_divisors(int end_pos) const {
  if (!rope_div_long_.empty() && end_pos > model_.config.rope_orig_ctx)
    return rope_div_long_.data();
  return rope_div_short_.empty() ? nullptr : rope_div_short_.data();
}

namespace {

// out [n][wide] = x [n][width], the values past width zero (a layer with fewer heads in the
// widest layout), and back.
void widen(const float* x, size_t n, size_t width, size_t wide, float* out) {
  for (size_t i = 0; i < n; ++i) {
    std::copy_n(x + i * width, width, out + i * wide);
    std::fill(out + i * wide + width, out + (i + 1) * wide, 0.0f);
  }
}
void unwiden(const float* x, size_t n, size_t width, size_t wide, float* out) {
  for (size_t i = 0; i < n; ++i) std::copy_n(x + i * wide, width, out + i * width);
}

// x[i] += b for each of n rows of width b's length.
void add_bias(float* x, const Tensor& b, size_t n) {
  const size_t w = static_cast<size_t>(b.cols());
  for (size_t i = 0; i < n; ++i)
    for (size_t d = 0; d < w; ++d) x[i * w + d] += b.f32()[d];
}

// RMSNorm of each of n rows of width w, in place.
void norm_rows(float* x, const Tensor& weight, size_t n, size_t w, float eps) {
  for (size_t i = 0; i < n; ++i) rmsnorm(x + i * w, x + i * w, weight.f32(), w, eps);
}

}  // namespace

void Runtime::project(const Tensor& w, const float* x, size_t n, float* y) {
  if (model_.bf16_activations && w.type == DType::BF16)
    matmul_bf16(w, x, n, y, pool_);
  else if (model_.int8_activations && int8_dot_type(w.type))
    matmul_int8(w, x, n, y, pool_);
  else
    matmul(w, x, n, y, pool_);
}

const float* Runtime::linear_input(int layer, LinearSite site, int pos0, int n, size_t width,
                                   const float* x) {
  if (!linear_input_) return x;
  fit(linear_scratch_, static_cast<size_t>(n) * width);
  return linear_input_->transform(layer, site, pos0, n, width, x, linear_scratch_.data());
}

void Runtime::per_token(size_t n, const std::function<void(size_t, size_t)>& fn) {
  // Below ~32k elements waking the workers costs more than it saves.
  const ModelConfig& c = model_.config;
  if (n * static_cast<size_t>(std::max(c.dim, c.hidden_dim)) >= (size_t{1} << 15))
    pool_.parallel_for(n, [&](size_t i0, size_t i1, int) { fn(i0, i1); });
  else
    fn(0, n);
}

// x[i] = embedding of tokens[i], times the architecture's embedding scale, plus the learned
// embedding of position pos0 + i where the model has them (GPT-2).
void Runtime::embed(std::span<const int> tokens, int pos0, float* x) {
  const ModelConfig& c = model_.config;
  const size_t D = c.dim;
  const Tensor& pe = model_.position_embd;
  if (pe.data && pos0 + static_cast<int64_t>(tokens.size()) > pe.rows())
    throw InputError(model_.path, "position " + std::to_string(std::max<int64_t>(pos0, pe.rows())) +
                                      " is beyond the " + std::to_string(pe.rows()) +
                                      " learned positions of position_embd.weight");
  std::vector<float> pos_row(pe.data ? D : 0);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      throw std::invalid_argument("token id " + std::to_string(tokens[i]) + " is out of range");
    float* xi = x + i * D;
    dequantize_row(model_.token_embd.type, model_.token_embd.row(tokens[i]), xi, D);
    if (c.embed_scale != 1.0f)
      for (size_t d = 0; d < D; ++d)
        xi[d] = static_cast<float>(xi[d] * static_cast<double>(c.embed_scale));
    if (pe.data) {
      dequantize_row(pe.type, pe.row(pos0 + static_cast<int64_t>(i)), pos_row.data(), D);
      for (size_t d = 0; d < D; ++d) xi[d] += pos_row[d];
    }
  }
}

// out = the model's norm of one row of x: RMSNorm, or LayerNorm with its bias.
void Runtime::norm_row(float* out, const float* x, const Tensor& weight, const Tensor& bias) const {
  const ModelConfig& c = model_.config;
  if (c.norm == NormKind::Layer)
    layernorm(out, x, weight.f32(), bias.data ? bias.f32() : nullptr, c.dim, c.norm_eps);
  else
    rmsnorm(out, x, weight.f32(), c.dim, c.norm_eps);
}

// The block's input: x normed into xb, or x itself where the block has no pre-norm (OLMo 2) or
// its norms follow the residual sums (Post-LN, sinkscope.norm post).
const float* Runtime::pre_norm(const Tensor& norm, const Tensor& bias, const float* x, int n,
                               Activations& a) {
  if (!norm.data || model_.config.norm_placement == NormPlacement::Post) return x;
  const size_t D = model_.config.dim;
  float* xb = a.xb.data();
  per_token(static_cast<size_t>(n), [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) norm_row(xb + i * D, x + i * D, norm, bias);
  });
  return xb;
}

// Post-LN (sinkscope.norm post): the residual sum x, just formed, replaced by its RMSNorm.
void Runtime::post_norm(const Tensor& norm, float* x, int n) {
  const size_t D = model_.config.dim;
  const float eps = model_.config.norm_eps;
  per_token(static_cast<size_t>(n), [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) rmsnorm(x + i * D, x + i * D, norm.f32(), D, eps);
  });
}

// x += W_O · attention(rope(q), rope(k), v) of normed x, with the layer's biases and norms.
void Runtime::attention_block(int l, int pos0, int n, Activations& a) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[l];
  const LayerPlan& plan = plans_[l];
  const size_t D = c.dim, Q = c.q_dim(l), KV = c.kv_dim(l), HD = c.head_dim, N = n;
  // A layer with fewer heads than the widest shows the hooks (and the head mask) its values in
  // the widest layout, the absent heads zero: tables indexed [layer * n_heads + head] fit.
  const bool narrow = Q != static_cast<size_t>(c.q_dim()) || KV != static_cast<size_t>(c.kv_dim());
  const bool hooked = patcher_ || !observers_.empty();
  float *x = a.x.data(), *q = a.q.data(), *k = a.k.data(), *v = a.v.data();
  patch(Hook::ResidPre, l, pos0, n, x);
  for (Observer* ob : observers_) ob->on_resid_pre(l, pos0, n, x);

  if (c.parallel_residual) std::copy_n(x, N * D, a.x_in.data());
  const float* in = linear_input(l, LinearSite::AttnIn, pos0, n, D,
                                 pre_norm(w.attn_norm, w.attn_norm_b, x, n, a));
  project(w.wq, in, N, q);
  project(w.wk, in, N, k);
  project(w.wv, in, N, v);
  if (w.bq.data) add_bias(q, w.bq, N);
  if (w.bk.data) add_bias(k, w.bk, N);
  if (w.bv.data) add_bias(v, w.bv, N);
  float* v_hook = v;  // v as the hooks see it
  if (narrow && hooked) {
    v_hook = a.v_wide.data();
    widen(v, N, KV, c.kv_dim(), v_hook);
  }
  patch(Hook::Values, l, pos0, n, v_hook);  // before the cache holds it
  if (v_hook != v) unwiden(v_hook, N, KV, c.kv_dim(), v);
  // q/k norms over each head (Qwen 3, Gemma) or the whole projection (OLMo 2): their width says.
  if (w.q_norm.data) {
    const size_t width = static_cast<size_t>(w.q_norm.cols());
    norm_rows(q, w.q_norm, N * Q / width, width, c.norm_eps);
  }
  if (w.k_norm.data) {
    const size_t width = static_cast<size_t>(w.k_norm.cols());
    norm_rows(k, w.k_norm, N * KV / width, width, c.norm_eps);
  }

  // Rotate the leading rotated dims of each head of q and k, and append k (transposed) and v to
  // the cache.
  const size_t RD = static_cast<size_t>(c.rotated_dims());
  const double* freq_div = rope_divisors(pos0 + n + pos_offset_);
  const size_t region = c.kv_dim();  // see evict
  float* kc = k_cache_.data() + static_cast<size_t>(l) * region * k_stride();
  float* vc = v_cache_.data() + static_cast<size_t>(l) * max_ctx_ * region;
  float* ku = k_unrotated_.empty()
                  ? nullptr
                  : k_unrotated_.data() + static_cast<size_t>(l) * max_ctx_ * region;
  per_token(N, [&](size_t i0, size_t i1) {
    std::vector<double> cos_sin;
    for (size_t i = i0; i < i1; ++i) {
      const int pos = pos0 + static_cast<int>(i);  // the cache slot
      if (ku) std::copy_n(k + i * KV, KV, ku + static_cast<size_t>(pos) * KV);
      if (RD > 0) {
        rope_table(l, pos + pos_offset_, freq_div, cos_sin);
        for (int h = 0; h < c.heads(l); ++h)
          rope_rotate(q + i * Q + h * HD, RD, plan.rope_style, cos_sin.data());
        for (int h = 0; h < c.kv_heads(l); ++h)
          rope_rotate(k + i * KV + h * HD, RD, plan.rope_style, cos_sin.data());
      }
      for (size_t e = 0; e < KV; ++e) kc[e * k_stride() + static_cast<size_t>(pos)] = k[i * KV + e];
      std::copy_n(v + i * KV, KV, vc + static_cast<size_t>(pos) * KV);
    }
  });
  for (Observer* ob : observers_) ob->on_values(l, pos0, n, v_hook);

  attention(l, pos0, n, q, a.z.data());
  float* z_hook = a.z.data();
  if (narrow && (hooked || mask_)) {
    z_hook = a.z_wide.data();
    widen(a.z.data(), N, Q, c.q_dim(), z_hook);
  }
  if (mask_) mask_->apply(l, z_hook, n);
  patch(Hook::Z, l, pos0, n, z_hook);
  for (Observer* ob : observers_) ob->on_z(l, pos0, n, z_hook);
  if (z_hook != a.z.data()) unwiden(z_hook, N, Q, c.q_dim(), a.z.data());

  float* o = a.o.data();
  project(w.wo, linear_input(l, LinearSite::AttnOut, pos0, n, Q, a.z.data()), N, o);
  auto add_to_x = [&] {
    per_token(N, [&](size_t i0, size_t i1) {
      for (size_t i = i0 * D; i < i1 * D; ++i) x[i] += o[i];
    });
  };
  if (w.post_attn_norm.data) {
    if (w.bo.data) add_bias(o, w.bo, N);
    norm_rows(o, w.post_attn_norm, N, D, c.norm_eps);
    add_to_x();
  } else {
    add_to_x();
    if (w.bo.data) add_bias(x, w.bo, N);  // after the sum, as pruned exports expect
  }
  if (c.norm_placement == NormPlacement::Post) post_norm(w.attn_norm, x, n);
}

// x += W_down · (act(W_gate · normed x) * W_up · normed x), or W_down · act(W_up · normed x +
// b_up) + b_down in a plain FFN, with the layer's post-norm. A parallel residual's FFN reads
// the layer's input rather than x after attention.
void Runtime::ffn_block(int l, int pos0, int n, Activations& a) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[l];
  const size_t D = c.dim, F = c.hidden_dim, N = n;
  float *x = a.x.data(), *gate = a.gate.data(), *o = a.o.data();
  const float* in =
      pre_norm(w.ffn_norm, w.ffn_norm_b, c.parallel_residual ? a.x_in.data() : x, n, a);
  const FfnAct act = plans_[l].ffn_act;
  if (c.n_experts == 0) in = linear_input(l, LinearSite::FfnIn, pos0, n, D, in);
  if (c.n_experts > 0) {
    moe_block(l, in, n, o);
  } else if (c.ffn_gated) {
    project(w.w_gate, in, N, gate);
    project(w.w_up, in, N, a.up.data());
    per_token(N, [&](size_t i0, size_t i1) {
      float* g = gate + i0 * F;
      const float* u = a.up.data() + i0 * F;
      if (act == FfnAct::GeluTanh)
        geglu_tanh(g, u, (i1 - i0) * F);
      else
        swiglu(g, u, (i1 - i0) * F);
    });
  } else {
    project(w.w_up, in, N, gate);
    if (w.b_up.data) add_bias(gate, w.b_up, N);
    per_token(N, [&](size_t i0, size_t i1) {
      if (act == FfnAct::GeluErf)
        gelu_erf(gate + i0 * F, (i1 - i0) * F);
      else
        gelu_tanh(gate + i0 * F, (i1 - i0) * F);
    });
  }
  if (c.n_experts == 0) {
    patch(Hook::MlpPost, l, pos0, n, gate);
    for (Observer* ob : observers_) ob->on_mlp_post(l, pos0, n, gate);
    project(w.w_down, linear_input(l, LinearSite::FfnDown, pos0, n, F, gate), N, o);
    if (w.b_down.data) add_bias(o, w.b_down, N);
  }
  if (w.post_ffn_norm.data) norm_rows(o, w.post_ffn_norm, N, D, c.norm_eps);
  per_token(N, [&](size_t i0, size_t i1) {
    for (size_t i = i0 * D; i < i1 * D; ++i) x[i] += o[i];
  });
  if (c.norm_placement == NormPlacement::Post) post_norm(w.ffn_norm, x, n);
  patch(Hook::ResidPost, l, pos0, n, x);
  for (Observer* ob : observers_) ob->on_resid_post(l, pos0, n, x);
}

namespace {

// Expert e of a stack of matrices (ne {cols, rows, n}): a 2-D view of its bytes.
Tensor expert_matrix(const Tensor& stack, int64_t e) {
  Tensor t = stack;
  t.ne = {stack.ne[0], stack.ne[1]};
  t.data = stack.data + static_cast<size_t>(e) * t.nbytes();
  return t;
}

}  // namespace

// out = Σ over the token's top-k experts of weight · expert(in), gpt-oss's mixture: the router's
// logits (with bias) pick the k largest (ties to the lower index), their weights are a softmax
// over those k logits; each expert is W_down · clamped_swiglu(W_gate x + b, W_up x + b) + b.
// Experts run one after another on the rows routed to them, each matmul across the threads,
// reading only those experts' weight rows; every token then sums its k results in rank order,
// so the bits do not depend on the thread count.
void Runtime::moe_block(int l, const float* in, int n, float* out) {
  const ModelConfig& c = model_.config;
  const LayerWeights& w = model_.layers[l];
  const size_t D = c.dim, F = c.hidden_dim, N = n, E = c.n_experts, K = c.n_experts_used;
  // Buffers kept between calls, as the others are: grown, never shrunk.
  Activations& act = act_;
  fit(act.router, N * E), fit(act.chosen, N * K), fit(act.weight, N * K);
  fit(act.results, N * K * D);
  float* logits = act.router.data();
  int* chosen = act.chosen.data();
  float* weight = act.weight.data();
  project(w.router, in, N, logits);
  add_bias(logits, w.router_b, N);
  std::vector<std::vector<int>> routed(E);  // per expert: token · K + rank
  for (size_t t = 0; t < N; ++t) {
    const float* lt = logits + t * E;
    std::vector<int> order(E);
    for (size_t e = 0; e < E; ++e) order[e] = static_cast<int>(e);
    std::partial_sort(order.begin(), order.begin() + static_cast<long>(K), order.end(),
                      [&](int a, int b) { return lt[a] > lt[b] || (lt[a] == lt[b] && a < b); });
    double mx = lt[order[0]], sum = 0;
    for (size_t r = 0; r < K; ++r) sum += std::exp(static_cast<double>(lt[order[r]]) - mx);
    for (size_t r = 0; r < K; ++r) {
      chosen[t * K + r] = order[r];
      weight[t * K + r] =
          static_cast<float>(std::exp(static_cast<double>(lt[order[r]]) - mx) / sum);
      routed[static_cast<size_t>(order[r])].push_back(static_cast<int>(t * K + r));
    }
  }
  for (Observer* ob : observers_) ob->on_router(l, n, logits, chosen);

  float* results = act.results.data();
  std::vector<float>&xs = act.xs, &gate = act.gate_e, &up = act.up_e, &down = act.down_e;
  for (size_t e = 0; e < E; ++e) {
    const std::vector<int>& slots = routed[e];
    if (slots.empty()) continue;
    const size_t m = slots.size();
    fit(xs, m * D), fit(gate, m * F), fit(up, m * F), fit(down, m * D);
    for (size_t i = 0; i < m; ++i)
      std::copy_n(in + static_cast<size_t>(slots[i]) / K * D, D, xs.data() + i * D);
    project(expert_matrix(w.exp_gate, static_cast<int64_t>(e)), xs.data(), m, gate.data());
    project(expert_matrix(w.exp_up, static_cast<int64_t>(e)), xs.data(), m, up.data());
    const float* bg = w.exp_gate_b.f32() + e * F;
    const float* bu = w.exp_up_b.f32() + e * F;
    for (size_t i = 0; i < m; ++i)
      for (size_t f = 0; f < F; ++f) gate[i * F + f] += bg[f], up[i * F + f] += bu[f];
    swiglu_clamped(gate.data(), up.data(), m * F, 1.702f, 7.0f);
    project(expert_matrix(w.exp_down, static_cast<int64_t>(e)), gate.data(), m, down.data());
    const float* bd = w.exp_down_b.f32() + e * D;
    for (size_t i = 0; i < m; ++i)
      for (size_t d = 0; d < D; ++d)
        results[static_cast<size_t>(slots[i]) * D + d] = down[i * D + d] + bd[d];
  }
  for (size_t t = 0; t < N; ++t)
    for (size_t d = 0; d < D; ++d) {
      float acc = 0;
      for (size_t r = 0; r < K; ++r)
        acc = std::fma(weight[t * K + r], results[(t * K + r) * D + d], acc);
      out[t * D + d] = acc;
    }
}

namespace {

// Index of the first NaN or infinity in x[0..n), or n: exponent bits all ones, an integer test
// the compiler vectorizes (about 0.01% of prefill per layer).
size_t first_non_finite(const float* x, size_t n) {
  const auto* bits = reinterpret_cast<const uint32_t*>(x);
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= (bits[i] & 0x7f800000u) == 0x7f800000u;
  if (!any) return n;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return n;
}

}  // namespace

// A NaN or infinity in the residual stream or the logits comes from the model file (weights or
// hyper-parameters): a one-line error naming where it first appeared, never a NaN result.
void Runtime::check_finite(const float* x, size_t n_tokens, size_t width, int pos0,
                           int layer) const {
  if (!finite_check_) return;
  const size_t i = first_non_finite(x, n_tokens * width);
  if (i == n_tokens * width) return;
  const std::string where = layer >= 0 ? "the residual stream after layer " + std::to_string(layer)
                                       : std::string("the logits");
  throw InputError(model_.path, "non-finite value (" + std::to_string(x[i]) + ") in " + where +
                                    " at position " + std::to_string(pos0 + i / width) +
                                    ": the weights or hyper-parameters give no finite result");
}

// Decode-sized steps run many short jobs: the pool's threads spin between them
// (base/thread_pool.h). The matmul's decode path takes fewer than 8 tokens too (ops/gemm-inl.h,
// kPackMinTokens).
constexpr size_t kSpinBelowTokens = 8;

const float* Runtime::hidden(std::span<const int> tokens, int pos0) {
  const ModelConfig& c = model_.config;
  const int n = static_cast<int>(tokens.size());
  const ThreadPool::Spin spin(pool_, tokens.size() < kSpinBelowTokens);
  if (pos0 < 0 || pos0 + n > max_ctx_)
    throw std::invalid_argument("positions " + std::to_string(pos0) + ".." +
                                std::to_string(pos0 + n - 1) + " exceed the KV cache of " +
                                std::to_string(max_ctx_) + " tokens");
  // The runtime's buffers (every element is written before it is read).
  const size_t N = n, D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.hidden_dim;
  fit(act_.x, N * D), fit(act_.xb, N * D), fit(act_.o, N * D);
  fit(act_.q, N * Q), fit(act_.z, N * Q), fit(act_.k, N * KV), fit(act_.v, N * KV);
  if (!c.uniform_heads()) fit(act_.z_wide, N * Q), fit(act_.v_wide, N * KV);
  if (c.n_experts == 0) fit(act_.gate, N * F), fit(act_.up, N * F);  // moe_block has its own
  if (c.parallel_residual) fit(act_.x_in, N * D);

  const int first = stage_ ? stage_->first : 0, end = stage_ ? stage_->end : c.n_layers;
  if (first > 0)
    stage_->receive(act_.x.data(), N * D);
  else
    embed(tokens, pos0 + pos_offset_, act_.x.data());
  for (int l = first; l < end; ++l) {
    if (static_cast<size_t>(l) < skipped_.size() && skipped_[l]) continue;
    attention_block(l, pos0, n, act_);
    ffn_block(l, pos0, n, act_);
    check_finite(act_.x.data(), N, D, pos0, l);
  }
  if (end < c.n_layers) {
    stage_->send(act_.x.data(), N * D);
    return nullptr;
  }
  per_token(N, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i)
      norm_row(act_.xb.data() + i * D, act_.x.data() + i * D, model_.output_norm,
               model_.output_norm_b);
  });
  return act_.xb.data();
}

std::vector<float> Runtime::forward(std::span<const int> tokens, int pos0, Logits which) {
  if (tokens.empty()) return {};
  forward_hidden(tokens, pos0);
  if (which == Logits::None || !last_hidden_) return {};
  const size_t n = tokens.size(), first = which == Logits::Last ? n - 1 : 0;
  std::vector<float> out((n - first) * model_.config.vocab_size);
  logits(first, n - first, out.data());
  return out;
}

void Runtime::forward_hidden(std::span<const int> tokens, int pos0) {
  last_hidden_ = hidden(tokens, pos0);
  last_n_ = tokens.size();
  last_pos0_ = pos0;
}

void Runtime::logits(size_t row0, size_t rows, float* out) {
  if (!last_hidden_ || row0 + rows > last_n_)
    throw std::logic_error("Runtime::logits: rows outside the last forward_hidden");
  const size_t V = model_.config.vocab_size;
  const ThreadPool::Spin spin(pool_, rows < kSpinBelowTokens);
  project(model_.output, last_hidden_ + row0 * model_.config.dim, rows, out);
  if (model_.config.final_logit_softcap > 0)
    softcap(out, rows * V, model_.config.final_logit_softcap);
  check_finite(out, rows, V, last_pos0_ + static_cast<int>(row0), -1);
}

std::vector<double> Runtime::forward_nll(std::span<const int> tokens, int pos0) {
  if (tokens.empty()) return {};
  forward_hidden(tokens, pos0);
  if (tokens.size() < 2 || !last_hidden_) return {};
  const size_t n = tokens.size() - 1, V = model_.config.vocab_size;
  constexpr size_t kBlock = 64;
  std::vector<float> block(kBlock * V);
  std::vector<double> nll(n);
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t rows = std::min(kBlock, n - b);
    logits(b, rows, block.data());
    // A log-softmax over the vocabulary per row: rows are independent, so any split gives the
    // same values; small vocabularies are not worth waking the pool for.
    auto rows_nll = [&](size_t r0, size_t r1, int) {
      for (size_t r = r0; r < r1; ++r)
        nll[b + r] = token_nll({block.data() + r * V, V}, tokens[b + r + 1]);
    };
    if (rows * V >= (size_t{1} << 15))
      pool_.parallel_for(rows, rows_nll);
    else
      rows_nll(0, rows, 0);
  }
  return nll;
}

double token_nll(std::span<const float> logits, int target) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return std::log(sum) + mx - static_cast<double>(logits[target]);
}

}  // namespace ss
