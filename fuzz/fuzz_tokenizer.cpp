// Fuzzes SpmTokenizer::encode with arbitrary bytes. Checks: no crash, every id in range,
// decode(encode(x)) == x (with "▁" read as the space it stands for: the one lossy step of
// SentencePiece normalization), and for short inputs the ids of a naive O(n^2) transcription of
// llama2.c's greedy merge loop.
//
// The vocabulary is the llama2.c tokenizer file named by $SINKSCOPE_FUZZ_TOKENIZER (e.g.
// ../shared/models/tok512.bin), or else a small built-in one with byte tokens, ties between
// merge scores, and pieces that spell a byte piece when concatenated.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/vocab.h"

namespace {

constexpr std::string_view kMark = "\xe2\x96\x81";  // "▁"

ss::Vocab builtin_vocab() {
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
  add(std::string(kMark), 0, ss::TokenType::Normal);
  for (char c = '!'; c <= '~'; ++c) add(std::string(1, c), 0, ss::TokenType::Normal);
  for (const char* c : {"\xc3\xa9", "\xc3\xbc", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\n"})
    add(c, 0, ss::TokenType::Normal);
  // Merges; scores fall by one every third piece, so equal scores are common.
  const char* merges[] = {"\xe2\x96\x81t",
                          "he",
                          "\xe2\x96\x81the",
                          "in",
                          "er",
                          "an",
                          "\xe2\x96\x81"
                          "a",
                          "on",
                          "re",
                          "at",
                          "en",
                          "ed",
                          "nd",
                          "\xe2\x96\x81s",
                          "ou",
                          "es",
                          "it",
                          "is",
                          "or",
                          "ing",
                          "\xe2\x96\x81"
                          "and",
                          "ll",
                          "ar",
                          "as",
                          "le",
                          "ve",
                          "al",
                          "ro",
                          "ent",
                          "ion",
                          "aa",
                          "aaa",
                          "\xe2\x96\x81\xe2\x96\x81",
                          "\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81\xe2\x96\x81",
                          "\xc3\xa9t",
                          "\xe2\x96\x81\xc3\xa9",
                          "<0",
                          "<0x",
                          "<0x4",
                          "1>",
                          "\n\n",
                          "\xf0\x9f\x98\x80!"};
  int rank = 0;
  for (const char* m : merges)
    add(m, -1.0f - static_cast<float>(rank++ / 3), ss::TokenType::Normal);
  return v;
}

const ss::SpmTokenizer& tokenizer() {
  static const ss::SpmTokenizer t = [] {
    const char* path = std::getenv("SINKSCOPE_FUZZ_TOKENIZER");
    return ss::SpmTokenizer(path && *path ? ss::load_llama2c_vocab(path) : builtin_vocab());
  }();
  return t;
}

// Length of a well-formed UTF-8 character at s (decoding the code point, a different route from
// the tokenizer's byte-range table), or 0.
size_t char_len(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n <= 1 || s.size() < n) return n == 1 ? 1 : 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3F);
  }
  const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::vector<int> reference_encode(const ss::Vocab& v, std::string_view text) {
  static std::unordered_map<std::string, int> text_ids, byte_ids;
  if (text_ids.empty()) {  // the vocabulary never changes
    for (size_t i = 0; i < v.size(); ++i) {
      const auto id = static_cast<int>(i);
      if (v.types[i] == ss::TokenType::Byte)
        byte_ids.emplace(v.tokens[i], id);
      else if (v.types[i] == ss::TokenType::Normal || v.types[i] == ss::TokenType::UserDefined)
        text_ids.emplace(v.tokens[i], id);
    }
  }
  std::string norm = text.empty() ? "" : std::string(kMark);
  for (char c : text) norm += c == ' ' ? std::string(kMark) : std::string(1, c);

  std::vector<int> ids;
  for (size_t pos = 0; pos < norm.size();) {
    const size_t len = char_len(std::string_view(norm).substr(pos));
    const std::string ch = norm.substr(pos, len ? len : 1);
    auto it = text_ids.find(ch);
    if (len && it != text_ids.end()) {
      ids.push_back(it->second);
    } else {
      for (unsigned char b : ch) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        ids.push_back(byte_ids.at(name));
      }
    }
    pos += ch.size();
  }
  while (true) {
    float best = -1e10f;
    int best_id = -1, best_i = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      auto it = text_ids.find(v.tokens[ids[i]] + v.tokens[ids[i + 1]]);
      if (it != text_ids.end() && v.scores[it->second] > best) {
        best = v.scores[it->second];
        best_id = it->second;
        best_i = static_cast<int>(i);
      }
    }
    if (best_i < 0) return ids;
    ids[best_i] = best_id;
    ids.erase(ids.begin() + best_i + 1);
  }
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ss::SpmTokenizer& t = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<int> ids = t.encode(text, true);
  for (int id : ids) check(id >= 0 && static_cast<size_t>(id) < t.vocab().size(), "id in range");

  std::string want;
  for (size_t pos = 0; pos < text.size();) {
    if (text.substr(pos, kMark.size()) == kMark) {
      want += ' ';
      pos += kMark.size();
    } else {
      want += text[pos++];
    }
  }
  check(t.decode(ids) == want, "decode(encode(x)) != x");

  if (size <= 256) {
    const std::vector<int> ref = reference_encode(t.vocab(), text);
    check(ref.size() + 1 == ids.size() && std::equal(ref.begin(), ref.end(), ids.begin() + 1),
          "encode differs from the reference");
  }
  return 0;
}
