#include "analysis/stream_sinks.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace ss {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Whether (count a, position pa) beats (count b, position pb): more steps, then the lower
// position.
bool better(long a, long pa, long b, long pb) {
  return a > b || (a == b && a > 0 && pa < pb);
}
}  // namespace

std::vector<std::pair<long, long>> stream_distance_bins(long n) {
  std::vector<std::pair<long, long>> bins;
  if (n <= 0) return bins;
  bins.emplace_back(0, 0);
  for (long lo = 1, hi = 16; lo < n; lo = hi + 1, hi *= 4) bins.emplace_back(lo, hi);
  return bins;
}

std::vector<std::pair<long, long>> stream_step_bins(long n, int max_bins) {
  std::vector<std::pair<long, long>> bins;
  if (n <= 0) return bins;
  const long most = std::max(1, max_bins);
  long width = 1;
  for (long scale = 1;; scale *= 10) {
    bool found = false;
    for (long m : {1L, 2L, 5L})
      if ((n + m * scale - 1) / (m * scale) <= most) {
        width = m * scale;
        found = true;
        break;
      }
    if (found) break;
  }
  for (long lo = 0; lo < n; lo += width) bins.emplace_back(lo, lo + width - 1);
  return bins;
}

StreamSinksObserver::StreamSinksObserver(int n_layers, int n_heads, int keep, int capacity,
                                         std::span<const int> tokens, int max_step_bins)
    : L_(n_layers), H_(n_heads), keep_(keep), cap_(capacity), tokens_(tokens) {
  if (capacity < 1 || keep < 0)
    throw std::logic_error("StreamSinksObserver: a cache needs a positive capacity");
  const long n = static_cast<long>(tokens.size());
  dist_edges_ = stream_distance_bins(n);
  step_edges_ = stream_step_bins(n, max_step_bins);
  dist_.resize(dist_edges_.size());
  steps_.resize(step_edges_.size());
  for (Sums& s : dist_) resize(s);
  for (Sums& s : steps_) resize(s);
  resize(evict_);
  dist_counts_.resize(dist_edges_.size());
  step_counts_.resize(step_edges_.size());
  const size_t heads = static_cast<size_t>(L_) * H_;
  if (n > cap_) {  // only a text longer than the cache has an eviction phase
    slot_sum_.assign(heads * cap_, 0.0);
    ring_pos_.assign(heads * cap_, -1);
    ring_count_.assign(heads * cap_, 0);
    best_pos_.assign(heads, -1);
    best_count_.assign(heads, 0);
    token_count_.resize(heads);
  }
}

void StreamSinksObserver::resize(Sums& s) const {
  const size_t heads = static_cast<size_t>(L_) * H_;
  for (auto* v : {&s.sink, &s.oldest, &s.bos, &s.top_mass}) v->assign(heads, 0.0);
  s.in_sinks.assign(heads, 0);
  s.is_oldest.assign(heads, 0);
}

long StreamSinksObserver::slot_position(int k, long t) const {
  if (k < keep_ || t < cap_) return k;
  return t - (cap_ - 1) + k;  // a full cache: the query sits at slot cap − 1
}

void StreamSinksObserver::on_resid_pre(int layer, int pos0, int n_tokens, const float*) {
  if (layer != 0) return;
  if (n_tokens != 1)
    throw std::logic_error("StreamSinksObserver: the tokens must run one at a time");
  ++step_;
  if (step_ >= static_cast<long>(tokens_.size()))
    throw std::logic_error("StreamSinksObserver: more steps than tokens");
  const int expected = static_cast<int>(std::min<long>(step_, cap_ - 1));
  if (pos0 != expected)
    throw std::logic_error("StreamSinksObserver: step " + std::to_string(step_) + " at slot " +
                           std::to_string(pos0) + ", not the cache's slot " +
                           std::to_string(expected));
  slot_ = pos0;
  while (step_ > dist_edges_[dist_bin_].second) ++dist_bin_;
  while (step_ > step_edges_[step_bin_].second) ++step_bin_;
  auto count = [&](Counts& c) {
    ++c.steps;
    c.sink += keep_ > 0;
    c.oldest += slot_ > keep_;
    c.bos += slot_position(0, step_) == 0;
    c.top += slot_ >= 1;
  };
  count(dist_counts_[dist_bin_]);
  count(step_counts_[step_bin_]);
  if (step_ >= cap_) count(evict_counts_);
}

