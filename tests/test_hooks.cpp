// The table of hook names (runtime/hooks.h): TransformerLens spellings, one per Hook, and names
// that parse back to their hook and layer.
#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "runtime/head_mask.h"
#include "runtime/hooks.h"

namespace ss {
namespace {

TEST(Hooks, TableNamesEveryHookOnceAndParsesBack) {
  EXPECT_EQ(hook_name(Hook::Z, 3), "blocks.3.attn.hook_z");
  EXPECT_EQ(hook_name(Hook::Pattern, 0), "blocks.0.attn.hook_pattern");
  EXPECT_EQ(hook_name(Hook::ResidPost, 11), "blocks.11.hook_resid_post");
  EXPECT_EQ(hook_name(Hook::MlpPost, 2), "blocks.2.mlp.hook_post");
  std::set<Hook> hooks;
  for (const HookPoint& p : hook_points()) {
    EXPECT_TRUE(hooks.insert(p.hook).second);
    for (int layer : {0, 7, 123}) {
      const auto [hook, l] = parse_hook_name(hook_name(p.hook, layer));
      EXPECT_EQ(hook, p.hook) << p.name;
      EXPECT_EQ(l, layer) << p.name;
    }
  }
  EXPECT_EQ(hooks.size(), 6u);
  for (const char* bad : {"blocks.x.attn.hook_z", "blocks..attn.hook_z", "blocks.3.attn.hook_q",
                          "block.3.attn.hook_z", "blocks.3", "", "blocks.99999999.hook_resid_pre"})
    EXPECT_THROW(parse_hook_name(bad), InputError) << bad;
}

// A head set to Mean without means is an error, not a silent zeroing.
TEST(HeadMask, MeanWithoutMeansIsRefused) {
  ModelConfig c;
  c.n_layers = 2, c.n_heads = 2, c.head_dim = 4, c.dim = 8;
  HeadMask m(c);
  m.set(1, 0, HeadAction::Mean);
  std::vector<float> z(8, 1.0f);
  EXPECT_THROW(m.apply(1, z.data(), 1), std::logic_error);
  EXPECT_THROW(m.check_means(), std::logic_error);
  m.set_means(std::vector<float>(2 * 2 * 4, 0.5f));
  m.apply(1, z.data(), 1);
  EXPECT_EQ(z[0], 0.5f);
  EXPECT_EQ(z[4], 1.0f);
}

}  // namespace
}  // namespace ss
