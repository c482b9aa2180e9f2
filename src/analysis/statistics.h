#pragma once
// The registry of per-head statistics (SPEC.md §Statistics and §Dormant heads): one row per
// statistic holds everything the rest of the program knows about it. heads.csv's columns, report
// captions, dormant scores, pruning criteria (dormant:<name>), --dormant-score choices and
// docs/statistics.md all come from this table. A new statistic is one row here plus, if it needs
// one, an accumulator in analysis/head_stats.cpp.
#include <string>
#include <string_view>
#include <vector>

namespace ss {

// What SinkStatsObserver folded for one head over one window of T tokens.
struct HeadWindow {
  double T = 0;    // window length
  double Tq1 = 1;  // max(1, T - 1): the queries 1..T-1
  // Sums over query rows t of: α_{t,0} (all rows; rows 1..), Σ_{k<K} α_{t,k}, entropy (all rows;
  // rows 1..), ‖z_t‖, ‖c_t‖ = ‖W_O^(h) z_t‖; and ‖z_{T-1}‖.
  double bos_all = 0, bos_q1 = 0, first_k = 0, entropy_all = 0, entropy_q1 = 0;
  double z_norm = 0, contrib_norm = 0, last_z_norm = 0;
  // Of the head's KV head: ‖v_0‖, Σ_t ‖v_t‖, mean over k ≥ 1 of ‖v_k‖.
  double v0_norm = 0, v_norm_sum = 0, v_mean_k1 = 0;
  // Sums over rows of a head with a learned sink (gpt-oss; 0 without): p_sink,t = 1 − Σ_k α_{t,k},
  // and α_{t,0} / Σ_k α_{t,k} (BOS renormalised over the keys; α_{t,0} itself without a sink).
  double sink_mass = 0, bos_keys = 0;
  int top_key = 0;           // argmax over k ≥ 1 of sink_score_k
  double top_key_score = 0;  // its sink_score_k
};

// Which way a statistic points: high values mark a sink head, or a dormant (removable) head, or
// low values mark a dormant head; None: descriptive only.
enum class Direction { HighIsSink, HighIsDormant, LowIsDormant, None };

// How values of several windows combine: the mean (with its standard deviation), or the value
// most often seen (top_key, an index).
enum class Aggregate { Mean, Mode };

struct Statistic {
  std::string_view name;     // as in SPEC.md
  std::string_view section;  // SPEC.md section
  std::string_view caption;  // what it means, in a report
  std::string_view unit;
  Direction direction;
  bool dormant_score;  // a score of SPEC.md §Dormant heads (--dormant-score, dormant:<name>)
  // "(LN)": this statistic is `layer_normalised` divided by its mean over the heads of the layer;
  // empty when finish gives it directly.
  std::string_view layer_normalised;
  Aggregate aggregate;
  double (*finish)(const HeadWindow&);  // null for an (LN) statistic
};

// Every statistic, in heads.csv's column order.
const std::vector<Statistic>& statistics();
// The row of `name`; nullptr if there is none.
const Statistic* find_statistic(std::string_view name);
// The row of a dormant score; InputError(what, ...) naming the choices when `name` is not one.
const Statistic& dormant_score(const std::string& name, const std::string& what);
// The names of the dormant scores, in table order.
std::vector<std::string> dormant_score_names();

// docs/statistics.md: the table, then the per-layer mixture-of-experts statistics
// (analysis/moe_stats.h), as Markdown (tests keep the file equal to it).
std::string statistics_markdown();

}  // namespace ss
