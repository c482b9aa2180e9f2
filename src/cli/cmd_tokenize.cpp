// sinkscope tokenize: text to token ids with a model's tokenizer, as llama.cpp's llama-tokenize
// does; --jsonl encodes many inputs, one JSON string per line of standard input.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "model/load_model.h"

namespace ss::cli {

namespace {
struct TokenizeArgs {
  std::string model, tokenizer, prompt, file, bos = "model";
  bool jsonl = false, special = false, pieces = false;
};

// A piece as a JSON string: pieces may hold spaces, quotes or control characters.
std::string quoted(const std::string& piece) {
  return nlohmann::json(piece).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

void add_tokenize(CLI::App& root) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "tokenize",
      "Token ids of a text (as llama.cpp's llama-tokenize): a line of space-separated ids, or "
      "with --pieces one token a line (id, then its piece as a JSON string). --jsonl reads "
      "standard input, one JSON string per line, and prints a line per input");
  cmd->add_option("-m,--model", a->model, "Model whose tokenizer to use (GGUF or HF folder)");
  cmd->add_option("--tokenizer", a->tokenizer,
                  "Or a tokenizer file: GGUF, tokenizer.json or llama2.c .bin");
  cmd->add_option("-p,--prompt", a->prompt, "The text");
  cmd->add_option("-f,--file", a->file, "Or a text file (UTF-8)");
  cmd->add_flag("--jsonl", a->jsonl,
                "Or standard input, one JSON string per line; one output line per input");
  cmd->add_flag("--special", a->special,
                "Parse special tokens written in the text (\"<|im_start|>\") as those tokens");
  cmd->add_option("--bos", a->bos,
                  "on, off, or model: BOS first as the tokenizer says (its add_bos_token or "
                  "post-processor)")
      ->check(CLI::IsMember({"on", "off", "model"}))
      ->capture_default_str();
  cmd->add_flag("--pieces", a->pieces,
                "Print each token's piece too (--jsonl: a JSON array of pieces per input)");
  cmd->callback([a] {
    require(!a->model.empty() || !a->tokenizer.empty(), "--model",
            "give a model or --tokenizer FILE");
    const int sources = !a->prompt.empty() + !a->file.empty() + a->jsonl;
    require(sources == 1, "--prompt", "give exactly one of -p TEXT, -f FILE or --jsonl");
    const auto tok = load_text_tokenizer(a->model, a->tokenizer);
    const bool bos = a->bos == "on" || (a->bos == "model" && tok->add_bos());
    auto encode = [&](const std::string& text) {
      return a->special ? tok->encode_special(text, bos) : tok->encode(text, bos);
    };
    if (!a->jsonl) {
      std::string text = a->prompt;
      if (!a->file.empty()) text = read_cli_text(a->file).text;
      const std::vector<int> ids = encode(text);
      std::string out;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (a->pieces)
          out += std::to_string(ids[i]) + "\t" + quoted(tok->piece(ids[i])) + "\n";
        else
          out += (i ? " " : "") + std::to_string(ids[i]);
      }
      if (!a->pieces) out += "\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
      return;
    }
    std::string line;
    for (size_t number = 1; std::getline(std::cin, line); ++number) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        j = nullptr;  // reported below with the line number
      }
      require(j.is_string(), "stdin:" + std::to_string(number),
              "not a JSON string (--jsonl reads one JSON string per line, e.g. \"Hello\\n\")");
      const std::vector<int> ids = encode(j.get<std::string>());
      std::string out;
      if (a->pieces) {
        nlohmann::json list = nlohmann::json::array();
        for (int id : ids) list.push_back(tok->piece(id));
        out = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
      }
      out += "\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
  });
}

}  // namespace ss::cli
