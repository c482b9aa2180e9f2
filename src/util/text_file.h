#pragma once
#include <string>

namespace ss {

// The whole file as bytes. Throws InputError for a missing or empty file, or text that is not
// valid UTF-8 (naming the byte offset).
std::string read_text_file(const std::string& path);

// Offset of the first byte that breaks UTF-8 validity, or npos.
size_t find_invalid_utf8(const std::string& s);

}  // namespace ss
