#include "base/partial_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/wire.h"

namespace ss {

namespace {

const char* const kMagic = "sinkscope-partial/1";
// The last bytes of a whole file: a file cut short does not end with them.
constexpr uint64_t kEnd = 0x73696e6b656e6421ull;  // "sinkend!"

// The whole file; false when it cannot be read (or is not there).
bool read_bytes(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = std::move(s).str();
  return !in.bad();
}

}  // namespace

PartialFiles::PartialFiles(const std::string& dir, std::string setup)
    : dir_((std::filesystem::path(dir) / ".partial").string()), setup_(std::move(setup)) {}

std::string PartialFiles::path(const std::string& item) const {
  std::string name = item;
  for (char& ch : name)
    if (ch == ':' || ch == '/' || ch == '\\') ch = '_';
  return dir_ + "/" + name + ".part";
}

void PartialFiles::claim(const std::string& settings) const {
  ensure_output_dir(dir_);
  const std::string file = dir_ + "/setup";
  std::string recorded;
  if (!read_bytes(file, recorded)) {
    write_file_atomic(file, setup_ + "\n");
    return;
  }
  if (recorded != setup_ + "\n")
    throw InputError(file, "holds the partial results of a run with other " + settings +
                               "; use another --out, or delete " + dir_ + " to start afresh");
}

PartialFiles::Saved PartialFiles::read(const std::string& item) const {
  Saved s;
  std::string bytes;
  const std::string file = path(item);
  if (!std::filesystem::exists(file)) return s;
  if (!read_bytes(file, bytes)) {
    s.problem = "unreadable";
    return s;
  }
  try {
    WireReader in(bytes);
    if (in.get_string() != kMagic) {
      s.problem = "not a sinkscope partial file";
    } else if (in.get_string() != setup_ || in.get_string() != item) {
      s.problem = "from another setup or item";
    } else {
      s.finished = in.get<uint8_t>() != 0;
      s.bytes = in.get_string();
      if (in.get<uint64_t>() != kEnd || !in.done()) throw std::runtime_error("no end mark");
    }
  } catch (const std::runtime_error&) {
    s.problem = "truncated or corrupt";
  }
  if (!s.problem.empty()) s = {false, "", s.problem};
  return s;
}

void PartialFiles::save(const std::string& item, bool finished, std::string_view bytes) const {
  WireWriter w;
  w.put_string(kMagic).put_string(setup_).put_string(item);
  w.put<uint8_t>(finished ? 1 : 0).put_string(bytes).put<uint64_t>(kEnd);
  write_file_atomic(path(item), w.take());
}

}  // namespace ss
