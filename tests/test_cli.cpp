// The command-line front end: outputs against the golden reference, and one-line errors with
// exit code 2 for every kind of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/gguf.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::slurp;
using test::spit;

const std::string kStoriesArgs = "-m " + test::model_bin() + " --tokenizer " + test::tok_bin();

// stories260K converted to GGUF once for all tests here.
const std::string& converted_gguf() {
  static const std::string path = [] {
    std::string p = test::temp_dir() + "/stories260K.gguf";
    auto r = run_cli("convert " + kStoriesArgs + " -o " + p + " --quiet");
    EXPECT_EQ(r.code, 0) << r.err;
    return p;
  }();
  return path;
}

// The command fails with exit code 2 and one line "sinkscope: <file>: ...".
void expect_input_error(const std::string& args, const std::string& file) {
  auto r = run_cli(args);
  // Warnings may come first; the error is the one line that is not a warning.
  for (size_t w; (w = r.err.find("sinkscope: warning:")) != std::string::npos;)
    r.err.erase(w, r.err.find('\n', w) + 1 - w);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("sinkscope: " + file + ": ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

TEST(Cli, GenerateGreedyMatchesGolden) {
  auto r = run_cli("generate " + kStoriesArgs + " -p \"Once upon a time\" -n 64 --temp 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, test::golden()["greedy"]["text"].get<std::string>() + "\n");
}

TEST(Cli, ForwardJsonMatchesGolden) {
  const auto& g = test::golden()["forward"];
  for (const std::string& model : {kStoriesArgs, "-m " + converted_gguf()}) {
    auto r = run_cli("forward " + model + " -p \"" + g["text"].get<std::string>() +
                     "\" --json --attention");
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["ids"], g["ids"]);
    double max_err = 0, att_err = 0;
    for (size_t t = 0; t < g["logits"].size(); ++t)
      for (size_t v = 0; v < 512; ++v)
        max_err = std::max(
            max_err, std::fabs(j["logits"][t][v].get<double>() - g["logits"][t][v].get<double>()));
    for (size_t l = 0; l < 5; ++l)
      for (size_t h = 0; h < 8; ++h)
        for (size_t q = 0; q < 16; ++q)
          for (size_t k = 0; k < 16; ++k)
            att_err = std::max(att_err, std::fabs(j["attention"][l][h][q][k].get<double>() -
                                                  g["attention"][l][h][q][k].get<double>()));
    EXPECT_LT(max_err, 1e-4);
    EXPECT_LT(att_err, 1e-6);
  }
}

TEST(Cli, PerplexityJsonMatchesGoldenWithAblation) {
  const auto& ab = test::golden()["ablation"][2];
  std::string heads;
  for (const auto& lh : ab["zeroed_heads"]) {
    if (!heads.empty()) heads.push_back(',');
    heads.append(std::to_string(lh[0].get<int>()))
        .append(":")
        .append(std::to_string(lh[1].get<int>()));
  }
  auto r = run_cli("perplexity " + kStoriesArgs + " -f " +
                   test::shared("data/text/tinystories-valid-sample.txt") +
                   " --ctx 256 --chunks 1 --json --threads 2 --ablate " + heads);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["nll_mean"].get<double>(), ab["nll_mean"].get<double>(), 1e-5);
  EXPECT_EQ(j["tokens_scored"].get<int>(), 255);
}

TEST(Cli, InfoDescribesModel) {
  auto r = run_cli("info -m " + converted_gguf());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("kv_heads      4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("parameters    260032"), std::string::npos) << r.out;
}

TEST(Cli, TruncatedGgufAtEverySixteenth) {
  std::string bytes = slurp(converted_gguf());
  std::string p = test::temp_dir() + "/trunc.gguf";
  for (int i = 0; i < 16; ++i) {
    spit(p, bytes.substr(0, bytes.size() * i / 16));
    expect_input_error("info -m " + p, p);
  }
}

TEST(Cli, HostileGgufHeaders) {
  std::string bytes = slurp(converted_gguf());
  std::string dir = test::temp_dir();
  auto patch_u64 = [&](size_t off, uint64_t v) {
    std::string b = bytes;
    std::memcpy(b.data() + off, &v, 8);
    return b;
  };
  // n_tensors at offset 8, n_kv at 16, the first key's length at 24.
  spit(dir + "/tensors.gguf", patch_u64(8, uint64_t{1} << 40));
  expect_input_error("info -m " + dir + "/tensors.gguf", dir + "/tensors.gguf");
  spit(dir + "/kv.gguf", patch_u64(16, uint64_t{1} << 40));
  expect_input_error("info -m " + dir + "/kv.gguf", dir + "/kv.gguf");
  spit(dir + "/strlen.gguf", patch_u64(24, bytes.size() + 1));
  expect_input_error("info -m " + dir + "/strlen.gguf", dir + "/strlen.gguf");
  // The last tensor reaches past the end once the tail is cut.
  spit(dir + "/tail.gguf", bytes.substr(0, bytes.size() - 64));
  expect_input_error("info -m " + dir + "/tail.gguf", dir + "/tail.gguf");
}

TEST(Cli, ShapeNotMatchingArchitecture) {
  // Claim 8 KV heads: attn_k / attn_v then have half the rows the architecture needs.
  GgufFile src(converted_gguf());
  GgufWriter w;
  for (const auto& [k, v] : src.metadata())
    w.set(k, k == "llama.attention.head_count_kv" ? GgufValue::of_u32(8) : v);
  for (const auto& t : src.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data);
  std::string p = test::temp_dir() + "/shape.gguf";
  w.write(p);
  expect_input_error("info -m " + p, p);
  auto r = run_cli("info -m " + p);
  EXPECT_NE(r.err.find("attn_k"), std::string::npos) << r.err;
}

TEST(Cli, Llama2cHeaderWithBadDims) {
  std::string bytes = slurp(test::model_bin());
  std::string p = test::temp_dir() + "/bad.bin";
  for (int field = 0; field < 7; ++field)
    for (int32_t v : {0, -3}) {
      if (field == 5 && v < 0) continue;  // negative vocab_size is legal (separate classifier)
      std::string b = bytes;
      std::memcpy(b.data() + 4 * field, &v, 4);
      spit(p, b);
      expect_input_error("info -m " + p, p);
    }
  spit(p, bytes.substr(0, bytes.size() / 2));
  expect_input_error("info -m " + p, p);
}

TEST(Cli, MissingTokenizerAndFiles) {
  expect_input_error("generate -m " + test::model_bin() + " -p hi -n 2", test::model_bin());
  expect_input_error("generate -m " + test::model_bin() + " --tokenizer /nonexistent/tok.bin -p hi",
                     "/nonexistent/tok.bin");
  expect_input_error("info -m /nonexistent/model.gguf", "/nonexistent/model.gguf");
}

TEST(Cli, EmptyAndInvalidTextFiles) {
  std::string dir = test::temp_dir();
  spit(dir + "/empty.txt", "");
  expect_input_error("perplexity " + kStoriesArgs + " -f " + dir + "/empty.txt --ctx 64",
                     dir + "/empty.txt");
  // Invalid UTF-8 is replaced by U+FFFD, counted and reported; the run goes on.
  spit(dir + "/bad.txt", "Once upon a time \xff\xfe there was a cat.");
  auto r = run_cli("perplexity " + kStoriesArgs + " -f " + dir + "/bad.txt --ctx 64");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("2 bytes of invalid UTF-8"), std::string::npos) << r.err;
  r = run_cli("analyze " + kStoriesArgs + " -f " + dir + "/bad.txt --ctx 8 --quiet --out " + dir +
              "/an");
  EXPECT_EQ(r.code, 0) << r.err;
  auto run = nlohmann::json::parse(std::ifstream(dir + "/an/run.json"));
  EXPECT_EQ(run["invalid_utf8_replaced"][dir + "/bad.txt"], 2);
  // Shorter than one window, unwritable output directory, context past the trained one.
  expect_input_error(
      "analyze " + kStoriesArgs + " -f " + dir + "/bad.txt --ctx 256 --out " + dir + "/x", "--ctx");
  spit(dir + "/file", "x");
  expect_input_error(
      "analyze " + kStoriesArgs + " -f " + dir + "/bad.txt --ctx 8 --out " + dir + "/file/sub",
      dir + "/file/sub");
  r = run_cli("perplexity " + kStoriesArgs + " -f " +
              test::shared("data/text/tinystories-valid-sample.txt") + " --ctx 600 --chunks 1");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("exceeds the model's trained context of 512"), std::string::npos) << r.err;
}

TEST(Cli, BadOptionValues) {
  auto r =
      run_cli("perplexity " + kStoriesArgs + " -f " +
              test::shared("data/text/tinystories-valid-sample.txt") + " --ctx 64 --ablate 9:9");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  r = run_cli("frobnicate");
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, HelpDocumentsOptions) {
  for (const char* cmd : {"info", "generate", "forward", "perplexity", "convert"}) {
    auto r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("--model"), std::string::npos) << cmd;
    EXPECT_NE(r.out.find("--threads"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace ss
