// The FIXTURES_SETUP and FIXTURES_CLEANUP tests of the shared synth models (tests/CMakeLists.txt):
// made once per ctest run in $SINKSCOPE_TEST_FIXTURES, from scratch, so a model made by an older
// build is never read.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "model/load_model.h"
#include "test_fixtures.h"

namespace ss {
namespace {

std::string fixture_dir() {
  const char* d = std::getenv("SINKSCOPE_TEST_FIXTURES");
  return d ? d : "";
}

TEST(Fixtures, SynthModels) {
  const std::string dir = fixture_dir();
  if (dir.empty()) GTEST_SKIP() << "SINKSCOPE_TEST_FIXTURES is not set (ctest sets it)";
  std::filesystem::remove_all(dir);
  for (const auto& [arch, extra, seed] : test::shared_synth_models()) {
    const Model m = load_model(test::synth_model(arch, extra, seed));
    EXPECT_EQ(m.config.arch, arch);
    EXPECT_GT(m.config.n_layers, 0);
  }
}

TEST(Fixtures, Remove) {
  const std::string dir = fixture_dir();
  if (dir.empty()) GTEST_SKIP() << "SINKSCOPE_TEST_FIXTURES is not set (ctest sets it)";
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace ss
