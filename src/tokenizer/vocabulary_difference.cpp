#include "tokenizer/vocabulary_difference.h"

namespace ss {

namespace {

// A token's text for a message: quoted, bytes outside printable ASCII as \xNN, cut at 24 bytes.
std::string shown(const std::string& s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 24; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + (s.size() > 24 ? "...'" : "'");
}

}  // namespace

std::optional<std::string> vocabulary_difference(const Tokenizer& a, const Tokenizer& b) {
  auto differ = [](const char* what, long x, long y) {
    return std::string(what) + " " + std::to_string(x) + " in one, " + std::to_string(y) +
           " in the other";
  };
  if (a.vocab_size() != b.vocab_size())
    return differ("vocabulary of", static_cast<long>(a.vocab_size()),
                  static_cast<long>(b.vocab_size()));
  if (a.bos_id() != b.bos_id()) return differ("BOS id", a.bos_id(), b.bos_id());
  if (a.eos_id() != b.eos_id()) return differ("EOS id", a.eos_id(), b.eos_id());
  if (a.add_bos() != b.add_bos()) return differ("add BOS", a.add_bos(), b.add_bos());
  for (int id = 0; id < static_cast<int>(a.vocab_size()); ++id) {
    const std::string ta = a.decode_token(-1, id), tb = b.decode_token(-1, id);
    if (ta != tb)
      return "token " + std::to_string(id) + " is " + shown(ta) + " in one, " + shown(tb) +
             " in the other";
  }
  return std::nullopt;
}

}  // namespace ss
