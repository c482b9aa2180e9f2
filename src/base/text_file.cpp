#include "base/text_file.h"

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/utf8.h"

namespace ss {

size_t find_invalid_utf8(const std::string& s, size_t from) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = from, len; i < s.size(); i += len)
    if ((len = utf8_char_len(p + i, s.size() - i)) == 0) return i;
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
