// make_synth_gguf: writes a GGUF (architecture `llama`, or `gpt-oss` for the mixture-of-experts
// shape) with random weights of a realistic shape, for end-to-end benchmarks (bench/e2e,
// bench/moe_memory.sh) of sinkscope and llama.cpp on the same file.
//
//   make_synth_gguf --shape llama-1b --type Q8_0 -o synth-1b-q8_0.gguf
//   make_synth_gguf --shape moe-32x4 --type Q8_0 --ffn-type MXFP4 -o moe.gguf
//
// --ffn-type gives the FFN matrices (the dense FFN, or every expert stack) a type of their own,
// as gpt-oss GGUFs keep MXFP4 experts beside attention in another type: the model is made in
// the FFN type and the other matrices are then re-encoded to --type.
//
// The vocabulary is trivial: <unk> <s> </s>, the 256 byte tokens, the printable ASCII
// characters (space as "▁"), then unused pieces up to the vocabulary size. Text tokenizes to one
// token per character, which is all a speed measurement needs.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "model/arch.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "tokenizer/vocab.h"

namespace {

struct Shape {
  const char* name;
  ss::ModelConfig config;
  const char* about;
  bool tied = true;  // the embedding is the classifier (Llama-3.2-1B); gpt-oss has its own
};

ss::ModelConfig make_config(int dim, int hidden, int layers, int heads, int kv_heads, int vocab,
                            int ctx, float theta) {
  ss::ModelConfig c;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.head_dim = dim / heads;
  c.vocab_size = vocab;
  c.max_seq_len = ctx;
  c.norm_eps = 1e-5f;
  c.rope_theta = theta;
  return c;
}

// gpt-oss's mixture of experts (top-k of n_experts clamped-SwiGLU experts of width `hidden`,
// attention sinks, sliding and full layers alternating, YaRN) on a llama-sized attention.
ss::ModelConfig make_moe_config(int dim, int expert_hidden, int layers, int heads, int kv_heads,
                                int experts, int used, int vocab, int ctx) {
  ss::ModelConfig c =
      make_config(dim, expert_hidden, layers, heads, kv_heads, vocab, ctx, 150000.0f);
  c.arch = "gpt-oss";
  c.n_experts = experts;
  c.n_experts_used = used;
  c.sliding_window = 128;
  c.yarn_factor = 4.0f;
  c.yarn_orig_ctx = ctx / 4;
  c.rope_attn_factor = static_cast<float>(0.1 * std::log(4.0) + 1.0);
  return c;  // apply_arch in main(): the architecture table may not exist yet at static init
}

const Shape kShapes[] = {
    {"llama-1b", make_config(2048, 8192, 16, 32, 8, 128256, 4096, 500000.0f),
     "Llama-3.2-1B: dim 2048, 16 layers, 32 heads, 8 KV heads, FFN 8192, vocab 128256"},
    {"llama-280m", make_config(1024, 4096, 16, 16, 4, 32000, 4096, 10000.0f),
     "dim 1024, 16 layers, 16 heads, 4 KV heads, FFN 4096, vocab 32000"},
    {"tiny", make_config(256, 768, 4, 8, 4, 2048, 4096, 10000.0f),
     "dim 256, 4 layers, 8 heads, 4 KV heads, FFN 768, vocab 2048 (smoke tests)"},
    {"moe-32x4", make_moe_config(1024, 1024, 6, 16, 4, 32, 4, 8192, 4096),
     "gpt-oss: dim 1024, 6 layers, 16 heads, 4 KV heads, top-4 of 32 experts of FFN 1024, "
     "vocab 8192, untied",
     false},
    {"dense-32k", make_config(1024, 32768, 6, 16, 4, 8192, 4096, 150000.0f),
     "llama with moe-32x4's attention and all 32 of its experts' FFN width (32768) dense: the "
     "same matrices but the routers, untied",
     false},
};

// Re-encodes t (a matrix of m) as `type`, in a buffer of m.owned.
void retype(ss::Model& m, ss::Tensor& t, ss::DType type) {
  if (!t.data || t.type == type) return;
  const size_t cols = static_cast<size_t>(t.cols()), rows = t.nbytes() / t.row_bytes();
  const size_t out_row = ss::dtype_row_bytes(type, cols);
  std::vector<float> row(cols);
  std::vector<uint8_t> buf(out_row * rows);
  for (size_t r = 0; r < rows; ++r) {
    ss::dequantize_row(t.type, t.row(static_cast<int64_t>(r)), row.data(), cols);
    ss::quantize_row(type, row.data(), buf.data() + r * out_row, cols);
  }
  t.type = type;
  t.data = m.owned.emplace_back(std::move(buf)).data();
}

ss::Vocab trivial_vocab(int size) {
  ss::Vocab v;
  auto add = [&](const std::string& piece, float score, ss::TokenType type) {
    v.tokens.push_back(piece);
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, ss::TokenType::Unknown);
  add("<s>", 0, ss::TokenType::Control);
  add("</s>", 0, ss::TokenType::Control);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, ss::TokenType::Byte);
  }
  for (int ch = 0x20; ch < 0x7f; ++ch)
    add(ch == ' ' ? std::string("\xe2\x96\x81") : std::string(1, static_cast<char>(ch)), -1.0f,
        ss::TokenType::Normal);
  for (int i = static_cast<int>(v.tokens.size()); i < size; ++i)
    add("<unused" + std::to_string(i) + ">", -1e9f, ss::TokenType::Unused);
  return v;
}

