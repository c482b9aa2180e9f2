// Whole-layer pruning (prune/drop_layers.h): a GGUF without some layers gives the logits of the
// full model run with those layers skipped, and layer lists that cannot be dropped are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/block_influence.h"
#include "base/error.h"
#include "experiments/calibrate.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "prune/drop_layers.h"
#include "prune/export_pruned.h"
#include "prune/layer_criteria.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

using test::kDefaultModel;

// Skips layers at run time: the inputs of W_O and W_down of a skipped layer are zeroed, so the
// block adds nothing to the residual stream (architectures without attn_output or ffn_down
// biases; post-norms of a zero vector are zero).
class SkipLayers : public LinearInputTransform {
 public:
  explicit SkipLayers(std::vector<int> layers) : layers_(std::move(layers)) {}
  const float* transform(int layer, LinearSite site, int, int n, size_t width, const float* x,
                         float* scratch) override {
    if (site != LinearSite::AttnOut && site != LinearSite::FfnDown) return x;
    if (std::find(layers_.begin(), layers_.end(), layer) == layers_.end()) return x;
    std::memset(scratch, 0, sizeof(float) * n * width);
    return scratch;
  }

 private:
  std::vector<int> layers_;
};

std::vector<float> transformed_logits(const Model& m, LinearInputTransform* t) {
  ThreadPool pool(2);
  Runtime rt(m, pool, 64);
  rt.set_linear_input(t);
  return rt.forward(test::prompt_ids(20), 0, Logits::All);
}

void expect_drop_equals_skip(const std::string& path, const std::vector<int>& layers,
                             const std::string& label) {
  SCOPED_TRACE(label);
  const Model m = load_model(path);
  const std::string out = test::temp_dir() + "/dropped.gguf";
  export_dropped_layers_gguf(m, tokenizer_metadata(GgufFile(path)), layers, out);
  const Model dropped = load_model(out);
  EXPECT_EQ(dropped.config.n_layers, m.config.n_layers - static_cast<int>(layers.size()));
  SkipLayers skip(layers);
  const std::vector<float> want = transformed_logits(m, &skip),
                           got = transformed_logits(dropped, nullptr);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
  EXPECT_NE(want, transformed_logits(m, nullptr));  // the skipped layers did something
  EXPECT_LT(fs::file_size(out), fs::file_size(path));
  EXPECT_EQ(GgufFile(out).get_int_array("sinkscope.dropped_layers"),
            std::vector<int32_t>(layers.begin(), layers.end()));
}

TEST(PruneLayers, DroppedGgufEqualsSkippedLayers) {
  const int L = load_model(kDefaultModel).config.n_layers;
  expect_drop_equals_skip(kDefaultModel, {1, L - 2}, "default model");
  for (const char* arch : {"llama", "qwen2", "qwen3"})
    expect_drop_equals_skip(test::synth_model(arch, "", 7), {0}, arch);
  // Gemma 3 (five sliding layers, then a global one): its global layer 5 can go, leaving five
  // sliding layers; Gemma 2 (alternating) loses a sliding and a global layer.
  expect_drop_equals_skip(test::synth_model("gemma3", "", 7), {5}, "gemma3");
  expect_drop_equals_skip(test::synth_model("gemma2", "--shape small", 7), {1, 2}, "gemma2");
}

