// The attention viewer's data (experiments/attention_view.h, report/pattern_codec.h): stored
// patterns against `sinkscope forward --json --attention`, their layout, the size budget, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "analysis/triangle_capture.h"
#include "base/error.h"
#include "experiments/attention_view.h"
#include "model/load_model.h"
#include "report/attention_view.h"
#include "report/pattern_codec.h"
#include "test_util.h"

namespace ss {
namespace {

const std::string kPrompt =
    "Once upon a time, there was a little girl named Lily. She liked to play.";

std::vector<float> decoded(const ViewRun& run, const ViewHead& h) {
  const std::vector<uint8_t> codes = inflate_bytes(h.deflated);
  std::vector<float> out(codes.size());
  const double step = pattern_step(h.bits);
  for (size_t i = 0; i < codes.size(); ++i) out[i] = static_cast<float>(codes[i] * step);
  return out;
}

struct ViewFixture {
  Model model = load_model(test::model_bin());
  std::unique_ptr<Tokenizer> tok = load_text_tokenizer(test::model_bin(), test::tok_bin());
  ThreadPool pool{2};

  AttentionView view(const std::vector<int>& ids, AttentionViewOptions opt = {}) {
    if (opt.bos_id == -1) opt.bos_id = tok->bos_id();
    return build_attention_view(
        model, pool, ids, [](int id) { return std::to_string(id); }, std::move(opt));
  }
};

TEST(PatternCodec, QuantisedValuesAreWithinHalfAStep) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(5000);
  for (float& x : v) x = u(rng);
  v[0] = 0.0f, v[1] = 1.0f;
  for (int bits = kPatternMinBits; bits <= kPatternMaxBits; ++bits) {
    const auto codes = inflate_bytes(deflate_bytes(quantize_pattern(v, bits)));
    ASSERT_EQ(codes.size(), v.size());
    double worst = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_LE(codes[i], (1 << bits) - 1);
      worst = std::max(worst, std::fabs(codes[i] * pattern_step(bits) - v[i]));
    }
    EXPECT_LE(worst, pattern_step(bits) / 2 + 1e-7) << bits << " bits";
    EXPECT_GT(worst, pattern_step(bits) / 2 * 0.9) << bits << " bits: the step is not the bound";
  }
  EXPECT_EQ(quantize_pattern(std::vector<float>{0.5f / 255}, 8)[0], 1);  // half rounds up
}

TEST(PatternCodec, Base64RoundTrips) {
  EXPECT_EQ(base64_encode("Man"), "TWFu");
  EXPECT_EQ(base64_encode("Ma"), "TWE=");
  EXPECT_EQ(base64_encode("M"), "TQ==");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < all.size(); n += 37)
    EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n));
}

TEST(PatternCodec, ChooseLevelsKeepsTheBudgetFinestFirst) {
  // Noisy heads compress badly at 8 bits; a budget between their coarsest and finest sizes must
  // be met, and a budget above the 8-bit total keeps every head at 8 bits.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 0.05f);
  std::vector<std::vector<PatternLevel>> heads;
  size_t fine = 0;
  for (int h = 0; h < 6; ++h) {
    std::vector<float> v(20000);
    for (float& x : v) x = h % 2 ? u(rng) : 0.0f;  // odd heads noisy, even ones empty
    heads.push_back(encode_levels(v, 0));          // every level
    fine += heads.back()[0].deflated.size();
    ASSERT_EQ(heads.back().size(), static_cast<size_t>(kPatternMaxBits - kPatternMinBits + 1));
  }
  auto total = [&](const std::vector<size_t>& c) {
    size_t s = 0;
    for (size_t h = 0; h < heads.size(); ++h) s += heads[h][c[h]].deflated.size();
    return s;
  };
  const auto all8 = choose_levels(heads, fine);
  EXPECT_EQ(total(all8), fine);
  for (size_t c : all8) EXPECT_EQ(c, 0u);
  const size_t budget = fine / 3;
  const auto c = choose_levels(heads, budget);
  EXPECT_LE(total(c), budget);
  for (size_t h = 0; h < heads.size(); h += 2) EXPECT_EQ(c[h], 0u) << "an empty head lost bits";
  EXPECT_GT(c[1], 0u);
}

