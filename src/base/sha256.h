#pragma once
// SHA-256 (FIPS 180-4) of a file, as lowercase hex; run.json records the model's hash with it.
#include <cstdint>
#include <string>
#include <string_view>

namespace ss {

std::string sha256_hex(std::string_view bytes);
// A directory (a model folder) hashes its regular files in name order, each as name, NUL, bytes.
std::string sha256_file(const std::string& path);  // throws InputError if unreadable

}  // namespace ss
