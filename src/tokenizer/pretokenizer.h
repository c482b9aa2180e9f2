#pragma once
// Text preparation for BPE tokenizers, as Hugging Face `tokenizers` defines it: normalizers
// (Unicode NFC/NFD/NFKC/NFKD via utf8proc, Replace, Prepend), pre-tokenizers (Split by a regex
// or a literal with each delimiter behaviour, ByteLevel, Metaspace), and GPT-2's byte-to-unicode
// alphabet.
//
// Regexes are PCRE2 patterns compiled in UTF + UCP mode (\s, \p{L}, \p{N} are Unicode-aware)
// with PCRE2_MATCH_INVALID_UTF, so text that is not valid UTF-8 never crashes anything: invalid
// bytes simply never match and end up in the gaps between matches.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/utf8.h"

namespace ss::bpe {

// ---- GPT-2 byte-level alphabet ----

// Byte b is written as the code point byte_char(b): printable Latin-1 bytes ('!'..'~',
// '¡'..'¬', '®'..'ÿ') as themselves, the other 68 bytes as U+0100.. in increasing byte order
// (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
uint32_t byte_char(uint8_t b);
// The UTF-8 of byte_char(b).
const std::string& byte_char_utf8(uint8_t b);
// The byte that code point cp stands for, or -1 if cp is not in the alphabet.
int char_byte(uint32_t cp);

// ---- Regex ----

// A compiled PCRE2 pattern (UTF, UCP, invalid UTF-8 allowed in subjects). Thread-safe to use.
class Regex {
 public:
  // Throws std::invalid_argument("<pattern>: <PCRE2 message> at offset N") if it does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // A pattern matching exactly the literal text s.
  static std::string quote(std::string_view s);

  // Appends to out the [begin, end) byte ranges of the successive non-empty, non-overlapping,
  // leftmost matches in text.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

// ---- Normalizer ----

class Normalizer {
 public:
  enum class Kind { NFC, NFD, NFKC, NFKD, Replace, Prepend };
  struct Step {
    Kind kind;
    std::shared_ptr<const Regex> pattern;  // Replace: what to replace
    std::string content;                   // Replace: the replacement; Prepend: the prefix
  };

  void add(Step step) { steps_.push_back(std::move(step)); }
  bool empty() const { return steps_.empty(); }
  // Unicode forms apply to each maximal run of valid UTF-8 (invalid bytes pass through).
  std::string apply(std::string_view text) const;

 private:
  std::vector<Step> steps_;
};

// ---- Pre-tokenizer ----

// How Split treats the delimiters (matches) it finds, as in HF tokenizers.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// When Metaspace puts the replacement before a piece that does not start with one.
enum class PrependScheme { Always, First, Never };

class PreTokenizer {
 public:
  struct Step {
    enum class Kind { Split, ByteLevel, Metaspace } kind = Kind::Split;
    // Split; ByteLevel with use_regex (GPT-2's regex); Metaspace with split (the replacement)
    std::shared_ptr<const Regex> pattern;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;            // Split: the matches are the pieces, not the delimiters
    bool add_prefix_space = false;  // ByteLevel: prefix each piece not starting with ' ' with one
    std::string replacement;        // Metaspace: what spaces become ("▁")
    PrependScheme prepend = PrependScheme::Always;  // Metaspace; First: only at the text's start
  };

  void add(Step step) { steps_.push_back(std::move(step)); }
  bool empty() const { return steps_.empty(); }
  const std::vector<Step>& steps() const { return steps_; }
  // Splits text into words by applying the steps in order to every piece; empty pieces vanish.
  // at_start: text begins the input (rather than following an added token), which Metaspace's
  // prepend scheme First asks.
  std::vector<std::string> split(std::string_view text, bool at_start = true) const;

 private:
  std::vector<Step> steps_;
};

// GPT-2's pre-tokenizer regex (HF ByteLevel with use_regex).
extern const char* const kGpt2Pattern;

}  // namespace ss::bpe
