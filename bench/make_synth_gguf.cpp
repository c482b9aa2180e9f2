// make_synth_gguf: writes a GGUF (architecture `llama`) with random weights of a realistic shape,
// for end-to-end benchmarks (bench/e2e) of sinkscope and llama.cpp on the same file.
//
//   make_synth_gguf --shape llama-1b --type Q8_0 -o synth-1b-q8_0.gguf
//
// The vocabulary is trivial: <unk> <s> </s>, the 256 byte tokens, the printable ASCII
// characters (space as "▁"), then unused pieces up to the vocabulary size. Text tokenizes to one
// token per character, which is all a speed measurement needs.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "base/dtype.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "tokenizer/vocab.h"

namespace {

struct Shape {
  const char* name;
  ss::ModelConfig config;
  const char* about;
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

const Shape kShapes[] = {
    {"llama-1b", make_config(2048, 8192, 16, 32, 8, 128256, 4096, 500000.0f),
     "Llama-3.2-1B: dim 2048, 16 layers, 32 heads, 8 KV heads, FFN 8192, vocab 128256"},
    {"llama-280m", make_config(1024, 4096, 16, 16, 4, 32000, 4096, 10000.0f),
     "dim 1024, 16 layers, 16 heads, 4 KV heads, FFN 4096, vocab 32000"},
    {"tiny", make_config(256, 768, 4, 8, 4, 2048, 4096, 10000.0f),
     "dim 256, 4 layers, 8 heads, 4 KV heads, FFN 768, vocab 2048 (smoke tests)"},
};

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
  std::fprintf(stderr,
               "usage: make_synth_gguf --shape NAME --type DTYPE -o OUT.gguf [--seed N] [--ctx N]\n"
               "                       [--layers N]\n"
               "DTYPE: F32, F16, BF16, Q8_0, Q4_K, ... (any type sinkscope can quantize to)\n"
               "shapes:\n");
  for (const Shape& s : kShapes) std::fprintf(stderr, "  %-11s %s\n", s.name, s.about);
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape, type_name, out;
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
  ss::DType type = ss::DType::F32;
  bool type_ok = false;
  for (uint32_t id = 0; id < 64; ++id) {
    auto info = ss::dtype_info(id);
    if (info && type_name == info->name) type = static_cast<ss::DType>(id), type_ok = true;
  }
  if (!s || !type_ok || out.empty()) {
    usage();
    return 2;
  }
  ss::ModelConfig c = s->config;
  if (ctx > 0) c.max_seq_len = ctx;
  if (layers > 0) c.n_layers = layers;
  try {
    // The embedding is tied to the classifier, as in Llama-3.2-1B.
    const ss::Model m = ss::make_random_model(c, seed, type, true);
    ss::write_llama_gguf(m, trivial_vocab(c.vocab_size), out, type,
                         std::string("sinkscope synth ") + s->name + " " + type_name);
    std::printf("%s: %s, %s, %.1f M parameters\n", out.c_str(), s->name, type_name.c_str(),
                static_cast<double>(m.n_params()) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_synth_gguf: %s\n", e.what());
    return 1;
  }
  return 0;
}
