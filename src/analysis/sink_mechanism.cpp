#include "analysis/sink_mechanism.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ss {

std::optional<SpikeSite> choose_spike(std::span<const MassiveEntry> massive, int n_layers) {
  // The top entry (rank 1) of each layer.
  std::vector<const MassiveEntry*> top(n_layers, nullptr);
  for (const MassiveEntry& e : massive)
    if (e.rank == 1 && e.layer >= 0 && e.layer < n_layers) top[e.layer] = &e;
  auto site = [](const MassiveEntry& e) {
    SpikeSite s;
    s.layer = e.layer, s.channel = e.channel, s.window = e.window, s.pos = e.pos;
    s.token = e.token, s.value = e.value, s.massive = e.massive();
    return s;
  };
  for (const MassiveEntry* e : top)
    if (e && e->massive()) return site(*e);
  std::optional<SpikeSite> best;
  for (int l = 0; l < n_layers; ++l) {
    if (!top[l]) continue;
    // Layer 0 has no previous block here: it is chosen only in a one-block model.
    if (l == 0 && n_layers > 1) continue;
    const double prev = l > 0 && top[l - 1] ? std::abs(top[l - 1]->value) : 0.0;
    const double ratio =
        prev > 0 ? std::abs(top[l]->value) / prev : std::numeric_limits<double>::infinity();
    if (!best || ratio > best->step_up) {
      best = site(*top[l]);
      best->step_up = ratio;
    }
  }
  return best;
}

MechanismAccumulator::MechanismAccumulator(const ModelConfig& c, int baseline_pos)
    : n_layers_(c.n_layers),
      kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim),
      baseline_(baseline_pos),
      max_abs_(c.n_layers + 1, 0.0),
      norm_share_(c.n_layers, 0.0),
      base_share_(c.n_layers, 0.0),
      resid_share_(c.n_layers, 0.0),
      channel_votes_(c.n_layers + 1),
      share_votes_(c.n_layers),
      sink_key_sum_(static_cast<size_t>(c.n_layers) * c.kv_dim(), 0.0),
      base_key_sum_(sink_key_sum_.size(), 0.0),
      sink_key_norm2_(static_cast<size_t>(c.n_layers) * c.n_kv_heads, 0.0),
      base_key_norm2_(sink_key_norm2_.size(), 0.0) {}

void MechanismAccumulator::add(const MechanismWindow& w) {
  ++windows_;
  for (int l = 0; l <= n_layers_; ++l) {
    max_abs_[l] += w.sink_max_abs[l];
    ++channel_votes_[l][w.sink_channel[l]];
  }
  for (int l = 0; l < n_layers_; ++l) {
    norm_share_[l] += w.norm_share[l];
    base_share_[l] += w.base_norm_share[l];
    resid_share_[l] += w.resid_share[l];
    ++share_votes_[l][w.share_channel[l]];
  }
  auto fold = [&](const std::vector<double>& keys, std::vector<double>& sum,
                  std::vector<double>& norm2) {
    for (size_t i = 0; i < keys.size(); ++i) {
      sum[i] += keys[i];
      norm2[i / head_dim_] += keys[i] * keys[i];
    }
  };
  fold(w.sink_keys, sink_key_sum_, sink_key_norm2_);
  fold(w.base_keys, base_key_sum_, base_key_norm2_);
}

namespace {

// The value with the most votes (the lowest on ties: the map is ordered).
int mode(const std::map<int, int>& votes) {
  int best = 0, count = -1;
  for (auto [v, n] : votes)
    if (n > count) best = v, count = n;
  return best;
}

}  // namespace

MechanismResult MechanismAccumulator::result() const {
  MechanismResult r;
  r.baseline_pos = baseline_;
  r.windows = windows_;
  const double n = static_cast<double>(windows_);
  if (windows_ == 0) return r;
  r.embedding_max_abs = max_abs_[0] / n;
  r.embedding_channel = mode(channel_votes_[0]);
  // Mean pairwise cosine of unit vectors u_w: Σ_{w≠v} u_w·u_v = |Σ u|² − Σ |u_w|².
  auto pairwise = [&](const std::vector<double>& sum, const std::vector<double>& norm2, size_t g) {
    if (windows_ < 2) return std::numeric_limits<double>::quiet_NaN();
    double s2 = 0;
    for (int i = 0; i < head_dim_; ++i) s2 += sum[g * head_dim_ + i] * sum[g * head_dim_ + i];
    return (s2 - norm2[g]) / (n * (n - 1));
  };
  for (int l = 0; l < n_layers_; ++l) {
    MechanismLayer m;
    m.layer = l;
    m.sink_max_abs = max_abs_[l + 1] / n;
    m.sink_channel = mode(channel_votes_[l + 1]);
    const double before = max_abs_[l] / n;
    m.step_ratio = before > 0 ? m.sink_max_abs / before : 0.0;
    m.step = m.step_ratio >= kStepFactor                           ? 1
             : m.step_ratio > 0 && m.step_ratio <= 1 / kStepFactor ? -1
                                                                   : 0;
    m.norm_share = norm_share_[l] / n;
    m.share_channel = mode(share_votes_[l]);
    m.base_norm_share = base_share_[l] / n;
    m.resid_share = resid_share_[l] / n;
    for (int h = 0; h < kv_heads_; ++h) {
      const size_t g = static_cast<size_t>(l) * kv_heads_ + h;
      m.sink_key_cosine.push_back(pairwise(sink_key_sum_, sink_key_norm2_, g));
      m.base_key_cosine.push_back(pairwise(base_key_sum_, base_key_norm2_, g));
    }
    r.layers.push_back(std::move(m));
  }
  return r;
}