TEST(AttentionView, StoredPatternsMatchForwardAttentionWithinTheStep) {
  ViewFixture f;
  const std::vector<int> ids = f.tok->encode(kPrompt, false);
  const AttentionView v = f.view(ids);
  const ModelConfig& c = f.model.config;
  ASSERT_EQ(v.n_layers, c.n_layers);
  ASSERT_EQ(v.n_heads, c.n_heads);
  ASSERT_GE(v.runs.size(), 2u);
  const ViewRun& on = v.runs[0];
  ASSERT_TRUE(on.bos);
  ASSERT_FALSE(on.ablated);
  const size_t T = ids.size() + 1;
  ASSERT_EQ(on.ids.size(), T);
  EXPECT_EQ(on.ids[0], f.tok->bos_id());
  EXPECT_EQ(v.runs[1].ids.size(), T - 1);
  EXPECT_FALSE(v.runs[1].bos);

  // The reference: `sinkscope forward --json --attention` (BOS first, as the tokenizer asks).
  const auto r = test::run_cli("forward -m " + test::model_bin() + " --tokenizer " +
                               test::tok_bin() + " -p \"" + kPrompt + "\" --json --attention");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["ids"].get<std::vector<int>>(), on.ids);
  double worst = 0;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) {
      const ViewHead& head = on.heads[l * c.n_heads + h];
      ASSERT_EQ(head.same_as, -1);
      ASSERT_EQ(head.bits, 8);
      const std::vector<float> tri = decoded(on, head);
      ASSERT_EQ(tri.size(), triangle_size(T)) << "not a packed lower triangle";
      double bos = 0;
      for (size_t t = 0; t < T; ++t) {
        double sum = 0;
        for (size_t k = 0; k <= t; ++k) {
          const double ref = j["attention"][l][h][t][k].get<double>();
          const double got = tri[triangle_offset(t) + k];
          worst = std::max(worst, std::fabs(got - ref));
          sum += got;
        }
        for (size_t k = t + 1; k < T; ++k) ASSERT_EQ(j["attention"][l][h][t][k].get<double>(), 0.0);
        EXPECT_NEAR(sum, 1.0, (t + 1) * pattern_step(8) / 2 + 1e-6) << "row " << t;
        bos += j["attention"][l][h][t][0].get<double>();
      }
      // bos_sink_score as SPEC.md defines it, from the forward pass's own rows.
      EXPECT_NEAR(head.bos_sink_score, bos / T, 1e-5) << "L" << l << "H" << h;
    }
  EXPECT_LE(worst, pattern_step(8) / 2 + 1e-6);
  EXPECT_GT(worst, 0.0);
}

TEST(AttentionView, AblatedRunsShareTheLayersBeforeTheAblation) {
  ViewFixture f;
  const std::vector<int> ids = f.tok->encode(kPrompt, false);
  AttentionViewOptions opt;
  opt.ablation = HeadMask(f.model.config);
  opt.ablation->set(2, 1, HeadAction::Zero);
  opt.ablated_heads = {{2, 1}};
  const AttentionView v = f.view(ids, std::move(opt));
  ASSERT_EQ(v.runs.size(), 4u);
  const int H = v.n_heads;
  for (size_t r = 2; r < 4; ++r) {
    const ViewRun& run = v.runs[r];
    EXPECT_TRUE(run.ablated);
    EXPECT_EQ(run.bos, v.runs[r - 2].bos);
    for (int l = 0; l < v.n_layers; ++l)
      for (int h = 0; h < H; ++h) {
        const ViewHead& head = run.heads[l * H + h];
        if (l <= 2) {
          EXPECT_EQ(head.same_as, static_cast<int>(r - 2)) << "L" << l << "H" << h;
          EXPECT_EQ(head.bos_sink_score, v.runs[r - 2].heads[l * H + h].bos_sink_score);
        } else {
          EXPECT_EQ(head.same_as, -1) << "L" << l << "H" << h << " did not change";
        }
      }
  }
}

TEST(AttentionView, DefaultAblationIsTheStrongestSinkHeads) {
  ViewFixture f;
  const AttentionView v = f.view(f.tok->encode(kPrompt, false));
  ASSERT_FALSE(v.ablated.empty());
  EXPECT_LE(v.ablated.size(), static_cast<size_t>(kViewDefaultAblated));
  const ViewRun& on = v.runs[0];
  double weakest_ablated = 1;
  for (auto [l, h] : v.ablated) {
    const double s = on.heads[l * v.n_heads + h].bos_sink_score;
    EXPECT_GT(s, v.eps);
    weakest_ablated = std::min(weakest_ablated, s);
  }
  int stronger = 0;
  for (const ViewHead& h : on.heads) stronger += h.bos_sink_score > weakest_ablated;
  EXPECT_LT(stronger, static_cast<int>(v.ablated.size()));
  EXPECT_EQ(v.runs.size(), 4u);
}

