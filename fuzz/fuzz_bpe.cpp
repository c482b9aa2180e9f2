// Fuzzes BpeTokenizer::encode with arbitrary bytes. Checks: no crash, every id in range,
// decode(encode(x)) == x for every input (the GPT-2 byte-level vocabulary has no normalizer, so
// even invalid UTF-8 round-trips), the same with special tokens parsed and rendered, and for
// short inputs the ids of a naive O(n^2) merge loop (lowest rank, leftmost, from the GGUF's
// merges) over the same pre-tokenization. A small SentencePiece-style tokenizer (spaces as "▁",
// byte fallback) is fuzzed alongside: its round trip reads "▁" as a space.
//
// The vocabulary is $SINKSCOPE_SHARED_DIR/models/vocab/ggml-vocab-gpt-2.gguf, else
// ../shared/models/vocab/..., else the shared folder next to this source tree.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/utf8.h"
#include "format/gguf.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"

namespace {

constexpr std::string_view kMark = "\xe2\x96\x81";  // "▁"

std::string vocab_path() {
  const std::string rel = "models/vocab/ggml-vocab-gpt-2.gguf";
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("SINKSCOPE_SHARED_DIR"); d && *d) dirs.emplace_back(d);
  dirs.emplace_back("../shared");
  dirs.push_back((std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "shared").string());
  for (const std::string& d : dirs)
    if (std::filesystem::exists(d + "/" + rel)) return d + "/" + rel;
  std::fprintf(stderr, "fuzz_bpe: %s not found (set SINKSCOPE_SHARED_DIR)\n", rel.c_str());
  std::abort();
}

struct Gpt2 {
  ss::BpeTokenizer tok;
  std::map<std::pair<std::string, std::string>, int> ranks;
  ss::bpe::Regex regex{ss::bpe::kGpt2Pattern};
};

const Gpt2& gpt2() {
  static const Gpt2* g = [] {
    const ss::GgufFile gguf(vocab_path());
    auto* g = new Gpt2{ss::BpeTokenizer::from_gguf(gguf), {}};
    const std::vector<std::string> merges = gguf.get_string_array("tokenizer.ggml.merges");
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t sp = merges[r].find(' ', 1);
      g->ranks.emplace(std::make_pair(merges[r].substr(0, sp), merges[r].substr(sp + 1)),
                       static_cast<int>(r));
    }
    return g;
  }();
  return *g;
}

const ss::BpeTokenizer& spm() {
  static const ss::BpeTokenizer t = [] {
    ss::BpeSpec s;
    s.source = "builtin";
    auto add = [&](const std::string& p, ss::TokenType type) {
      s.pieces.push_back(p);
      s.types.push_back(type);
    };
    add("<unk>", ss::TokenType::Unknown);
    add("<s>", ss::TokenType::Control);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      add(name, ss::TokenType::Byte);
    }
    add(std::string(kMark), ss::TokenType::Normal);
    for (char c = '!'; c <= '~'; ++c) add(std::string(1, c), ss::TokenType::Normal);
    add("\xc3\xa9", ss::TokenType::Normal);
    add("\n", ss::TokenType::UserDefined);
    s.added = {{1, true}, {static_cast<int>(s.pieces.size()) - 1, false}};
    for (const char* m : {"\xe2\x96\x81t", "he", "\xe2\x96\x81the", "in", "er", "aa", "aaa",
                          "\xe2\x96\x81\xe2\x96\x81", "\xc3\xa9t", "<0", "<0x"}) {
      const std::string piece = m;
      // Split after the first character (UTF-8 aware).
      const size_t first =
          ss::utf8_char_len(reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
      s.merges.emplace_back(piece.substr(0, first), piece.substr(first));
      add(piece, ss::TokenType::Normal);
    }
    // Merges need their parts in the vocabulary: add any missing intermediate piece.
    for (const auto& [a, b] : s.merges)
      for (const std::string& p : {a, b})
        if (std::find(s.pieces.begin(), s.pieces.end(), p) == s.pieces.end())
          add(p, ss::TokenType::Normal);
    s.byte_level = false;
    s.byte_fallback = true;
    s.unk_id = 0;
    s.bos_id = 1;
    s.add_bos = true;
    s.normalizer.add({ss::bpe::Normalizer::Kind::Replace,
                      std::make_shared<const ss::bpe::Regex>(" "), std::string(kMark)});
    return ss::BpeTokenizer(std::move(s));
  }();
  return t;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_bpe: %s\n", what);
    std::abort();
  }
}

// Naive BPE of one pre-token: byte-level characters, then the lowest-rank adjacent pair
// (leftmost among equals) merges until none is left.
std::vector<int> naive_word(const Gpt2& g, std::string_view word) {
  std::vector<std::string> parts;
  for (unsigned char b : word) parts.push_back(ss::bpe::byte_char_utf8(b));
  while (parts.size() > 1) {
    int best = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = g.ranks.find({parts[i], parts[i + 1]});
      if (it != g.ranks.end() && (best < 0 || it->second < best)) {
        best = it->second;
        at = i;
      }
    }
    if (best < 0) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<ptrdiff_t>(at) + 1);
  }
  std::vector<int> ids;
  for (const std::string& p : parts) ids.push_back(g.tok.token_id(p));
  return ids;
}

std::vector<int> naive_encode(const Gpt2& g, std::string_view text) {
  std::vector<std::pair<size_t, size_t>> matches;
  g.regex.find_all(text, matches);
  std::vector<int> ids;
  size_t prev = 0;
  auto word = [&](size_t b, size_t e) {
    for (int id : naive_word(g, text.substr(b, e - b))) ids.push_back(id);
  };
  for (auto [b, e] : matches) {
    if (b > prev) word(prev, b);  // gaps (bytes no alternative matches) are words too
    word(b, e);
    prev = e;
  }
  if (prev < text.size()) word(prev, text.size());
  return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Gpt2& g = gpt2();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::vector<int> ids = g.tok.encode(text, false, false);
  for (int id : ids) check(id >= 0 && static_cast<size_t>(id) < g.tok.vocab_size(), "id range");
  check(g.tok.decode(ids) == text, "decode(encode(x)) != x");

  const std::vector<int> special = g.tok.encode(text, true, true);
  check(!special.empty() && special[0] == g.tok.bos_id(), "BOS first");
  check(g.tok.decode(std::span<const int>(special).subspan(1), true) == text,
        "decode(encode(x, special), special) != x");

  if (size <= 64) check(naive_encode(g, text) == ids, "encode differs from the naive merge loop");

  const ss::BpeTokenizer& s = spm();
  const std::vector<int> sids = s.encode(text, false, true);
  for (int id : sids) check(id >= 0 && static_cast<size_t>(id) < s.vocab_size(), "spm id range");
  std::string want;
  for (size_t pos = 0; pos < text.size();) {
    if (text.substr(pos, kMark.size()) == kMark) {
      want += ' ';
      pos += kMark.size();
    } else {
      want += text[pos++];
    }
  }
  check(s.decode(sids, true) == want, "spm decode(encode(x)) != x");
  return 0;
}
