#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

namespace ss::bpe {

// ---- byte-level alphabet ----

namespace {

struct ByteAlphabet {
  std::array<uint32_t, 256> chars{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 324> bytes{};  // code point -> byte; every code point used is < 324

  ByteAlphabet() {
    bytes.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      chars[b] = printable ? static_cast<uint32_t>(b) : next++;
      bytes[chars[b]] = static_cast<int16_t>(b);
      utf8_append(utf8[b], chars[b]);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

}  // namespace

uint32_t byte_char(uint8_t b) {
  return alphabet().chars[b];
}
const std::string& byte_char_utf8(uint8_t b) {
  return alphabet().utf8[b];
}
int char_byte(uint32_t cp) {
  return cp < alphabet().bytes.size() ? alphabet().bytes[cp] : -1;
}

// ---- Regex ----

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// The pattern with \s and \S spelled as the Unicode White_Space property, which is what
// Oniguruma (HF tokenizers), Rust's regex and llama.cpp's tables mean by \s. PCRE2's UCP \s also
// takes U+180E MONGOLIAN VOWEL SEPARATOR (no longer a space since Unicode 6.3).
std::string white_space_escapes(const std::string& p) {
  std::string out;
  out.reserve(p.size() + 16);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' || i + 1 == p.size()) {
      out += p[i];
      continue;
    }
    const char c = p[++i];
    if (c == 's') {
      out += "\\p{White_Space}";
    } else if (c == 'S') {
      out += "\\P{White_Space}";
    } else if (c == 'Q') {  // \Q...\E is literal
      const size_t end = p.find("\\E", i + 1);
      const size_t stop = end == std::string::npos ? p.size() : end + 2;
      out += '\\';
      out.append(p, i, stop - i);
      i = stop - 1;
    } else {
      out += '\\';
      out += c;
    }
  }
  return out;
}

}  // namespace

Regex::Regex(const std::string& pattern_text) : pattern_(pattern_text) {
  const std::string pattern = white_space_escapes(pattern_text);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    std::string what = "regex /" + pattern_text + "/: ";
    what.append(reinterpret_cast<const char*>(msg));
    if (pattern == pattern_text) {  // offsets in a rewritten pattern would mislead
      what.append(" at offset ");
      what.append(std::to_string(err_off));
    }
    throw std::invalid_argument(what);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: matching falls back to the interpreter
  code_ = code;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

std::string Regex::quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    // A backslash before an ASCII non-alphanumeric is always a literal in PCRE2.
    if (u < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      if (u < 0x20 || u == 0x7F) {  // control characters by code, so no raw NUL in the pattern
        static const char* hex = "0123456789abcdef";
        out += "\\x{";
        out += hex[u >> 4];
        out += hex[u & 15];
        out += '}';
        continue;
      }
      out += '\\';
    }
    out += c;
  }
  return out;
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  struct MatchData {
    pcre2_match_data* md;
    ~MatchData() { pcre2_match_data_free(md); }
  } data{pcre2_match_data_create_from_pattern(code, nullptr)};
  if (!data.md) throw std::bad_alloc();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t off = 0;
  while (off < text.size()) {
    int rc = pcre2_match(code, subject, text.size(), off, PCRE2_NOTEMPTY, data.md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // deep backtracking: the interpreter uses the heap
      rc = pcre2_match(code, subject, text.size(), off, PCRE2_NOTEMPTY | PCRE2_NO_JIT, data.md,
                       nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw std::runtime_error("regex /" + pattern_ + "/: " + reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
    out.emplace_back(ov[0], ov[1]);
    off = ov[1];
  }
}

// ---- Normalizer ----

namespace {

// Applies a utf8proc normalization to every run of valid UTF-8 (ASCII is left as it is: every
// Unicode normalization form maps it to itself).
std::string unicode_normalize(std::string_view text, utf8proc_option_t options) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    // A run of valid UTF-8, and whether it is all ASCII.
    size_t end = pos;
    bool ascii = true;
    while (end < n) {
      const size_t len = utf8_char_len(s + end, n - end);
      if (len == 0) break;
      ascii = ascii && len == 1;
      end += len;
    }
    if (ascii) {
      out.append(text.substr(pos, end - pos));
    } else {
      utf8proc_uint8_t* dst = nullptr;
      const utf8proc_ssize_t m =
          utf8proc_map(s + pos, static_cast<utf8proc_ssize_t>(end - pos), &dst, options);
      if (m < 0) throw std::runtime_error(std::string("utf8proc: ") + utf8proc_errmsg(m));
      out.append(reinterpret_cast<const char*>(dst), static_cast<size_t>(m));
      std::free(dst);
    }
    if (end < n) out += text[end++];  // an invalid byte passes through
    pos = end;
  }
  return out;
}

}  // namespace

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  std::vector<std::pair<size_t, size_t>> matches;
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::NFC:
        s = unicode_normalize(s,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
        break;
      case Kind::NFD:
        s = unicode_normalize(s,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE));
        break;
      case Kind::NFKC:
        s = unicode_normalize(s, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                                UTF8PROC_COMPAT));
        break;
      case Kind::NFKD:
        s = unicode_normalize(s, static_cast<utf8proc_option_t>(
                                     UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
        break;
      case Kind::Replace: {
        matches.clear();
        step.pattern->find_all(s, matches);
        if (matches.empty()) break;
        std::string r;
        r.reserve(s.size());
        size_t prev = 0;
        for (auto [b, e] : matches) {
          r.append(s, prev, b - prev);
          r += step.content;
          prev = e;
        }
        r.append(s, prev);
        s = std::move(r);
        break;
      }
      case Kind::Prepend:
        if (!s.empty()) s.insert(0, step.content);
        break;
    }
  }
  return s;
}

