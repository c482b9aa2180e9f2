// The attention variants of sinkscope.attention (softmax1, sigmoid, sink-logit, sink-kv) in whole
// models: their identities with plain softmax and with each other, their statistics, their GGUF
// storage and the one-line errors of broken files.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "analysis/head_stats.h"
#include "base/error.h"
#include "format/gguf.h"
#include "model/attention_kind.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "model/synth.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"

namespace ss {
namespace {

struct RunOut {
  std::vector<float> logits;
  HeadTable stats;
};

// Logits of every position and the per-head statistics of one window over ids.
RunOut run_window(const Model& m, const std::vector<int>& ids, int threads = 2) {
  ThreadPool pool(threads);
  Runtime rt(m, pool, 64);
  SinkStatsObserver obs(m, {});
  rt.add_observer(&obs);
  obs.begin_window(static_cast<int>(ids.size()));
  RunOut o;
  o.logits = rt.forward(ids, 0, Logits::All);
  o.stats = obs.finish_window();
  return o;
}

Model random_llama(uint64_t seed) {
  ModelConfig c = synth_shape("llama", "tiny");
  c.vocab_size = 512;
  return make_random_model(c, seed);
}

// plain's weights under another attention variant, every sink logit `logit`, every element of
// the sink keys and values `key` and `value`.
Model as_variant(const Model& plain, AttentionKind kind, float logit = 0, float key = 0,
                 float value = 0) {
  Model m = clone_model(plain);
  const ModelConfig& c = m.config;
  m.config.attention = kind;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights& w = m.layers[l];
    if (kind == AttentionKind::SinkLogit)
      w.attn_sinks = add_owned_f32(m, b + "attn_sinks.weight", {c.n_heads},
                                   std::vector<float>(c.n_heads, logit));
    if (kind == AttentionKind::SinkKv) {
      const std::vector<int64_t> ne{c.head_dim, c.n_kv_heads};
      w.attn_sink_k =
          add_owned_f32(m, b + "attn_sink_k.weight", ne, std::vector<float>(c.kv_dim(), key));
      w.attn_sink_v =
          add_owned_f32(m, b + "attn_sink_v.weight", ne, std::vector<float>(c.kv_dim(), value));
    }
  }
  validate_model(m);
  return m;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// A learned sink logit of −∞ is plain softmax bit for bit: logits and every statistic
// (learned_sink_mass exactly 0), on one thread and on three; a finite logit is not.
TEST(AttentionVariants, SinkLogitOfMinusInfinityIsSoftmaxBitForBit) {
  const Model plain = random_llama(7);
  const Model inf = as_variant(plain, AttentionKind::SinkLogit, -INFINITY);
  const std::vector<int> ids = test::prompt_ids(40);
  for (int threads : {1, 3}) {
    const RunOut a = run_window(plain, ids, threads), b = run_window(inf, ids, threads);
    EXPECT_EQ(a.logits, b.logits) << threads;
    ASSERT_EQ(a.stats.size(), b.stats.size());
    for (const auto& [name, values] : a.stats) EXPECT_EQ(values, b.stats.at(name)) << name;
    for (double m : b.stats.at("learned_sink_mass")) EXPECT_EQ(m, 0.0);
  }
  const RunOut finite = run_window(as_variant(plain, AttentionKind::SinkLogit, 0.5f), ids);
  EXPECT_NE(finite.logits, run_window(plain, ids).logits);
  for (double m : finite.stats.at("learned_sink_mass")) EXPECT_GT(m, 0.0);
}

// softmax1 is one more key of logit 0 with a zero value: sink-kv with a zero key and value gives
// its logits and statistics (within 1e-6), learned_sink_mass included; a nonzero sink value
// changes the output but not the probabilities.
TEST(AttentionVariants, Softmax1IsSinkKvWithZeroKeyAndValue) {
  const Model plain = random_llama(11);
  const std::vector<int> ids = test::prompt_ids(40);
  const RunOut s1 = run_window(as_variant(plain, AttentionKind::Softmax1), ids);
  const RunOut kv0 = run_window(as_variant(plain, AttentionKind::SinkKv), ids);
  ASSERT_EQ(s1.logits.size(), kv0.logits.size());
  for (size_t i = 0; i < s1.logits.size(); ++i) ASSERT_NEAR(s1.logits[i], kv0.logits[i], 1e-6) << i;
  for (const auto& [name, values] : s1.stats)
    EXPECT_LE(max_diff(values, kv0.stats.at(name)), 1e-6 * std::max(1.0, std::fabs(values[0])))
        << name;
  double mass = 0;
  for (double m : s1.stats.at("learned_sink_mass")) {
    EXPECT_GT(m, 0.0);
    EXPECT_LT(m, 1.0);
    mass += m;
  }
  EXPECT_GT(mass / static_cast<double>(s1.stats.at("learned_sink_mass").size()), 1e-3);
  const RunOut plain_out = run_window(plain, ids);
  EXPECT_GT(max_diff(plain_out.stats.at("bos_sink_score"), s1.stats.at("bos_sink_score")), 1e-4);

  const RunOut kv_v = run_window(as_variant(plain, AttentionKind::SinkKv, 0, 0, 0.5f), ids);
  EXPECT_NE(kv_v.logits, kv0.logits);
  // Layer 0's probabilities do not see the value; the layers after it see its output.
  const std::vector<double>& a = kv_v.stats.at("learned_sink_mass");
  const std::vector<double>& b = kv0.stats.at("learned_sink_mass");
  const size_t H = static_cast<size_t>(plain.config.n_heads);
  for (size_t h = 0; h < H; ++h) EXPECT_NEAR(a[h], b[h], 1e-12) << h;
  EXPECT_NE(std::vector<double>(a.begin() + H, a.end()),
            std::vector<double>(b.begin() + H, b.end()));
}

// Sigmoid rows are reported as shares of their sum: statistics of a distribution (first_k_mass at
// most 1, no sink mass); their z is Σ σ·v, so the logits differ from softmax's.
TEST(AttentionVariants, SigmoidStatisticsUseEachRowsShare) {
  const Model plain = random_llama(13);
  const std::vector<int> ids = test::prompt_ids(40);
  const RunOut sig = run_window(as_variant(plain, AttentionKind::Sigmoid), ids);
  for (double m : sig.stats.at("learned_sink_mass")) EXPECT_EQ(m, 0.0);
  for (double f : sig.stats.at("first_k_mass")) {
    EXPECT_GT(f, 0.0);
    EXPECT_LE(f, 1.0 + 1e-9);
  }
  // Row 0 has one key: its share is 1 whatever σ is, so BOS's mean share is above 1/T.
  for (double b : sig.stats.at("bos_sink_score")) EXPECT_GT(b, 1.0 / 40);
  EXPECT_NE(sig.logits, run_window(plain, ids).logits);
  // The same bits on one thread and on three.
  const RunOut one = run_window(as_variant(plain, AttentionKind::Sigmoid), ids, 1);
  EXPECT_EQ(one.logits, sig.logits);
  EXPECT_EQ(one.stats, sig.stats);
}

// synth --attention writes each variant with its sinkscope.attention key and tensors; the loader
// reads it back and info names it; a file without the key is softmax.
TEST(AttentionVariants, GgufKeepsTheVariantAndInfoPrintsIt) {
  for (const char* name : {"softmax1", "sigmoid", "sink-logit", "sink-kv"}) {
    const std::string path = test::synth_model("llama", std::string("--attention ") + name, 7);
    const Model m = load_model(path);
    EXPECT_EQ(attention_kind_name(m.config.attention), std::string(name));
    EXPECT_EQ(m.layers[1].attn_sinks.data != nullptr, std::string(name) == "sink-logit");
    EXPECT_EQ(m.layers[1].attn_sink_k.data != nullptr, std::string(name) == "sink-kv");
    EXPECT_EQ(GgufFile(path).get_string(kAttentionKey), name);
    auto r = test::run_cli("info -m " + path);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("attention     ") + name + " (sinkscope.attention)"),
              std::string::npos)
        << r.out;
  }
  const std::string plain = test::synth_model("llama", "", 7);
  EXPECT_FALSE(GgufFile(plain).has(kAttentionKey));
  EXPECT_EQ(load_model(plain).config.attention, AttentionKind::Softmax);
  EXPECT_EQ(test::run_cli("info -m " + plain).out.find(kAttentionKey), std::string::npos);
}

