#include "runtime/streaming.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include "base/error.h"
#include "base/wire.h"

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

void SlidingCache::restore(int used) {
  if (used < 0 || used > rt_.max_ctx()) throw std::invalid_argument("cache slots out of range");
  used_ = used;
}

StreamResult stream_nll(const Model& model, ThreadPool& pool, std::span<const int> tokens,
                        const CachePolicy& policy, StreamPositions positions,
                        const std::function<void(Runtime&)>& setup,
                        const std::function<void(size_t)>& progress,
                        const StreamCheckpoints* checkpoints) {
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  StreamResult r;
  const int n = static_cast<int>(tokens.size());
  if (n < 2) return r;
  const int cap = std::max(1, policy.capacity(n));
  auto start = Clock::now();
  Runtime rt(model, pool, cap);
  if (setup) setup(rt);
  const ModelConfig& c = model.config;
  r.cache_bytes = 2 * static_cast<size_t>(c.n_layers) * cap * c.kv_dim() * sizeof(float);
  r.nll.reserve(static_cast<size_t>(n - 1));
  const bool recompute = policy.kind == CachePolicy::Kind::Recompute ||
                         policy.kind == CachePolicy::Kind::SinkRecompute;
  std::optional<SlidingCache> cache;
  if (!recompute) cache.emplace(rt, policy, positions);

  // Seconds of earlier runs: in all, and in the block of steps under way.
  double earlier = 0, block_earlier = 0;
  int first = 0;  // the first step this call runs
  if (checkpoints && !checkpoints->resume.empty()) {
    try {
      WireReader in(checkpoints->resume);
      if (in.get_string() != policy.name() || in.get<int32_t>() != n)
        throw BadStreamState("a state of another policy or text length");
      first = in.get<int32_t>();
      std::vector<double> nll = in.get_vector<double>();
      earlier = in.get<double>();
      r.block_seconds = in.get_vector<double>();
      block_earlier = in.get<double>();
      if (first < 1 || first + 1 >= n || nll.size() != static_cast<size_t>(first) ||
          r.block_seconds.size() != static_cast<size_t>(first / StreamResult::kTimingBlock))
        throw BadStreamState("inconsistent step counts");
      r.nll.insert(r.nll.end(), nll.begin(), nll.end());
      if (cache) {
        cache->restore(in.get<int32_t>());
        rt.read_cache(in);
      }
      if (!in.done()) throw BadStreamState("bytes after the state");
    } catch (const BadStreamState&) {
      throw;
    } catch (const std::exception& e) {
      throw BadStreamState(e.what());
    }
  }

  auto block_start = Clock::now();
  // The state after steps [0, next), for a later call to continue from.
  auto save = [&](int next) {
    const auto saving = Clock::now();
    WireWriter w;
    w.put_string(policy.name()).put<int32_t>(n).put<int32_t>(next).put_vector<double>(r.nll);
    w.put<double>(earlier + seconds_since(start)).put_vector<double>(r.block_seconds);
    w.put<double>(block_earlier + seconds_since(block_start));
    if (cache) {
      w.put<int32_t>(cache->used());
      rt.write_cache(w);
    }
    checkpoints->save(w.take());
    // The time of saving is not the work's.
    const auto took = Clock::now() - saving;
    start += took;
    block_start += took;
  };
  auto step_done = [&](int t) {
    if ((t + 1) % StreamResult::kTimingBlock == 0) {
      r.block_seconds.push_back(block_earlier + seconds_since(block_start));
      block_start = Clock::now();
      block_earlier = 0;
    }
    if (progress) progress(static_cast<size_t>(t));
    if (checkpoints && checkpoints->due && t + 2 < n && checkpoints->due(t)) save(t + 1);
  };

  if (recompute) {
    // Each step encodes afresh, at positions 0.., the first K tokens (sink:K+recompute:W) and
    // the last W (or all so far); the prediction is the last one's.
    const int keep = policy.kind == CachePolicy::Kind::SinkRecompute ? policy.sinks : 0;
    std::vector<int> window;
    for (int t = first; t + 1 < n; ++t) {
      const int from = t + 1 <= cap ? 0 : t + 1 - (cap - keep);
      window.assign(tokens.begin(), tokens.begin() + (from > 0 ? keep : 0));
      window.insert(window.end(), tokens.begin() + from, tokens.begin() + t + 1);
      const std::vector<float> logits = rt.forward(window, 0, Logits::Last);
      r.nll.push_back(token_nll(logits, tokens[t + 1]));
      step_done(t);
    }
  } else {
    for (int t = first; t + 1 < n; ++t) {
      const std::vector<float> logits =
          rt.forward(tokens.subspan(t, 1), cache->next_slot(t), Logits::Last);
      r.nll.push_back(token_nll(logits, tokens[t + 1]));
      step_done(t);
    }
  }
  r.seconds = earlier + seconds_since(start);
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
