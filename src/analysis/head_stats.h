#pragma once
// Per-head sink statistics of one window (SPEC.md §Statistics and §Dormant heads), folded from
// each attention row as the kernel produces it: no T×T matrix is kept. Memory per head is O(T)
// (the attention each key receives, for sink_score_k). On sliding-window layers rows are zero
// outside the window, so a key can only be a sink for the queries whose window holds it.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/hooks.h"

namespace ss {

struct SinkStatsOptions {
  int sink_tokens = 4;  // K of first_k_mass
  float eps = 0.3f;     // ε of is_sink_head
};

// Statistic name -> value per head, [layer * n_heads + head].
using HeadTable = std::map<std::string, std::vector<double>>;

// The names written to heads.csv, in order (SPEC.md names; dormant scores after the statistics).
const std::vector<std::string>& head_stat_names();

class SinkStatsObserver : public Observer {
 public:
  SinkStatsObserver(const Model& model, SinkStatsOptions opt);

  // Call before the forward pass of a window of T tokens starting at position 0.
  void begin_window(int T);
  // Every statistic of the window just run.
  HeadTable finish_window() const;

  bool wants_pattern(int) const override { return true; }
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override;
  void on_pattern_row(int layer, int head, int pos, std::span<const float> row,
                      double entropy) override;
  void on_sink_row(int layer, int head, int pos, double p_sink) override;
  void on_values(int layer, int pos0, int n_tokens, const float* v) override;
  void on_z(int layer, int pos0, int n_tokens, const float* z) override;

 private:
  struct Accum {
    double bos_all = 0, bos_q1 = 0, first_k = 0, entropy_all = 0, entropy_q1 = 0;
    double next_sink = -1;  // the next row's sink probability from on_sink_row (−1: none given)
    double sink_mass = 0, bos_keys = 0;
    double z_norm = 0, contrib_norm = 0, last_z_norm = 0;
    std::vector<double> received;  // Σ_t α_{t,k} per key k
  };
  struct KvAccum {
    double v0_norm = 0, v_norm_sum = 0, v_norm_sum_k1 = 0;
  };
  const Model& model_;
  const bool sink_column_;  // rows sum to 1 − p_sink (model.h has_sink_column)
  SinkStatsOptions opt_;
  int T_ = 0;
  std::vector<Accum> heads_;     // [layer][head]
  std::vector<KvAccum> kv_;      // [layer][kv_head]
  std::vector<double> gram_;     // [layer][head][hd][hd]: W_O^(h)ᵀ W_O^(h), for ‖W_O^(h) z‖
  std::vector<bool> gram_done_;  // per layer
  // received += row, by the SIMD variant in use (a row per query: O(T²) work per head).
  void (*add_row_)(double*, const float*, size_t) = nullptr;
  void make_gram(int layer);
};

}  // namespace ss
