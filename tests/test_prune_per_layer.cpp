// Physical head removal that leaves layers with different head counts (issue 20: `--scope global`
// and any set whose layers lose different numbers of heads): the file holds per-layer arrays in
// attention.head_count and head_count_kv, sinkscope runs each layer at its own size with the
// logits of runtime ablation, the arrays survive GGUF and Hugging Face folders, and files whose
// arrays or tensors disagree are refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "format/gguf.h"
#include "model/hf_model.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "prune/criteria.h"
#include "prune/export_pruned.h"
#include "prune/remove_heads.h"
#include "prune/select.h"
#include "prune_test_util.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The attention each head gives to position 0, summed over its rows.
struct BosMass : Observer {
  std::map<std::pair<int, int>, double> mass;
  std::mutex mu;
  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int, std::span<const float> row) override {
    std::lock_guard<std::mutex> lock(mu);
    mass[{layer, head}] += row[0];
  }
};

void expect_near(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
  EXPECT_LE(worst, tol);
}

// Exports `heads` of the GGUF at `path` removed and checks: each layer's counts, logits equal to
// runtime zeroing within 1e-5, and per-layer arrays in the file. Returns the file.
std::string expect_per_layer_removal(const std::string& path, const Heads& heads,
                                     const std::vector<int>& q, const std::vector<int>& kv,
                                     const std::string& label) {
  SCOPED_TRACE(label);
  const Model m = load_model(path);
  const HeadMask mask = mask_of(m.config, heads);
  EXPECT_FALSE(head_removal_problem(m.config, heads));
  EXPECT_FALSE(removal_keeps_one_head_count(m.config, heads));
  const std::string out = test::temp_dir() + "/per_layer.gguf";
  export_pruned_gguf(m, tokenizer_metadata(GgufFile(path)), mask, out, "test", true);
  const Model pruned = load_model(out);
  EXPECT_FALSE(pruned.config.uniform_heads());
  EXPECT_EQ(pruned.config.layer_n_heads, q);
  EXPECT_EQ(pruned.config.layer_n_kv_heads, kv);
  EXPECT_EQ(pruned.config.n_heads, *std::max_element(q.begin(), q.end()));
  const std::vector<int> ids = test::prompt_ids(20);
  expect_near(logits_of(pruned, ids), logits_of(m, ids, &mask), 1e-5);
  EXPECT_LT(fs::file_size(out), fs::file_size(path));
  GgufFile g(out);
  const GgufValue* v = g.find(m.config.arch + ".attention.head_count");
  EXPECT_TRUE(v && v->type == GgufType::ARRAY && v->arr.size() == q.size());
  EXPECT_EQ(g.get_int_array(m.config.arch + ".attention.head_count_kv"),
            std::vector<int32_t>(kv.begin(), kv.end()));
  return out;
}

// MHA (the default model, 8 heads in 4 layers): a global-scope set removes different numbers per
// layer; the pruned model equals ablation, and ablating a kept head of a narrower layer in the
// pruned model equals ablating both heads in the full one (the head mask in a narrower layer).
TEST(PrunePerLayer, GlobalScopeMhaEqualsAblation) {
  const Model m = load_model(test::kDefaultModel);
  const ModelConfig& c = m.config;
  const Heads heads = select_heads(weight_magnitude(m), c, 0.25, PruneScope::Global);
  std::vector<int> q(c.n_layers, c.n_heads);
  for (auto [l, h] : heads) --q[l];
  ASSERT_NE(*std::min_element(q.begin(), q.end()), *std::max_element(q.begin(), q.end()))
      << "the global set happens to be uniform";
  const std::string out = expect_per_layer_removal(test::kDefaultModel, heads, q, q, "global 25%");

  // Layer l keeps its heads in order: the pruned model's head 0 of the narrowest layer is the
  // full model's first kept head there.
  const int l = static_cast<int>(std::min_element(q.begin(), q.end()) - q.begin());
  int first_kept = 0;
  while (std::find(heads.begin(), heads.end(), std::make_pair(l, first_kept)) != heads.end())
    ++first_kept;
  Heads both = heads;
  both.emplace_back(l, first_kept);
  const Model pruned = load_model(out);
  const HeadMask one = mask_of(pruned.config, {{l, 0}}), full = mask_of(c, both);
  const std::vector<int> ids = test::prompt_ids(16);
  expect_near(logits_of(pruned, ids, &one), logits_of(m, ids, &full), 1e-5);
  // The pruned model's attention rows reach observers under the kept heads' new indices, the
  // same rows as the full model's heads; absent heads send none.
  const std::vector<int> ids16 = test::prompt_ids(16);
  BosMass in_pruned, in_full;
  {
    ThreadPool pool(2);
    Runtime rt(pruned, pool, 64);
    rt.add_observer(&in_pruned);
    rt.forward(ids16, 0, Logits::None);
    Runtime full_rt(m, pool, 64);
    const HeadMask mask = mask_of(c, heads);
    full_rt.set_head_mask(&mask);
    full_rt.add_observer(&in_full);
    full_rt.forward(ids16, 0, Logits::None);
  }
  for (int layer = 0; layer < c.n_layers; ++layer) {
    int j = 0;
    for (int h = 0; h < c.n_heads; ++h) {
      if (std::find(heads.begin(), heads.end(), std::make_pair(layer, h)) != heads.end()) continue;
      const double got = in_pruned.mass[std::make_pair(layer, j)];
      ASSERT_NEAR(got, in_full.mass[std::make_pair(layer, h)], 1e-6) << layer << ":" << h;
      ++j;
    }
    EXPECT_EQ(j, q[layer]);
    EXPECT_EQ(in_pruned.mass.count(std::make_pair(layer, q[layer])), 0u);
  }
  // A head past the layer's own count is out of range, naming the layer.
  const std::string bad = std::to_string(l) + ":" + std::to_string(q[l]);
  try {
    parse_head_list(bad, pruned.config);
    ADD_FAILURE() << "accepted " << bad;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer " + std::to_string(l) + " has"), std::string::npos)
        << e.what();
  }
}

