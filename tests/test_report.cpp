// The HTML report: self-contained, escaped, heatmaps with exact tooltips, every section, and the
// report of a real analysis.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "base/text_file.h"
#include "experiments/analyze.h"
#include "model/load_model.h"
#include "report/analysis_json.h"
#include "report/html_report.h"
#include "report/svg.h"
#include "test_util.h"

namespace ss {
namespace {

using json = nlohmann::json;

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size()))
    ++n;
  return n;
}

// Every <svg class="cls">…</svg> of a page, in order.
std::vector<std::string> svgs(const std::string& page, const std::string& cls) {
  std::vector<std::string> out;
  const std::string open = "<svg class=\"" + cls + "\"";
  for (size_t p = page.find(open); p != std::string::npos; p = page.find(open, p + 1))
    out.push_back(page.substr(p, page.find("</svg>", p) + 6 - p));
  return out;
}

// The text of every <title> in s.
std::vector<std::string> titles(const std::string& s) {
  std::vector<std::string> out;
  std::regex re("<title>([^<]*)</title>");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

// The widest width="…" of the page's SVGs.
double widest_svg(const std::string& page) {
  double w = 0;
  std::regex re("<svg [^>]*width=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), re); it != std::sregex_iterator();
       ++it)
    w = std::max(w, std::stod((*it)[1]));
  return w;
}

const char* kStats[] = {"bos_sink_score",     "bos_attention_mean_q1", "first_k_mass",
                        "top_key_score",      "entropy_mean_q1",       "z_norm_mean",
                        "z_norm_layer_ratio", "contrib_norm_mean",     "value_norm_first",
                        "value_norm_ratio"};

// A synthetic analysis of L layers × H heads; runs in the order ctx 64 off, 64 on, 128 off,
// 128 on. In run r every statistic of head (l, h) is r + 0.125 (l·H + h) ± 0.0625, except
// z_norm_layer_ratio: 0.05 for layer 0 head 1 (dormant), 1 elsewhere.
json synthetic(int L, int H) {
  json runs = json::array();
  int r = 0;
  for (int ctx : {64, 128})
    for (const char* bos : {"off", "on"}) {
      json heads = json::array(), layers = json::array();
      for (int l = 0; l < L; ++l) {
        for (int h = 0; h < H; ++h) {
          json row{{"ctx", ctx}, {"bos", bos}, {"layer", l}, {"head", h}, {"top_key", 7}};
          for (const char* s : kStats) {
            row[s] = r + 0.125 * (l * H + h);
            row[std::string(s) + "_std"] = 0.0625;
          }
          row["z_norm_layer_ratio"] = l == 0 && h == 1 ? 0.05 : 1.0;
          heads.push_back(row);
        }
        layers.push_back({{"layer", l}, {"sink_rate", 0.5}, {"bos_sink_score", 0.25 * (l + 1)}});
      }
      json massive = {{{"layer", 0},
                       {"rank", 2},
                       {"value", -5.0},
                       {"abs", 5.0},
                       {"window", 0},
                       {"pos", 3},
                       {"channel", 9},
                       {"token", 42},
                       {"median_abs", 0.5},
                       {"ratio", 10.0},
                       {"massive", false}},
                      {{"layer", 0},
                       {"rank", 1},
                       {"value", 777.0},
                       {"abs", 777.0},
                       {"window", 1},
                       {"pos", 0},
                       {"channel", 11},
                       {"token", "<script>"},
                       {"median_abs", 0.25},
                       {"ratio", 3108.0},
                       {"massive", true}}};
      const bool on = std::string(bos) == "on";
      runs.push_back({{"ctx", ctx},
                      {"bos", bos},
                      {"windows", 2},
                      {"tokens", 2 * ctx},
                      {"nll_mean", on ? 2.0 : 2.5},
                      {"ppl", std::exp(on ? 2.0 : 2.5)},
                      {"sink_rate", 0.5},
                      {"sink_rate_0.8", 0.25},
                      {"sink_rate_top_key", 0.125},
                      {"heads", heads},
                      {"layers", layers},
                      {"massive", massive},
                      {"strongest_sink_pattern",
                       {{"layer", L - 1},
                        {"head", H - 1},
                        {"size", 3},
                        {"rows", {{1, 0, 0}, {0.5, 0.5, 0}, {0.25, 0.25, 0.5}}}}},
                      {"dumps", json::array()}});
      ++r;
    }
  return {{"model", {{"arch", "<script>alert(1)</script>"}, {"n_layers", L}, {"n_heads", H}}},
          {"eps", 0.3},
          {"sink_tokens", 4},
          {"runs", runs},
          {"stability",
           {{{"bos", "off"}, {"ctx_a", 64}, {"ctx_b", 128}, {"spearman", -0.25}},
            {{"bos", "on"}, {"ctx_a", 64}, {"ctx_b", 128}, {"spearman", 0.7654321}}}},
          {"tokens_processed", 384}};
}

json run_info() {
  return {{"command", "sinkscope analyze -p '<b>&'"},
          {"model", {{"path", "/m/x.bin"}, {"sha256", "ab12cd34"}}},
          {"wall_time_s", 1.23456}};
}

TEST(ReportSvg, FormatsColoursAndEscapes) {
  EXPECT_EQ(svg::num(0.123456), "0.1235");
  EXPECT_EQ(svg::num(12346.0), "1.235e+04");
  EXPECT_EQ(svg::num(-0.0), "0");
  EXPECT_EQ(svg::num(svg::kNaN), "n/a");
  EXPECT_EQ(svg::colour(0), "#440154");
  EXPECT_EQ(svg::colour(0.5), "#21918c");
  EXPECT_EQ(svg::colour(1), "#fde725");
  EXPECT_EQ(svg::colour(7), "#fde725");
  EXPECT_EQ(svg::colour(svg::kNaN), "#cccccc");
  EXPECT_EQ(svg::escape("<a href='x'>&\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
}

TEST(ReportSvg, HeatmapCellsTooltipsAndLegend) {
  svg::Grid g{2, 3, {0, 1, 2, 3, 4, svg::kNaN}, {"a", "b", "c", "d", "e", "<f>"}, "layer", "head"};
  std::string s = svg::heatmap(g);
  EXPECT_EQ(titles(s), (std::vector<std::string>{"a", "b", "c", "d", "e", "&lt;f&gt;"}));
  EXPECT_NE(s.find("fill=\"#440154\"><title>a<"), std::string::npos);          // the minimum
  EXPECT_NE(s.find("fill=\"#fde725\"><title>e<"), std::string::npos);          // the maximum
  EXPECT_NE(s.find("fill=\"#cccccc\"><title>&lt;f&gt;<"), std::string::npos);  // no data
  EXPECT_NE(s.find(">layer</text>"), std::string::npos);
  EXPECT_NE(s.find(">head</text>"), std::string::npos);
  EXPECT_NE(s.find(">0</text>"), std::string::npos);  // legend: min, middle and max
  EXPECT_NE(s.find(">2</text>"), std::string::npos);
  EXPECT_NE(s.find(">4</text>"), std::string::npos);

  // Without tooltips, a large grid stays small and within its width.
  svg::Grid big{80, 64, std::vector<double>(80 * 64, 0.0), {}, "query", "key", 520, 640};
  big.values[5] = 1;
  std::string b = svg::heatmap(big);
  EXPECT_EQ(count(b, "<title>"), 0u);
  EXPECT_LT(b.size(), 8000u);
  EXPECT_LE(widest_svg(b), 520);
}

TEST(ReportSvg, LineChartSeriesAndTicks) {
  svg::Chart c{
      {{"run <1>", {0.5, 1.0, svg::kNaN}, "#123456", ""}, {"run 2", {0, 0, 0}, "#abcdef", "4 2"}},
      "layer",
      "sink_rate",
      {},
      0,
      1};
  std::string s = svg::line_chart(c);
  EXPECT_EQ(count(s, "<polyline"), 2u);
  EXPECT_EQ(count(s, "<circle"), 5u);  // the NaN point is left out
  EXPECT_NE(s.find("<title>run &lt;1&gt;, layer 1: 1</title>"), std::string::npos);
  EXPECT_NE(s.find(">0.6</text>"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray=\"4 2\""), std::string::npos);
  EXPECT_NE(s.find(">sink_rate</text>"), std::string::npos);
}

TEST(Report, SyntheticAnalysisHasEverySection) {
  json a = synthetic(2, 3);
  a["runs"][1]["heads"][0]["bos_sink_score"] = 0.123456;
  a["runs"][1]["heads"][0]["bos_sink_score_std"] = 0.0001234;
  const std::string page = render_analysis_report(a, run_info());

  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  EXPECT_TRUE(page.ends_with("</html>\n"));
  for (const char* external : {"http://", "https://", "<script", "<link", "src=", "href=", "url("})
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);  // the massive token
  EXPECT_NE(page.find("-p &#39;&lt;b&gt;&amp;&#39;"), std::string::npos);
  EXPECT_NE(page.find("ab12cd34"), std::string::npos);
  EXPECT_NE(page.find("1.235 s"), std::string::npos);

  // Heatmaps: 6 statistics × 4 runs and one attention pattern per run; the first is
  // bos_sink_score of the first BOS-on run (ctx 64 on, run 1).
  auto maps = svgs(page, "heatmap");
  ASSERT_EQ(maps.size(), 6u * 4 + 4);
  EXPECT_EQ(titles(maps[0]), (std::vector<std::string>{
                                 "layer 0 head 0: 0.1235 ± 0.0001234",
                                 "layer 0 head 1: 1.125 ± 0.0625",
                                 "layer 0 head 2: 1.25 ± 0.0625",
                                 "layer 1 head 0: 1.375 ± 0.0625",
                                 "layer 1 head 1: 1.5 ± 0.0625",
                                 "layer 1 head 2: 1.625 ± 0.0625",
                             }));
  EXPECT_NE(page.find("<b>bos_sink_score</b>"), std::string::npos);
  EXPECT_LT(page.find("<b>bos_sink_score</b>"), page.find("<b>z_norm_layer_ratio</b>"));
  EXPECT_EQ(count(page, "<details open>"), 1u);
  EXPECT_EQ(count(page, "<details"), 4u);
  EXPECT_EQ(count(page, ">query</text>"), 4u);
  EXPECT_EQ(count(page, ">key</text>"), 4u);

  // Runs table, depth curves with a legend, BOS comparison with the NLL change.
  EXPECT_NE(page.find("<td>128</td><td>on</td><td>2</td><td>256</td><td>2</td><td>7.389</td>"),
            std::string::npos);
  EXPECT_GE(svgs(page, "chart").size(), 4u);  // 2 depth curves, 2 BOS comparisons
  EXPECT_NE(page.find(">ctx 64 · bos off</text>"), std::string::npos);
  EXPECT_NE(page.find("<td>64</td><td>off</td><td>2.5</td><td>12.18</td><td>0.5</td>"),
            std::string::npos);

  // Length stability, the top sink head, the dormant head, massive activations.
  EXPECT_NE(page.find(">0.7654</span>"), std::string::npos);
  EXPECT_NE(page.find(">-0.25</span>"), std::string::npos);
  const size_t top = page.find("Top sink heads");
  ASSERT_NE(top, std::string::npos);
  EXPECT_EQ(page.find("<tr><td>", top), page.find("<tr><td>1</td><td>2</td><td>1.625", top));
  EXPECT_NE(page.find("1 of 6 heads below 0.1"), std::string::npos);
  const size_t dormant = page.find("Dormant heads");
  EXPECT_EQ(page.find("<tr><td>", dormant), page.find("<tr><td>0</td><td>1</td><td>0.05", dormant));
  EXPECT_NE(page.find("<td>0</td><td>777</td><td>1</td><td>0</td><td>11</td><td>&lt;script&gt;</"
                      "td><td>0.25</td><td>3108</td><td><b>yes</b></td>"),
            std::string::npos);
}

TEST(Report, MissingValuesAndEmptyInputs) {
  json a = synthetic(2, 3);
  a["runs"][1]["heads"][4]["bos_sink_score"] = nullptr;  // JSON has no NaN: it writes null
  a["stability"] = json::array();
  const std::string page = render_analysis_report(a, json::object());
  EXPECT_NE(page.find("<title>layer 1 head 1: n/a ± 0.0625</title>"), std::string::npos);
  EXPECT_EQ(page.find("Length stability"), std::string::npos);
  const std::string empty = render_analysis_report(json::object(), json::object());
  EXPECT_TRUE(empty.starts_with("<!doctype html>"));
  EXPECT_EQ(empty.find("<svg"), std::string::npos);
}

TEST(Report, LargeModelFitsTheWidthAndStaysCompact) {
  const std::string page = render_analysis_report(synthetic(80, 64), run_info());
  EXPECT_LE(widest_svg(page), 1100);
  EXPECT_LT(page.size(), 6u << 20);
  // Tooltips for the first BOS-on run only: 6 heatmaps of 80 × 64 heads.
  EXPECT_EQ(count(page, "<title>layer "), 6u * 80 * 64);
}

TEST(Report, RealAnalysisOfStories260K) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), false);
  AnalyzeOptions opt;
  opt.contexts = {64, 128};
  opt.chunks = 2;
  opt.modes = {{"on", tok.bos_id()}, {"off", -1}};
  ThreadPool pool(2);
  const json a = to_json(analyze(m, pool, ids, opt));
  const std::string page = render_analysis_report(a, run_info());

  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_LT(page.size(), 1u << 20);
  EXPECT_LE(widest_svg(page), 1100);
  auto maps = svgs(page, "heatmap");
  ASSERT_EQ(maps.size(), 6u * 4 + 4);
  const json& h = a["runs"][0]["heads"][9];  // ctx 64, BOS on: layer 1 head 1
  ASSERT_EQ(h["layer"], 1);
  ASSERT_EQ(h["head"], 1);
  const std::string expect = "layer 1 head 1: " + svg::num(h["bos_sink_score"].get<double>()) +
                             " ± " + svg::num(h["bos_sink_score_std"].get<double>());
  auto t = titles(maps[0]);
  ASSERT_EQ(t.size(), 40u);
  EXPECT_EQ(t[9], expect);
  const json& p = a["runs"][0]["strongest_sink_pattern"];
  EXPECT_NE(
      page.find("strongest sink head, layer " + p["layer"].dump() + " head " + p["head"].dump()),
      std::string::npos);
  const std::string rho = svg::num(a["stability"][0]["spearman"].get<double>());
  EXPECT_NE(page.find(">" + rho + "</span>"), std::string::npos);
}

}  // namespace
}  // namespace ss
