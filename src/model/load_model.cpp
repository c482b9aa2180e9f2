#include "model/load_model.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/attention_kind.h"
#include "model/fused.h"
#include "model/hf_model.h"
#include "model/llama2c.h"
#include "model/yarn_rope.h"

namespace ss {

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open");
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

namespace {

Tensor tensor_from(const GgufFile& g, const std::string& name, bool required = true) {
  const GgufTensor* t = g.find_tensor(name);
  if (!t) {
    if (required) g.fail("missing tensor " + name);
    return Tensor{name, DType::F32, {}, nullptr};
  }
  Tensor out{name, t->type, {}, t->data};
  for (auto d : t->ne) out.ne.push_back(static_cast<int64_t>(d));
  return out;
}

// A float hyper-parameter that must be finite and positive (or, with allow_zero, zero too), and
// at most `max` (norm epsilons: 1).
float get_positive(const GgufFile& g, const std::string& key, double dflt, bool allow_zero = false,
                   double max = 3.4e38) {
  const double v = g.get_float(key, dflt);
  if (!std::isfinite(v) || v < 0 || (v == 0 && !allow_zero) || v > max)
    g.fail("invalid " + key + " (" + std::to_string(v) + "): must be a finite number " +
           (allow_zero ? ">= 0" : "> 0") + (max < 3.4e38 ? " and <= " + std::to_string(max) : ""));
  return static_cast<float>(v);
}

int get_dim(const GgufFile& g, const std::string& key) {
  int64_t v = g.get_int(key, -1);
  if (v <= 0 || v >= kMaxDim)
    g.fail("missing or invalid " + key + " (" + std::to_string(v) + "): must be in 1.." +
           std::to_string(kMaxDim - 1));
  return static_cast<int>(v);
}

// A head count that is one number for every layer or, as llama.cpp also reads it, an array of
// one per layer (physically pruned models, prune/remove_heads.h); dflt: when the key is absent.
std::vector<int> get_head_counts(const GgufFile& g, const std::string& key, int n_layers,
                                 const std::vector<int>& dflt) {
  const GgufValue* v = g.find(key);
  if (!v) return dflt;
  if (v->type != GgufType::ARRAY) return std::vector<int>(n_layers, get_dim(g, key));
  const std::vector<int32_t> counts = g.get_int_array(key);
  if (static_cast<int>(counts.size()) != n_layers)
    g.fail(key + " has " + std::to_string(counts.size()) + " per-layer values for " +
           std::to_string(n_layers) + " layers (block_count)");
  for (size_t l = 0; l < counts.size(); ++l)
    if (counts[l] <= 0 || counts[l] >= kMaxDim)
      g.fail(key + " of layer " + std::to_string(l) + " is " + std::to_string(counts[l]) +
             ": must be in 1.." + std::to_string(kMaxDim - 1));
  return {counts.begin(), counts.end()};
}

}  // namespace

Model load_gguf_model(const std::string& path) {
  auto g = std::make_shared<GgufFile>(path);
  std::string arch = g->get_string("general.architecture");
  const ArchSpec* spec = find_arch(arch);
  if (!spec)
    g->fail("unsupported architecture '" + arch + "' (supported: " + supported_archs() + ")");
  Model m;
  m.path = path;
  m.storage = g;
  ModelConfig& c = m.config;
  c.arch = arch;
  const std::string p = arch + ".";
  c.dim = get_dim(*g, p + "embedding_length");
  c.hidden_dim =
      get_dim(*g, p + (spec->moe ? "expert_feed_forward_length" : "feed_forward_length"));
  if (spec->moe) {
    c.n_experts = get_dim(*g, p + "expert_count");
    c.n_experts_used = get_dim(*g, p + "expert_used_count");
    if (c.n_experts_used > c.n_experts)
      g->fail(p + "expert_used_count " + std::to_string(c.n_experts_used) +
              " exceeds expert_count " + std::to_string(c.n_experts));
    if (c.n_experts >= (1 << 16))
      g->fail(p + "expert_count " + std::to_string(c.n_experts) + " exceeds the cap of 65535");
  }
  c.n_layers = get_dim(*g, p + "block_count");
  if (!g->has(p + "attention.head_count")) get_dim(*g, p + "attention.head_count");  // fails
  std::vector<int> q_heads = get_head_counts(*g, p + "attention.head_count", c.n_layers, {});
  std::vector<int> kv_heads =
      get_head_counts(*g, p + "attention.head_count_kv", c.n_layers, q_heads);
  for (int l = 0; l < c.n_layers; ++l)
    if (q_heads[l] % kv_heads[l] != 0)
      g->fail("layer " + std::to_string(l) + ": " + p + "attention.head_count " +
              std::to_string(q_heads[l]) + " is not a multiple of attention.head_count_kv " +
              std::to_string(kv_heads[l]));
  c.set_layer_heads(std::move(q_heads), std::move(kv_heads));
  // The head width follows from the embedding only when every layer has the same heads.
  if (!c.uniform_heads() && !g->has(p + "attention.key_length"))
    g->fail("per-layer head counts need attention.key_length (the head width)");
  if (c.dim % c.n_heads != 0 && !g->has(p + "attention.key_length"))
    g->fail("embedding_length is not a multiple of head_count");
  c.head_dim = g->has(p + "attention.key_length") ? get_dim(*g, p + "attention.key_length")
                                                  : c.dim / c.n_heads;
  if (g->has(p + "attention.value_length") &&
      get_dim(*g, p + "attention.value_length") != c.head_dim)
    g->fail("attention.value_length differs from key_length (not supported)");
  // The context after the head: a claim beyond the cap says what its KV cache would need.
  if (g->get_int(p + "context_length", -1) >= kMaxDim)
    g->fail(context_beyond_cap(p + "context_length", g->get_int(p + "context_length", -1), c));
  c.max_seq_len = get_dim(*g, p + "context_length");
  if (c.uniform_heads() && c.n_heads % c.n_kv_heads != 0)
    g->fail(p + "attention.head_count " + std::to_string(c.n_heads) +
            " is not a multiple of attention.head_count_kv " + std::to_string(c.n_kv_heads));
  if (g->has(p + "rope.dimension_count") && !spec->learned_positions) {
    const int rotated = get_dim(*g, p + "rope.dimension_count");
    if (spec->partial_rope && (rotated > c.head_dim || rotated % 2 != 0))
      g->fail(p + "rope.dimension_count " + std::to_string(rotated) +
              " must be even and at most the head dimension " + std::to_string(c.head_dim));
    if (!spec->partial_rope && rotated != c.head_dim)
      g->fail(p + "rope.dimension_count " + std::to_string(rotated) +
              " differs from the head dimension " + std::to_string(c.head_dim) + " (" + arch +
              " rotates whole heads)");
    c.rope_dims = rotated == c.head_dim ? 0 : rotated;
  }
  c.norm_eps = spec->norm == NormKind::Layer
                   ? get_positive(*g, p + "attention.layer_norm_epsilon", 1e-5, false, 1.0)
                   : get_positive(*g, p + "attention.layer_norm_rms_epsilon", 1e-5, false, 1.0);
  c.rope_theta = get_positive(*g, p + "rope.freq_base", 10000.0);
  const std::string scaling = g->get_string(p + "rope.scaling.type", "none");
  if (scaling == "linear") {
    c.rope_scale = get_positive(*g, p + "rope.scaling.factor", 1.0);
  } else if (scaling == "yarn") {
    // llama.cpp's YaRN: the ramp's ends rounded, beta 32 and 1 unless the file says, cos and sin
    // × (1 + 0.1 ln factor) × rope.scaling.attn_factor.
    c.yarn_factor = get_positive(*g, p + "rope.scaling.factor", 1.0);
    c.yarn_orig_ctx = get_dim(*g, p + "rope.scaling.original_context_length");
    c.yarn_beta_fast = get_positive(*g, p + "rope.scaling.yarn_beta_fast", 32.0);
    c.yarn_beta_slow = get_positive(*g, p + "rope.scaling.yarn_beta_slow", 1.0);
    c.yarn_truncate = g->get_bool("sinkscope.rope.scaling.yarn_truncate", true);
    c.rope_attn_factor = static_cast<float>(get_positive(*g, p + "rope.scaling.attn_factor", 1.0) *
                                            yarn_attention_factor(c.yarn_factor));
  } else if (scaling != "none" && scaling != "") {
    g->fail("unsupported rope scaling '" + scaling + "' (supported: linear, yarn)");
  }
  if (spec->sliding) {
    const int64_t window = g->get_int(p + "attention.sliding_window", 0);
    if (window < 0 || window >= kMaxDim)
      g->fail("invalid " + p + "attention.sliding_window (" + std::to_string(window) +
              "): must be in 0.." + std::to_string(kMaxDim - 1));
    c.sliding_window = static_cast<int>(window);
    if (spec->swa_local_rope)
      c.rope_theta_swa = get_positive(*g, p + "rope.freq_base_swa", 10000.0);
  }
  c.final_logit_softcap = get_positive(*g, p + "final_logit_softcapping", 0.0, true);
  c.attn_logit_softcap = get_positive(*g, p + "attn_logit_softcapping", 0.0, true);
  // A query scale no GGUF key holds (an HF folder's query_pre_attn_scalar that differs from the
  // architecture's rule): sinkscope's own key, which other readers ignore.
  if (g->has("sinkscope.query_scale"))
    c.query_scale = get_positive(*g, "sinkscope.query_scale", 0.0);
  // The attention variant of a model sinkscope trained (model/attention_kind.h); none: softmax.
  if (g->has(kAttentionKey)) {
    const std::string kind = g->get_string(kAttentionKey);
    const auto parsed = parse_attention_kind(kind);
    if (!parsed)
      g->fail(std::string(kAttentionKey) + " '" + kind + "' is not an attention variant (" +
              attention_kind_names() + ")");
    c.attention = *parsed;
  }
  // The block options of a model sinkscope trained (model/block_options.h); none: pre, rope.
  if (g->has(kNormKey)) {
    const std::string v = g->get_string(kNormKey);
    const auto parsed = parse_norm_placement(v);
    if (!parsed) g->fail(std::string(kNormKey) + " '" + v + "' is neither pre nor post");
    c.norm_placement = *parsed;
  }
  if (g->has(kPositionalKey)) {
    const std::string v = g->get_string(kPositionalKey);
    const auto parsed = parse_position_kind(v);
    if (!parsed)
      g->fail(std::string(kPositionalKey) + " '" + v + "' is none of rope, none, learned");
    c.positional = *parsed;
  }
  if (spec->gguf_read) spec->gguf_read(*g, c);
  apply_arch(c);
  if (c.rotated_dims() % 2 != 0)
    g->fail(g->has(p + "attention.key_length")
                ? p + "attention.key_length " + std::to_string(c.head_dim) +
                      " is odd: the rotary embedding needs an even head dimension"
                : "the head dimension " + std::to_string(c.head_dim) + " (" + p +
                      "embedding_length / attention.head_count) is odd: the rotary embedding "
                      "needs an even one");

  m.token_embd = tensor_from(*g, "token_embd.weight");
  c.vocab_size = static_cast<int>(m.token_embd.rows());
  // llama.cpp sizes the embedding by the vocabulary; a shorter vocabulary leaves rows no id
  // reaches, a longer one ids with no row.
  if (g->has("tokenizer.ggml.tokens")) {
    const size_t tokens = g->get_string_array("tokenizer.ggml.tokens").size();
    if (static_cast<int64_t>(tokens) != m.token_embd.rows())
      g->fail("tokenizer.ggml.tokens has " + std::to_string(tokens) +
              " entries, token_embd.weight " + std::to_string(m.token_embd.rows()) + " rows");
    check_special_token_ids(*g, tokens);
  }
  m.output_norm = tensor_from(*g, "output_norm.weight");
  m.output = tensor_from(*g, "output.weight", false);
  m.tied_output = m.output.data == nullptr;
  if (m.tied_output) {
    m.output = m.token_embd;
    m.output.name = "output.weight (tied to token_embd.weight)";
  }
  for (const GlobalSlot& s : global_slots()) {
    const bool learned = spec->learned_positions || c.positional == PositionKind::Learned;
    const bool required = (s.member == &Model::position_embd && learned) ||
                          (s.member == &Model::output_norm_b && spec->norm == NormKind::Layer);
    m.*s.member = tensor_from(*g, s.gguf_name, required);
  }
  // Every layer has tensors of its own: a block count beyond the file's tensor count is refused
  // before the layers are allocated.
  if (static_cast<size_t>(c.n_layers) > g->tensors().size())
    g->fail(p + "block_count " + std::to_string(c.n_layers) + " exceeds the " +
            std::to_string(g->tensors().size()) + " tensors of the file");
  m.layers.resize(c.n_layers);
  const std::vector<FusedSlot> fused = gguf_fused_slots(*spec);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights& w = m.layers[l];
    for (const LayerSlot& s : layer_slots())
      if (!is_fused_part(*spec, s.member) && gguf_slot_name(s, *spec))
        w.*s.member =
            tensor_from(*g, b + gguf_slot_name(s, *spec), tensor_required(*spec, s.member));
    // A fused tensor's parts are views of its rows; its name says where a wrong size came from.
    for (const FusedSlot& f : fused) {
      std::vector<int64_t> sizes;
      std::vector<std::string> names;
      for (auto part : f.parts) {
        sizes.push_back(part_size(part, c));
        names.push_back(b + f.gguf_name);
      }
      const std::vector<Tensor> views =
          split_fused(tensor_from(*g, b + f.gguf_name), sizes, names, path);
      for (size_t i = 0; i < views.size(); ++i) w.*f.parts[i] = views[i];
    }
  }
  validate_model(m);
  return m;
}

