#pragma once
// A loaded model: configuration plus views of its weights. The bytes stay in the file mapping
// (or in `owned` for formats that need conversion), so loading is cheap.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "model/config.h"

namespace ss {

struct ArchSpec;

// Optional tensors have data == nullptr when the architecture (or file) has none.
struct LayerWeights {
  Tensor attn_norm;    // [dim] f32
  Tensor attn_norm_b;  // optional [dim] f32 LayerNorm bias (GPT-2, GPT-NeoX), as ffn_norm_b
  Tensor wq;           // [dim] -> [q_dim]
  Tensor wk;           // [dim] -> [kv_dim]
  Tensor wv;           // [dim] -> [kv_dim]
  Tensor wo;           // [q_dim] -> [dim]
  Tensor bo;           // optional [dim] f32 bias after wo (a mean-ablated pruned head's constant)
  Tensor ffn_norm;     // [dim] f32
  Tensor ffn_norm_b;
  Tensor w_gate;          // [dim] -> [hidden] (llama2.c w1); none in a plain FFN (GPT-2)
  Tensor w_down;          // [hidden] -> [dim] (llama2.c w2)
  Tensor w_up;            // [dim] -> [hidden] (llama2.c w3)
  Tensor b_up, b_down;    // optional f32 biases of w_up [hidden] and w_down [dim] (GPT-2)
  Tensor bq, bk, bv;      // optional f32 biases of wq, wk, wv (qwen2)
  Tensor q_norm, k_norm;  // optional [head_dim] f32 RMSNorm of each head's q / k (qwen3, gemma3)
  Tensor post_attn_norm;  // optional [dim] f32 RMSNorm of the attention output (gemma3)
  Tensor post_ffn_norm;   // optional [dim] f32 RMSNorm of the FFN output (gemma3)
  Tensor attn_sinks;      // optional [n_heads] f32 learned sink logits (gpt-oss, sink-logit)
  // sink-kv attention: a learned key and value per KV head, [head_dim] x n_kv_heads f32 each;
  // the key is not rotated (it has no position).
  Tensor attn_sink_k, attn_sink_v;
  // Mixture of experts (gpt-oss): the router [dim] -> [n_experts] with its bias, and each
  // expert's gate, up [dim] -> [hidden] and down [hidden] -> [dim] stacked in 3-D tensors
  // (ne {cols, rows, n_experts}), with f32 biases [rows] x n_experts.
  Tensor router, router_b;
  Tensor exp_gate, exp_up, exp_down;
  Tensor exp_gate_b, exp_up_b, exp_down_b;
};

// Every tensor of a layer with its GGUF name (after "blk.N."), in file order. Loader, exporter,
// synth and clone all walk this one table.
struct LayerSlot {
  Tensor LayerWeights::*member;
  const char* gguf_name;
  bool matrix;  // weight matrix (any dtype) rather than an f32 norm or bias
};
const std::vector<LayerSlot>& layer_slots();
// The slot's GGUF name in files of this architecture: gguf_name, but for an ffn_norm the spec
// names otherwise (gpt-oss's post_attention_norm.weight, whose usual slot then has none: null).
const char* gguf_slot_name(const LayerSlot& s, const ArchSpec& a);

struct Model {
  std::string path;
  ModelConfig config;
  Tensor token_embd;     // [dim] x vocab rows
  Tensor output_norm;    // [dim] f32
  Tensor output_norm_b;  // optional [dim] f32 LayerNorm bias
  Tensor position_embd;  // optional learned absolute positions, [dim] x context rows (GPT-2)
  Tensor output;         // classifier, [dim] x vocab rows; the same bytes as token_embd when tied
  bool tied_output = false;
  Tensor rope_freqs;  // optional [head_dim/2] f32 divisors of the rope frequencies (Llama 3)
  // optional [rotated/2] f32 divisors of Phi-3's longrope, for contexts up to and beyond
  // config.rope_orig_ctx
  Tensor rope_factors_short, rope_factors_long;
  std::vector<LayerWeights> layers;
  // --bf16-activations: BF16 weights multiply activations rounded to BF16 with the CPU's BF16
  // dot products (ops/matmul_bf16.h), as llama.cpp does; off, every product is exact f32 math.
  bool bf16_activations = false;
  // --int8-activations: Q4_K and Q8_0 weights multiply activations quantized to 8 bits with integer
  // dot products (ops/matmul_int8.h), as llama.cpp does.
  bool int8_activations = false;

  std::shared_ptr<const void> storage;  // keeps the mapping / buffers alive
  std::vector<std::vector<uint8_t>> owned;

  // Every weight tensor with its role, for `info` and export.
  std::vector<const Tensor*> all_tensors() const;

  size_t n_params() const;
};

// The optional tensors outside the layers with their GGUF names (token_embd, output_norm and
// output are handled apart: they are always there, and output may be tied). Loader, exporter,
// synth and clone walk this table.
struct GlobalSlot {
  Tensor Model::*member;
  const char* gguf_name;
};
const std::vector<GlobalSlot>& global_slots();

// Whether the model's heads have a softmax column besides the keys (gpt-oss's or sink-logit's
// learned logit, softmax1's logit 0, sink-kv's key): its probability is learned_sink_mass.
bool has_sink_column(const Model& m);

// Checks every tensor's shape and dtype against the config; throws InputError(path, ...).
void validate_model(const Model& m);

// Every dimension a file claims (GGUF, config.json, llama2.c) is below this cap; the tensors the
// dimensions imply must then be in the file, which bounds every allocation made from them.
constexpr int64_t kMaxDim = int64_t{1} << 24;

// Bytes of a KV cache of `tokens` positions (keys and values, f32) for this config, and the
// message a context claim beyond kMaxDim gets: "KEY N exceeds the cap ...: a KV cache of that many
// positions would need B bytes".
double kv_cache_bytes(const ModelConfig& c, double tokens);
std::string context_beyond_cap(const std::string& key, int64_t claimed, const ModelConfig& c);

}  // namespace ss
