#pragma once
// Instrumentation points of the forward pass, named as in TransformerLens:
//   blocks.{L}.hook_resid_pre     residual stream entering block L        [n_tokens][dim]
//   blocks.{L}.attn.hook_v        value vectors of the new tokens [n_tokens][n_kv_heads*head_dim]
//   blocks.{L}.attn.hook_pattern  softmax row of one query of one head    [pos + 1] (keys 0..pos)
//   blocks.{L}.attn.hook_z        per-head attention output before W_O [n_tokens][n_heads*head_dim]
//   blocks.{L}.mlp.hook_post      FFN activation act(gate) * up           [n_tokens][hidden_dim]
//                                 (act: SiLU for SwiGLU; tanh-GELU for Gemma's GeGLU)
//   blocks.{L}.hook_resid_post    residual stream leaving block L         [n_tokens][dim]
// Batched calls cover tokens at positions pos0 .. pos0 + n_tokens - 1.
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ss {

class ThreadPool;

class Observer {
 public:
  virtual ~Observer() = default;

  // Return true to receive attention rows for this layer (the kernel skips the calls otherwise).
  virtual bool wants_pattern(int layer) const { return false; }
  // Called from worker threads: for one (layer, head) always from a single thread, in increasing
  // pos order; different heads may be delivered concurrently.
  virtual void on_pattern(int layer, int head, int pos, std::span<const float> row) {}
  // The same row with its entropy in nats, which the attention kernel gets almost for free from
  // the softmax (log Σe − Σ p·(s − max s)) instead of a logarithm per key. The runtime calls this
  // one; by default it forwards to on_pattern.
  virtual void on_pattern_row(int layer, int head, int pos, std::span<const float> row,
                              double entropy) {
    on_pattern(layer, head, pos, row);
  }
  // In a model whose heads have a sink column (model.h has_sink_column): that column's
  // probability for the row at pos, just before the row's on_pattern_row (0 where --ablate-sinks
  // took it away). The key probabilities then sum to 1 − p_sink.
  virtual void on_sink_row(int layer, int head, int pos, double p_sink) {}

  virtual void on_resid_pre(int layer, int pos0, int n_tokens, const float* x) {}
  virtual void on_values(int layer, int pos0, int n_tokens, const float* v) {}
  virtual void on_z(int layer, int pos0, int n_tokens, const float* z) {}  // after the head mask
  virtual void on_mlp_post(int layer, int pos0, int n_tokens, const float* h) {}
  // A mixture of experts (gpt-oss), instead of on_mlp_post: the router's logits [n_tokens ×
  // n_experts] (with bias) and the experts each token was sent to [n_tokens × n_experts_used],
  // best first.
  virtual void on_router(int layer, int n_tokens, const float* logits, const int* chosen) {}
  virtual void on_resid_post(int layer, int pos0, int n_tokens, const float* x) {}

  // The runtime's worker pool (Runtime::add_observer sets it), for the batched hooks above, which
  // run between the pool's jobs: a statistic that is real work per call spreads it with
  // parallel_for instead of leaving the other cores idle.
  void use_pool(ThreadPool* pool) { pool_ = pool; }

 protected:
  // fn(begin, end, thread) over [0, n): on the pool when there is one, else in one call.
  void parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn) const;

 private:
  ThreadPool* pool_ = nullptr;
};

// The instrumentation points above, one table: the names the Observer methods stand for, and the
// keys by which the Python module and any other front end address them.
enum class Hook { ResidPre, Values, Pattern, Z, MlpPost, ResidPost };

struct HookPoint {
  Hook hook;
  const char* name;   // after "blocks.{L}.", TransformerLens's spelling
  const char* shape;  // of the data one call delivers
};
const std::vector<HookPoint>& hook_points();

// Activation patching: rewrites the activation at a hook point, which the forward pass then
// continues from (the observers see the patched values). The runtime calls it only when one is
// set (Runtime::set_patcher), so without one no result changes.
class Patcher {
 public:
  virtual ~Patcher() = default;
  // x: the activation of `hook` in `layer` for the tokens at pos0 .. pos0 + n_tokens - 1, laid
  // out as the table above says, to rewrite in place. Called from the calling thread between the
  // pool's jobs, for every hook but Hook::Pattern; hook_z after the head mask, hook_v before the
  // values enter the KV cache; no mlp.hook_post in a mixture of experts.
  virtual void patch(Hook hook, int layer, int pos0, int n_tokens, float* x) = 0;
};

// "blocks.3.attn.hook_z" etc.
std::string hook_name(Hook hook, int layer);
// The hook and layer of a full name; InputError(name, ...) for a name not in the table.
std::pair<Hook, int> parse_hook_name(const std::string& name);

}  // namespace ss
