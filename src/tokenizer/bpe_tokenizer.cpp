#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <unordered_map>

#include "base/error.h"
#include "base/interrupt.h"
#include "format/gguf.h"
#include "tokenizer/added_tokens.h"

namespace ss {
namespace {

constexpr size_t kMaxCachedWord = 256;  // bytes
constexpr size_t kMaxCacheEntries = 1 << 16;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PieceMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

struct PairHash {
  size_t operator()(uint64_t x) const {  // splitmix64 finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return static_cast<size_t>(x ^ (x >> 31));
  }
};
uint64_t pair_key(int left, int right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}
struct Merge {
  int rank;
  int result;
};

// The byte of a "<0xNN>" piece, or -1.
int byte_of_piece(std::string_view p) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (p.size() != 6 || !p.starts_with("<0x") || p[5] != '>') return -1;
  const int hi = hex(p[3]), lo = hex(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

struct BpeTokenizer::Impl {
  BpeSpec spec;
  PieceMap piece_to_id;
  std::unordered_map<uint64_t, Merge, PairHash> merges;
  int byte_ids[256];  // byte-level: the token of each byte's character; else the <0xNN> tokens
  AddedTokens added;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int>, StringHash, std::equal_to<>> cache;

  explicit Impl(BpeSpec s);
  void encode_word(std::string_view word, std::vector<int>& out) const;
  void merge_word(std::string_view word, std::vector<int>& out) const;
};

BpeTokenizer::Impl::Impl(BpeSpec s) : spec(std::move(s)) {
  const std::string& src = spec.source;
  const size_t n = spec.pieces.size();
  require(n > 0, src, "the vocabulary is empty");
  require(n <= static_cast<size_t>(INT32_MAX), src, "the vocabulary is too large");
  if (spec.types.empty()) spec.types.assign(n, TokenType::Normal);
  require(spec.types.size() == n, src,
          "token types (" + std::to_string(spec.types.size()) + ") and tokens (" +
              std::to_string(n) + ") differ in number");
  auto check_id = [&](int id, const char* what) {
    require(id >= -1 && id < static_cast<int>(n), src,
            std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(n) + " tokens");
  };
  check_id(spec.unk_id, "unknown-token");
  check_id(spec.bos_id, "BOS");
  check_id(spec.eos_id, "EOS");

  piece_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) piece_to_id.emplace(spec.pieces[i], static_cast<int>(i));

  std::fill(std::begin(byte_ids), std::end(byte_ids), -1);
  if (spec.byte_level) {
    for (int b = 0; b < 256; ++b) {
      auto it = piece_to_id.find(bpe::byte_char_utf8(static_cast<uint8_t>(b)));
      if (it != piece_to_id.end()) byte_ids[b] = it->second;
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const int b = spec.types[i] == TokenType::Byte ? byte_of_piece(spec.pieces[i]) : -1;
      if (b >= 0 && byte_ids[b] < 0) byte_ids[b] = static_cast<int>(i);
    }
  }

  for (const BpeSpec::AddedToken& a : spec.added) {
    check_id(a.id, "added-token");
    require(a.id >= 0, src, "added token id -1");
    added.add(spec.pieces[a.id], a.id, a.special, a.lstrip, a.rstrip);
  }

  merges.reserve(spec.merges.size());
  std::string joined;
  for (size_t r = 0; r < spec.merges.size(); ++r) {
    const std::string& a = spec.merges[r].first;  // no structured bindings: lambdas capture them
    const std::string& b = spec.merges[r].second;
    auto where = [&] {
      return spec.merges_key + "[" + std::to_string(r) + "] ('" + a + "', '" + b + "'): ";
    };
    auto ia = piece_to_id.find(a), ib = piece_to_id.find(b);
    require(ia != piece_to_id.end(), src, where() + "'" + a + "' is not in the vocabulary");
    require(ib != piece_to_id.end(), src, where() + "'" + b + "' is not in the vocabulary");
    joined.assign(a).append(b);
    auto ij = piece_to_id.find(joined);
    require(ij != piece_to_id.end(), src, where() + "'" + joined + "' is not in the vocabulary");
    merges.emplace(pair_key(ia->second, ib->second), Merge{static_cast<int>(r), ij->second});
  }
  spec.merges.clear();
  spec.merges.shrink_to_fit();
}

// BPE of one word; appends its ids to out.
void BpeTokenizer::Impl::merge_word(std::string_view word, std::vector<int>& out) const {
  struct Symbol {
    int id;
    int prev;
    int next;
  };
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  bool last_unknown = false;
  auto push = [&](int id) {
    const int i = static_cast<int>(syms.size());
    syms.push_back({id, i - 1, i + 1});
  };
  auto unknown = [&] {            // a character no token spells
    if (spec.unk_id < 0) return;  // dropped
    if (!(spec.fuse_unk && last_unknown)) push(spec.unk_id);
    last_unknown = true;
  };

  const auto* s = reinterpret_cast<const unsigned char*>(word.data());
  if (spec.byte_level) {
    for (size_t i = 0; i < word.size(); ++i) {
      if (byte_ids[s[i]] >= 0) {
        push(byte_ids[s[i]]);
        last_unknown = false;
      } else {
        unknown();
      }
    }
  } else {
    for (size_t pos = 0; pos < word.size();) {
      size_t len = utf8_char_len(s + pos, word.size() - pos);
      const bool valid = len > 0;
      if (!valid) len = 1;
      if (valid) {
        auto it = piece_to_id.find(word.substr(pos, len));
        if (it != piece_to_id.end()) {
          push(it->second);
          last_unknown = false;
          pos += len;
          continue;
        }
      }
      bool bytes_ok = spec.byte_fallback;
      for (size_t k = 0; k < len && bytes_ok; ++k) bytes_ok = byte_ids[s[pos + k]] >= 0;
      if (bytes_ok) {
        for (size_t k = 0; k < len; ++k) push(byte_ids[s[pos + k]]);
        last_unknown = false;
      } else {
        unknown();
      }
      pos += len;
    }
  }
  if (syms.empty()) return;
  syms.back().next = -1;

  struct Candidate {
    int rank;
    int left;
    int right;
    int left_id;
    int right_id;
    int result;
  };
  struct Later {  // lowest rank first, then leftmost
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, Later> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    auto it = merges.find(pair_key(syms[left].id, syms[right].id));
    if (it != merges.end())
      queue.push({it->second.rank, left, right, syms[left].id, syms[right].id, it->second.result});
  };
  for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) try_pair(i, i + 1);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = syms[c.left];
    Symbol& r = syms[c.right];
    // Stale if either side has merged since (a merge changes the left symbol's id, and a
    // merged-away right symbol is no longer the left one's neighbour).
    if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
    l.id = c.result;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    r.id = -1;
    r.prev = r.next = -1;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }
  for (int i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void BpeTokenizer::Impl::encode_word(std::string_view word, std::vector<int>& out) const {
  if (word.empty()) return;
  const bool cacheable = word.size() <= kMaxCachedWord;
  if (cacheable) {
    std::lock_guard lock(cache_mutex);
    auto it = cache.find(word);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  bool whole = false;
  if (spec.ignore_merges) {
    std::string key;
    if (spec.byte_level) {
      for (unsigned char b : word) key += bpe::byte_char_utf8(b);
    } else {
      key.assign(word);
    }
    auto it = piece_to_id.find(key);
    if (it != piece_to_id.end()) {
      out.push_back(it->second);
      whole = true;
    }
  }
  if (!whole) merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex);
    if (cache.size() >= kMaxCacheEntries) cache.clear();
    cache.emplace(std::string(word),
                  std::vector<int>(out.begin() + static_cast<ptrdiff_t>(start), out.end()));
  }
}

BpeTokenizer::BpeTokenizer(BpeSpec spec) : impl_(std::make_shared<const Impl>(std::move(spec))) {}

std::vector<int> BpeTokenizer::encode(std::string_view text, bool add_bos,
                                      bool parse_special) const {
  const Impl& m = *impl_;
  std::vector<int> out;
  if (add_bos && m.spec.bos_id >= 0) out.push_back(m.spec.bos_id);

  const std::vector<AddedTokens::Section> sections = m.added.split(text, parse_special);
  for (const AddedTokens::Section& sec : sections) {
    if (!sec.text.empty()) {
      std::string normalized;
      std::string_view s = sec.text;
      if (!m.spec.normalizer.empty()) {
        normalized = m.spec.normalizer.apply(s);
        s = normalized;
      }
      if (m.spec.pretokenizer.empty()) {
        m.encode_word(s, out);
      } else {
        const bool at_start = sec.text.data() == text.data();  // Metaspace's prepend "first"
        uint32_t words = 0;  // a long text checks for an interrupt (base/interrupt.h)
        for (const std::string& w : m.spec.pretokenizer.split(s, at_start)) {
          if ((++words & 0xfff) == 0) check_interrupt();
          m.encode_word(w, out);
        }
      }
    }
    if (sec.added >= 0) out.push_back(sec.added);
  }
  return out;
}

std::string BpeTokenizer::decode(std::span<const int> ids, bool render_special) const {
  const Impl& m = *impl_;
  std::string out;
  for (int id : ids) {
    const std::string& p = piece(id);
    switch (m.spec.types[id]) {
      case TokenType::Control:
      case TokenType::Unknown:
        if (render_special) out += p;
        continue;
      case TokenType::Byte:
        if (const int b = byte_of_piece(p); b >= 0) {
          out += static_cast<char>(b);
          continue;
        }
        break;
      case TokenType::UserDefined:  // added tokens are stored as plain text
        if (m.spec.byte_level) {
          out += p;
          continue;
        }
        break;
      default:
        break;
    }
    if (m.spec.byte_level) {
      // Every character maps back to its byte; a piece with any other character is plain text
      // (as HF's ByteLevel decoder treats it).
      std::string bytes;
      const auto* s = reinterpret_cast<const unsigned char*>(p.data());
      bool ok = true;
      for (size_t pos = 0; pos < p.size() && ok;) {
        const size_t len = utf8_char_len(s + pos, p.size() - pos);
        const int b = len ? bpe::char_byte(utf8_decode(s + pos, len)) : -1;
        ok = b >= 0;
        if (ok) bytes += static_cast<char>(b);
        pos += len;
      }
      out += ok ? bytes : p;
    } else {
      for (size_t pos = 0; pos < p.size();) {
        if (p.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
          out += ' ';
          pos += kSpaceMark.size();
        } else {
          out += p[pos++];
        }
      }
    }
  }
  size_t strip = 0;
  while (strip < out.size() && static_cast<int>(strip) < m.spec.decode_strip_spaces &&
         out[strip] == ' ')
    ++strip;
  out.erase(0, strip);
  return out;
}

size_t BpeTokenizer::vocab_size() const {
  return impl_->spec.pieces.size();
}
const std::string& BpeTokenizer::piece(int id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->spec.pieces.size())
    throw std::out_of_range("token id " + std::to_string(id) + " outside the vocabulary of " +
                            std::to_string(impl_->spec.pieces.size()) + " tokens");
  return impl_->spec.pieces[id];
}
TokenType BpeTokenizer::type(int id) const {
  piece(id);  // range check
  return impl_->spec.types[id];
}
int BpeTokenizer::token_id(std::string_view p) const {
  auto it = impl_->piece_to_id.find(p);
  return it == impl_->piece_to_id.end() ? -1 : it->second;
}
int BpeTokenizer::bos_id() const {
  return impl_->spec.bos_id;
}
int BpeTokenizer::eos_id() const {
  return impl_->spec.eos_id;
}
bool BpeTokenizer::add_bos() const {
  return impl_->spec.add_bos;
}
bool BpeTokenizer::byte_level() const {
  return impl_->spec.byte_level;
}