// GQA synth models (4 query heads, 2 KV heads): a whole group from layer 0 and none from the
// others; a whole group from layer 0 and one head from each group of layer 1 (different query
// heads per KV head in each layer).
TEST(PrunePerLayer, GqaEqualsAblation) {
  auto both = [](const std::string& path, const std::string& label) {
    const ModelConfig c = load_model(path).config;
    ASSERT_EQ(c.n_heads, 4);
    ASSERT_EQ(c.n_kv_heads, 2);
    std::vector<int> q(c.n_layers, 4), kv(c.n_layers, 2);
    q[0] = 2, kv[0] = 1;
    expect_per_layer_removal(path, {{0, 0}, {0, 1}}, q, kv, label + " group 0 of layer 0");
    q[1] = 2;
    expect_per_layer_removal(path, {{0, 2}, {0, 3}, {1, 0}, {1, 3}}, q, kv,
                             label + " and a head of each group of layer 1");
  };
  for (const char* arch : {"llama", "qwen3", "gemma3", "gpt-oss"})
    both(test::synth_model(arch, "", 7), arch);
  both(test::synth_model("llama", "--attention sink-kv", 7), "sink-kv");
  // Still only whole groups or the same number from each group, layer by layer.
  const ModelConfig c = load_model(test::synth_model("llama", "", 7)).config;
  EXPECT_NE(head_removal_problem(c, {{1, 0}}).message().find("part of a KV group"),
            std::string::npos);
}

// The per-layer counts survive GGUF write and read, and the Hugging Face folder writer and
// reader (sinkscope's own keys num_attention_heads_per_layer, num_key_value_heads_per_layer),
// with the same logits; the analysis observers run over the narrower layers.
TEST(PrunePerLayer, CountsRoundTripGgufAndHfFolder) {
  const std::string src = test::synth_model("llama", "", 7), dir = test::temp_dir();
  const Model m = load_model(src);
  export_pruned_gguf(m, tokenizer_metadata(GgufFile(src)), mask_of(m.config, {{0, 0}, {0, 1}}),
                     dir + "/a.gguf", "test", true);
  const Model a = load_model(dir + "/a.gguf");
  write_model_gguf(a, tokenizer_metadata(GgufFile(src)), dir + "/b.gguf");
  const Model b = load_model(dir + "/b.gguf");
  EXPECT_EQ(b.config.layer_n_heads, (std::vector<int>{2, 4}));
  EXPECT_EQ(b.config.layer_n_kv_heads, (std::vector<int>{1, 2}));
  const std::vector<int> ids = test::prompt_ids(12);
  EXPECT_EQ(logits_of(b, ids), logits_of(a, ids));

  write_hf_model(a, dir + "/a.hf");
  const json config = json::parse(std::ifstream(dir + "/a.hf/config.json"));
  EXPECT_EQ(config["num_attention_heads"], 4);
  EXPECT_EQ(config["num_attention_heads_per_layer"], json({2, 4}));
  EXPECT_EQ(config["num_key_value_heads_per_layer"], json({1, 2}));
  const Model h = load_model(dir + "/a.hf");
  EXPECT_EQ(h.config.layer_n_heads, a.config.layer_n_heads);
  EXPECT_EQ(h.config.layer_n_kv_heads, a.config.layer_n_kv_heads);
  EXPECT_EQ(logits_of(h, ids), logits_of(a, ids));

  // Through the CLI: analyze and perplexity run the pruned file.
  const std::string text = dir + "/t.txt";
  std::ofstream(text) << "Once upon a time there was a little girl who liked to play outside.";
  auto r = test::run_cli("analyze -m " + dir + "/a.gguf -f " + text + " --ctx 16 --chunks 1 " +
                         "--no-view --out " + dir + "/an --quiet");
  EXPECT_EQ(r.code, 0) << r.err;
  const json analysis = json::parse(std::ifstream(dir + "/an/analysis.json"));
  EXPECT_EQ(analysis["model"]["n_heads_per_layer"], json({2, 4}));
  r = test::run_cli("perplexity -m " + dir + "/a.gguf -f " + text + " --ctx 16 --quiet");
  EXPECT_EQ(r.code, 0) << r.err;
}

