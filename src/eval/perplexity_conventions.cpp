#include "eval/perplexity_conventions.h"

#include <cmath>
#include <numbers>

#include "base/utf8.h"

namespace ss {

namespace {

// Python's str.isspace() code points, which re's \s matches in a str pattern.
bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

}  // namespace

size_t count_words(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t runs = 0;
  bool in_space = false;
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_char_len(s + i, text.size() - i);
    const bool space = len > 0 && is_python_space(utf8_decode(s + i, len));
    if (len == 0) len = 1;  // a stray byte is not whitespace
    runs += space && !in_space;
    in_space = space;
    i += len;
  }
  return runs + 1;
}

TextPerplexities text_perplexities(double nll_sum, std::string_view text) {
  TextPerplexities p;
  p.bytes = text.size();
  p.words = count_words(text);
  const double bytes = static_cast<double>(p.bytes);
  p.bits_per_byte = nll_sum / (std::numbers::ln2 * bytes);
  p.byte_perplexity = std::exp(nll_sum / bytes);
  p.word_perplexity = std::exp(nll_sum / static_cast<double>(p.words));
  return p;
}

}  // namespace ss
