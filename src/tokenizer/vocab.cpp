#include "tokenizer/vocab.h"

#include <cctype>
#include <cstring>

#include "base/error.h"
#include "base/mmap_file.h"
#include "format/gguf.h"

namespace ss {
namespace {

// "<0xNN>" with two hex digits (either case, as llama2.c's sscanf accepts).
bool is_byte_piece(const std::string& p) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  };
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && hex(p[3]) && hex(p[4]) && p[5] == '>';
}

std::string spaces_to_marks(const char* s, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == ' ')
      out += kSpaceMark;
    else
      out += s[i];
  }
  return out;
}

// llama.cpp (llama-vocab.cpp) recognizes Phi-3 by general.name, lowercased, containing "phi-3"
// or "phi3", and then lets its chat tokens swallow the whitespace after them as Phi-3's
// tokenizer.json does (rstrip).
bool is_phi3(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos;
}

// Every control, user-defined and unknown token but <unk>, <s> and <|endoftext|>; and </s>.
std::vector<bool> phi3_rstrip(const Vocab& v) {
  std::vector<bool> rstrip(v.size(), false);
  for (size_t i = 0; i < v.size(); ++i) {
    const TokenType t = v.types[i];
    const std::string& p = v.tokens[i];
    rstrip[i] =
        p == "</s>" ||
        ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) &&
         p != "<unk>" && p != "<s>" && p != "<|endoftext|>");
  }
  return rstrip;
}

}  // namespace

Vocab load_llama2c_vocab(const std::string& path) {
  MappedFile f(path);
  const uint8_t* p = f.data();
  const size_t size = f.size();
  require(size > 0, path, "empty tokenizer file");
  require(size >= 4, path, "truncated: no max_token_length header");
  int32_t max_len;
  std::memcpy(&max_len, p, 4);
  require(max_len >= 0, path, "negative max_token_length " + std::to_string(max_len));

  Vocab v;
  v.model = "llama";
  // The vocabulary size is not stored: records run to the end of the file.
  size_t pos = 4;
  while (pos < size) {
    const std::string where =
        "token " + std::to_string(v.tokens.size()) + " at byte " + std::to_string(pos);
    require(size - pos >= 8, path, "truncated: " + where + " needs a score and a length");
    float score;
    int32_t len;
    std::memcpy(&score, p + pos, 4);
    std::memcpy(&len, p + pos + 4, 4);
    pos += 8;
    require(len >= 0, path, where + " has negative length " + std::to_string(len));
    require(static_cast<size_t>(len) <= size - pos, path,
            "truncated: " + where + " has length " + std::to_string(len) + " but only " +
                std::to_string(size - pos) + " bytes remain");
    v.tokens.push_back(spaces_to_marks(reinterpret_cast<const char*>(p + pos), len));
    v.scores.push_back(score);
    pos += static_cast<size_t>(len);
  }
  require(v.tokens.size() >= 3, path,
          "has " + std::to_string(v.tokens.size()) + " tokens; need at least <unk>, BOS, EOS");

  v.types.resize(v.tokens.size(), TokenType::Normal);
  v.types[0] = TokenType::Unknown;
  v.types[1] = TokenType::Control;
  v.types[2] = TokenType::Control;
  for (size_t i = 3; i < v.tokens.size(); ++i)
    if (is_byte_piece(v.tokens[i])) v.types[i] = TokenType::Byte;
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  return v;
}

void check_special_token_ids(const GgufFile& gguf, size_t n) {
  const std::string prefix = "tokenizer.ggml.", suffix = "_token_id";
  for (const auto& [key, value] : gguf.metadata()) {
    if (key.size() < prefix.size() + suffix.size() || key.compare(0, prefix.size(), prefix) != 0 ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const int64_t id = gguf.get_int(key, -1);
    if (id < -1 || id >= static_cast<int64_t>(n))
      gguf.fail(key + " = " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(n) + " tokens");
  }
}

Vocab vocab_from_gguf(const GgufFile& gguf) {
  Vocab v;
  v.model = gguf.get_string("tokenizer.ggml.model", "llama");
  v.tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  if (v.tokens.empty()) gguf.fail("no tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();

  v.scores = gguf.get_float_array("tokenizer.ggml.scores");
  if (!gguf.has("tokenizer.ggml.scores")) v.scores.assign(n, 0.0f);
  if (v.scores.size() != n)
    gguf.fail("tokenizer.ggml.scores has " + std::to_string(v.scores.size()) +
              " entries, tokenizer.ggml.tokens has " + std::to_string(n));

  if (gguf.has("tokenizer.ggml.token_type")) {
    std::vector<int32_t> types = gguf.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != n)
      gguf.fail("tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                " entries, tokenizer.ggml.tokens has " + std::to_string(n));
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int32_t>(TokenType::Byte))
        gguf.fail("tokenizer.ggml.token_type[" + std::to_string(i) +
                  "] = " + std::to_string(types[i]) + " is not a token type");
      v.types.push_back(static_cast<TokenType>(types[i]));
    }
  } else {
    v.types.assign(n, TokenType::Normal);
  }

  auto special = [&](const char* key, int64_t dflt) {
    int64_t id = gguf.get_int(key, dflt);
    if (id < 0 || id >= static_cast<int64_t>(n))
      gguf.fail(std::string(key) + " = " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(n) + " tokens");
    return static_cast<int32_t>(id);
  };
  v.bos_id = special("tokenizer.ggml.bos_token_id", 1);
  v.eos_id = special("tokenizer.ggml.eos_token_id", 2);
  v.unk_id = special("tokenizer.ggml.unknown_token_id", 0);
  check_special_token_ids(gguf, n);
  v.add_bos = gguf.get_bool("tokenizer.ggml.add_bos_token", true);
  v.add_space_prefix = gguf.get_bool("tokenizer.ggml.add_space_prefix", true);
  if (is_phi3(gguf.get_string("general.name", ""))) v.rstrip = phi3_rstrip(v);
  return v;
}

}  // namespace ss