TEST(PruneLayers, RefusesWhatCannotBeDropped) {
  ModelConfig c = synth_shape("llama", "small");
  EXPECT_EQ(parse_layer_list("3,1", c, "--drop-layers"), (std::vector<int>{1, 3}));
  auto error = [&](const std::string& text) {
    try {
      parse_layer_list(text, c, "--drop-layers");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("1,4"), "--drop-layers: layer 4 is out of range (the model has layers 0..3)");
  EXPECT_EQ(error("0,1,2,3"), "--drop-layers: would drop all 4 layers; keep at least one");
  EXPECT_EQ(error("1,1"), "--drop-layers: names a layer twice");
  EXPECT_EQ(error("1,x"), "--drop-layers: 'x' is not a layer index");
  EXPECT_EQ(error("-1"), "--drop-layers: layer -1 is out of range (the model has layers 0..3)");
  // Gemma 3 chooses its global layer by index: dropping layer 1 would make global layer 5 the
  // sliding layer 4.
  ModelConfig g = synth_shape("gemma3", "tiny");
  apply_arch(g);
  const std::string p = layer_drop_problem(g, {1});
  EXPECT_NE(p.find("layer 5 (global) cannot become layer 4"), std::string::npos) << p;
  EXPECT_EQ(layer_drop_problem(g, {5}), "");
  EXPECT_EQ(layer_drop_problem(c, {1}), "");
}

// Runtime::set_skipped_layers runs the model as the dropped file does, MoE and biases included.
TEST(PruneLayers, RuntimeSkipEqualsDroppedModel) {
  const std::vector<std::pair<std::string, std::vector<int>>> cases = {
      {kDefaultModel, {0, 4}}, {test::synth_model("gpt-oss", "--shape small", 7), {0, 1}}};
  for (const auto& [path, layers] : cases) {
    const Model m = load_model(path);
    const std::string out = test::temp_dir() + "/dropped.gguf";
    export_dropped_layers_gguf(m, tokenizer_metadata(GgufFile(path)), layers, out);
    ThreadPool pool(2);
    Runtime rt(m, pool, 64);
    std::vector<bool> skip(m.config.n_layers, false);
    for (int l : layers) skip[l] = true;
    rt.set_skipped_layers(skip);
    const std::vector<float> want = rt.forward(test::prompt_ids(20), 0, Logits::All);
    const std::vector<float> got = transformed_logits(load_model(out), nullptr);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << path;
  }
}

TEST(PruneLayers, BlockInfluenceByHand) {
  ModelConfig c;
  c.dim = 2, c.n_layers = 2;
  BlockInfluenceObserver obs(c);
  const float in[] = {1, 0, 1, 0}, turned[] = {0, 1, -1, 0}, scaled[] = {2, 0, 3, 0};
  obs.on_resid_pre(0, 0, 2, in);
  obs.on_resid_post(0, 0, 2, turned);  // cos 0 and −1: BI 1 and 2
  obs.on_resid_pre(1, 0, 2, in);
  obs.on_resid_post(1, 0, 2, scaled);  // same direction: BI 0
  EXPECT_EQ(obs.influence(), (std::vector<double>{1.5, 0.0}));
}

TEST(PruneLayers, CriteriaScoreEveryLayer) {
  const Model m = load_model(kDefaultModel);
  const int L = m.config.n_layers;
  ThreadPool pool(2);
  // Any ids of the vocabulary calibrate (BOS is 1).
  std::vector<int> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(3 + (i * 37) % 2000);
  Calibration c2(m, pool, {ids, 64, 2, 1, 3});
  CriterionInputs in = c2.criterion_inputs();
  for (const std::string& name : layer_criterion_names())
    EXPECT_EQ(layer_removability(m, name, in).size(), static_cast<size_t>(L)) << name;
  // layer-bos-sink: the mean of the heads' bos_sink_score.
  const std::vector<double>& bos = in.stat_means("bos_sink_score");
  double layer2 = 0;
  for (int h = 0; h < m.config.n_heads; ++h) layer2 += bos[2 * m.config.n_heads + h];
  EXPECT_NEAR(layer_removability(m, "layer-bos-sink", in)[2], layer2 / m.config.n_heads, 1e-12);
  // block-influence: lowest BI first, so the removability is −BI, and BI lies in [0, 2].
  for (double r : layer_removability(m, "block-influence", in)) {
    EXPECT_LE(r, 0.0);
    EXPECT_GE(r, -2.0);
  }
  // layer-ablation-delta: the loss increase of skipping the layer alone, negated.
  const std::vector<double> delta = layer_removability(m, "layer-ablation-delta", in);
  EXPECT_NEAR(delta[1], c2.nll_without_layers({}) - c2.nll_without_layers({1}), 1e-12);
  EXPECT_THROW(layer_removability(m, "bos-sink", in), InputError);
  // round(r·L) layers of highest removability, ties to the lower layer.
  EXPECT_EQ(select_layers({0.5, 0.9, 0.5, 0.1}, 0.5), (std::vector<int>{0, 1}));
  EXPECT_EQ(select_layers({0.5, 0.9, 0.5, 0.1}, 0.0), (std::vector<int>{}));
}

// prune --unit layer: a point's perplexity is that of the exported model without its layers.
TEST(Cli, PruneLayerSweepMatchesDroppedExport) {
  const std::string dir = test::temp_dir();
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  auto r = test::run_cli("prune -m " + kDefaultModel + " --unit layer --ratios 0,0.34 --calib " +
                         text + " --calib-ctx 64 --calib-chunks 2 --eval ppl:" + text +
                         " --eval-ctx 64 --eval-chunks 2 --quiet --out " + dir + "/sweep");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto sweep = nlohmann::json::parse(std::ifstream(dir + "/sweep/sweep.json"));
  EXPECT_EQ(sweep["unit"], "layer");
  EXPECT_EQ(sweep["columns"][2], "layers_pruned");
  ASSERT_EQ(sweep["points"].size(), 8u);  // 4 criteria x 2 ratios
  for (const auto& p : sweep["points"]) {
    if (p["ratio"] == 0) continue;
    ASSERT_EQ(p["layers"].size(), 2u) << p.dump();
    std::string layers =
        std::to_string(p["layers"][0].get<int>()) + "," + std::to_string(p["layers"][1].get<int>());
    r = test::run_cli("export -m " + kDefaultModel + " --drop-layers " + layers + " -o " + dir +
                      "/d.gguf --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    r = test::run_cli("perplexity -m " + dir + "/d.gguf -f " + text +
                      " --ctx 64 --chunks 2 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NEAR(nlohmann::json::parse(r.out)["nll_mean"].get<double>(),
                p["ppl:tinystories-valid-sample.nll_mean"].get<double>(), 1e-5)
        << p.dump();
  }
}

TEST(Cli, ExportDropLayers) {
  const std::string dir = test::temp_dir(), src = test::synth_model("gemma3", "", 7);
  auto r = test::run_cli("export -m " + src + " --drop-layers 5 -o " + dir + "/d.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 of 6 layers dropped"), std::string::npos) << r.err;
  EXPECT_EQ(load_model(dir + "/d.gguf").config.n_layers, 5);
  for (const std::string bad : {"9", "0,1,2,3,4,5", "1"}) {
    r = test::run_cli("export -m " + src + " --drop-layers " + bad + " -o " + dir + "/x.gguf");
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/x.gguf"));
  }
  r = test::run_cli("export -m " + src + " --drop-layers 5 --prune-heads 0:1 -o " + dir +
                    "/x.gguf");
  EXPECT_EQ(r.code, 2) << r.err;
}

}  // namespace
}  // namespace ss
