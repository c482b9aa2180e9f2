// `sinkscope stream` resumes (base/partial_files.h): killed with SIGKILL in the middle of a
// policy and rerun, it writes what an uninterrupted run writes, without running a finished policy
// again; another setup in the same --out is refused, and a damaged partial file is run afresh.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ss::test::kDefaultModel;
using ss::test::run_cli;
using ss::test::slurp;

std::string stream_args(int tokens, const std::string& policies) {
  return "stream -m " + kDefaultModel + " -f " +
         ss::test::shared("data/text/tinystories-valid-sample.txt") + " --tokens " +
         std::to_string(tokens) + " " + policies + " --threads 2";
}

// Killed by itself right after its n-th partial file reached the disk.
void run_killed(const std::string& args, int n) {
  const std::string cmd = std::string(SINKSCOPE_BIN) + " " + args + " --kill-after-partial-files " +
                          std::to_string(n) + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL))
      << "status " << status;
}

TEST(Cli, StreamResumesAfterSigkillBitForBit) {
  const std::string dir = ss::test::temp_dir();
  const std::string policies =
      "--policy window:32 --policy sink:4+window:28 --policy recompute:12 --policy dense";
  const std::string args = stream_args(200, policies) + " --checkpoint-tokens 40";
  auto plain = run_cli(stream_args(200, policies) + " --quiet -o " + dir + "/plain");
  ASSERT_EQ(plain.code, 0) << plain.err;

  // Each policy saves its state after tokens 40, 80, 120, 160 and then its result: 5 files.
  // The 8th is sink:4+window:28's state after 120 tokens; window:32 is finished.
  run_killed(args + " -o " + dir + "/killed", 8);
  EXPECT_FALSE(fs::exists(dir + "/killed/stream.csv"));
  const std::string finished = slurp(dir + "/killed/.partial/window_32.part");
  ASSERT_FALSE(finished.empty());
  ASSERT_TRUE(fs::exists(dir + "/killed/.partial/sink_4+window_28.part"));

  auto resumed = run_cli(args + " -o " + dir + "/killed");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("window:32: finished by an earlier run"), std::string::npos)
      << resumed.err;
  EXPECT_NE(resumed.err.find("sink:4+window:28: continuing from its saved state"),
            std::string::npos)
      << resumed.err;
  // The finished policy was not run again (its file would hold a new time).
  EXPECT_EQ(slurp(dir + "/killed/.partial/window_32.part"), finished);
  EXPECT_EQ(slurp(dir + "/killed/stream.csv"), slurp(dir + "/plain/stream.csv"));
  const auto a = nlohmann::json::parse(slurp(dir + "/plain/stream.json"))["policies"];
  const auto b = nlohmann::json::parse(slurp(dir + "/killed/stream.json"))["policies"];
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b[i]["policy"], a[i]["policy"]);
    EXPECT_EQ(b[i]["nll_mean"].get<double>(), a[i]["nll_mean"].get<double>()) << i;
    EXPECT_GT(b[i]["tokens_per_second"].get<double>(), 0) << i;
  }

  // A finished run reruns from its partial files alone.
  auto again = run_cli(args + " -o " + dir + "/killed");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("dense: finished by an earlier run"), std::string::npos) << again.err;
  EXPECT_EQ(slurp(dir + "/killed/stream.csv"), slurp(dir + "/plain/stream.csv"));
}

TEST(Cli, StreamRefusesAnotherSetupAndRedoesDamagedPartialFiles) {
  const std::string dir = ss::test::temp_dir();
  const std::string policies = "--policy window:16 --policy sink:2+window:14";
  auto plain = run_cli(stream_args(120, policies) + " --quiet -o " + dir + "/plain");
  ASSERT_EQ(plain.code, 0) << plain.err;
  // window:16: states after 30, 60, 90 tokens and its result; then sink's states after 30, 60.
  const std::string args = stream_args(120, policies) + " --checkpoint-tokens 30 -o " + dir;
  run_killed(args + "/killed", 6);

  // Another text length or position scheme in the same --out: refused, in one line.
  for (const std::string& other : {stream_args(100, policies) + " --checkpoint-tokens 30",
                                   stream_args(120, policies) + " --positions original"}) {
    auto r = run_cli(other + " --quiet -o " + dir + "/killed");
    EXPECT_EQ(r.code, 2) << other;
    EXPECT_NE(r.err.find(".partial/setup: holds the partial results of a run with other "
                         "settings"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }

  // A finished policy's file and a state cut short: both run afresh, with a note.
  for (const std::string name : {"window_16", "sink_2+window_14"}) {
    const std::string file = dir + "/killed/.partial/" + name + ".part";
    const std::string bytes = slurp(file);
    ASSERT_GT(bytes.size(), 100u);
    std::ofstream(file, std::ios::binary) << bytes.substr(0, bytes.size() - 40);
  }
  auto r = run_cli(args + "/killed --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("window_16.part: truncated or corrupt; running window:16 afresh"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("sink_2+window_14.part: truncated or corrupt; running sink:2+window:14 "
                       "afresh"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(dir + "/killed/stream.csv"), slurp(dir + "/plain/stream.csv"));

  // More policies in the same --out: the finished ones are reused.
  r = run_cli(stream_args(120, policies + " --policy recompute:8") + " -o " + dir + "/killed");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("window:16: finished by an earlier run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sink:2+window:14: finished by an earlier run"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/killed/stream.json"))["policies"].size(), 3u);
}

}  // namespace
