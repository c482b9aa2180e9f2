#pragma once
// Results are written atomically: to a temporary file in the same directory, then renamed, so a
// killed run never leaves a half-written file.
#include <string>
#include <string_view>

namespace ss {

void write_file_atomic(const std::string& path, std::string_view content);  // throws InputError

}  // namespace ss
