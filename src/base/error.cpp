#include "base/error.h"

#include <algorithm>
#include <cstdio>

namespace ss {

std::string quoted_name(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string r = "'";
  for (size_t k = 0; k < std::min(s.size(), kMaxShown); ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7f) {
      r += static_cast<char>(c);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      r += esc;
    }
  }
  if (s.size() > kMaxShown) r += "...";
  return r + "'";
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace ss
