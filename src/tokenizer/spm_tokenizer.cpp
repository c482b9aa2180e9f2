#include "tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <queue>
#include <stdexcept>

#include "base/error.h"
#include "base/interrupt.h"
#include "base/utf8.h"

namespace ss {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte of a "<0xNN>" piece, or -1.
int byte_of_piece(const std::string& p) {
  if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>') return -1;
  int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Only these pieces take part in segmentation; byte, control and unknown pieces are reached
// through byte fallback or never (so "<" + "0x41>" cannot merge into the byte token for 'A',
// which would break decode(encode(x)) == x).
bool is_text_piece(TokenType t) {
  return t == TokenType::Normal || t == TokenType::UserDefined || t == TokenType::Undefined;
}

// A symbol is a slice [start, start+len) of the normalized text; merged-away symbols have len 0.
struct Symbol {
  uint32_t start;
  uint32_t len;
  int prev;
  int next;
  int id;  // its piece, or -1 when it falls back to byte tokens
};

// A candidate merge of symbols left and left's right neighbour right, valid while both still
// have the lengths they had when it was queued (lengths only grow, so a match means the same text).
struct Candidate {
  float score;
  int left;
  int right;
  uint32_t len;
  int id;
};

// Highest score first, then leftmost: the order of llama2.c's greedy scan.
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  const size_t n = vocab_.tokens.size();
  if (vocab_.model != "llama")
    throw InputError("tokenizer.ggml.model",
                     "'" + vocab_.model + "' is not supported, only 'llama' (SentencePiece)");
  if (vocab_.scores.size() != n || vocab_.types.size() != n)
    throw std::invalid_argument("SpmTokenizer: tokens, scores and types differ in size");
  auto valid = [n](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n; };
  if (!valid(vocab_.bos_id) || !valid(vocab_.eos_id) || !valid(vocab_.unk_id))
    throw std::invalid_argument("SpmTokenizer: special token id outside the vocabulary");

  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  for (size_t i = 0; i < n; ++i) {
    const int id = static_cast<int>(i);
    if (vocab_.types[i] == TokenType::Byte) {
      int b = byte_of_piece(vocab_.tokens[i]);
      if (b >= 0 && byte_ids_[b] < 0) byte_ids_[b] = id;
    } else if (is_text_piece(vocab_.types[i])) {
      piece_to_id_.emplace(vocab_.tokens[i], id);  // the first of duplicate pieces wins
    }
  }

  // llama.cpp cuts control, unknown and user-defined tokens out of the text first, the first
  // two only when parsing special tokens.
  if (!vocab_.rstrip.empty() && vocab_.rstrip.size() != n)
    throw std::invalid_argument("SpmTokenizer: rstrip and tokens differ in size");
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = vocab_.types[i];
    if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined)
      added_.add(vocab_.tokens[i], static_cast<int>(i), t != TokenType::UserDefined, false,
                 !vocab_.rstrip.empty() && vocab_.rstrip[i]);
  }
}

std::vector<int> SpmTokenizer::encode(std::string_view text, bool add_bos,
                                      bool parse_special) const {
  std::vector<int> out;
  if (add_bos) out.push_back(vocab_.bos_id);
  // The dummy prefix goes before the text and before text that follows an added token.
  bool after_added = true;
  for (const AddedTokens::Section& sec : added_.split(text, parse_special)) {
    if (!sec.text.empty()) {
      encode_text(sec.text, vocab_.add_space_prefix && after_added, out);
      after_added = false;
    }
    if (sec.added >= 0) {
      out.push_back(sec.added);
      after_added = true;
    }
  }
  return out;
}