TEST(AttentionView, SizeBudgetCoarsensPatternsAndHolds) {
  ViewFixture f;
  std::vector<int> ids = f.tok->encode(kPrompt, false);
  while (ids.size() < 200) ids.insert(ids.end(), ids.begin(), ids.begin() + 20);
  ids.resize(200);
  AttentionViewOptions opt;
  const AttentionView full = f.view(ids, opt);  // 40 MB: every head at 8 bits
  size_t patterns = 0;
  for (const ViewRun& run : full.runs)
    for (const ViewHead& h : run.heads) {
      EXPECT_EQ(h.bits, 8);
      patterns += h.deflated.size();
    }
  const size_t full_size = render_attention_view(full).size();
  // A budget that leaves room for two thirds of the 8-bit patterns.
  opt.max_bytes = full_size - patterns * 4 / 3 / 3;
  const AttentionView v = f.view(ids, opt);
  const std::string html = render_attention_view(v);
  EXPECT_LE(html.size(), opt.max_bytes);
  int coarse = 0, fine = 0;
  for (const ViewRun& run : v.runs)
    for (const ViewHead& h : run.heads) {
      if (h.same_as >= 0) continue;
      coarse += h.bits < 8, fine += h.bits == 8;
      for (uint8_t c : inflate_bytes(h.deflated)) ASSERT_LE(c, (1 << h.bits) - 1);
    }
  EXPECT_GT(coarse, 0) << "the budget needed no coarser patterns";
  EXPECT_GT(fine, 0) << "every head lost bits: sparse ones should keep 8";
}

TEST(AttentionView, RejectsMoreThan512Tokens) {
  ViewFixture f;
  std::vector<int> ids(kViewMaxTokens, 100);  // with BOS: 513
  try {
    f.view(ids);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "--prompt: 513 tokens with BOS, more than the viewer's 512");
  }
  EXPECT_NO_THROW(f.view(std::vector<int>(10, 100)));
}

TEST(AttentionView, PageIsSelfContained) {
  ViewFixture f;
  AttentionView v = f.view(f.tok->encode(kPrompt, false));
  v.runs[0].tokens[1] = "</script><script>alert(1)</script>";
  const std::string html = render_attention_view(v);
  for (const char* bad : {"<link", "src=\"http", "href=\"http", "@import", "fetch(",
                          "XMLHttpRequest", "</script><script>alert"})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  EXPECT_NE(html.find("DecompressionStream"), std::string::npos);
  EXPECT_NE(html.find("id=\"ss-meta\""), std::string::npos);
}

TEST(Cli, ViewWritesThePageAndRejectsBadInput) {
  const std::string dir = test::temp_dir();
  const std::string model = "-m " + test::model_bin() + " --tokenizer " + test::tok_bin();
  auto r = test::run_cli("view " + model + " -p \"" + kPrompt + "\" -o " + dir + "/v.html --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir + "/v.html");
  const std::string html((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(html.find("sinkscope · attention viewer"), std::string::npos);

  r = test::run_cli("view " + model + " -p hello --ablate 9:0 -o " + dir + "/x.html");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ablate"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  std::string longer;
  for (int i = 0; i < 200; ++i) longer += "the cat sat on the mat. ";
  {
    std::ofstream f(dir + "/long.txt");
    f << longer;
  }
  r = test::run_cli("view " + model + " -f " + dir + "/long.txt -o " + dir + "/x.html");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("long.txt: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("more than the viewer's 512"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = test::run_cli("view " + model + " -o " + dir + "/x.html");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--prompt"), std::string::npos) << r.err;
}

TEST(Cli, AnalyzeLinksTopSinkHeadsToItsView) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli("analyze -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " -f " + test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 128 --chunks 1 --bos on,off --quiet --out " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir + "/report.html");
  const std::string report((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(report.find("href=\"view.html#L"), std::string::npos);
  EXPECT_NE(report.find("&amp;bos=off\">view</a>"), std::string::npos);
  std::ifstream vin(dir + "/view.html");
  const std::string view((std::istreambuf_iterator<char>(vin)), {});
  EXPECT_NE(view.find("id=\"ss-meta\""), std::string::npos);
  r = test::run_cli("analyze -m " + test::model_bin() + " --tokenizer " + test::tok_bin() + " -f " +
                    test::shared("data/text/tinystories-valid-sample.txt") +
                    " --ctx 128 --chunks 1 --no-view --quiet --out " + dir + "/b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/b/view.html"));
}

}  // namespace
}  // namespace ss
