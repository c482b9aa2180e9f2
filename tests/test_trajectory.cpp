// trajectory: sink statistics of every checkpoint of a training run, ordered by step.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "experiments/trajectory.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "report/trajectory_files.h"
#include "test_util.h"
#include "train/params.h"

namespace ss {
namespace {

TEST(Trajectory, CheckpointsInStepOrderWithConsistentStats) {
  const std::string dir = test::temp_dir();
  ModelConfig c;
  c.dim = 32, c.hidden_dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.head_dim = 8;
  c.vocab_size = 512, c.max_seq_len = 64;
  const Vocab vocab = load_llama2c_vocab(test::tok_bin());
  // Two "checkpoints" with different weights; names out of order and step in metadata.
  for (int step : {20, 5}) {
    auto l = train::make_layout(c, true);
    auto p = train::init_params(l, static_cast<uint64_t>(step));
    for (size_t i = 0; i < p.size(); i += 7) p[i] *= 20;  // not quite uniform attention
    write_llama_gguf(train::model_view(l, p.data()), vocab,
                     dir + "/ckpt-" + std::string(step == 5 ? "b" : "a") + ".gguf", DType::F32, "t",
                     {{"sinkscope.train.step", GgufValue::of_u32(static_cast<uint32_t>(step))}});
  }
  auto ck = list_checkpoints(dir);
  ASSERT_EQ(ck.size(), 2u);
  EXPECT_EQ(ck[0].first, 5);
  EXPECT_EQ(ck[1].first, 20);
  SpmTokenizer tok(vocab);
  std::ifstream in(test::shared("data/text/tinystories-valid-sample.txt"));
  std::string text(4000, '\0');
  in.read(text.data(), 4000);
  auto ids = tok.encode(text, false);
  ThreadPool pool(2);
  TrajectoryOptions opt;
  opt.ctx = 64;
  opt.chunks = 2;
  opt.eps = 0.05f;
  const TrajectoryResult res = trajectory(ck, ids, tok.bos_id(), opt, pool);
  const std::vector<TrajectoryPoint>& pts = res.points;
  EXPECT_EQ(res.n_heads, 4);
  ASSERT_EQ(pts.size(), 2u);
  for (const auto& p : pts) {
    ASSERT_EQ(p.bos_sink.size(), 8u);
    int sinks = 0;
    for (double b : p.bos_sink) {
      EXPECT_GE(b, 0.0);
      EXPECT_LE(b, 1.0);
      sinks += b > opt.eps;
    }
    EXPECT_DOUBLE_EQ(p.sink_rate, sinks / 8.0);
    EXPECT_DOUBLE_EQ(p.bos_sink_max, *std::max_element(p.bos_sink.begin(), p.bos_sink.end()));
    EXPECT_GT(p.nll_mean, 0.0);
  }
  EXPECT_NE(pts[0].bos_sink, pts[1].bos_sink);
  const std::string out = dir + "/out";
  write_trajectory(out, res);
  for (const char* f : {"trajectory.csv", "trajectory_heads.csv", "trajectory.json", "report.html"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  {
    // Every curve is drawn in a colour (an empty stroke draws nothing).
    std::ifstream in(out + "/report.html");
    const std::string html(std::istreambuf_iterator<char>(in), {});
    EXPECT_NE(html.find("<polyline"), std::string::npos);
    EXPECT_EQ(html.find("stroke=\"\""), std::string::npos);
    EXPECT_EQ(html.find("fill=\"\""), std::string::npos);
  }
  // CLI: the same directory, and an empty one is a one-line input error.
  auto r = test::run_cli("trajectory --checkpoints " + dir + " -f " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --ctx 64 --chunks 2 --eps 0.05 --quiet --json --out " + dir + "/cli");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["checkpoints"].size(), 2u);
  EXPECT_EQ(j["checkpoints"][1]["step"], 20);
  r = test::run_cli("trajectory --checkpoints " + test::temp_dir() + " -f x.txt --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no .gguf checkpoints"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ss
