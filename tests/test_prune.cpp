// Pruning: head selection, criteria, exported pruned models, and a sweep that survives SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/text_file.h"
#include "eval/perplexity.h"
#include "experiments/calibrate.h"
#include "format/gguf.h"
#include "model/load_model.h"
#include "model/synth.h"
#include "prune/criteria.h"
#include "prune/export_pruned.h"
#include "prune/select.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

ModelConfig config_2x4() {
  ModelConfig c;
  c.n_layers = 2;
  c.n_heads = 4;
  return c;
}

TEST(Prune, SelectGlobalAndPerLayer) {
  ModelConfig c = config_2x4();
  std::vector<double> r = {0.1, 0.9, 0.5, 0.5, 0.8, 0.0, 0.7, 0.2};
  EXPECT_EQ(select_heads(r, c, 0.0, PruneScope::Global).size(), 0u);
  // round(0.25 * 8) = 2: the two most removable.
  EXPECT_EQ(select_heads(r, c, 0.25, PruneScope::Global),
            (std::vector<std::pair<int, int>>{{0, 1}, {1, 0}}));
  // Ties (0:2 and 0:3 at 0.5) go to the lower index.
  EXPECT_EQ(select_heads(r, c, 0.5, PruneScope::Global),
            (std::vector<std::pair<int, int>>{{0, 1}, {0, 2}, {1, 0}, {1, 2}}));
  EXPECT_EQ(select_heads(r, c, 0.25, PruneScope::PerLayer),
            (std::vector<std::pair<int, int>>{{0, 1}, {1, 0}}));
  EXPECT_EQ(select_heads(r, c, 0.5, PruneScope::PerLayer),
            (std::vector<std::pair<int, int>>{{0, 1}, {0, 2}, {1, 0}, {1, 2}}));
  EXPECT_EQ(select_heads(r, c, 1.0, PruneScope::Global).size(), 8u);
}

TEST(Prune, WeightMagnitudeByHand) {
  ModelConfig c;
  c.dim = 32, c.hidden_dim = 32, c.n_layers = 1, c.n_heads = 4, c.n_kv_heads = 2, c.head_dim = 8;
  c.vocab_size = 8, c.max_seq_len = 8;
  Model m = make_random_model(c, 5);
  auto w = weight_magnitude(m);
  const auto& L = m.layers[0];
  auto sq = [](const Tensor& t, int r0, int r1, int c0, int c1) {
    double s = 0;
    for (int r = r0; r < r1; ++r)
      for (int k = c0; k < c1; ++k)
        s += double(t.f32()[r * t.cols() + k]) * t.f32()[r * t.cols() + k];
    return s;
  };
  // Head 3 uses KV head 1 (2 query heads per KV head).
  double expect = sq(L.wq, 24, 32, 0, 32) + sq(L.wo, 0, 32, 24, 32) +
                  (sq(L.wk, 8, 16, 0, 32) + sq(L.wv, 8, 16, 0, 32)) / 2;
  EXPECT_NEAR(w[3], expect, 1e-9 * expect);
}

TEST(Prune, CriteriaRankEveryHead) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  ThreadPool pool(2);
  const CalibrationData data{
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), false), 64,
      2, tok.bos_id(), 3};
  Calibration calib(m, pool, data);
  CriterionInputs in = calib.criterion_inputs();
  for (const auto& name : {"bos-sink", "weight-magnitude", "activation-magnitude", "random",
                           "dormant:ahon_ln", "dormant:awft"}) {
    auto r = removability(m, name, in);
    ASSERT_EQ(r.size(), 40u) << name;
  }
  // bos-sink removability is the calibration bos_sink_score; dormant:awft is the same score.
  EXPECT_EQ(removability(m, "bos-sink", in), removability(m, "dormant:awft", in));
  // The statistics come from one analysis, kept: a fresh calibration gives the same bits.
  Calibration fresh(m, pool, data);
  EXPECT_EQ(removability(m, "dormant:ahon_ln", in),
            removability(m, "dormant:ahon_ln", fresh.criterion_inputs()));
  EXPECT_EQ(calib.stat_means("bos_sink_score"), in.stat_means("bos_sink_score"));
  EXPECT_THROW(calib.stat_means("no_such_statistic"), InputError);
  EXPECT_EQ(removability(m, "random", in), removability(m, "random", in));
  in.seed = 4;
  auto other = removability(m, "random", in);
  in.seed = 3;
  EXPECT_NE(removability(m, "random", in), other);
}