// ---- GGUF ----

namespace {

// llama.cpp's pre-tokenizer regexes (llama-vocab.cpp), the case-insensitive contractions spelled
// out as character classes as llama.cpp does.
// Llama-3's and cl100k's (GPT-4, DBRX, OLMo-2): digits in threes.
constexpr const char* kCl100kPattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// o200k's (GPT-4o, gpt-oss, Llama 4), as its tokenizer.json has it: a word is an optional
// upper-case run then lower-case letters (or upper case then optional lower case), so
// "camelCase" splits at the capital; contractions of either case stay on the word; digits in
// threes; "/" may trail a punctuation run.
constexpr const char* kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2's: as cl100k, but every digit alone.
constexpr const char* kQwen2Pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreType {
  const char* names[3];
  const char* pattern;
  bool add_bos;        // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
  bool ignore_merges;  // llama.cpp sets it for Llama-3
  // NFC first, as the tokenizer.json of GPT-NeoX-20B (Pythia, MPT, OLMo-1) says; llama.cpp
  // skips it, which only matters for text that is not already NFC.
  bool nfc;
};
const PreType kPreTypes[] = {
    {{"gpt-2", nullptr, nullptr}, bpe::kGpt2Pattern, false, false, false},
    // convert_hf_to_gguf.py names the GPT-NeoX-20B tokenizer "mpt" (Pythia, GPT-NeoX, MPT) and
    // OLMo-1's variant of it "olmo"; both split as GPT-2.
    {{"mpt", "olmo", nullptr}, bpe::kGpt2Pattern, false, false, true},
    {{"llama-bpe", "llama3", "llama-v3"}, kCl100kPattern, true, true, false},
    // cl100k-based vocabularies hash to "dbrx" (DBRX, OLMo-2).
    {{"dbrx", nullptr, nullptr}, kCl100kPattern, false, false, false},
    {{"qwen2", nullptr, nullptr}, kQwen2Pattern, false, false, false},
    {{"gpt-4o", "llama4", nullptr}, kO200kPattern, false, false, false},
};

// "gpt-2, mpt, ...": the names kPreTypes knows, for error messages.
std::string pre_type_names() {
  std::string out;
  for (const PreType& t : kPreTypes)
    for (const char* name : t.names)
      if (name) out.append(out.empty() ? "" : ", ").append(name);
  return out;
}

}  // namespace

