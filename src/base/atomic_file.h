#pragma once
// Results are written atomically: to a temporary file in the same directory, then renamed, so a
// killed run never leaves a half-written file.
#include <string>
#include <string_view>

namespace ss {

// Creates dir (and parents) and checks a file can be written there, so a long run fails at its
// start rather than at the end. Throws InputError(dir, ...).
void ensure_output_dir(const std::string& dir);

void write_file_atomic(const std::string& path, std::string_view content);  // throws InputError

}  // namespace ss
