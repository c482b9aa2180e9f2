#pragma once
// Errors. Bad input (a malformed file, a missing option value, an empty dataset) throws InputError,
// whose message is "<file>: <what is wrong>"; the CLI prints it as one line and exits with 2.
// Anything else is an internal failure (exit 1).
#include <stdexcept>
#include <string>
#include <string_view>

namespace ss {

class InputError : public std::runtime_error {
 public:
  InputError(const std::string& file, const std::string& what)
      : std::runtime_error(file + ": " + what) {}
};

// Throws InputError(file, what) unless cond holds.
inline void require(bool cond, const std::string& file, const std::string& what) {
  if (!cond) throw InputError(file, what);
}

// A name read from a file, quoted for an error message: control and non-ASCII bytes are escaped
// (the message must stay one line) and names past 80 bytes are cut.
std::string quoted_name(std::string_view s);
// s with control characters (newlines included) as '?', to keep an error message on one line.
std::string one_line(std::string s);

}  // namespace ss
