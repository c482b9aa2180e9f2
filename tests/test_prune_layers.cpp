// Whole-layer pruning (prune/drop_layers.h): a GGUF without some layers gives the logits of the
// full model run with those layers skipped, and layer lists that cannot be dropped are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "prune/drop_layers.h"
#include "prune/export_pruned.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

const std::string kDefaultModel = std::string(SINKSCOPE_SOURCE_DIR) + "/models/sinkscope-tiny.gguf";

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

std::vector<float> logits_of(const Model& m, LinearInputTransform* t) {
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
  const std::vector<float> want = logits_of(m, &skip), got = logits_of(dropped, nullptr);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
  EXPECT_NE(want, logits_of(m, nullptr));  // the skipped layers did something
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