// quantize keeps sink-kv's key and value in f32 (llama.cpp's categories would take them for
// matrices), so the quantized model loads and keeps its variant.
TEST(AttentionVariants, QuantizeKeepsTheSinkKeyAndValueF32) {
  const std::string src = test::synth_model("llama", "--attention sink-kv --shape small", 7);
  const std::string out = test::temp_dir() + "/sink-kv-q8_0.gguf";
  auto r = test::run_cli("quantize -m " + src + " --type q8_0 -o " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const Model m = load_model(out);
  EXPECT_EQ(m.config.attention, AttentionKind::SinkKv);
  EXPECT_EQ(m.layers[0].wq.type, DType::Q8_0);
  EXPECT_EQ(m.layers[0].attn_sink_k.type, DType::F32);
  EXPECT_EQ(m.layers[0].attn_sink_v.type, DType::F32);
}

// Broken variant files: one line naming the file and the key or tensor.
TEST(AttentionVariants, BadVariantFilesAreOneLineErrors) {
  auto expect_error = [](const std::string& path, const std::string& want) {
    try {
      load_model(path);
      ADD_FAILURE() << "loaded " << path << ", wanted: " << want;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(want), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const std::string dir = test::temp_dir();
  auto rewrite = [&](const std::string& extra, const std::function<void(Model&)>& edit,
                     const GgufMetadata& keys = {}) {
    const std::string src = test::synth_model("llama", extra, 7);
    Model m = clone_model(load_model(src));
    edit(m);
    const std::string path = dir + "/variant-broken.gguf";
    write_model_gguf(m, tokenizer_metadata(GgufFile(src)), path, std::nullopt, "", keys);
    return path;
  };
  std::string p = rewrite("", [](Model&) {}, {{kAttentionKey, GgufValue::of_string("cosine")}});
  expect_error(p, p + ": sinkscope.attention 'cosine' is not an attention variant (softmax, "
                      "softmax1, sigmoid, sink-logit, sink-kv)");
  p = rewrite("--attention sink-kv", [](Model& m) { --m.layers[1].attn_sink_k.ne[0]; });
  expect_error(p, p + ": tensor blk.1.attn_sink_k.weight has shape [15, 2], expected [16, 2]");
  p = rewrite("--attention sink-kv", [](Model& m) { m.layers[0].attn_sink_v.ne = {16, 1}; });
  expect_error(p, p + ": tensor blk.0.attn_sink_v.weight has shape [16, 1], expected [16, 2]");
  p = rewrite("", [](Model&) {}, {{kAttentionKey, GgufValue::of_string("sink-kv")}});
  expect_error(p, p + ": sink-kv attention needs tensor blk.0.attn_sink_k.weight "
                      "(sinkscope.attention)");
  p = rewrite("--attention sink-logit", [](Model&) {},
              {{kAttentionKey, GgufValue::of_string("softmax")}});
  expect_error(p, p + ": tensor blk.0.attn_sinks.weight belongs to another attention variant "
                      "than softmax (sinkscope.attention)");
  auto r = test::run_cli("synth --arch llama --attention cosine --vocab " + test::tok_bin() +
                         " -o " + dir + "/x.gguf");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--attention: unknown attention variant 'cosine' (softmax, softmax1, "
                       "sigmoid, sink-logit, sink-kv)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ss