// ---- PreTokenizer ----

namespace {

struct Segment {
  size_t begin, end;
  bool is_match;
};

// The pieces of s that Split keeps, following HF tokenizers' SplitDelimiterBehavior.
void split_piece(const std::string& s, const PreTokenizer::Step& step,
                 std::vector<std::string>& out) {
  std::vector<std::pair<size_t, size_t>> found;
  step.pattern->find_all(s, found);
  std::vector<Segment> segs;  // gaps and matches covering s
  size_t prev = 0;
  for (auto [b, e] : found) {
    if (b > prev) segs.push_back({prev, b, false});
    segs.push_back({b, e, true});
    prev = e;
  }
  if (prev < s.size()) segs.push_back({prev, s.size(), false});
  if (step.invert)
    for (Segment& g : segs) g.is_match = !g.is_match;

  // Pieces as (begin, end, removed).
  std::vector<Segment> pieces;
  bool previous_match = false;
  switch (step.behavior) {
    case SplitBehavior::Isolated:
      for (const Segment& g : segs) pieces.push_back({g.begin, g.end, false});
      break;
    case SplitBehavior::Removed:
      pieces = segs;  // is_match now means "removed"
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Segment& g : segs) {
        if (g.is_match && !previous_match && !pieces.empty())
          pieces.back().end = g.end;
        else
          pieces.push_back({g.begin, g.end, false});
        previous_match = g.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty())
          pieces.back().begin = it->begin;
        else
          pieces.push_back({it->begin, it->end, false});
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::Contiguous:
      for (size_t i = 0; i < segs.size(); ++i) {
        if (i > 0 && segs[i].is_match == previous_match)
          pieces.back().end = segs[i].end;
        else
          pieces.push_back({segs[i].begin, segs[i].end, false});
        previous_match = segs[i].is_match;
      }
      break;
  }
  for (const Segment& p : pieces)
    if (!p.is_match && p.end > p.begin) out.push_back(s.substr(p.begin, p.end - p.begin));
}

// Metaspace before its split: spaces become the replacement, which also goes in front when the
// prepend scheme asks (first: the piece begins the input) and the piece does not start with it.
std::string metaspace(const std::string& s, const PreTokenizer::Step& step, bool first) {
  std::string out;
  const bool prepend =
      step.prepend == PrependScheme::Always || (step.prepend == PrependScheme::First && first);
  if (prepend && !s.starts_with(step.replacement) && !s.starts_with(' ')) out = step.replacement;
  for (char c : s) {
    if (c == ' ')
      out += step.replacement;
    else
      out += c;
  }
  return out;
}

}  // namespace

std::vector<std::string> PreTokenizer::split(std::string_view text, bool at_start) const {
  std::vector<std::string> pieces;
  if (text.empty()) return pieces;
  pieces.emplace_back(text);
  std::vector<std::string> next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string& p : pieces) {
      if (step.kind == Step::Kind::Metaspace) {
        const bool first = at_start && &p == &pieces.front();
        p = metaspace(p, step, first);
        if (step.pattern) {
          split_piece(p, step, next);
        } else {
          next.push_back(std::move(p));
        }
      } else if (step.kind == Step::Kind::ByteLevel) {
        if (step.add_prefix_space && !p.starts_with(' ')) p.insert(0, 1, ' ');
        if (!step.pattern) {
          next.push_back(std::move(p));
          continue;
        }
        Step isolated = step;
        isolated.behavior = SplitBehavior::Isolated;
        isolated.invert = false;
        split_piece(p, isolated, next);
      } else {
        split_piece(p, step, next);
      }
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace ss::bpe
