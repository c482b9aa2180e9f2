// Head masks at hook_z: zeroing equals removing the head's W_O slice; mean replacement uses the
// calibration mean.
#include <gtest/gtest.h>

#include "base/error.h"
#include "model/load_model.h"
#include "model/synth.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"
#include "test_fixtures.h"
#include "test_util.h"

namespace ss {
namespace {

ModelConfig tiny_mask_config() {
  ModelConfig c;
  c.dim = 32;
  c.hidden_dim = 48;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = 40;
  c.max_seq_len = 16;
  return c;
}

TEST(HeadMask, ZeroingEqualsRemovingOutputProjectionSlice) {
  Model m = load_model(test::model_bin());
  const ModelConfig& c = m.config;
  std::vector<int> ids = test::golden()["forward"]["ids"].get<std::vector<int>>();
  HeadMask mask(c);
  mask.set(2, 6, HeadAction::Zero);
  mask.set(4, 1, HeadAction::Zero);
  std::vector<float> masked = test::logits_of(m, ids, &mask);

  Model cut = clone_model(m);
  for (auto [l, h] : {std::pair{2, 6}, std::pair{4, 1}}) {
    auto* wo = reinterpret_cast<float*>(mutable_data(cut, cut.layers[l].wo));
    for (int r = 0; r < c.dim; ++r)
      for (int d = 0; d < c.head_dim; ++d) wo[r * c.q_dim() + h * c.head_dim + d] = 0.0f;
  }
  std::vector<float> removed = test::logits_of(cut, ids);
  std::vector<float> dense = test::logits_of(m, ids);
  ASSERT_EQ(masked.size(), removed.size());
  double max_diff = 0, effect = 0;
  for (size_t i = 0; i < masked.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(masked[i] - removed[i])));
    effect = std::max(effect, static_cast<double>(std::fabs(masked[i] - dense[i])));
  }
  EXPECT_LT(max_diff, 1e-5);
  EXPECT_GT(effect, 1e-3);  // the ablation did change something
}

TEST(HeadMask, MeanReplacementUsesCalibrationMean) {
  Model m = make_random_model(tiny_mask_config(), 3);
  const ModelConfig& c = m.config;
  std::vector<int> calib{1, 5, 9, 13, 17, 21, 25, 29};
  MeanZObserver mean_obs(c);
  {
    ThreadPool pool(1);
    Runtime rt(m, pool);
    rt.add_observer(&mean_obs);
    rt.forward(calib, 0, Logits::None);
  }
  std::vector<float> means = mean_obs.means();

  // Hand computation of the mean of head (1, 2) from recorded z.
  struct ZRec : Observer {
    std::vector<float> z;
    void on_z(int l, int, int n, const float* zp) override {
      if (l == 1) z.assign(zp, zp + n * 32);
    }
  } rec;
  {
    ThreadPool pool(1);
    Runtime rt(m, pool);
    rt.add_observer(&rec);
    rt.forward(calib, 0, Logits::None);
  }
  for (int d = 0; d < c.head_dim; ++d) {
    double s = 0;
    for (int t = 0; t < 8; ++t) s += rec.z[t * c.q_dim() + 2 * c.head_dim + d];
    EXPECT_NEAR(means[(1 * c.n_heads + 2) * c.head_dim + d], s / 8, 1e-6);
  }

  HeadMask mask(c);
  mask.set(1, 2, HeadAction::Mean);
  mask.set_means(means);
  struct After : Observer {
    std::vector<float> z;
    void on_z(int l, int, int n, const float* zp) override {
      if (l == 1) z.assign(zp, zp + n * 32);
    }
  } after;
  ThreadPool pool(1);
  Runtime rt(m, pool);
  rt.set_head_mask(&mask);
  rt.add_observer(&after);
  std::vector<int> other{2, 4, 6};
  rt.forward(other, 0, Logits::None);
  for (int t = 0; t < 3; ++t)
    for (int d = 0; d < c.head_dim; ++d)
      EXPECT_EQ(after.z[t * c.q_dim() + 2 * c.head_dim + d],
                means[(1 * c.n_heads + 2) * c.head_dim + d]);
}

// Masked heads nobody watches skip their attention; the logits are those of the full computation
// (an observer that wants the rows forces it).
TEST(HeadMask, SkippedAttentionOfMaskedHeadsChangesNoBit) {
  Model m = load_model(test::model_bin());
  ThreadPool pool(2);
  HeadMask mask(m.config);
  mask.set(0, 1, HeadAction::Zero);
  mask.set(2, 3, HeadAction::Zero);
  mask.set(4, 0, HeadAction::Mean);
  mask.set_means(std::vector<float>(
      static_cast<size_t>(m.config.n_layers) * m.config.n_heads * m.config.head_dim, 0.25f));
  struct Watcher : Observer {
    long rows = 0;
    bool wants_pattern(int) const override { return true; }
    void on_pattern(int, int, int, std::span<const float>) override { ++rows; }
  } watcher;
  std::vector<int> ids = {1, 40, 300, 7, 99, 250, 31, 17, 400, 5};
  Runtime skipped(m, pool, 64), computed(m, pool, 64), plain(m, pool, 64);
  skipped.set_head_mask(&mask);
  computed.set_head_mask(&mask);
  computed.add_observer(&watcher);
  const auto a = skipped.forward(ids, 0), b = computed.forward(ids, 0), c = plain.forward(ids, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);  // the mask does change the logits
  EXPECT_GT(watcher.rows, 0);
}

// Activation patching (Runtime::set_patcher): the patcher sees every hook but the pattern once
// per layer, and zeroing a head's slice of hook_z is the head mask's zeroing, bit for bit.
TEST(Patcher, ZeroingHookZEqualsTheMask) {
  Model m = load_model(test::model_bin());
  ThreadPool pool(2);
  const ModelConfig& c = m.config;
  struct ZeroHead : Patcher {
    const ModelConfig* c = nullptr;
    int calls = 0;
    void patch(Hook hook, int layer, int, int n, float* x) override {
      ++calls;
      if (hook == Hook::Z && layer == 2)
        for (int t = 0; t < n; ++t)
          std::fill_n(x + t * c->q_dim() + 3 * c->head_dim, c->head_dim, 0.0f);
    }
  } zero;
  zero.c = &c;
  HeadMask mask(c);
  mask.set(2, 3, HeadAction::Zero);
  std::vector<int> ids = {1, 40, 300, 7, 99, 250, 31, 17, 400, 5};
  Runtime patched(m, pool, 64), masked(m, pool, 64), plain(m, pool, 64);
  patched.set_patcher(&zero);
  masked.set_head_mask(&mask);
  const auto a = patched.forward(ids, 0), b = masked.forward(ids, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, plain.forward(ids, 0));
  EXPECT_EQ(zero.calls, 5 * c.n_layers);
}

TEST(HeadMask, ParseHeadList) {
  ModelConfig c = tiny_mask_config();
  auto heads = parse_head_list("0:1,1:3", c);
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[1], (std::pair{1, 3}));
  EXPECT_THROW(parse_head_list("2:0", c), InputError);
  EXPECT_THROW(parse_head_list("0-1", c), InputError);
  EXPECT_THROW(parse_head_list("0:1x", c), InputError);
}

}  // namespace
}  // namespace ss
