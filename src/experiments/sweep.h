#pragma once
// The pruning sweep: every criterion × ratio, each point evaluated on every metric and written
// at once (atomically) under DIR/points/, so a killed sweep resumes where it stopped. Scores of
// each criterion are saved in DIR/scores.json and reused by later runs with the same setup.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/cluster.h"
#include "experiments/calibrate.h"
#include "prune/criteria.h"
#include "prune/select.h"
#include "prune/sweep_result.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"

namespace ss {

// A named evaluation run on a model with a head mask already set; returns {metric: value, ...}
// (e.g. {"ppl": 4.1, "nll_mean": 1.41}). Column names become "<name>.<metric>".
struct SweepMetric {
  std::string name;
  std::function<std::map<std::string, double>(Runtime&)> run;
};

struct SweepOptions {
  std::vector<std::string> criteria;
  std::vector<double> ratios;
  PruneScope scope = PruneScope::Global;
  HeadAction mode = HeadAction::Zero;  // Zero or Mean
  bool layers = false;  // criteria of prune/layer_criteria.h, whole layers skipped at each ratio
  CalibrationData calib;
  int eval_ctx = 256;  // KV cache size for the metrics
  std::string out_dir;
  std::string setup_key;  // identifies model + calibration; scores are reused only when equal
  // Tests only: the process kills itself with SIGKILL right after writing this many new points
  // (0: never), a kill at a known point for the resume test.
  int kill_after_points = 0;
  // The ranks that share the points (null: this process alone). Only the root's result is whole.
  const Cluster* cluster = nullptr;
};

// progress(done, total) after each point. Writes sweep.json, sweep.csv and report.html too.
SweepResult run_sweep(const Model& model, ThreadPool& pool, const SweepOptions& opt,
                      const std::vector<SweepMetric>& metrics,
                      const std::function<void(int, int, const std::string&)>& progress = nullptr);

// "0.1" -> "0.1", 0.30000000000000004 -> "0.3": ratios as they are written in files.
std::string ratio_text(double r);

}  // namespace ss