int sink_step_block(const MechanismResult& r) {
  int best = -1;
  for (const MechanismLayer& l : r.layers)
    if (best < 0 || l.step_ratio > r.layers[best].step_ratio) best = l.layer;
  return best;
}

std::string mechanism_statistics_markdown() {
  return "\n## Mechanism: the spike, the sparse and the sink\n\n"
         "`analyze --mechanism` (Sun et al. 2026, arXiv 2603.05498), per run in "
         "`mechanism.json`, per block in `mechanism.csv`, per block and KV head in "
         "`mechanism_keys.csv`. The sink token is the window's first token (BOS with `--bos "
         "on`); the baseline is position ⌊ctx/2⌋. Means are over the run's windows; channels are "
         "the one most often largest (lowest on ties).\n\n"
         "| name | meaning | unit |\n"
         "|---|---|---|\n"
         "| `embedding_max_abs` | the sink's largest \\|h\\| in the residual entering block 0 "
         "(its embedding) | activation |\n"
         "| `sink_max_abs`, `sink_channel` | the sink's largest \\|h\\| after the block, and its "
         "channel | activation |\n"
         "| `step_ratio`, `step` | `sink_max_abs` over the block input's (the previous block's, "
         "or `embedding_max_abs`); `up` when ≥ 2, `down` when ≤ 1/2 (`kStepFactor` = 2) | ratio "
         "|\n"
         "| `norm_share`, `share_channel` | the largest channel's share of ‖a‖², a the sink's "
         "normed attention input (RMSNorm(x) times the norm weight, what W_q, W_k, W_v read): "
         "1 for a one-hot vector, 1/d for a flat one | fraction |\n"
         "| `base_norm_share` | the same at the baseline position | fraction |\n"
         "| `resid_share` | the largest channel's share of ‖x‖², x the sink's residual entering "
         "the block (equal to its share after a weightless RMSNorm) | fraction |\n"
         "| `sink_key_cosine`, `base_key_cosine` | per KV head: the mean over pairs of windows "
         "of the cosine between the keys at the sink (at the baseline), W_k a + b_k after any k "
         "norm, before rotary encoding (the same rotation at a fixed position leaves the cosine "
         "as it is); 1 with BOS first. Null with fewer than two windows | cosine |\n"
         "| `quadratic_form` | at the spike: the first block whose top activation is massive "
         "(`massive.csv`: \\|h\\| > 100 and > 1000 × median), else (noted) the block with the "
         "largest step-up of the top \\|h\\| over the previous block's, and that activation's "
         "channel c and token. A_c = Σ_i W_down[c,i] · (g_i u_iᵀ + u_i g_iᵀ)/2 with g_i, u_i the "
         "gate and up rows of hidden unit i, in double from dequantized weights: xᵀA_c x = "
         "Σ_i W_down[c,i] (g_i·x)(u_i·x), and since SiLU(a) ≈ a/2 near 0 the FFN's channel c ≈ "
         "½ xᵀA_c x (`silu_linear_factor`). Gated SiLU FFNs only (a note otherwise) | |\n"
         "| `eigenvalues` | A_c's 8 eigenvalues largest in \\|λ\\|, signed (Householder "
         "tridiagonalisation and implicit QR, analysis/symmetric_eigen.h) | |\n"
         "| `lambda_ratio` | \\|λ1\\| / \\|λ2\\|: large for a rank-one-dominated form | ratio |\n"
         "| `cosine` | \\|cos\\| between the spike token's normed FFN input x (RMSNorm(x) times "
         "the ffn_norm weight) and λ1's eigenvector | cosine |\n"
         "| `top_share` | λ1 (v1·x)² / xᵀA_c x: the part of the form at x that λ1 carries | "
         "ratio |\n"
         "| `sink_quadratic_form` | the same at the sink token's own step-up: the block with "
         "the largest `step_ratio`, its `sink_channel`, and the sink's normed FFN input in the "
         "first window (the spike above is the largest activation of any token, often "
         "another's) | |\n"
         "| `quadratic`, `ffn_output` | ½ xᵀA_c x and the FFN's true channel-c output at x "
         "(before any post-norm): how near-linear the SiLU is there | activation |\n";
}

}  // namespace ss
