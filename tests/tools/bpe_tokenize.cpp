// bpe_tokenize: encodes lines from stdin with a BpeTokenizer and prints one line of
// space-separated token ids per input (tests/bpe_vs_node.sh compares them with transformers.js).
//
//   bpe_tokenize (--json tokenizer.json | --gguf vocab.gguf) [--jsonl] [--special]
//                [--bos model|on|off] [--decode]
//
// --jsonl: every input line is a JSON string (so inputs may hold newlines); otherwise each line
// (without its '\n') is an input. --special: parse special added tokens in the text. --bos: add
// BOS as the tokenizer's metadata says (default), always, or never. --decode: print
// decode(encode(x)) as a JSON string instead of the ids.
//
//   bpe_tokenize --pre-pattern NAME
//
// prints the split regex of the GGUF pre-tokenizer NAME (empty line when unknown).
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "tokenizer/bpe_tokenizer.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: bpe_tokenize (--json tokenizer.json | --gguf vocab.gguf) [--jsonl] "
               "[--special] [--bos model|on|off] [--decode]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, gguf_path, bos = "model";
  bool jsonl = false, special = false, decode = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--gguf" && i + 1 < argc) {
      gguf_path = argv[++i];
    } else if (a == "--bos" && i + 1 < argc) {
      bos = argv[++i];
    } else if (a == "--jsonl") {
      jsonl = true;
    } else if (a == "--special") {
      special = true;
    } else if (a == "--decode") {
      decode = true;
    } else if (a == "--pre-pattern" && i + 1 < argc) {
      std::cout << ss::BpeTokenizer::gguf_pre_pattern(argv[++i]) << '\n';
      return 0;
    } else {
      return usage();
    }
  }
  if (json_path.empty() == gguf_path.empty() || (bos != "model" && bos != "on" && bos != "off"))
    return usage();
  try {
    const ss::BpeTokenizer tok = json_path.empty()
                                     ? ss::BpeTokenizer::from_gguf(ss::GgufFile(gguf_path))
                                     : ss::BpeTokenizer::from_tokenizer_json(json_path);
    const bool add_bos = bos == "on" || (bos == "model" && tok.add_bos());
    std::string line, out;
    while (std::getline(std::cin, line)) {
      const std::string text = jsonl ? nlohmann::json::parse(line).get<std::string>() : line;
      const std::vector<int> ids = tok.encode(text, add_bos, special);
      out.clear();
      if (decode) {
        out = nlohmann::json(tok.decode(ids))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        for (size_t k = 0; k < ids.size(); ++k) {
          if (k) out += ' ';
          out += std::to_string(ids[k]);
        }
      }
      out += '\n';
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
  } catch (const ss::InputError& e) {
    std::fprintf(stderr, "bpe_tokenize: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpe_tokenize: %s\n", e.what());
    return 1;
  }
  return 0;
}
