// Physical head removal (prune/remove_heads.h) and the scopes that allow it: a model without the
// heads gives the logits of the full model with those heads zeroed at run time, for the default
// model and GQA synth models of every architecture that allows removal (llama, qwen3, gemma2,
// gemma3, gpt-oss); sets that cannot be
// removed are refused with one line saying what to use instead. Sets whose layers lose different
// numbers of heads: tests/test_prune_per_layer.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "format/gguf.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
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

// Exports `heads` of the GGUF at `path` removed, and checks the reloaded model's head counts and
// that its logits equal runtime zeroing within 1e-5.
void expect_removal_equals_ablation(const std::string& path, const Heads& heads, int n_heads,
                                    int n_kv_heads, const std::string& label) {
  SCOPED_TRACE(label);
  const Model m = load_model(path);
  const HeadMask mask = mask_of(m.config, heads);
  const std::string out = test::temp_dir() + "/removed.gguf";
  export_pruned_gguf(m, tokenizer_metadata(GgufFile(path)), mask, out, "test", true);
  const Model pruned = load_model(out);
  EXPECT_EQ(pruned.config.n_heads, n_heads);
  EXPECT_EQ(pruned.config.n_kv_heads, n_kv_heads);
  const std::vector<int> ids = test::prompt_ids(20);
  const std::vector<float> want = logits_of(m, ids, &mask), got = logits_of(pruned, ids);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
  EXPECT_LT(fs::file_size(out), fs::file_size(path));
  GgufFile g(out);
  EXPECT_EQ(g.get_string_array("sinkscope.pruned_heads").size(), heads.size());
  EXPECT_TRUE(g.get_bool("sinkscope.prune_physical", false));
}

// Every layer of a c-shaped model loses the query heads `per_layer`.
Heads every_layer(const ModelConfig& c, const std::vector<int>& per_layer) {
  Heads heads;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h : per_layer) heads.emplace_back(l, h);
  return heads;
}

TEST(PrunePhysical, DefaultModelEqualsAblation) {
  const Model m = load_model(test::kDefaultModel);
  const ModelConfig& c = m.config;
  ASSERT_EQ(c.n_heads, 8);
  ASSERT_EQ(c.n_kv_heads, 8);
  const Heads heads = select_heads(weight_magnitude(m), c, 0.25, PruneScope::PerLayer);
  ASSERT_EQ(heads.size(), 2u * c.n_layers);
  expect_removal_equals_ablation(test::kDefaultModel, heads, 6, 6,
                                 "weight-magnitude 25% per layer");
  // And smaller than the zero-only export of the same heads, which keeps every head.
  const std::string dir = test::temp_dir();
  const HeadMask mask = mask_of(c, heads);
  const GgufMetadata tok = tokenizer_metadata(GgufFile(test::kDefaultModel));
  export_pruned_gguf(m, tok, mask, dir + "/zero.gguf", "test", false);
  export_pruned_gguf(m, tok, mask, dir + "/removed.gguf", "test", true);
  EXPECT_LT(fs::file_size(dir + "/removed.gguf"), fs::file_size(dir + "/zero.gguf"));
  EXPECT_EQ(load_model(dir + "/zero.gguf").config.n_heads, c.n_heads);
}

