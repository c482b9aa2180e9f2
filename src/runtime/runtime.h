#pragma once
// The forward pass of a decoder-only transformer over a batch of tokens, with a KV cache for
// incremental decoding, hook points and a head mask: embed, then per layer an attention block and
// an FFN block as its LayerPlan says (model/layer_plan.h), then the output norm and logits.
#include <functional>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "base/wire.h"
#include "model/layer_plan.h"
#include "model/model.h"
#include "ops/attention.h"
#include "runtime/head_mask.h"
#include "runtime/hooks.h"
#include "runtime/linear_input.h"
#include "runtime/pipeline_stage.h"

namespace ss {

enum class Logits { None, Last, All };

// -log softmax(logits)[target], in double.
double token_nll(std::span<const float> logits, int target);

class Runtime {
 public:
  // max_ctx: KV cache capacity in tokens (0: the model's training context).
  Runtime(const Model& model, ThreadPool& pool, int max_ctx = 0);

  // Runs tokens at positions pos0 .. pos0+n-1 (the cache must hold positions < pos0) and returns
  // logits: none, [vocab] for the last token, or [n][vocab].
  std::vector<float> forward(std::span<const int> tokens, int pos0, Logits which = Logits::All);

  // Runs tokens like forward() and returns, for i = 0..n-2, the negative log-likelihood of
  // tokens[i+1] after tokens[0..i]. Logits are made a block of rows at a time, so memory stays
  // small even for large vocabularies.
  std::vector<double> forward_nll(std::span<const int> tokens, int pos0);

  // forward() in two halves, for callers that want the logits a block of rows at a time: run the
  // tokens, then write the logits of rows [row0, row0 + rows) of that run to out [rows][vocab].
  // logits() reads this runtime's buffers: valid until the next forward call.
  void forward_hidden(std::span<const int> tokens, int pos0);
  void logits(size_t row0, size_t rows, float* out);

  void add_observer(Observer* o) {
    o->use_pool(&pool_);
    observers_.push_back(o);
  }
  void clear_observers() { observers_.clear(); }
  void set_head_mask(const HeadMask* mask) {
    if (mask) mask->check_means();
    mask_ = mask;
  }

  // Layers whose blocks do not run: the residual stream passes them unchanged, as in a model
  // without them (whole-layer pruning, prune/drop_layers.h). skip[l] for each layer; empty: none.
  void set_skipped_layers(std::vector<bool> skip) { skipped_ = std::move(skip); }

  // Runs only the stage's layers (null: all; see pipeline_stage.h). forward() and forward_nll()
  // of a stage before the last return nothing, and logits() may not be called.
  void set_stage(const PipelineStage* stage) { stage_ = stage; }
  // Whether this runtime makes logits: no stage, or the last one.
  bool has_logits() const { return !stage_ || stage_->end == model_.config.n_layers; }

  // Activations at the hook points are rewritten by p (null: none; see hooks.h).
  void set_patcher(Patcher* p) { patcher_ = p; }

  // Every dense projection's input passes through t first (null: none; see linear_input.h).
  void set_linear_input(LinearInputTransform* t) { linear_input_ = t; }

  const Model& model() const { return model_; }
  int max_ctx() const { return max_ctx_; }

  // Streaming caches (runtime/streaming.h), where a cache slot is not a text position. Tokens
  // run at slots s take position s + offset for rope and learned positions (0: StreamingLLM's
  // positions within the cache; the text position minus the slot: original positions).
  void set_position_offset(int offset) { pos_offset_ = offset; }
  // From now on keep each key as it was before rotation too, so that evict() can rotate the kept
  // keys again at their new slots (SPEC §Streaming: keys cached before rotary encoding).
  void keep_unrotated_keys();
  // For benchmarks only (bench/bench_e2e.cpp's e2e/prefill/nocheck, which measures its cost):
  // false skips the check for NaN and infinity after each layer and on the logits. Nothing else
  // may turn it off: a non-finite result must never be printed.
  void set_finite_check(bool on) { finite_check_ = on; }
  // Drops slots [first, first + count) of every layer's cache, moving slots [first + count, end)
  // down by count; with unrotated keys kept, the moved keys are rotated at their new slots.
  void evict(int first, int count, int end);
  // The KV cache's contents and position offset, for a stream run's checkpoint
  // (runtime/streaming.h): read_cache restores them into a runtime of the same model, capacity
  // and unrotated-key setting, or throws std::runtime_error when the sizes differ.
  void write_cache(WireWriter& w) const;
  void read_cache(WireReader& r);

