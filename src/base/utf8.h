#pragma once
// UTF-8, by the rules of RFC 3629: a character is well formed when it is not overlong, not a
// surrogate (U+D800..U+DFFF) and not past U+10FFFF. The tokenizers and the text reader share these.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ss {

// Length of the well-formed UTF-8 character at s[0..n), or 0 if the bytes there are not one
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, or cut short). n >= 1.
size_t utf8_char_len(const unsigned char* s, size_t n);
// The code point of the well-formed character of length len at s.
uint32_t utf8_decode(const unsigned char* s, size_t len);
// Appends code point cp (<= U+10FFFF) in UTF-8.
void utf8_append(std::string& out, uint32_t cp);

}  // namespace ss