void usage() {
  std::fprintf(
      stderr,
      "usage: make_synth_gguf --shape NAME --type DTYPE -o OUT.gguf [--seed N] [--ctx N]\n"
      "                       [--layers N] [--ffn-type DTYPE]\n"
      "DTYPE: F32, F16, BF16, Q8_0, Q4_K, MXFP4, ... (any type sinkscope can quantize to)\n"
      "--ffn-type: type of the FFN or expert matrices (default: --type)\n"
      "shapes:\n");
  for (const Shape& s : kShapes) std::fprintf(stderr, "  %-11s %s\n", s.name, s.about);
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape, type_name, ffn_type_name, out;
  unsigned long long seed = 1;
  int ctx = 0, layers = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--shape")
      shape = value();
    else if (a == "--type")
      type_name = value();
    else if (a == "--ffn-type")
      ffn_type_name = value();
    else if (a == "-o")
      out = value();
    else if (a == "--seed")
      seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--ctx")
      ctx = std::atoi(value().c_str());
    else if (a == "--layers")
      layers = std::atoi(value().c_str());
    else {
      usage();
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  const Shape* s = nullptr;
  for (const Shape& k : kShapes)
    if (shape == k.name) s = &k;
  auto parse_type = [](const std::string& name, ss::DType& type) {
    for (uint32_t id = 0; id < 64; ++id) {
      auto info = ss::dtype_info(id);
      if (info && name == info->name) return type = static_cast<ss::DType>(id), true;
    }
    return false;
  };
  ss::DType type = ss::DType::F32, ffn_type = ss::DType::F32;
  const bool type_ok = parse_type(type_name, type);
  const bool ffn_type_ok = parse_type(ffn_type_name.empty() ? type_name : ffn_type_name, ffn_type);
  if (!s || !type_ok || !ffn_type_ok || out.empty()) {
    usage();
    return 2;
  }
  ss::ModelConfig c = s->config;
  if (ctx > 0) c.max_seq_len = ctx;
  if (layers > 0) c.n_layers = layers;
  ss::apply_arch(c);
  try {
    ss::Model m = ss::make_random_model(c, seed, ffn_type, s->tied);
    if (ffn_type != type) {  // every matrix but the FFN's (or the experts') to --type
      retype(m, m.token_embd, type);
      if (s->tied)
        m.output = m.token_embd;
      else
        retype(m, m.output, type);
      for (ss::LayerWeights& w : m.layers)
        for (ss::Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.router}) retype(m, *t, type);
    }
    const std::string types = type_name + (ffn_type != type ? " + FFN " + ffn_type_name : "");
    ss::write_llama_gguf(m, trivial_vocab(c.vocab_size), out, std::nullopt,
                         std::string("sinkscope synth ") + s->name + " " + types);
    std::printf("%s: %s, %s, %.1f M parameters\n", out.c_str(), s->name, types.c_str(),
                static_cast<double>(m.n_params()) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_synth_gguf: %s\n", e.what());
    return 1;
  }
  return 0;
}