 private:
  // Throws InputError when x (n_tokens rows of width) holds a NaN or infinity; layer -1: logits.
  void check_finite(const float* x, size_t n_tokens, size_t width, int pos0, int layer) const;
  struct Activations {
    std::vector<float> x, xb, q, k, v, z, o, gate, up;
    std::vector<float> x_in;  // the layer's input, kept for the FFN of a parallel residual
    std::vector<float> z_wide, v_wide;  // a narrower layer's z and v for the hooks (widen)
    // A mixture of experts' router logits and weights, and each expert's rows (moe_block).
    std::vector<float> router, weight, results, xs, gate_e, up_e, down_e;
    std::vector<int> chosen;
  };
  // The blocks of hidden(), in order; x is the residual stream [n][dim].
  void embed(std::span<const int> tokens, int pos0, float* x);
  const double* rope_divisors(int end_pos) const;
  void moe_block(int layer, const float* in, int n, float* out);
  void norm_row(float* out, const float* x, const Tensor& weight, const Tensor& bias) const;
  const float* pre_norm(const Tensor& norm, const Tensor& bias, const float* x, int n,
                        Activations& a);
  void post_norm(const Tensor& norm, float* x, int n);
  void attention_block(int layer, int pos0, int n, Activations& a);
  void ffn_block(int layer, int pos0, int n, Activations& a);
  // Causal attention of the n new queries over the cached keys and values of one layer.
  void attention(int layer, int pos0, int n, const float* q, float* z);
  // fn(i0, i1) over the tokens [0, n), split over the pool when there is enough work to pay for
  // waking it (each token's arithmetic is the same whichever thread does it).
  void per_token(size_t n, const std::function<void(size_t, size_t)>& fn);
  // y = x · wᵀ for n rows: matmul, or matmul_bf16 for BF16 weights of a model loaded with
  // bf16_activations, or matmul_int8 for Q4_K and Q8_0 weights of one loaded with int8_activations.
  void project(const Tensor& w, const float* x, size_t n, float* y);
  // x, or what the linear-input transform makes of it (in linear_scratch_).
  const float* linear_input(int layer, LinearSite site, int pos0, int n, size_t width,
                            const float* x);
  // All blocks and the final norm: returns the normed hidden states [n][dim].
  // (in a buffer of this runtime, valid until the next call); null for a stage before the last.
  const float* hidden(std::span<const int> tokens, int pos0);

  const Model& model_;
  ThreadPool& pool_;
  int max_ctx_;
  // Keys transposed, [layer][kv_dim][k_stride()] (see AttentionShape), already rotated; values
  // [layer][pos][kv_dim].
  std::vector<float> k_cache_, v_cache_;
  std::vector<float> k_unrotated_;  // [layer][pos][kv_dim] when kept (see keep_unrotated_keys)
  int pos_offset_ = 0;
  // cos and sin of layer l's rope at pos (× the rope's attention factor), for rope_rotate.
  void rope_table(int l, int pos, const double* freq_div, std::vector<double>& cos_sin) const;
  Activations act_;
  std::vector<LayerPlan> plans_;
  std::vector<double> rope_div_short_, rope_div_long_;  // see the constructor
  size_t k_stride() const { return static_cast<size_t>(max_ctx_) + kKeyPad; }
  std::vector<Observer*> observers_;
  const HeadMask* mask_ = nullptr;
  LinearInputTransform* linear_input_ = nullptr;
  Patcher* patcher_ = nullptr;
  void patch(Hook hook, int layer, int pos0, int n, float* x) {
    if (patcher_) patcher_->patch(hook, layer, pos0, n, x);
  }
  std::vector<float> linear_scratch_;
  bool finite_check_ = true;   // see set_finite_check
  std::vector<bool> skipped_;  // see set_skipped_layers
  const PipelineStage* stage_ = nullptr;
  // The last forward_hidden: its normed hidden states, row count and first position.
  const float* last_hidden_ = nullptr;
  size_t last_n_ = 0;
  int last_pos0_ = 0;
};

}  // namespace ss
