#pragma once
// The typed result of an analysis (experiments/analyze.h): runs of one window length and
// first-token mode each, with every head's statistics aggregated over windows. report/ turns it
// into JSON, CSV and HTML (report/analysis_json.h); nothing reads statistics by string key.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/massive.h"
#include "analysis/moe_stats.h"
#include "analysis/sink_mechanism.h"
#include "analysis/statistics.h"

namespace ss {

// Index of a statistic in statistics(); std::logic_error for a name not in the registry (a
// programming error: names on the command line are checked against the registry first).
inline size_t stat_index(std::string_view name) {
  const auto& t = statistics();
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i].name == name) return i;
  throw std::logic_error("no statistic named " + std::string(name));
}

struct HeadResult {
  int layer = 0, head = 0;
  // Per statistic, in statistics() order: the mean over windows and its sample standard
  // deviation; for a Mode statistic (top_key) the value most often seen, and no deviation.
  std::vector<double> mean, stddev;
  bool is_sink = false;     // bos_sink_score > ε
  bool is_sink_08 = false;  // bos_sink_score > 0.8
};

struct LayerResult {
  int layer = 0;
  std::vector<double> mean;  // per statistic: the mean over the layer's heads (Mode ones: 0)
  double sink_rate = 0, sink_rate_08 = 0, sink_rate_top_key = 0;
};

// An attention pattern of one head over the first window: rows[query][key], cropped square.
struct HeadPattern {
  int layer = 0, head = 0;
  std::vector<std::vector<float>> rows;
};

struct AnalysisRun {
  int ctx = 0;
  std::string bos;  // first-token mode: "on", "off" or "first-token"
  int first_token_id = -1;
  size_t windows = 0, tokens = 0;
  std::optional<double> nll_mean;  // next-token loss over the windows (absent with --no-nll)
  double sink_rate = 0, sink_rate_08 = 0, sink_rate_top_key = 0;
  std::vector<HeadResult> heads;  // [layer * n_heads + head]
  std::vector<LayerResult> layers;
  std::vector<MassiveEntry> massive;
  // With learned sinks (gpt-oss): Spearman ρ of learned_sink_mass against bos_sink_score over
  // every head, the sliding-window layers' heads and the full layers' heads (0 for a group
  // with fewer than two heads, or constant).
  struct SinkCorrelation {
    double all = 0, sliding = 0, full = 0;
  };
  std::optional<SinkCorrelation> learned_vs_bos;
  // With experts (gpt-oss): router entropy, expert loads and top-k agreement per layer.
  std::optional<MoeResult> moe;
  // With --mechanism: the spike, the sparse and the sink (analysis/sink_mechanism.h).
  std::optional<MechanismResult> mechanism;
  HeadPattern strongest_sink;      // the head with the highest bos_sink_score
  std::vector<HeadPattern> dumps;  // --dump-attention
};

// Spearman ρ of bos_sink_score rankings between two window lengths of one mode.
struct StabilityRow {
  std::string bos;
  int ctx_a = 0, ctx_b = 0;
  double spearman = 0;
};

struct AnalysisResult {
  std::string arch;
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, dim = 0, vocab_size = 0;
  // A physically pruned model's query heads per layer (empty: n_heads in every layer); a layer's
  // heads from its own count on are absent, their rows in `heads` all 0.
  std::vector<int> heads_per_layer;
  double eps = 0;       // ε of is_sink_head
  int sink_tokens = 0;  // K of first_k_mass
  std::vector<AnalysisRun> runs;
  std::vector<StabilityRow> stability;
  long tokens_processed = 0;
};

}  // namespace ss
