// The bundled default model (models/sinkscope-tiny.gguf): commands find it without --model, it is
// small, and it has the sinks and the held-out loss its MODEL_CARD.md states.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/gguf.h"
#include "test_util.h"

namespace ss {
namespace {

using test::kDefaultModel;

// The last 100 kB of War and Peace before the Gutenberg licence: held out of training.
std::string held_out_text() {
  static const std::string path = [] {
    std::ifstream in(test::shared("data/text/pg2600-war-and-peace.txt"), std::ios::binary);
    const std::string text(std::istreambuf_iterator<char>(in), {});
    const size_t end = text.find("\n*** END OF");
    const std::string p = test::temp_dir() + "/held-out.txt";
    std::ofstream(p, std::ios::binary) << text.substr(end + 1 - 100000, 100000);
    return p;
  }();
  return path;
}

TEST(DefaultModel, IsSmallAndFoundWithoutModelOption) {
  ASSERT_TRUE(std::filesystem::exists(kDefaultModel));
  EXPECT_LE(std::filesystem::file_size(kDefaultModel), 8u << 20);
  auto r = test::run_cli("info");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sinkscope-tiny.gguf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("llama"), std::string::npos) << r.out;
}

// Figures of MODEL_CARD.md: held-out loss at ctx 256 and sinks at ε = 0.3.
TEST(DefaultModel, HasTheSinksAndLossOfItsModelCard) {
  auto r = test::run_cli("perplexity -f " + held_out_text() + " --ctx 256 --chunks 8 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NEAR(nlohmann::json::parse(r.out)["nll_mean"].get<double>(), 4.595840, 1e-4);
  const std::string out = test::temp_dir() + "/analysis";
  r = test::run_cli("analyze -f " + held_out_text() + " --ctx 256 --chunks 8 --quiet --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto doc = nlohmann::json::parse(std::ifstream(out + "/heads.json"));
  int heads = 0, sinks = 0;
  double strongest = 0;
  for (const auto& h : doc) {
    const double s = h["bos_sink_score"].get<double>();
    ++heads;
    sinks += s > 0.3;
    strongest = std::max(strongest, s);
  }
  ASSERT_GT(heads, 0);
  EXPECT_EQ(sinks, 8) << "of " << heads;
  EXPECT_NEAR(strongest, 0.575957, 1e-4);
}

}  // namespace
}  // namespace ss