// Bad input: arrays of the wrong length, a zero or absurd count, counts that are not multiples,
// and tensors whose shapes disagree with the counts, each one line naming the file.
TEST(PrunePerLayer, BadCountsRefusedInOneLine) {
  const std::string src = test::synth_model("llama", "", 7), dir = test::temp_dir();
  const Model m = load_model(src);
  export_pruned_gguf(m, {}, mask_of(m.config, {{0, 0}, {0, 1}}), dir + "/ok.gguf", "test", true);
  const Model ok = load_model(dir + "/ok.gguf");
  const std::string q = "llama.attention.head_count", kv = "llama.attention.head_count_kv";
  auto refused = [&](const std::string& name, const GgufMetadata& extra,
                     const std::vector<std::string>& want) {
    SCOPED_TRACE(name);
    const std::string path = dir + "/" + name + ".gguf";
    write_model_gguf(ok, {}, path, DType::F32, "", extra);
    try {
      load_model(path);
      ADD_FAILURE() << "loaded " << name;
    } catch (const InputError& e) {
      const std::string err = e.what();
      EXPECT_EQ(err.rfind(path, 0), 0u) << err;
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
      for (const std::string& w : want) EXPECT_NE(err.find(w), std::string::npos) << err;
    }
  };
  refused("length", {{q, GgufValue::of_i32s({2, 4, 4})}}, {q, "3 per-layer values for 2 layers"});
  refused("zero", {{q, GgufValue::of_i32s({0, 4})}}, {q + " of layer 0 is 0"});
  refused("absurd", {{kv, GgufValue::of_i32s({1, 1 << 30})}}, {kv + " of layer 1 is 1073741824"});
  refused("multiple", {{kv, GgufValue::of_i32s({1, 3})}}, {"layer 1", "not a multiple"});
  refused("shapes", {{q, GgufValue::of_i32s({4, 4})}, {kv, GgufValue::of_i32s({2, 2})}},
          {"blk.0.attn_q.weight"});
  refused("swapped", {{q, GgufValue::of_i32s({4, 2})}, {kv, GgufValue::of_i32s({2, 1})}},
          {"blk.0.attn_q.weight"});

  // The Hugging Face folder's keys, likewise.
  write_hf_model(ok, dir + "/bad.hf");
  json config = json::parse(std::ifstream(dir + "/bad.hf/config.json"));
  config["num_attention_heads_per_layer"] = {2};
  std::ofstream(dir + "/bad.hf/config.json") << config.dump();
  try {
    load_model(dir + "/bad.hf");
    ADD_FAILURE() << "loaded a short num_attention_heads_per_layer";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("num_attention_heads_per_layer must be a list of 2"),
              std::string::npos)
        << e.what();
  }
}

// Through the CLI: a global-scope export removes the heads with per-layer counts and says which
// readers load the file; --zero-only keeps every head count for any reader.
TEST(Cli, ExportPerLayerHeadCounts) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli("export -m " + test::kDefaultModel +
                         " --criterion weight-magnitude --ratio 0.25 --scope global -o " + dir +
                         "/g.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("heads removed; query heads per layer "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sinkscope reads it; llama.cpp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--zero-only"), std::string::npos) << r.err;
  EXPECT_FALSE(load_model(dir + "/g.gguf").config.uniform_heads());
  r = test::run_cli("export -m " + test::kDefaultModel +
                    " --criterion weight-magnitude --ratio 0.25 --scope global --zero-only -o " +
                    dir + "/z.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(load_model(dir + "/z.gguf").config.uniform_heads());
  EXPECT_NE(r.err.find("zeroed; 8 query and 8 KV heads per layer"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ss
