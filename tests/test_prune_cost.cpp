// prune --cost: each sweep point's exported model counted and timed (experiments/sweep_cost.h);
// the quality columns stay those of a sweep without it, and resume adds the cost to old points.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"
#include "experiments/sweep_cost.h"
#include "model/load_model.h"
#include "report/svg.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

using test::kDefaultModel;
using test::slurp;

// sweep.csv as rows of {column: text}.
std::vector<std::map<std::string, std::string>> csv_keyed_rows(const std::string& path) {
  std::istringstream in(slurp(path));
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
    return out;
  };
  while (std::getline(in, line)) {
    if (header.empty()) {
      header = split(line);
      continue;
    }
    const std::vector<std::string> f = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < f.size(); ++i) row[header[i]] = f[i];
    rows.push_back(row);
  }
  return rows;
}

bool is_cost(const std::string& column) {
  return column.rfind("cost.", 0) == 0 || column.rfind("llama.", 0) == 0;
}

std::string sweep_args(const std::string& extra) {
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  return "prune -m " + kDefaultModel + " --criteria weight-magnitude,random --ratios 0,0.25 " +
         "--calib " + text + " --calib-ctx 32 --calib-chunks 1 --eval ppl:" + text +
         " --eval-ctx 32 --eval-chunks 1 --threads 2 --quiet " + extra;
}

const char* kCostOptions = " --cost-ctx 16 --cost-decode 2 --cost-reps 1 --cost-sample-s 0";

// The heads of a point file as "L:H,...".
std::string heads_option(const nlohmann::json& point) {
  std::string s;
  for (const auto& lh : point["heads"]) {
    if (!s.empty()) s += ',';
    s += std::to_string(lh[0].get<int>());
    s += ':';
    s += std::to_string(lh[1].get<int>());
  }
  return s;
}