void StreamSinksObserver::on_pattern_row(int layer, int head, int pos, std::span<const float> row,
                                         double) {
  const size_t i = static_cast<size_t>(layer) * H_ + head;
  const int s = pos;
  if (s != slot_ || row.size() != static_cast<size_t>(s) + 1) return;  // not a streaming step
  double sink = 0;
  for (int k = 0; k < std::min(keep_, s + 1); ++k) sink += row[k];
  const bool has_oldest = s > keep_, has_bos = slot_position(0, step_) == 0, has_top = s >= 1;
  int top = 0;
  for (int k = 1; k < s; ++k)
    if (row[k] > row[top]) top = k;
  auto add = [&](Sums& u) {
    if (keep_ > 0) u.sink[i] += sink;
    if (has_oldest) u.oldest[i] += row[keep_];
    if (has_bos) u.bos[i] += row[0];
    if (has_top) {
      u.top_mass[i] += row[top];
      u.in_sinks[i] += top < keep_;
      u.is_oldest[i] += top == keep_;
    }
  };
  add(dist_[dist_bin_]);
  add(steps_[step_bin_]);
  if (step_ < cap_) return;

  add(evict_);
  double* slots = slot_sum_.data() + i * cap_;
  for (int k = 0; k <= s; ++k) slots[k] += row[k];
  if (!has_top) return;
  const long p = slot_position(top, step_);
  const long window = cap_ - keep_;
  const size_t r = i * cap_ + static_cast<size_t>(p < keep_ ? p : keep_ + (p - keep_) % window);
  if (ring_pos_[r] != p) {
    if (ring_pos_[r] >= 0 && better(ring_count_[r], ring_pos_[r], best_count_[i], best_pos_[i]))
      best_count_[i] = ring_count_[r], best_pos_[i] = ring_pos_[r];
    ring_pos_[r] = p;
    ring_count_[r] = 0;
  }
  ++ring_count_[r];
  ++token_count_[i][tokens_[static_cast<size_t>(p)]];
}

StreamSinkMeans StreamSinksObserver::means(const Sums& u, const Counts& c) const {
  StreamSinkMeans m;
  m.steps = c.steps;
  m.sink_steps = c.sink, m.oldest_steps = c.oldest, m.bos_steps = c.bos, m.top_steps = c.top;
  const size_t heads = static_cast<size_t>(L_) * H_;
  auto mean = [&](const auto& sum, long n) {
    std::vector<double> out(heads, kNaN);
    if (n > 0)
      for (size_t i = 0; i < heads; ++i) out[i] = static_cast<double>(sum[i]) / n;
    return out;
  };
  m.sink_mass = mean(u.sink, c.sink);
  m.oldest_mass = mean(u.oldest, c.oldest);
  m.bos_mass = mean(u.bos, c.bos);
  m.top_mass = mean(u.top_mass, c.top);
  m.top_in_sinks = mean(u.in_sinks, keep_ > 0 ? c.top : 0);
  m.top_is_oldest = mean(u.is_oldest, c.top);
  return m;
}

StreamSinksResult StreamSinksObserver::result() const {
  StreamSinksResult r;
  r.capacity = cap_;
  r.sinks = keep_;
  r.n_layers = L_, r.n_heads = H_;
  r.tokens = step_ + 1;
  if (!tokens_.empty()) r.first_token_id = tokens_[0];
  if (r.tokens > cap_) {
    r.first_eviction = cap_;
    if (keep_ == 0) r.bos_evicted_at = cap_;
  }
  auto bins = [&](const std::vector<std::pair<long, long>>& edges, const std::vector<Sums>& sums,
                  const std::vector<Counts>& counts) {
    std::vector<StreamSinkBin> out;
    for (size_t b = 0; b < edges.size() && edges[b].first <= step_; ++b)
      out.push_back({edges[b].first, std::min(edges[b].second, step_), means(sums[b], counts[b])});
    return out;
  };
  r.distance_bins = bins(dist_edges_, dist_, dist_counts_);
  r.step_bins = bins(step_edges_, steps_, step_counts_);
  r.eviction = means(evict_, evict_counts_);
  if (evict_counts_.steps == 0) return r;

  const size_t heads = static_cast<size_t>(L_) * H_;
  r.heads.resize(heads);
  for (size_t i = 0; i < heads; ++i) {
    StreamSinkMigration& m = r.heads[i];
    m.slot_mass.resize(cap_);
    for (int k = 0; k < cap_; ++k)
      m.slot_mass[k] = slot_sum_[i * cap_ + k] / static_cast<double>(evict_counts_.steps);
    m.top_position = best_pos_[i];
    m.top_position_steps = best_count_[i];
    for (int k = 0; k < cap_; ++k) {
      const size_t e = i * cap_ + k;
      if (ring_pos_[e] >= 0 &&
          better(ring_count_[e], ring_pos_[e], m.top_position_steps, m.top_position))
        m.top_position = ring_pos_[e], m.top_position_steps = ring_count_[e];
    }
    if (m.top_position >= 0) m.top_position_token = tokens_[static_cast<size_t>(m.top_position)];
    std::vector<std::pair<int, long>> tokens(token_count_[i].begin(), token_count_[i].end());
    std::stable_sort(tokens.begin(), tokens.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    tokens.resize(std::min<size_t>(tokens.size(), 3));
    m.top_tokens = std::move(tokens);
  }
  return r;
}

}  // namespace ss
