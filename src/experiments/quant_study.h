#pragma once
// quant-study: simulated W8A8 quantization (experiments/fake_quant.h) with and without a prefix
// of "cushion" tokens after BOS, after CushionCache (Son et al. 2024, step 1): a prefix whose
// keys and values are computed once, unquantized, can take the outliers upon itself so that the
// tokens after it quantize better. docs/quant-study.md states every convention.
//
// Windows follow eval/perplexity.h with stride = ctx: consecutive windows of ctx text tokens,
// BOS in place of the first. A prefix goes after BOS: BOS, prefix, text. The cushion is BOS and
// the prefix: its activations are not quantized, do not count in the calibration maxima or the
// statistics, and no prefix token is scored; every setting scores the same text tokens.
#include <array>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "runtime/linear_input.h"
#include "runtime/runtime.h"

namespace ss {

constexpr int kMaxPrefix = 8;

struct QuantStudyOptions {
  int ctx = 248;   // text tokens per window, BOS included
  int chunks = 8;  // windows of each text (0: all)
  int bits = 8;    // grid of weights and activations
  int bos_id = 1;
  int prefix_len = 4;   // most tokens the greedy search adds, 1..kMaxPrefix
  int candidates = 32;  // the most frequent calibration tokens it tries
};

// A prefix to evaluate: the tokens after BOS (empty: BOS alone is the cushion).
struct NamedPrefix {
  std::string name;
  std::vector<int> tokens;
};

struct LayerOutliers {
  int layer = 0;
  // The largest |h| of the residual stream after the block over the calibration windows, and the
  // median |h| of the window that holds it (analysis/massive.h).
  double resid_max = 0, resid_median = 0;
  std::array<double, kLinearSites> input_max{};  // max |x| of each linear input site
  double ratio() const { return resid_median > 0 ? resid_max / resid_median : 0.0; }
};

// One calibration pass over windows with a prefix: what the quantizer and the search read.
struct Calibrated {
  std::vector<double> maxima;  // [layer · kLinearSites + site]
  std::vector<LayerOutliers> layers;
  double objective = 0;  // the largest of maxima: the search minimises it
};

struct SettingResult {
  std::string name;
  std::vector<int> prefix;  // after BOS
  int cushion = 0;          // leading positions left unquantized: 0 ("none"), else 1 + prefix
  Calibrated calib;
  PerplexityResult fp, quant;
};

struct SearchStep {
  int token = 0;
  double objective = 0;  // with the prefix up to and including token
};

struct QuantStudyResult {
  int calib_windows = 0, eval_windows = 0;
  std::vector<int> candidates;
  double search_start = 0;  // the objective with BOS alone as cushion
  std::vector<SearchStep> search;
  std::string stop_reason;
  // "none" (no cushion: every position quantized), "bos" (BOS alone), the fixed prefixes, "search"
  std::vector<SettingResult> settings;
};

// The windows of eval/perplexity.h with stride = ctx, at most max_windows (0: all).
std::vector<std::vector<int>> text_windows(std::span<const int> stream, int ctx, int bos_id,
                                           int max_windows);

// Perplexity of the text tokens of the windows with prefix inserted after BOS (prefix tokens
// are not scored); with an empty prefix, eval/perplexity.h's figure.
PerplexityResult prefixed_perplexity(Runtime& rt, const std::vector<std::vector<int>>& windows,
                                     std::span<const int> prefix);

// One calibration pass (FP) over windows with prefix; positions before cushion are not counted.
Calibrated calibrate_inputs(Runtime& rt, ThreadPool& pool,
                            const std::vector<std::vector<int>>& windows,
                            std::span<const int> prefix, int cushion);

// The `count` most frequent tokens of stream (most frequent first, ties: lower id), BOS left out.
std::vector<int> frequent_tokens(std::span<const int> stream, int count, int bos_id);

// The whole study: the greedy search on the calibration text, then every setting ("none", "bos",
// the fixed prefixes, "search") calibrated on calib and evaluated on eval, in FP and
// fake-quantized. progress(done, total) after each forward pass over a text's windows.
QuantStudyResult quant_study(const Model& model, ThreadPool& pool, std::span<const int> calib,
                             std::span<const int> eval, const std::vector<NamedPrefix>& fixed,
                             const QuantStudyOptions& opt,
                             const std::function<void(int, int)>& progress = nullptr);

}  // namespace ss
