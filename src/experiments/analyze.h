#pragma once
// The `analyze` experiment: run a corpus in windows of each requested length and first-token
// mode, fold every head statistic per window, and aggregate mean and standard deviation over
// windows; with experts, also the router statistics per layer (analysis/moe_stats.h). The result
// is typed (analysis/result.h); heads.csv/json, layers.csv, massive.csv, moe.csv and report.html
// are all derived (report/analysis_json.h).
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/head_stats.h"
#include "analysis/result.h"
#include "base/cluster.h"
#include "base/thread_pool.h"
#include "experiments/pipeline.h"
#include "model/model.h"
#include "runtime/head_mask.h"

namespace ss {

// How a window begins (SPEC.md §Experiments, first-token study).
struct FirstTokenMode {
  std::string name;   // "on" (BOS first), "off" (no BOS: x_0 is text), or "first-token"
  int first_id = -1;  // the token put first; -1 for "off"
};

struct AnalyzeOptions {
  std::vector<int> contexts;  // window lengths
  int chunks = 0;             // windows per length (0: all that fit)
  std::vector<FirstTokenMode> modes;
  SinkStatsOptions stats;
  std::vector<std::pair<int, int>> dump_heads;  // --dump-attention
  int dump_window = 64;
  int pattern_window = 64;  // size of the report's picture of the strongest sink head
  const HeadMask* mask = nullptr;
  bool nll = true;  // next-token loss of every window (needs the logits of every position)
  // The ranks that share the windows (null: this process alone, base/cluster.h). Only the
  // root's result is whole; the others return what they have.
  const Cluster* cluster = nullptr;
  // With a cluster: a pipeline, one layer range per rank (experiments/pipeline.h); every rank
  // runs every window through its layers. Empty: windows are shared among the ranks instead.
  std::vector<LayerRange> pipeline;
  // --mechanism: the spike, the sparse and the sink (analysis/sink_mechanism.h) of each run. Not
  // with a pipeline (the quadratic form's second pass runs the whole model on the root).
  bool mechanism = false;
};

// Windows of `ctx` tokens over text_ids (the corpus without BOS) for one mode: the first token,
// then ctx-1 text tokens ("off": ctx text tokens). Only whole windows; at most max_windows.
std::vector<std::vector<int>> make_windows(std::span<const int> text_ids, int ctx,
                                           const FirstTokenMode& mode, int max_windows);

// progress(done, total, tokens) after each window.
AnalysisResult analyze(const Model& model, ThreadPool& pool, std::span<const int> text_ids,
                       const AnalyzeOptions& opt,
                       const std::function<void(long, long, long)>& progress = nullptr);

}  // namespace ss