// The exported GGUF of every golden ablation gives the runtime ablation's NLL (zero mode), and a
// mean-mode export equals runtime mean replacement.
TEST(Prune, ExportedGgufEqualsRuntimeAblation) {
  Model m = load_model(test::model_bin());
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  std::vector<int> ids =
      tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), true);
  ThreadPool pool(2);
  auto nll = [&](const Model& model, const HeadMask* mask) {
    Runtime rt(model, pool, 256);
    rt.set_head_mask(mask);
    return perplexity(rt, ids, 256, tok.bos_id(), 1).nll_mean;
  };
  std::string dir = test::temp_dir();
  for (const auto& ab : test::golden()["ablation"]) {
    HeadMask mask(m.config);
    for (const auto& lh : ab["zeroed_heads"]) mask.set(lh[0], lh[1], HeadAction::Zero);
    export_pruned_gguf(m, vocab_metadata(tok.vocab()), mask, dir + "/p.gguf", "test");
    Model pruned = load_model(dir + "/p.gguf");
    EXPECT_NEAR(nll(pruned, nullptr), ab["nll_mean"].get<double>(), 1e-5) << ab.dump();
    GgufFile g(dir + "/p.gguf");
    EXPECT_EQ(g.get_string_array("sinkscope.pruned_heads").size(), ab["zeroed_heads"].size());
  }
  Calibration calib(
      m, pool,
      {tok.encode(read_text_file(test::shared("data/text/tinystories-valid-sample.txt")), false),
       128, 2, tok.bos_id(), 0});
  HeadMask mean_mask(m.config);
  mean_mask.set(1, 3, HeadAction::Mean);
  mean_mask.set(3, 0, HeadAction::Mean);
  mean_mask.set_means(calib.z_means());
  export_pruned_gguf(m, vocab_metadata(tok.vocab()), mean_mask, dir + "/mean.gguf", "test");
  Model pruned = load_model(dir + "/mean.gguf");
  ASSERT_TRUE(pruned.layers[1].bo.data);
  const double runtime = nll(m, &mean_mask), exported = nll(pruned, nullptr);
  EXPECT_NEAR(exported, runtime, 1e-5);
  EXPECT_GT(std::fabs(runtime - nll(m, nullptr)), 1e-4);  // mean replacement changed something
}

using test::slurp;

// A sweep killed with SIGKILL midway and resumed writes the same sweep.csv as an uninterrupted run.
TEST(Prune, SweepResumesAfterSigkill) {
  const std::string dir = test::temp_dir();
  const std::string args =
      std::string(SINKSCOPE_BIN) + " prune -m " + test::model_bin() + " --tokenizer " +
      test::tok_bin() +
      " --criteria "
      "bos-sink,weight-magnitude,activation-magnitude,random,ablation-delta,dormant:ahon_ln"
      " --ratios 0,0.1,0.2,0.3,0.4,0.5 --calib " +
      test::shared("data/text/tinystories-valid-sample.txt") +
      " --calib-ctx 64 --calib-chunks 1 --eval ppl:" +
      test::shared("data/text/tinystories-valid-sample.txt") +
      " --eval-ctx 128 --eval-chunks 2 --eval mc:" + test::shared("data/mc/arc_easy.jsonl") +
      " --limit 8 --threads 2 --quiet --out ";
  ASSERT_EQ(std::system((args + dir + "/full").c_str()), 0);

  // Killed (SIGKILL, by itself) right after its 8th point reached the disk: a kill at a known
  // point, not a race with a poll.
  const int status = std::system((args + dir + "/killed --kill-after-points 8").c_str());
  ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL))
      << "status " << status;
  size_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "killed" / "points"))
    on_disk += e.path().extension() == ".json";
  EXPECT_EQ(on_disk, 8u);
  EXPECT_FALSE(fs::exists(fs::path(dir) / "killed" / "sweep.csv"));
  ASSERT_EQ(std::system((args + dir + "/killed").c_str()), 0);
  EXPECT_EQ(slurp(dir + "/killed/sweep.csv"), slurp(dir + "/full/sweep.csv"));
  EXPECT_NE(slurp(dir + "/full/sweep.csv").find("ablation-delta,0.5,20,"), std::string::npos);

  // Another setup in the same directory is refused.
  auto r = test::run_cli("prune -m " + test::model_bin() + " --tokenizer " + test::tok_bin() +
                         " --criteria random --ratios 0.1 --calib " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --eval ppl:" + test::shared("data/text/tinystories-valid-sample.txt") +
                         " --quiet --out " + dir + "/full");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("other settings"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ss
