// The SIMD variants seen from the command line: SINKSCOPE_ISA forces one, `info` and run.json
// name the one in use, a bad name or a variant the CPU lacks is a one-line error, and the results
// of whole commands are byte-identical under every variant this CPU runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ops/simd/isa.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

std::string env_for(Isa isa) {
  return std::string("SINKSCOPE_ISA=") + isa_name(isa);
}

using test::slurp;

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Variants, InfoNamesTheVariantInUseAndSinkscopeIsaForcesIt) {
  auto r = test::run_cli("info");
  ASSERT_EQ(r.code, 0) << r.err;
  // (active_isa(): the suite may itself run under SINKSCOPE_ISA.)
  EXPECT_NE(r.out.find(std::string("simd          ") + isa_name(active_isa()) + " "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("cpu_features"), std::string::npos);
  for (Isa isa : supported_isas()) {
    r = test::run_cli("info", env_for(isa));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("simd          ") + isa_name(isa) + " "), std::string::npos)
        << r.out;
  }
}

TEST(Variants, BadOrUnsupportedVariantIsAOneLineError) {
  auto r = test::run_cli("info", "SINKSCOPE_ISA=sse9");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("SINKSCOPE_ISA: unknown variant"), std::string::npos) << r.err;
  for (Isa isa : kAllIsas) {
    if (isa_supported(isa)) continue;
    r = test::run_cli("perplexity -f " + test::shared("data/text/tinyshakespeare-input.txt"),
                      env_for(isa));
    EXPECT_EQ(r.code, 2) << isa_name(isa);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("is not supported by this CPU"), std::string::npos) << r.err;
  }
}

// perplexity's JSON and every file of analyze but run.json, byte for byte, against the scalar
// variant; run.json names the variant.
TEST(Variants, CommandOutputsAreIdenticalUnderEveryVariant) {
  const std::string text = test::shared("data/text/tinyshakespeare-input.txt");
  std::string ppl0;
  std::string files0[4];
  const char* names[4] = {"heads.csv", "layers.csv", "massive.csv", "view.html"};
  for (Isa isa : supported_isas()) {
    auto r = test::run_cli("perplexity -f " + text + " --ctx 256 --chunks 3 --json", env_for(isa));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string out = test::temp_dir() + "/analysis";
    auto a = test::run_cli("analyze -f " + text + " --ctx 128 --chunks 3 --quiet --out " + out,
                           env_for(isa));
    ASSERT_EQ(a.code, 0) << a.err;
    const auto run = nlohmann::json::parse(std::ifstream(out + "/run.json"));
    EXPECT_EQ(run["simd"]["variant"], isa_name(isa));
    if (isa == Isa::Scalar) {
      ppl0 = r.out;
      for (int i = 0; i < 4; ++i) files0[i] = slurp(out + "/" + names[i]);
      ASSERT_FALSE(files0[0].empty());
      ASSERT_FALSE(files0[3].empty()) << "analyze wrote no view.html";
      continue;
    }
    EXPECT_EQ(r.out, ppl0) << isa_name(isa);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(slurp(out + "/" + names[i]), files0[i]) << isa_name(isa) << " " << names[i];
    std::filesystem::remove_all(out);
  }
}

// Each attention variant of sinkscope.attention: analyze's heads.csv and forward's logits byte for
// byte under every SIMD variant.
TEST(Variants, AttentionVariantsAreIdenticalUnderEveryVariant) {
  const std::string text = test::shared("data/text/tinyshakespeare-input.txt");
  for (const char* kind : {"softmax1", "sigmoid", "sink-logit", "sink-kv"}) {
    const std::string model = test::synth_model("llama", std::string("--attention ") + kind, 7);
    std::string heads0, logits0;
    for (Isa isa : supported_isas()) {
      const std::string out = test::temp_dir() + "/variant-analysis";
      auto a = test::run_cli("analyze -m " + model + " -f " + text +
                                 " --ctx 64 --chunks 2 --no-nll --quiet --out " + out,
                             env_for(isa));
      ASSERT_EQ(a.code, 0) << a.err;
      auto f =
          test::run_cli("forward -m " + model + " -p \"Once upon a time\" --json", env_for(isa));
      ASSERT_EQ(f.code, 0) << f.err;
      const std::string heads = slurp(out + "/heads.csv");
      std::filesystem::remove_all(out);
      if (isa == Isa::Scalar) {
        heads0 = heads, logits0 = f.out;
        ASSERT_FALSE(heads0.empty());
        continue;
      }
      EXPECT_EQ(heads, heads0) << kind << " " << isa_name(isa);
      EXPECT_EQ(f.out, logits0) << kind << " " << isa_name(isa);
    }
  }
}

// glibc picks its libm functions (exp, log, sin, cos, pow, tanh) by CPU too, FMA or not; the
// tunable below makes it take the paths of a CPU without AVX2 and FMA. Results must not change.
TEST(Variants, LibmVariantsDoNotChangeResults) {
  const std::string text = test::shared("data/text/tinyshakespeare-input.txt");
  const std::string args = "perplexity -f " + text + " --ctx 256 --chunks 3 --json";
  const auto plain = test::run_cli(args);
  const auto old_cpu =
      test::run_cli(args, "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F,-AVX");
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(old_cpu.code, 0) << old_cpu.err;
  EXPECT_EQ(old_cpu.out, plain.out);
}

// Every integer and ratio option refuses values outside its range with one line and exit 2.
TEST(Variants, OutOfRangeOptionsAreOneLineErrors) {
  const std::string text = test::shared("data/text/tinyshakespeare-input.txt");
  for (const std::string& args : std::vector<std::string>{
           "perplexity -f " + text + " --ctx -5", "perplexity -f " + text + " --chunks -1",
           "analyze -f " + text + " --chunks -2", "analyze -f " + text + " --eps 1.5",
           std::string("generate -n -3"), std::string("eval --task x.jsonl --limit -1"),
           "perplexity -f " + text + " --threads -4"}) {
    auto r = test::run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace ss