// Counts equal to the exported file's; timings positive; quality columns those of a run without
// --cost; a run with --cost on a finished sweep adds the cost columns and changes nothing else.
TEST(Cli, PruneCostCountsTheExportedModel) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli(sweep_args("--scope per-layer --out " + dir + "/plain"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli(sweep_args("--scope per-layer --cost --out " + dir + "/cost") + kCostOptions);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plain = csv_keyed_rows(dir + "/plain/sweep.csv"),
             cost = csv_keyed_rows(dir + "/cost/sweep.csv");
  ASSERT_EQ(plain.size(), 4u);
  ASSERT_EQ(cost.size(), 4u);
  const Model dense = load_model(kDefaultModel);
  for (size_t i = 0; i < cost.size(); ++i) {
    for (const auto& [column, value] : plain[i]) EXPECT_EQ(cost[i].at(column), value) << column;
    for (const auto& [column, value] : cost[i])
      EXPECT_TRUE(plain[i].count(column) || is_cost(column)) << column;
    for (const char* c : {"cost.prefill_tok_s", "cost.decode_tok_s", "cost.prefill_speedup",
                          "cost.decode_speedup"}) {
      const double v = std::stod(cost[i].at(c));
      EXPECT_TRUE(v > 0 && std::isfinite(v)) << c << " " << v;
    }
  }
  EXPECT_EQ(cost[0].at("cost.physical"), "0");  // the dense point
  EXPECT_EQ(std::stod(cost[0].at("cost.params")), gguf_parameter_count(dense));

  // 25% per layer: 2 of 8 heads of every layer leave the file; parameters and size as the
  // export of the same heads (a file's size differs from it only by its note).
  const nlohmann::json point =
      nlohmann::json::parse(slurp(dir + "/cost/points/weight-magnitude@0.25.json"));
  EXPECT_EQ(point["cost.physical"], 1);
  r = test::run_cli("export -m " + kDefaultModel + " --prune-heads " + heads_option(point) +
                    " --physical --quiet -o " + dir + "/x.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  const Model x = load_model(dir + "/x.gguf");
  EXPECT_EQ(x.config.n_heads, dense.config.n_heads - 2);
  EXPECT_EQ(point["cost.params"].get<double>(), gguf_parameter_count(x));
  const double removed = gguf_parameter_count(dense) - gguf_parameter_count(x);
  // Each removed head takes head_dim rows of wq, wk and wv and columns of wo (no GQA here).
  EXPECT_EQ(removed, 2.0 * dense.config.n_layers * dense.config.head_dim * dense.config.dim * 4);
  EXPECT_NEAR(point["cost.file_bytes"].get<double>(),
              static_cast<double>(fs::file_size(dir + "/x.gguf")), 256.0);
  EXPECT_LT(point["cost.file_bytes"].get<double>(), std::stod(cost[0].at("cost.file_bytes")));
  EXPECT_FALSE(fs::exists(dir + "/cost/cost/point.gguf"));  // the measured files are deleted
  EXPECT_FALSE(fs::exists(dir + "/cost/cost/dense.gguf"));

  // The report plots quality against the speed-ups.
  const std::string html = slurp(dir + "/cost/report.html");
  EXPECT_NE(html.find("Quality against speed-up"), std::string::npos);
  EXPECT_NE(html.find("against prefill speed-up"), std::string::npos);
  EXPECT_NE(html.find("dense: prefill speed-up"), std::string::npos);

  // Resume: --cost on the finished sweep without it adds the columns; quality unchanged.
  r = test::run_cli(sweep_args("--scope per-layer --cost --out " + dir + "/plain") + kCostOptions);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto resumed = csv_keyed_rows(dir + "/plain/sweep.csv");
  ASSERT_EQ(resumed.size(), 4u);
  for (size_t i = 0; i < resumed.size(); ++i) {
    for (const auto& [column, value] : plain[i]) EXPECT_EQ(resumed[i].at(column), value) << column;
    EXPECT_EQ(resumed[i].at("cost.params"), cost[i].at("cost.params"));
  }
}

// Global sets differ per layer: removed all the same, with per-layer head counts (without
// --llama-bench), so the file is smaller than the dense one.
TEST(Cli, PruneCostOfZeroedAndDroppedPoints) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli(sweep_args("--scope global --cost --out " + dir + "/g") + kCostOptions);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json g = nlohmann::json::parse(slurp(dir + "/g/points/random@0.25.json"));
  const double dense = gguf_parameter_count(load_model(kDefaultModel));
  EXPECT_EQ(g["cost.physical"], 1);
  EXPECT_LT(g["cost.params"].get<double>(), dense);

  // Layers: half of them dropped from the file; all of them cannot be, so that point is the
  // dense file with every layer skipped.
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  r = test::run_cli("prune -m " + kDefaultModel + " --unit layer --criteria random --ratios " +
                    "0,0.5,1 --calib " + text + " --calib-ctx 32 --calib-chunks 1 --eval ppl:" +
                    text + " --eval-ctx 32 --eval-chunks 1 --threads 2 --quiet --cost --out " +
                    dir + "/l" + kCostOptions);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json half = nlohmann::json::parse(slurp(dir + "/l/points/random@0.5.json"));
  EXPECT_EQ(half["cost.physical"], 1);
  r = test::run_cli("export -m " + kDefaultModel + " --drop-layers " +
                    half["layers"].dump().substr(1, half["layers"].dump().size() - 2) +
                    " --quiet -o " + dir + "/d.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(half["cost.params"].get<double>(), gguf_parameter_count(load_model(dir + "/d.gguf")));
  const nlohmann::json all = nlohmann::json::parse(slurp(dir + "/l/points/random@1.json"));
  EXPECT_EQ(all["cost.physical"], 0);
  EXPECT_EQ(all["cost.params"].get<double>(), dense);
  EXPECT_GT(all["cost.prefill_speedup"].get<double>(), 0.0);
}

// --llama-bench runs the binary on the dense and pruned files and parses its JSON: here a
// stand-in script that reports fixed rates.
TEST(Cli, PruneCostRunsLlamaBench) {
  const std::string dir = test::temp_dir(), fake = dir + "/llama-bench";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\n"
         "# -m DENSE -m POINT ...: pp 100 and tg 10 tok/s for the first file, 125 and 11 for the "
         "second\n"
         "a=$2 b=$4\n"
         "printf '[{\"model_filename\":\"%s\",\"n_prompt\":16,\"n_gen\":0,\"avg_ts\":100},"
         "{\"model_filename\":\"%s\",\"n_prompt\":0,\"n_gen\":2,\"avg_ts\":10},"
         "{\"model_filename\":\"%s\",\"n_prompt\":16,\"n_gen\":0,\"avg_ts\":125},"
         "{\"model_filename\":\"%s\",\"n_prompt\":0,\"n_gen\":2,\"avg_ts\":11}]' \"$a\" \"$a\" "
         "\"$b\" \"$b\"\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  auto r =
      test::run_cli(sweep_args("--scope per-layer --llama-bench " + fake + " --out " + dir + "/s") +
                    kCostOptions);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json p =
      nlohmann::json::parse(slurp(dir + "/s/points/weight-magnitude@0.25.json"));
  EXPECT_EQ(p["llama.prefill_tok_s"], 125.0);
  EXPECT_DOUBLE_EQ(p["llama.prefill_speedup"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(p["llama.decode_speedup"].get<double>(), 1.1);
  EXPECT_NE(slurp(dir + "/s/report.html").find("llama.cpp decode speed-up"), std::string::npos);

  // A binary that prints something else is a one-line error naming the option.
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\necho 'not json'\n";
  }
  r = test::run_cli(
      sweep_args("--scope per-layer --llama-bench " + fake + " --out " + dir + "/bad") +
      kCostOptions);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--llama-bench: printed no JSON array"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// --eval-chunks 0 with --eval-stride below --eval-ctx scores every token: bits_per_byte is then
// the perplexity command's on the same windows.
TEST(Cli, PruneBitsPerByteWhenEveryTokenIsScored) {
  const std::string dir = test::temp_dir(), text = dir + "/t.txt";
  {
    std::ofstream f(text);
    f << slurp(test::shared("data/text/tinystories-valid-sample.txt")).substr(0, 3000);
  }
  auto r =
      test::run_cli("prune -m " + kDefaultModel + " --criteria random --ratios 0 --calib " + text +
                    " --calib-ctx 32 --calib-chunks 1 --eval ppl:" + text +
                    " --eval-ctx 32 --eval-chunks 0 --eval-stride 31 --quiet --out " + dir + "/s");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json p = nlohmann::json::parse(slurp(dir + "/s/points/random@0.json"));
  r = test::run_cli("perplexity -m " + kDefaultModel + " -f " + text +
                    " --ctx 32 --stride 31 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json want = nlohmann::json::parse(r.out);
  ASSERT_TRUE(want["bits_per_byte"].is_number()) << r.out;
  EXPECT_DOUBLE_EQ(p["ppl:t.bits_per_byte"].get<double>(), want["bits_per_byte"].get<double>());
  EXPECT_DOUBLE_EQ(p["ppl:t.ppl"].get<double>(), want["ppl"].get<double>());
  // Consecutive windows leave each window's first token unscored: no bits_per_byte.
  r = test::run_cli("prune -m " + kDefaultModel + " --criteria random --ratios 0 --calib " + text +
                    " --calib-ctx 32 --calib-chunks 1 --eval ppl:" + text +
                    " --eval-ctx 32 --eval-chunks 0 --quiet --out " + dir + "/c");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(slurp(dir + "/c/points/random@0.json"))
                   .contains("ppl:t.bits_per_byte"));
  r = test::run_cli("prune -m " + kDefaultModel + " --criteria random --ratios 0 --calib " + text +
                    " --eval ppl:" + text + " --eval-ctx 32 --eval-stride 33 --quiet --out " + dir +
                    "/x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--eval-stride: must be at most --eval-ctx"), std::string::npos) << r.err;
}

TEST(PruneCost, BadOptions) {
  const std::string dir = test::temp_dir();
  std::vector<std::string> bads = {"--cost --cost-reps 0", "--cost --cost-ctx 0"};
  bads.push_back("--llama-bench " + dir + "/missing");
  for (const std::string& bad : bads) {
    auto r = test::run_cli(sweep_args(bad + " --out " + dir + "/x"));
    EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
  }
}

TEST(PruneCost, ParsesLlamaBenchJson) {
  const auto t = parse_llama_bench_json(
      R"([{"model_filename":"a.gguf","n_prompt":512,"n_gen":0,"avg_ts":812.5},
          {"model_filename":"a.gguf","n_prompt":0,"n_gen":128,"avg_ts":20.25}])",
      "--llama-bench");
  EXPECT_EQ(t.at("a.gguf").at("pp"), 812.5);
  EXPECT_EQ(t.at("a.gguf").at("tg"), 20.25);
  EXPECT_THROW(parse_llama_bench_json("{}", "x"), InputError);
  EXPECT_THROW(parse_llama_bench_json(R"([{"model_filename":"a"}])", "x"), InputError);
}

TEST(PruneCost, XyChartSkipsMissingPoints) {
  svg::XYChart c;
  c.x_name = "speed-up";
  c.y_name = "ppl";
  c.series.push_back({"a", {1.0, 1.2, svg::kNaN}, {10, 12, 13}, "#000000", "", false});
  c.series.push_back({"dense", {1.0}, {9}, "#ffffff", "", true});
  const std::string s = svg::xy_chart(c);
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_NE(s.find("a: speed-up 1.2, ppl 12"), std::string::npos) << s;
  EXPECT_EQ(s.find("ppl 13"), std::string::npos);
  EXPECT_NE(s.find("dense: speed-up 1, ppl 9"), std::string::npos);
}

}  // namespace
}  // namespace ss