void SpmTokenizer::encode_text(std::string_view text, bool space_prefix,
                               std::vector<int>& out) const {
  // Normalize: dummy prefix, spaces as "▁".
  std::string norm;
  norm.reserve(text.size() + text.size() / 4 + kSpaceMark.size());
  if (space_prefix) norm += kSpaceMark;
  for (char c : text) {
    if (c == ' ')
      norm += kSpaceMark;
    else
      norm += c;
  }

  auto lookup = [this](std::string_view piece) {
    auto it = piece_to_id_.find(std::string(piece));
    return it == piece_to_id_.end() ? -1 : it->second;
  };

  // Symbols are indexed by int and sliced by uint32_t.
  if (norm.size() > static_cast<size_t>(INT32_MAX))
    throw std::length_error("SpmTokenizer::encode: text over 2 GiB");

  // One symbol per UTF-8 character; each byte of invalid UTF-8 is a symbol of its own.
  std::vector<Symbol> syms;
  syms.reserve(norm.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(norm.data());
  for (size_t pos = 0; pos < norm.size();) {
    size_t len = utf8_char_len(bytes + pos, norm.size() - pos);
    const bool valid = len > 0;
    if (!valid) len = 1;
    const int i = static_cast<int>(syms.size());
    const int id = valid ? lookup(std::string_view(norm).substr(pos, len)) : -1;
    syms.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), i - 1, i + 1, id});
    pos += len;
  }
  syms.back().next = -1;

  // Symbols that fall back to bytes never merge, as in llama2.c (its byte tokens' "<0xNN>"
  // strings never concatenate to a piece). So they split the text into runs that merge
  // independently, each in the same order as in one global greedy pass; running them one at
  // a time keeps the queue small (newlines fall back to bytes in Llama vocabularies).
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0 || syms[left].id < 0 || syms[right].id < 0) return;
    const uint32_t len = syms[left].len + syms[right].len;
    const int id = lookup(std::string_view(norm).substr(syms[left].start, len));
    if (id >= 0) queue.push({vocab_.scores[id], left, right, len, id});
  };
  const int n = static_cast<int>(syms.size());
  uint32_t steps = 0;  // a long text checks for an interrupt (base/interrupt.h) now and then
  for (int begin = 0; begin < n;) {
    if ((++steps & 0xfff) == 0) check_interrupt();
    int end = begin + 1;
    while (end < n && syms[end - 1].id >= 0 && syms[end].id >= 0) ++end;
    for (int i = begin; i + 1 < end; ++i) try_pair(i, i + 1);
    begin = end;

    while (!queue.empty()) {
      if ((++steps & 0xfff) == 0) check_interrupt();
      const Candidate c = queue.top();
      queue.pop();
      Symbol& l = syms[c.left];
      Symbol& r = syms[c.right];
      if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len)
        continue;  // stale
      l.len = c.len;
      l.id = c.id;
      l.next = r.next;
      if (r.next >= 0) syms[r.next].prev = c.left;
      r.len = 0;
      try_pair(l.prev, c.left);
      try_pair(c.left, l.next);
    }
  }

  for (int i = 0; i >= 0; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    for (uint32_t k = 0; k < s.len; ++k) {
      int b = byte_ids_[bytes[s.start + k]];
      out.push_back(b >= 0 ? b : vocab_.unk_id);
    }
  }
}

std::string SpmTokenizer::decode_token(int prev, int token) const {
  if (token < 0 || static_cast<size_t>(token) >= vocab_.size())
    throw std::out_of_range("token id " + std::to_string(token) + " outside the vocabulary");
  const std::string& piece = vocab_.tokens[token];
  switch (vocab_.types[token]) {
    case TokenType::Control:
    case TokenType::Unknown:
      return "";
    case TokenType::Byte: {
      int b = byte_of_piece(piece);
      if (b >= 0) return std::string(1, static_cast<char>(b));
      break;
    }
    default:
      break;
  }
  std::string out;
  out.reserve(piece.size());
  size_t pos = 0;
  // After BOS the dummy prefix's space is dropped (sentencepiece's decoder, llama2.c PR #89).
  if (prev == vocab_.bos_id && vocab_.add_space_prefix && piece.starts_with(kSpaceMark))
    pos = kSpaceMark.size();
  while (pos < piece.size()) {
    if (piece.compare(pos, kSpaceMark.size(), kSpaceMark) == 0) {
      out += ' ';
      pos += kSpaceMark.size();
    } else {
      out += piece[pos++];
    }
  }
  return out;
}

std::string SpmTokenizer::decode(std::span<const int> ids) const {
  std::string out;
  int prev = -1;
  for (int id : ids) {
    out += decode_token(prev, id);
    prev = id;
  }
  return out;
}

}  // namespace ss
