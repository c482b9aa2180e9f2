#include "model/llama2c.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/mmap_file.h"

namespace ss {
namespace {

constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42"

// Hands out consecutive f32 tensors from the file, checking each fits.
class Cursor {
 public:
  Cursor(const MappedFile& f, size_t offset) : f_(f), pos_(offset) {}
  Tensor take(const std::string& name, int64_t cols, int64_t rows) {
    size_t bytes = static_cast<size_t>(cols) * static_cast<size_t>(rows) * sizeof(float);
    require(pos_ + bytes <= f_.size(), f_.path(),
            "truncated: tensor " + name + " needs bytes up to " + std::to_string(pos_ + bytes) +
                ", file has " + std::to_string(f_.size()));
    Tensor t{name, DType::F32, {cols, rows}, f_.data() + pos_};
    if (rows == 1) t.ne = {cols};
    pos_ += bytes;
    return t;
  }
  void skip(size_t bytes) { pos_ += bytes; }
  size_t pos() const { return pos_; }

 private:
  const MappedFile& f_;
  size_t pos_;
};

std::string layer_name(int l, const char* what) {
  return "blk." + std::to_string(l) + "." + what;
}

}  // namespace

Model load_llama2c(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  const MappedFile& f = *file;
  require(f.size() >= 28, path, "too small for a llama2.c checkpoint header");

  uint32_t magic;
  std::memcpy(&magic, f.data(), 4);
  bool v1 = magic == kMagicV1;
  int32_t h[7];
  bool shared = true;
  size_t header_bytes = 28;
  if (v1) {
    require(f.size() >= 256, path, "truncated version-1 header");
    int32_t version;
    std::memcpy(&version, f.data() + 4, 4);
    require(version == 1, path,
            "unsupported llama2.c checkpoint version " + std::to_string(version));
    std::memcpy(h, f.data() + 8, sizeof h);
    shared = f.data()[36] != 0;
    header_bytes = 256;
  } else {
    std::memcpy(h, f.data(), sizeof h);
    shared = h[5] > 0;  // legacy: negative vocab_size marks a separate classifier
    if (h[5] < 0) h[5] = h[5] == INT32_MIN ? 0 : -h[5];  // (negating INT32_MIN overflows)
  }

  Model m;
  m.path = path;
  m.storage = file;
  ModelConfig& c = m.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.vocab_size = h[5];
  c.max_seq_len = h[6];
  const char* names[] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                         "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i)
    require(h[i] > 0 && h[i] < kMaxDim, path,
            std::string("header field ") + names[i] + " is " + std::to_string(h[i]) +
                " (must be in 1.." + std::to_string(kMaxDim - 1) + ")");
  require(c.dim % c.n_heads == 0, path, "dim is not a multiple of n_heads");
  require(c.dim / c.n_heads % 2 == 0, path,
          "the head dimension " + std::to_string(c.dim / c.n_heads) +
              " (header fields dim / n_heads) is odd: the rotary embedding needs an even one");
  require(c.n_heads % c.n_kv_heads == 0, path, "n_heads is not a multiple of n_kv_heads");
  c.head_dim = c.dim / c.n_heads;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  // Whole-file size check first, so absurd headers fail before any tensor view is made or the
  // layers are allocated; in double, which no header can overflow (each field < 2^24).
  {
    const double L = c.n_layers, D = c.dim, KV = c.kv_dim(), F = c.hidden_dim, V = c.vocab_size;
    double floats = V * D + L * (2 * D + 2 * D * D + 2 * KV * D + 3 * F * D) + D;
    if (!v1) floats += static_cast<double>(c.max_seq_len) * c.head_dim;  // freq_cis_real + imag
    if (!shared) floats += V * D;
    const double need = static_cast<double>(header_bytes) + floats * sizeof(float);
    char what[128];
    std::snprintf(what, sizeof what,
                  "truncated: the header's dimensions need %.0f bytes, file has %zu", need,
                  f.size());
    require(static_cast<double>(f.size()) >= need, path, what);
  }

  const int L = c.n_layers;
  m.layers.resize(L);
  Cursor cur(f, header_bytes);
  auto per_layer = [&](Tensor LayerWeights::*field, const char* name, int64_t cols, int64_t rows) {
    for (int l = 0; l < L; ++l) m.layers[l].*field = cur.take(layer_name(l, name), cols, rows);
  };
  if (v1) {
    per_layer(&LayerWeights::attn_norm, "attn_norm.weight", c.dim, 1);
    per_layer(&LayerWeights::ffn_norm, "ffn_norm.weight", c.dim, 1);
    m.output_norm = cur.take("output_norm.weight", c.dim, 1);
    m.token_embd = cur.take("token_embd.weight", c.dim, c.vocab_size);
  } else {
    m.token_embd = cur.take("token_embd.weight", c.dim, c.vocab_size);
    per_layer(&LayerWeights::attn_norm, "attn_norm.weight", c.dim, 1);
  }
  per_layer(&LayerWeights::wq, "attn_q.weight", c.dim, c.q_dim());
  per_layer(&LayerWeights::wk, "attn_k.weight", c.dim, c.kv_dim());
  per_layer(&LayerWeights::wv, "attn_v.weight", c.dim, c.kv_dim());
  per_layer(&LayerWeights::wo, "attn_output.weight", c.q_dim(), c.dim);
  if (!v1) per_layer(&LayerWeights::ffn_norm, "ffn_norm.weight", c.dim, 1);
  per_layer(&LayerWeights::w_gate, "ffn_gate.weight", c.dim, c.hidden_dim);
  per_layer(&LayerWeights::w_down, "ffn_down.weight", c.hidden_dim, c.dim);
  per_layer(&LayerWeights::w_up, "ffn_up.weight", c.dim, c.hidden_dim);
  if (!v1) {
    m.output_norm = cur.take("output_norm.weight", c.dim, 1);
    cur.skip(static_cast<size_t>(c.max_seq_len) * c.head_dim * sizeof(float));  // old RoPE tables
  }
  m.tied_output = shared;
  m.output = shared ? m.token_embd : cur.take("output.weight", c.dim, c.vocab_size);
  if (shared) m.output.name = "output.weight (tied to token_embd.weight)";
  validate_model(m);
  return m;
}

}  // namespace ss
