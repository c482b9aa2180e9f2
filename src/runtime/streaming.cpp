#include "runtime/streaming.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "base/error.h"

namespace ss {

namespace {

// A positive count in text[from, to), or -1.
int count_in(const std::string& text, size_t from, size_t to) {
  int v = -1;
  const char* b = text.data() + from;
  const char* e = text.data() + to;
  auto [p, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && p == e && b != e ? v : -1;
}

}  // namespace

CachePolicy CachePolicy::parse(const std::string& text, const std::string& option) {
  auto fail = [&](const std::string& why) -> CachePolicy {
    throw InputError(option,
                     "'" + one_line(text) + "' " + why +
                         " (dense, window:W, sink:K+window:W, recompute:W or sink:K+recompute:W)");
  };
  auto positive = [&](int v, const char* what) {
    if (v < 1) fail(std::string("needs a positive ") + what);
    return v;
  };
  CachePolicy p;
  if (text == "dense") return p;
  const std::string window = "window:", sink = "sink:", recompute = "recompute:";
  if (text.rfind(window, 0) == 0) {
    p.kind = Kind::Window;
    p.window = positive(count_in(text, window.size(), text.size()), "window W");
  } else if (text.rfind(recompute, 0) == 0) {
    p.kind = Kind::Recompute;
    p.window = positive(count_in(text, recompute.size(), text.size()), "window W");
  } else if (text.rfind(sink, 0) == 0) {
    // sink:K+window:W, or sink:K+recompute:W: the same tokens re-encoded at every step.
    size_t plus = text.find("+" + window);
    std::string rest = window;
    p.kind = Kind::SinkWindow;
    if (plus == std::string::npos) {
      plus = text.find("+" + recompute);
      rest = recompute;
      p.kind = Kind::SinkRecompute;
    }
    if (plus == std::string::npos) fail("is not a policy");
    p.sinks = positive(count_in(text, sink.size(), plus), "sink count K");
    p.window = positive(count_in(text, plus + 1 + rest.size(), text.size()), "window W");
  } else {
    fail("is not a policy");
  }
  if (p.sinks > (1 << 24) || p.window > (1 << 24)) fail("asks for more than 2^24 tokens");
  return p;
}

std::string CachePolicy::name() const {
  switch (kind) {
    case Kind::Dense:
      return "dense";
    case Kind::Window:
      return "window:" + std::to_string(window);
    case Kind::SinkWindow:
      return "sink:" + std::to_string(sinks) + "+window:" + std::to_string(window);
    case Kind::Recompute:
      return "recompute:" + std::to_string(window);
    case Kind::SinkRecompute:
      return "sink:" + std::to_string(sinks) + "+recompute:" + std::to_string(window);
  }
  return "";
}

int CachePolicy::capacity(int n) const {
  switch (kind) {
    case Kind::Dense:
      return n;
    case Kind::Window:
    case Kind::Recompute:
      return std::min(n, window);
    case Kind::SinkWindow:
    case Kind::SinkRecompute:
      return std::min(n, sinks + window);
  }
  return n;
}

SlidingCache::SlidingCache(Runtime& rt, const CachePolicy& policy, StreamPositions positions)
    : rt_(rt),
      keep_(policy.kind == CachePolicy::Kind::SinkWindow ? policy.sinks : 0),
      positions_(positions) {
  if (positions == StreamPositions::Cache) rt.keep_unrotated_keys();
}

int SlidingCache::next_slot(int t) {
  if (used_ == rt_.max_ctx()) {
    rt_.evict(keep_, 1, used_);
    --used_;
  }
  rt_.set_position_offset(positions_ == StreamPositions::Original ? t - used_ : 0);
  return used_++;
}

StreamResult stream_nll(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                        const CachePolicy& policy, StreamPositions positions,
                        const std::function<void(Runtime&)>& setup,
                        const std::function<void(size_t)>& progress) {
  StreamResult r;
  const int n = static_cast<int>(tokens.size());
  if (n < 2) return r;
  const int cap = std::max(1, policy.capacity(n));
  const auto start = std::chrono::steady_clock::now();
  Runtime rt(model, pool, cap);
  if (setup) setup(rt);
  const ModelConfig& c = model.config;
  r.cache_bytes = 2 * static_cast<size_t>(c.n_layers) * cap * c.kv_dim() * sizeof(float);
  r.nll.reserve(static_cast<size_t>(n - 1));
  auto block_start = std::chrono::steady_clock::now();
  auto step_done = [&](int t) {
    if ((t + 1) % StreamResult::kTimingBlock == 0) {
      const auto now = std::chrono::steady_clock::now();
      r.block_seconds.push_back(std::chrono::duration<double>(now - block_start).count());
      block_start = now;
    }
    if (progress) progress(static_cast<size_t>(t));
  };

  if (policy.kind == CachePolicy::Kind::Recompute ||
      policy.kind == CachePolicy::Kind::SinkRecompute) {
    // Each step encodes afresh, at positions 0.., the first K tokens (sink:K+recompute:W) and
    // the last W (or all so far); the prediction is the last one's.
    const int keep = policy.kind == CachePolicy::Kind::SinkRecompute ? policy.sinks : 0;
    std::vector<int> window;
    for (int t = 0; t + 1 < n; ++t) {
      const int from = t + 1 <= cap ? 0 : t + 1 - (cap - keep);
      window.assign(tokens.begin(), tokens.begin() + (from > 0 ? keep : 0));
      window.insert(window.end(), tokens.begin() + from, tokens.begin() + t + 1);
      const std::vector<float> logits = rt.forward(window, 0, Logits::Last);
      r.nll.push_back(token_nll(logits, tokens[t + 1]));
      step_done(t);
    }
  } else {
    SlidingCache cache(rt, policy, positions);
    for (int t = 0; t + 1 < n; ++t) {
      const std::vector<float> logits =
          rt.forward(tokens.subspan(t, 1), cache.next_slot(t), Logits::Last);
      r.nll.push_back(token_nll(logits, tokens[t + 1]));
      step_done(t);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace ss

namespace ss {

void generate_streaming(Runtime& rt, const CachePolicy& policy, StreamPositions positions,
                        std::vector<int>& ids, int n_new, Sampler& sampler,
                        const std::vector<int>& stop_ids,
                        const std::function<void(int, int)>& on_token) {
  if (ids.empty() || n_new <= 0) return;
  SlidingCache cache(rt, policy, positions);
  std::vector<float> logits;
  for (size_t t = 0; t < ids.size(); ++t)
    logits = rt.forward({&ids[t], 1}, cache.next_slot(static_cast<int>(t)), Logits::Last);
  for (int step = 0; step < n_new; ++step) {
    const int next = sampler.sample(logits);
    if (std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) return;
    if (on_token) on_token(ids.back(), next);
    ids.push_back(next);
    if (step + 1 == n_new) return;
    logits = rt.forward({&ids.back(), 1}, cache.next_slot(static_cast<int>(ids.size()) - 1),
                        Logits::Last);
  }
}

}  // namespace ss
