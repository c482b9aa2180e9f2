#pragma once
// Paths to the shared models/data, the golden reference, and running the CLI binary.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

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
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace ss::test
