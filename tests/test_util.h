#pragma once
// Paths to the shared models/data, the golden reference, and running the CLI binary.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "base/error.h"

namespace ss::test {

inline std::string shared(const std::string& rel) {
  return std::string(SINKSCOPE_SHARED_DIR) + "/" + rel;
}
inline std::string model_bin() {
  return shared("models/stories260K.bin");
}
inline std::string tok_bin() {
  return shared("models/tok512.bin");
}

// n values drawn from N(0, scale²) by a generator seeded with seed.
inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// The repository's default model (the one `sinkscope` uses when given no -m).
inline const std::string kDefaultModel =
    std::string(SINKSCOPE_SOURCE_DIR) + "/models/sinkscope-tiny.gguf";

// The whole file as bytes ("" if it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes `bytes` as the whole file.
inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The InputError message of f, or "" when it throws none.
template <typename F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

inline const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    std::ifstream in(shared("golden/stories260K.json"));
    return nlohmann::json::parse(in);
  }();
  return g;
}

// The temporary directories of this process, removed when it exits (kept when
// SINKSCOPE_KEEP_TEST_DIRS is set, to look at a failure).
struct TempDirs {
  std::vector<std::string> dirs;
  ~TempDirs() {
    if (std::getenv("SINKSCOPE_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};

// A fresh temporary directory for one test.
inline std::string temp_dir() {
  static TempDirs made;
  char tmpl[] = "/tmp/sinkscope-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  if (!d) throw std::runtime_error("cannot create a temporary directory in /tmp");
  made.dirs.emplace_back(d);
  return d;
}

struct CliResult {
  int code;
  std::string out, err;
};

// Runs `sinkscope <args>` through the shell, capturing stdout and stderr; env, if given, is
// prefixed to the command ("SINKSCOPE_ISA=scalar").
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  static const std::string dir = temp_dir();
  std::string out = dir + "/out.txt", err = dir + "/err.txt";
  std::string cmd = env + " " + std::string(SINKSCOPE_BIN) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace ss::test