Model load_model(const std::string& path) {
  if (is_model_dir(path)) return load_hf_model(path);
  if (is_gguf_file(path)) return load_gguf_model(path);
  return load_llama2c(path);
}

SpmTokenizer load_tokenizer(const std::string& model_path, const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) {
    if (is_gguf_file(tokenizer_path))
      return SpmTokenizer(vocab_from_gguf(GgufFile(tokenizer_path)));
    return SpmTokenizer(load_llama2c_vocab(tokenizer_path));
  }
  if (is_model_dir(model_path))
    throw InputError(model_path,
                     "this command needs a SentencePiece vocabulary (llama2.c tokenizer .bin or "
                     "GGUF): pass --tokenizer FILE");
  if (!is_gguf_file(model_path))
    throw InputError(model_path, "a llama2.c checkpoint has no tokenizer: pass --tokenizer FILE");
  GgufFile g(model_path);
  if (!g.has("tokenizer.ggml.tokens")) g.fail("no tokenizer in this file: pass --tokenizer FILE");
  return SpmTokenizer(vocab_from_gguf(g));
}

namespace {

std::unique_ptr<Tokenizer> text_tokenizer(const std::string& model_path,
                                          const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) {
    if (is_gguf_file(tokenizer_path)) return tokenizer_from_gguf(GgufFile(tokenizer_path));
    const std::string json = ".json";
    if (tokenizer_path.size() >= json.size() &&
        tokenizer_path.compare(tokenizer_path.size() - json.size(), json.size(), json) == 0)
      return tokenizer_from_json(tokenizer_path);
    return std::make_unique<SpmTokenizer>(load_llama2c_vocab(tokenizer_path));
  }
  if (is_model_dir(model_path)) {
    const std::string json_path = model_path + "/tokenizer.json";
    if (!std::ifstream(json_path))
      throw InputError(model_path, "no tokenizer.json in this folder: pass --tokenizer FILE");
    return tokenizer_from_json(json_path);
  }
  if (!is_gguf_file(model_path))
    throw InputError(model_path, "a llama2.c checkpoint has no tokenizer: pass --tokenizer FILE");
  GgufFile g(model_path);
  if (!g.has("tokenizer.ggml.tokens")) g.fail("no tokenizer in this file: pass --tokenizer FILE");
  return tokenizer_from_gguf(g);
}

}  // namespace

std::unique_ptr<Tokenizer> load_text_tokenizer(const std::string& model_path,
                                               const std::string& tokenizer_path, int model_vocab) {
  std::unique_ptr<Tokenizer> tok = text_tokenizer(model_path, tokenizer_path);
  if (model_vocab > 0 && tok->vocab_size() > static_cast<size_t>(model_vocab))
    throw InputError(!tokenizer_path.empty()    ? tokenizer_path
                     : is_model_dir(model_path) ? model_path + "/tokenizer.json"
                                                : model_path,
                     "the tokenizer has " + std::to_string(tok->vocab_size()) +
                         " tokens, more than the " + std::to_string(model_vocab) +
                         " rows of the model's token_embd.weight (vocab_size)");
  return tok;
}

}  // namespace ss
