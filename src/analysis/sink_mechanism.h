#pragma once
// The spike, the sparse and the sink (Sun et al. 2026; docs/statistics.md §Mechanism), over the
// windows of one analyze run:
// - across depth, the sink token's (the first token's) largest |h| after each block, and the
//   blocks where it steps up or down by kStepFactor;
// - after the norm, the largest channel's share of the sink's normed attention input, and the
//   mean pairwise cosine of each KV head's sink key over windows, with a baseline position;
// - the FFN quadratic form of the block and channel where the spike first appears
//   (analysis/ffn_quadratic.h).
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/ffn_quadratic.h"
#include "analysis/massive.h"
#include "analysis/sink_capture.h"

namespace ss {

// A block steps the spike up when its output's max |h| is at least this times its input's, down
// when at most 1 / this.
constexpr double kStepFactor = 2.0;

struct MechanismLayer {
  int layer = 0;
  double sink_max_abs = 0;     // mean over windows of the sink's max |h| after the block
  int sink_channel = 0;        // its channel, the one most often largest (lowest on ties)
  double step_ratio = 0;       // sink_max_abs over the block input's (0 when that is 0)
  int step = 0;                // +1 step-up, -1 step-down, 0 neither
  double norm_share = 0;       // mean share of the sink's normed attention input's top channel
  int share_channel = 0;       // that channel, most often
  double base_norm_share = 0;  // the same at the baseline position
  double resid_share = 0;      // top channel's share of the sink's residual entering the block
  // Per KV head: mean pairwise cosine over windows of the key at the sink and at the baseline
  // (NaN with fewer than two windows).
  std::vector<double> sink_key_cosine, base_key_cosine;
};

// Where the quadratic form is taken: the first block whose top activation is massive
// (MassiveEntry::massive), or, when none is, the block with the largest step-up of the top
// |h| over the previous block's.
struct SpikeSite {
  int layer = 0, channel = 0, window = 0, pos = 0, token = 0;
  float value = 0;
  bool massive = false;
  double step_up = 0;  // with !massive: the top |h| over the previous block's
};
std::optional<SpikeSite> choose_spike(std::span<const MassiveEntry> massive, int n_layers);

struct MechanismResult {
  int baseline_pos = 0;
  size_t windows = 0;
  double embedding_max_abs = 0;  // the sink's embedding (the residual entering layer 0)
  int embedding_channel = 0;
  std::vector<MechanismLayer> layers;
  std::optional<SpikeSite> spike;
  std::optional<FfnQuadraticForm> form;
  std::string form_note;  // why there is no form, or how its site was chosen
  // The same form at the sink token's own step-up: the block with the largest step_ratio
  // (sink_step_block), its sink_channel, and the sink's normed FFN input in the first window.
  // The spike above is the largest activation of any token, often another token's.
  std::optional<FfnQuadraticForm> sink_form;
};

// The block with the largest step_ratio (the lowest on ties), or -1 with no blocks.
int sink_step_block(const MechanismResult& r);

// Folds MechanismWindow records in window order into a MechanismResult.
class MechanismAccumulator {
 public:
  MechanismAccumulator(const ModelConfig& c, int baseline_pos);
  void add(const MechanismWindow& w);
  MechanismResult result() const;

 private:
  int n_layers_, kv_heads_, head_dim_, baseline_;
  size_t windows_ = 0;
  std::vector<double> max_abs_, norm_share_, base_share_, resid_share_;
  std::vector<std::map<int, int>> channel_votes_, share_votes_;
  std::vector<double> sink_key_sum_, base_key_sum_;      // Σ over windows of the unit keys
  std::vector<double> sink_key_norm2_, base_key_norm2_;  // Σ over windows of |unit key|² (1 or 0)
};

// The section of docs/statistics.md (statistics_markdown) on the names of mechanism.json.
std::string mechanism_statistics_markdown();

}  // namespace ss