std::string BpeTokenizer::gguf_pre_pattern(std::string_view pre) {
  for (const PreType& t : kPreTypes)
    for (const char* name : t.names)
      if (name && pre == name) return t.pattern;
  return {};
}

BpeTokenizer BpeTokenizer::from_gguf(const GgufFile& gguf) {
  if (!gguf.has("tokenizer.ggml.model")) gguf.fail("no tokenizer.ggml.model");
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model != "gpt2")
    gguf.fail("tokenizer.ggml.model '" + model + "' is not a byte-level BPE ('gpt2')");

  const std::string pre = gguf.get_string("tokenizer.ggml.pre", "");
  const PreType* type = nullptr;
  for (const PreType& t : kPreTypes)
    for (const char* name : t.names)
      if (name && pre == name) type = &t;
  if (!type)
    gguf.fail(pre.empty()
                  ? std::string("no tokenizer.ggml.pre (the pre-tokenizer type)")
                  : "tokenizer.ggml.pre '" + pre + "' is not supported (" + pre_type_names() + ")");

  BpeSpec spec;
  spec.source = gguf.path();
  spec.pieces = gguf.get_string_array("tokenizer.ggml.tokens");
  if (spec.pieces.empty()) gguf.fail("no tokenizer.ggml.tokens");
  const size_t n = spec.pieces.size();

  if (gguf.has("tokenizer.ggml.token_type")) {
    const std::vector<int32_t> types = gguf.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != n)
      gguf.fail("tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                " entries, tokenizer.ggml.tokens has " + std::to_string(n));
    spec.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int32_t>(TokenType::Byte))
        gguf.fail("tokenizer.ggml.token_type[" + std::to_string(i) +
                  "] = " + std::to_string(types[i]) + " is not a token type");
      spec.types.push_back(static_cast<TokenType>(types[i]));
    }
  } else {
    spec.types.assign(n, TokenType::Normal);
  }
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = spec.types[i];
    if (t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown)
      spec.added.push_back({static_cast<int>(i), t != TokenType::UserDefined});
  }

  // Scores are not used by byte-level BPE, but a list of another length is a broken file.
  if (gguf.has("tokenizer.ggml.scores") &&
      gguf.get_float_array("tokenizer.ggml.scores").size() != n)
    gguf.fail("tokenizer.ggml.scores has " +
              std::to_string(gguf.get_float_array("tokenizer.ggml.scores").size()) +
              " entries, tokenizer.ggml.tokens has " + std::to_string(n));

  if (!gguf.has("tokenizer.ggml.merges")) gguf.fail("no tokenizer.ggml.merges");
  const std::vector<std::string> merges = gguf.get_string_array("tokenizer.ggml.merges");
  spec.merges.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;  // as llama.cpp splits
    if (sp == std::string::npos)
      gguf.fail("tokenizer.ggml.merges[" + std::to_string(r) + "] = '" + m +
                "' is not two tokens separated by a space");
    spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  spec.merges_key = "tokenizer.ggml.merges";

  auto special = [&](const char* key) {
    const int64_t id = gguf.get_int(key, -1);
    if (id < -1 || id >= static_cast<int64_t>(n))
      gguf.fail(std::string(key) + " = " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(n) + " tokens");
    return static_cast<int>(id);
  };
  spec.bos_id = special("tokenizer.ggml.bos_token_id");
  spec.eos_id = special("tokenizer.ggml.eos_token_id");
  spec.unk_id = special("tokenizer.ggml.unknown_token_id");
  check_special_token_ids(gguf, n);
  spec.add_bos = gguf.get_bool("tokenizer.ggml.add_bos_token", type->add_bos);
  spec.byte_level = true;
  spec.ignore_merges = type->ignore_merges;
  if (type->nfc) spec.normalizer.add({bpe::Normalizer::Kind::NFC, nullptr, ""});
  bpe::PreTokenizer::Step split;  // Split, Isolated
  split.pattern = std::make_shared<const bpe::Regex>(type->pattern);
  spec.pretokenizer.add(std::move(split));
  return BpeTokenizer(std::move(spec));
}

}  // namespace ss