// Mean mode: the removed heads' constant output stays in attn_output.bias.
TEST(PrunePhysical, MeanModeKeepsTheConstant) {
  const Model m = load_model(test::kDefaultModel);
  const ModelConfig& c = m.config;
  const Heads heads = every_layer(c, {0});
  HeadMask mask(c);
  for (auto [l, h] : heads) mask.set(l, h, HeadAction::Mean);
  std::vector<float> means(static_cast<size_t>(c.n_layers) * c.q_dim());
  for (size_t i = 0; i < means.size(); ++i) means[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  mask.set_means(means);
  const std::string out = test::temp_dir() + "/mean.gguf";
  export_pruned_gguf(m, tokenizer_metadata(GgufFile(test::kDefaultModel)), mask, out, "test", true);
  const Model pruned = load_model(out);
  EXPECT_EQ(pruned.config.n_heads, c.n_heads - 1);
  const std::vector<int> ids = test::prompt_ids(20);
  const std::vector<float> want = logits_of(m, ids, &mask), got = logits_of(pruned, ids);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
}

// GQA synth models (4 query heads, 2 KV heads): the same number from each group, or whole groups.
TEST(PrunePhysical, GqaSynthEqualsAblation) {
  for (const char* arch : {"llama", "qwen3", "gemma2", "gemma3", "gpt-oss"}) {
    const std::string path = test::synth_model(arch, "", 7);
    const ModelConfig c = load_model(path).config;
    ASSERT_EQ(c.n_heads, 4);
    ASSERT_EQ(c.n_kv_heads, 2);
    expect_removal_equals_ablation(path, every_layer(c, {1, 2}), 2, 2,
                                   std::string(arch) + " per group");
    expect_removal_equals_ablation(path, every_layer(c, {0, 1}), 2, 1,
                                   std::string(arch) + " group 0");
  }
}

// Each attention variant of sinkscope.attention: removing heads (a whole KV group too, with its
// sink key and value) equals zeroing them, so the pruned file keeps the variant.
TEST(PrunePhysical, AttentionVariantsEqualAblation) {
  for (const char* kind : {"softmax1", "sigmoid", "sink-logit", "sink-kv"}) {
    const std::string path = test::synth_model("llama", std::string("--attention ") + kind, 7);
    const ModelConfig c = load_model(path).config;
    expect_removal_equals_ablation(path, every_layer(c, {1, 2}), 2, 2,
                                   std::string(kind) + " per group");
    expect_removal_equals_ablation(path, every_layer(c, {0, 1}), 2, 1,
                                   std::string(kind) + " group 0");
  }
}

// A Q8_0 W_O keeps its type when the removed heads are whole blocks (head_dim 32 = one block), so
// the file shrinks by exactly the removed blocks and the kept values do not move; a Q4_K W_O (256
// per block, 8 heads) cannot be cut that way and is written as F32, as before.
TEST(PrunePhysical, BlockQuantizedWoKeepsItsTypeOnWholeBlocks) {
  const std::string path = test::synth_model("llama", "--shape small --dtype q8_0", 7);
  const Model m = load_model(path);
  const ModelConfig& c = m.config;
  ASSERT_EQ(c.head_dim, 32);
  ASSERT_EQ(m.layers[0].wo.type, DType::Q8_0);
  const Heads heads = every_layer(c, {1, 3, 5, 7});  // one of each KV group's two heads
  expect_removal_equals_ablation(path, heads, 4, 4, "q8_0 per group");
  const std::string out = test::temp_dir() + "/q8.gguf";
  export_pruned_gguf(m, tokenizer_metadata(GgufFile(path)), mask_of(c, heads), out, "test", true);
  const Model pruned = load_model(out);
  for (int l = 0; l < c.n_layers; ++l) {
    const Tensor& a = m.layers[l].wo;
    const Tensor& b = pruned.layers[l].wo;
    ASSERT_EQ(b.type, DType::Q8_0);
    ASSERT_EQ(b.cols(), 4 * 32);
    // Row r keeps blocks 0, 2, 4, 6 of the source row, byte for byte (34 bytes per Q8_0 block).
    for (int64_t r = 0; r < b.rows(); ++r)
      for (int k = 0; k < 4; ++k)
        ASSERT_EQ(std::memcmp(b.row(r) + k * 34, a.row(r) + 2 * k * 34, 34), 0) << l << " " << r;
  }
}

TEST(PrunePhysical, RefusesSetsItCannotRemove) {
  ModelConfig c = synth_shape("llama", "tiny");  // 2 layers, 4 query heads, 2 KV heads
  auto message = [&](const Heads& heads) { return head_removal_problem(c, heads).message(); };
  EXPECT_FALSE(head_removal_problem(c, {}));
  EXPECT_FALSE(head_removal_problem(c, every_layer(c, {0, 3})));
  // Part of one group: whole groups or the same number from each.
  std::string m = message(every_layer(c, {0}));
  EXPECT_NE(m.find("part of a KV group"), std::string::npos) << m;
  EXPECT_NE(m.find("--scope group"), std::string::npos) << m;
  EXPECT_NE(m.find("--zero-only"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  // Different counts per layer: removable, with per-layer head counts
  // (tests/test_prune_per_layer.cpp).
  EXPECT_FALSE(head_removal_problem(c, {{0, 0}, {0, 2}}));
  EXPECT_FALSE(removal_keeps_one_head_count(c, {{0, 0}, {0, 2}}));
  EXPECT_TRUE(removal_keeps_one_head_count(c, every_layer(c, {0, 2})));
  // Every head of a layer.
  m = message({{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {1, 2}, {1, 3}});
  EXPECT_NE(m.find("layer 0 would lose all its 4 heads"), std::string::npos) << m;
  EXPECT_NE(m.find("--drop-layers 0"), std::string::npos) << m;
  // q/k norms over the whole projection; a query width llama.cpp takes from embedding_length.
  for (const char* arch : {"olmo2", "qwen2", "gpt2", "phi3", "gptneox"}) {
    ModelConfig a = synth_shape(arch, "tiny");
    const HeadRemovalProblem p = head_removal_problem(a, every_layer(a, {0}));
    EXPECT_TRUE(p) << arch;
    EXPECT_NE(p.message().find("; use --zero-only"), std::string::npos) << p.message();
  }
  c.vocab_size = 16, c.max_seq_len = 8;
  EXPECT_THROW(remove_heads(make_random_model(c, 1), every_layer(c, {0}), "x.gguf"), InputError);
}

TEST(PrunePhysical, PerGroupAndGroupScopes) {
  ModelConfig c;
  c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2;
  std::vector<double> r = {0.1, 0.9, 0.5, 0.4, 0.8, 0.0, 0.7, 0.75};
  // per-group: round(0.5 * 2) = 1 head of each group, its most removable.
  EXPECT_EQ(select_heads(r, c, 0.5, PruneScope::PerGroup), (Heads{{0, 1}, {0, 2}, {1, 0}, {1, 3}}));
  // group: round(0.5 * 2) = 1 group per layer, of the higher mean (0.5 vs 0.45; 0.4 vs 0.725).
  EXPECT_EQ(select_heads(r, c, 0.5, PruneScope::Group), (Heads{{0, 0}, {0, 1}, {1, 2}, {1, 3}}));
  EXPECT_FALSE(head_removal_problem(c, select_heads(r, c, 0.5, PruneScope::PerGroup)));
  EXPECT_FALSE(head_removal_problem(c, select_heads(r, c, 0.5, PruneScope::Group)));
  EXPECT_EQ(select_heads(r, c, 0.0, PruneScope::Group).size(), 0u);
  c.n_kv_heads = 4;
  EXPECT_THROW(select_heads(r, c, 0.5, PruneScope::PerGroup), InputError);
  EXPECT_EQ(parse_prune_scope("per-group", "--scope"), PruneScope::PerGroup);
  EXPECT_THROW(parse_prune_scope("layer", "--scope"), InputError);
}

// Through the CLI: removal by default when the set allows it, a note and zeroing when not, an
// error with --physical; the removed model also survives the Hugging Face folder format.
TEST(Cli, ExportRemovesHeadsWhenItCan) {
  const std::string src = test::synth_model("llama", "", 7), dir = test::temp_dir();
  auto r = test::run_cli("export -m " + src + " --criterion weight-magnitude --ratio 0.5 --scope " +
                         "group -o " + dir + "/group.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("removed; 2 query and 1 KV heads per layer"), std::string::npos) << r.err;
  EXPECT_EQ(load_model(dir + "/group.gguf").config.n_kv_heads, 1);

  r = test::run_cli("export -m " + src + " --prune-heads 0:0,1:0 -o " + dir + "/part.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("note: "), std::string::npos) << r.err;
  EXPECT_EQ(load_model(dir + "/part.gguf").config.n_heads, 4);

  r = test::run_cli("export -m " + src + " --prune-heads 0:0,1:0 --physical -o " + dir + "/x.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("use --scope group, --scope per-group or --zero-only"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/x.gguf"));

  r = test::run_cli("export -m " + src + " --prune-heads 0:1,0:3,1:0,1:2 --zero-only -o " + dir +
                    "/zero.gguf --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_model(dir + "/zero.gguf").config.n_heads, 4);

  // The Hugging Face folder of the removed model runs as the GGUF does.
  r = test::run_cli("convert -m " + dir + "/group.gguf --format safetensors -o " + dir +
                    "/group.hf --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<int> ids = test::prompt_ids(12);
  EXPECT_EQ(logits_of(load_model(dir + "/group.hf"), ids),
            logits_of(load_model(dir + "/group.gguf"), ids));
}

// Bad input: every head of a layer cannot be removed (the layer would have none): --physical is a
// one-line error pointing at --drop-layers; without it the heads are zeroed, with a note.
TEST(Cli, ExportEveryHeadOfALayer) {
  const std::string dir = test::temp_dir();
  std::string all;
  for (int h = 0; h < 8; ++h) {
    if (h) all += ',';
    all += "1:";
    all += std::to_string(h);
  }
  auto r = test::run_cli("export -m " + test::kDefaultModel + " --prune-heads " + all +
                         " --physical -o " + dir + "/x.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("layer 1 would lose all its 8 heads; use --drop-layers 1 or --zero-only"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/x.gguf"));
  r = test::run_cli("export -m " + test::kDefaultModel + " --prune-heads " + all + " -o " + dir +
                    "/z.gguf");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("note: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("8 heads zeroed"), std::string::npos) << r.err;
  EXPECT_EQ(load_model(dir + "/z.gguf").config.n_heads, 8);
}

}  // namespace
}  // namespace ss
