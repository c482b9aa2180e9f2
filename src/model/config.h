#pragma once
// Hyper-parameters of a model, whatever file it came from.
#include <string>

namespace ss {

struct ModelConfig {
  std::string arch = "llama";
  int dim = 0;         // residual stream width
  int hidden_dim = 0;  // FFN width
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads (GQA: n_heads is a multiple)
  int head_dim = 0;
  int vocab_size = 0;
  int max_seq_len = 0;  // training context
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;

  int kv_dim() const { return n_kv_heads * head_dim; }
  int q_dim() const { return n_heads * head_dim; }
  int kv_group() const { return n_heads / n_kv_heads; }  // query heads per KV head
};

}  // namespace ss
