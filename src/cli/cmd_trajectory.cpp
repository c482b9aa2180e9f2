// sinkscope trajectory: sink statistics and dormant heads of every checkpoint of a training run.
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/trajectory.h"
#include "model/load_model.h"
#include "report/trajectory_files.h"

namespace ss::cli {

namespace {
struct TrajectoryArgs {
  std::string dir, file, tokenizer, out = "trajectory", dormant = "ahon_ln=0.1";
  TrajectoryOptions opt;
  int threads = 0;
  bool quiet = false, json = false;
};
}  // namespace

void add_trajectory(CLI::App& root) {
  auto a = std::make_shared<TrajectoryArgs>();
  CLI::App* cmd = root.add_subcommand(
      "trajectory",
      "Sink statistics over training: analyze every GGUF checkpoint in --checkpoints (ordered by "
      "training step) on --file in windows of --ctx tokens with BOS first; writes "
      "trajectory.csv, trajectory_heads.csv, trajectory.json and report.html (curves over steps) "
      "to --out");
  cmd->add_option("--checkpoints", a->dir, "Directory of checkpoints (train's OUT/checkpoints)")
      ->required();
  cmd->add_option("-f,--file", a->file, "Text to analyze (UTF-8)")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "Tokenizer (default: the first checkpoint's)");
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_option("--ctx", a->opt.ctx, "Window length")->capture_default_str()->check(at_least(1));
  cmd->add_option("--chunks", a->opt.chunks, "Windows per checkpoint")->capture_default_str();
  cmd->add_option("--eps", a->opt.eps, "Sink head: bos_sink_score > eps")->capture_default_str();
  cmd->add_option("--dormant-threshold", a->dormant, "Dormant heads: SCORE=θ")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Worker threads (0: all cores)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_flag("--quiet", a->quiet, "No progress output on stderr");
  cmd->add_flag("--json", a->json, "Print trajectory.json on stdout");
  cmd->callback([a] {
    require(a->opt.ctx >= 2, "--ctx", "must be at least 2");
    require(a->opt.chunks >= 1, "--chunks", "must be at least 1");
    a->opt.dormant = parse_dormant_threshold(a->dormant, "--dormant-threshold");
    auto ckpts = list_checkpoints(a->dir);
    SpmTokenizer tok = load_tokenizer(ckpts.front().second, a->tokenizer);
    std::vector<int> ids = tok.encode(read_text(a->file).text, false);
    require(ids.size() + 1 >= static_cast<size_t>(a->opt.ctx), a->file,
            "shorter than one window of --ctx tokens");
    ThreadPool pool(a->threads);
    Progress bar("trajectory", !a->quiet);
    const TrajectoryResult res = trajectory(ckpts, ids, tok.bos_id(), a->opt, pool,
                                            [&](int done, int total) { bar.update(done, total); });
    bar.finish();
    write_trajectory(a->out, res);
    const std::vector<TrajectoryPoint>& pts = res.points;
    if (a->json) {
      std::cout << to_json(res).dump(2) << "\n";
      return;
    }
    std::printf("%8s %10s %10s %12s %13s %8s %9s\n", "step", "sink_rate", "rate_0.8",
                "bos_sink_max", "bos_sink_mean", "dormant", "nll_mean");
    for (const auto& p : pts)
      std::printf("%8lld %10.4f %10.4f %12.4f %13.4f %8zu %9.4f\n", static_cast<long long>(p.step),
                  p.sink_rate, p.sink_rate_08, p.bos_sink_max, p.bos_sink_mean, p.dormant.size(),
                  p.nll_mean);
    std::printf("wrote %s/report.html\n", a->out.c_str());
  });
}

}  // namespace ss::cli
