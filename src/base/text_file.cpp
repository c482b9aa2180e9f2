#include "base/text_file.h"

#include <fstream>
#include <sstream>

#include "base/error.h"

namespace ss {

size_t find_invalid_utf8(const std::string& s, size_t from) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = from;
  while (i < n) {
    unsigned char c = p[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > n) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string::npos;
}

std::string sanitize_utf8(const std::string& s, size_t* replaced) {
  std::string out;
  size_t from = 0, count = 0;
  for (size_t bad; (bad = find_invalid_utf8(s, from)) != std::string::npos; from = bad + 1, ++count)
    out.append(s, from, bad - from).append("\xEF\xBF\xBD");
  out.append(s, from, std::string::npos);
  if (replaced) *replaced = count;
  return out;
}

TextFile read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  TextFile f;
  f.text = ss.str();
  require(!f.text.empty(), path, "empty text file");
  if (find_invalid_utf8(f.text) != std::string::npos)
    f.text = sanitize_utf8(f.text, &f.invalid_utf8);
  return f;
}

}  // namespace ss
