// Regression tests for what the structure-aware fuzz targets (fuzz/README.md) found: each builds
// the smallest file or folder with the defect and expects the one-line InputError (or, for the
// writers, no undefined behaviour: these run under the ASan+UBSan build too).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "base/thread_pool.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "ops/exp.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

using json = nlohmann::json;

using test::input_error;
using test::tiny_model;

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_json(const std::string& path, const json& j) {
  std::ofstream(path) << j.dump(2);
}

// fuzz_model: a NaN weight reached the attention softmax, whose exp converted NaN to an integer
// (undefined behaviour) before the runtime's finite check could report the layer.
TEST(FuzzRegressions, ExpOfNanStaysNan) {
  EXPECT_TRUE(std::isnan(exp_nonpositive(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_NEAR(exp_nonpositive(-1.0f), std::exp(-1.0f), 1e-6);
  Model m = clone_model(tiny_model("gemma2"));
  reinterpret_cast<float*>(mutable_data(m, m.layers[0].wq))[3] =
      std::numeric_limits<float>::quiet_NaN();
  ThreadPool pool(1);
  Runtime rt(m, pool, 4);
  const std::vector<int> ids = {1, 5, 9, 2};
  EXPECT_NE(input_error([&] { rt.forward(ids, 0); }).find("non-finite value"), std::string::npos);
}

// fuzz_model: validate_model returned early for mixture-of-experts layers, before the attention
// biases and norms, so gpt-oss's attn_q.bias of any length was read past its end.
TEST(FuzzRegressions, ExpertLayerAttentionBiasLengthChecked) {
  Model m = tiny_model("gpt-oss");
  const int n = m.config.q_dim() + 1;
  m.layers[0].bq = add_owned_f32(m, "blk.0.attn_q.bias", {n}, std::vector<float>(n, 0.5f));
  const std::string path = test::temp_dir() + "/long-bias.gguf";
  write_model_gguf(m, {}, path);
  const std::string err = input_error([&] { load_model(path); });
  EXPECT_NE(err.find(path + ": tensor blk.0.attn_q.bias has shape [" + std::to_string(n)),
            std::string::npos)
      << err;
}

// fuzz_model, fuzz_hf_config: a block count of 2^24 - 1 allocated that many layers (tens of GB)
// before any tensor was looked up.
TEST(FuzzRegressions, LayerCountBeyondTheTensorsRefusedBeforeAllocation) {
  const Model m = tiny_model("llama");
  const std::string path = test::temp_dir() + "/layers.gguf";
  write_model_gguf(m, {}, path, DType::F32, "",
                   {{"llama.block_count", GgufValue::of_u32((1u << 24) - 1)}});
  std::string err = input_error([&] { load_model(path); });
  EXPECT_NE(err.find(path + ": llama.block_count 16777215 exceeds the"), std::string::npos) << err;

  const std::string dir = test::temp_dir() + "/layers";
  write_hf_model(m, dir);
  json config = read_json(dir + "/config.json");
  config["num_hidden_layers"] = (1 << 24) - 1;
  write_json(dir + "/config.json", config);
  err = input_error([&] { load_model(dir); });
  EXPECT_NE(err.find(dir + "/config.json: the layer count 16777215 exceeds the"), std::string::npos)
      << err;
}

// fuzz_hf_config: GPT-NeoX's [head][q, k, v] rows were reordered for num_attention_heads heads
// whatever num_key_value_heads said, reading past the fused tensor (and writing past it when
// such a model was converted).
TEST(FuzzRegressions, GptNeoxKeyValueHeadsMustMatch) {
  const Model m = tiny_model("gptneox");
  const std::string dir = test::temp_dir() + "/neox";
  write_hf_model(m, dir);
  json config = read_json(dir + "/config.json");
  config["num_key_value_heads"] = 1;
  write_json(dir + "/config.json", config);
  std::string err = input_error([&] { load_model(dir); });
  EXPECT_NE(err.find(dir + "/config.json: num_key_value_heads 1 differs from the attention heads"),
            std::string::npos)
      << err;

  ModelConfig c = m.config;
  c.n_kv_heads = 1;
  const Model gqa = make_random_model(c, 5, DType::F32, true);
  err = input_error([&] { write_hf_model(gqa, test::temp_dir() + "/neox-gqa"); });
  EXPECT_NE(err.find("gptneox has no grouped-query attention"), std::string::npos) << err;
}

// fuzz_model (converted to a folder): a tiny query scale made query_pre_attn_scalar too large
// for the int64 it was converted to.
TEST(FuzzRegressions, TinyGemmaQueryScaleWritten) {
  Model m = tiny_model("gemma3");
  m.config.query_scale = 1e-40f;
  const std::string dir = test::temp_dir() + "/gemma-scale";
  write_hf_model(m, dir);
  const json config = read_json(dir + "/config.json");
  ASSERT_TRUE(config["query_pre_attn_scalar"].is_number_float());
  EXPECT_GT(config["query_pre_attn_scalar"].get<double>(), 1e79);
  EXPECT_FLOAT_EQ(load_model(dir).config.query_scale, 1e-40f);
}

}  // namespace
}  // namespace ss
