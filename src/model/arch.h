#pragma once
// The architecture registry: one ArchSpec per architecture, each in its own file under
// model/archs/, holding everything that sets it apart from the llama block: its names in GGUF and
// Hugging Face files, its tensors, its norms, rope and activation, its sliding-window layers,
// its config.json keys and its synth shapes. Loaders, writers, synth and the runtime's layer plan
// read the spec; nothing else names an architecture. docs/architecture.md says how to add one.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"

namespace ss {

struct Model;
struct LayerWeights;
struct Tensor;
class HfConfig;
class GgufFile;
class GgufWriter;
struct HfLayout;

// transformers' config-class defaults for the keys a config.json may leave out (nullopt: the key
// is required; head_dim's default is hidden_size / num_attention_heads, num_key_value_heads'
// num_attention_heads).
struct HfDefaults {
  std::optional<int> hidden_size{}, intermediate_size{}, num_hidden_layers{}, num_attention_heads{},
      num_key_value_heads{}, vocab_size{}, head_dim{};
  int max_position_embeddings = 2048;
  double rope_theta = 10000;
  bool tie_word_embeddings = false;
  double rms_norm_eps = 1e-6;
  double final_logit_softcapping = 0, attn_logit_softcapping = 0;  // 0: none
};

struct ArchSpec {
  const char* name;  // GGUF general.architecture, and `synth --arch`

  // The block.
  RopeStyle rope_style;
  FfnAct ffn_act;
  bool qkv_bias;       // attn_{q,k,v}.bias present
  bool qk_norm;        // attn_{q,k}_norm present ...
  bool qk_norm_whole;  // ... over the whole q and k projections, not each head (OLMo 2)
  bool pre_norms;      // attn_norm and ffn_norm present (RMSNorm of the block's input)
  bool post_norms;     // post_attention_norm and post_ffw_norm present
  bool embed_scaled;   // embeddings multiplied by sqrt(dim)
  bool llama3_rope;    // may carry Llama-3 rope frequency divisors (rope_freqs.weight)
  // Sliding-window layers: whether the architecture has them (GGUF attention.sliding_window),
  // and which layers are global when it does (ModelConfig::global_every).
  bool sliding;
  int global_every;
  bool swa_local_rope;  // sliding layers have a rope base of their own, unscaled (Gemma 3)
  // Fields that depend on the others (e.g. Gemma 3's query scale); may be null.
  void (*finish)(ModelConfig& c);

  // Hugging Face folders.
  std::vector<std::string> hf_model_types;  // config.json model_type values read as this arch
  const char* hf_write_type;          // model_type written (null: no Hugging Face folders yet)
  const char* hf_class;               // architectures[0] written
  const char* hf_multimodal_type;     // a model_type whose text model may sit under text_config
  const char* hf_act_key;             // the activation's key ...
  const char* hf_act;                 // ... and the one value supported
  const char* hf_ffn_norm;            // name of ffn_norm under model.layers.N.
  bool hf_rope_permuted;              // GGUF permutes q/k rows (convert_hf_to_gguf's LlamaModel)
  bool hf_norm_plus_one;              // GGUF norm weights are 1 + the HF ones (Gemma)
  bool hf_writes_attention_bias;      // config.json gets "attention_bias"
  bool hf_writes_use_sliding_window;  // config.json gets "use_sliding_window": false
  HfDefaults hf_defaults;
  // The architecture's own config.json keys, read after the common ones (may be null): `text`
  // is the text model's object, null values included.
  void (*hf_read)(const HfConfig& cfg, const nlohmann::json& text, ModelConfig& c);
  // ... and written (may be null).
  void (*hf_write)(const Model& m, nlohmann::json& j);

  // `synth --shape tiny|small`: the architecture's changes to the common shape (may be null).
  void (*synth_shape)(ModelConfig& c, bool tiny);
  bool synth_tied;  // synth ties the output to the embeddings

  // The block, continued; the defaults are the llama family's.
  NormKind norm = NormKind::Rms;   // LayerNorm: attn_norm, ffn_norm and output_norm have biases
  bool ffn_gated = true;           // ffn_gate present; false: a plain FFN act(W_up x + b)
  bool linear_biases = false;      // attn_output, ffn_up and ffn_down have biases (GPT-2)
  bool learned_positions = false;  // position_embd present, and no rotary embedding (GPT-2)
  bool partial_rope = false;       // rope.dimension_count may be below head_dim (GPT-NeoX)
  bool attn_out_bias = false;      // attn_output.bias present (also with linear_biases)
  bool attn_sinks = false;         // attn_sinks.weight: a learned sink logit per head (gpt-oss)
  bool moe = false;                // a mixture of experts replaces the FFN (gpt-oss)
  // GGUF name of ffn_norm under blk.N. (gpt-oss: post_attention_norm.weight)
  const char* gguf_ffn_norm = "ffn_norm.weight";
  // Fused GGUF tensors: attn_qkv holds wq, wk, wv (and their biases) as rows [Q; K; V];
  // ffn_up holds [gate; up] (Phi-3).
  bool gguf_fused_qkv = false;
  bool gguf_fused_gate_up = false;
  // llama.cpp sizes attn_q and attn_output by embedding_length rather than head_count ×
  // key_length, so its files cannot have fewer query heads than dim / head_dim (physical head
  // removal, prune/remove_heads.h). Facts: llama.cpp src/models/<arch>.cpp.
  bool gguf_query_width_is_dim = false;
  // The architecture's own GGUF keys, read after the common ones and written (may be null).
  void (*gguf_read)(const GgufFile& g, ModelConfig& c) = nullptr;
  void (*gguf_write)(const ModelConfig& c, GgufWriter& w) = nullptr;
  // rope_scaling types the architecture reads itself (Phi-3's longrope) in hf_read_tensors,
  // which turns config.json values into tensors (may be null): `scaling` is rope_scaling.
  std::vector<std::string> hf_rope_types = {};
  void (*hf_read_tensors)(const HfConfig& cfg, const nlohmann::json& scaling, Model& m) = nullptr;
  // Hugging Face tensor names and layouts other than the llama family's (may be null).
  const HfLayout* hf_layout = nullptr;
};

// Every architecture, in the order `synth --arch` lists them.
const std::vector<const ArchSpec*>& arch_specs();
// nullptr for an architecture sinkscope does not know.
const ArchSpec* find_arch(const std::string& name);
// The spec of c.arch, which must be known.
const ArchSpec& arch_of(const ModelConfig& c);
// "llama, qwen2, qwen3, gemma3"
std::string supported_archs();

// Fills the fields the architecture fixes (rope style, activation, embedding scale, which layers
// slide, and its finish step) from c.arch and the sizes. c.arch must be known.
void apply_arch(ModelConfig& c);

// Width of the q and k norms: the whole projection's or one head's.
inline int q_norm_width(const ArchSpec& a, const ModelConfig& c) {
  return a.qk_norm_whole ? c.q_dim() : c.head_dim;
}
inline int k_norm_width(const ArchSpec& a, const ModelConfig& c) {
  return a.qk_norm_whole ? c.kv_dim() : c.head_dim;
}

// The query scale a GGUF reader derives for c (the architecture's finish step on c without one
// set): 0 means 1/sqrt(head_dim).
float default_query_scale(const ModelConfig& c);

// Whether a file of this architecture must have the layer tensor; the others are used when a
// file has them (e.g. the attn_output.bias of a pruned export, or biases llama.cpp also accepts
// for llama).
bool tensor_required(const ArchSpec& a, Tensor LayerWeights::*member);

}  // namespace ss
