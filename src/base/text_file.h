#pragma once
#include <cstddef>
#include <string>

namespace ss {

struct TextFile {
  std::string text;
  size_t invalid_utf8 = 0;  // bytes that were not valid UTF-8, each replaced by U+FFFD
};

// The whole file. Throws InputError for a missing or empty file. Bytes that are not valid UTF-8
// are replaced by U+FFFD and counted, so callers can report them.
TextFile read_text(const std::string& path);

// The same, for callers that only want the text.
inline std::string read_text_file(const std::string& path) {
  return read_text(path).text;
}

// Offset of the first byte that breaks UTF-8 validity in s[from..], or npos.
size_t find_invalid_utf8(const std::string& s, size_t from = 0);

// s with each invalid byte replaced by U+FFFD; *replaced counts them.
std::string sanitize_utf8(const std::string& s, size_t* replaced);

}  // namespace ss
