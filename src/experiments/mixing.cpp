#include "experiments/mixing.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "analysis/head_stats.h"
#include "analysis/over_mixing.h"
#include "base/error.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"

namespace ss {

const std::vector<WordPair>& default_word_pairs() {
  static const std::vector<WordPair> pairs{
      {"greatest", "best"}, {"great", "good"}, {"said", "replied"}, {"man", "woman"},
      {"young", "old"},     {"first", "last"}, {"came", "went"},    {"day", "night"},
      {"father", "mother"}, {"war", "peace"},  {"love", "hate"},    {"king", "queen"}};
  return pairs;
}

std::vector<WordPair> parse_word_pairs(const std::string& text, const std::string& what) {
  std::vector<WordPair> pairs;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t eq = item.find('=');
    require(eq != std::string::npos, what, "'" + item + "' is not a word pair FROM=TO");
    WordPair p{item.substr(0, eq), item.substr(eq + 1)};
    for (const std::string& w : {p.from, p.to}) {
      require(!w.empty(), what, "'" + item + "' has an empty word");
      require(w.find_first_of(" \t\n=") == std::string::npos, what,
              "'" + item + "': a word may not hold spaces or '='");
    }
    pairs.push_back(std::move(p));
    start = comma + 1;
  }
  return pairs;
}

TokenPair tokenize_pair(const Tokenizer& tok, const WordPair& pair, std::string& why) {
  TokenPair out{pair.from + "=" + pair.to, {}, {}};
  why.clear();
  // The word after another one, as it appears in running text (a leading space or SentencePiece's
  // ▁), not as the first word of a text.
  const std::vector<int> base = tok.encode("the", false);
  auto tokens_of = [&](const std::string& word, std::vector<int>& ids) {
    std::vector<int> all = tok.encode("the " + word, false);
    if (all.size() <= base.size() || !std::equal(base.begin(), base.end(), all.begin()))
      return false;
    ids.assign(all.begin() + static_cast<std::ptrdiff_t>(base.size()), all.end());
    return true;
  };
  if (!tokens_of(pair.from, out.from)) {
    why = "'" + pair.from + "' does not tokenize apart from the word before it";
  } else if (!tokens_of(pair.to, out.to)) {
    why = "'" + pair.to + "' does not tokenize apart from the word before it";
  } else if (out.from.size() != out.to.size()) {
    auto count = [](size_t n) { return std::to_string(n) + (n == 1 ? " token" : " tokens"); };
    why = "'" + pair.from + "' is " + count(out.from.size()) + " and '" + pair.to + "' " +
          count(out.to.size()) + " with this tokenizer (a substitution must keep the token count)";
  } else if (out.from == out.to) {
    why = "'" + pair.from + "' and '" + pair.to + "' are the same tokens";
  }
  return out;
}

std::vector<double> perturbation_direction(size_t d, uint64_t seed) {
  std::vector<double> u(d);
  uint64_t state = seed;
  double norm = 0.0;
  for (double& x : u) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    x = static_cast<double>(z >> 11) * 0x1p-53 * 2.0 - 1.0;
    norm += x * x;
  }
  for (double& x : u) x /= std::sqrt(norm);
  return u;
}

int mixing_position(const MixingOptions& opt) {
  return opt.position >= 0 ? opt.position : (opt.ctx - 1) / 4;
}

namespace {

// The residual stream after every layer of one forward pass, [layer][pos][dim].
class ResidualStore : public Observer {
 public:
  ResidualStore(int n_layers, size_t T, size_t d)
      : T_(T), d_(d), x_(static_cast<size_t>(n_layers) * T * d) {}
  void on_resid_post(int layer, int pos0, int n, const float* x) override {
    std::copy_n(x, static_cast<size_t>(n) * d_, row(layer, pos0));
  }
  float* row(int layer, size_t pos) { return x_.data() + (layer * T_ + pos) * d_; }
  const float* row(int layer, size_t pos) const { return x_.data() + (layer * T_ + pos) * d_; }

 private:
  size_t T_, d_;
  std::vector<float> x_;
};

// ‖Δh_t‖ and ‖Δh_t‖/‖h_t‖ of a perturbed pass against the clean one, [layer][pos].
class SpreadObserver : public Observer {
 public:
  SpreadObserver(const ResidualStore& clean, int n_layers, size_t T, size_t d)
      : clean_(clean), T_(T), d_(d), delta(n_layers * T), ratio(n_layers * T) {}
  void on_resid_post(int layer, int pos0, int n, const float* x) override {
    const size_t at = layer * T_ + pos0;
    token_spread(clean_.row(layer, pos0), x, n, d_, delta.data() + at, ratio.data() + at);
  }

 private:
  const ResidualStore& clean_;
  size_t T_, d_;

 public:
  std::vector<double> delta, ratio;
};

// Adds δ·‖x_p‖·u to the input vector of the token at window position p.
class EmbeddingNudge : public Patcher {
 public:
  EmbeddingNudge(const std::vector<double>& u, double delta, int p) : u_(u), delta_(delta), p_(p) {}
  void patch(Hook hook, int layer, int pos0, int n, float* x) override {
    if (hook != Hook::ResidPre || layer != 0 || p_ < pos0 || p_ >= pos0 + n) return;
    float* row = x + static_cast<size_t>(p_ - pos0) * u_.size();
    double norm = 0.0;
    for (size_t j = 0; j < u_.size(); ++j) norm += static_cast<double>(row[j]) * row[j];
    const double scale = delta_ * std::sqrt(norm);
    for (size_t j = 0; j < u_.size(); ++j) row[j] = static_cast<float>(row[j] + scale * u_[j]);
  }

 private:
  const std::vector<double>& u_;
  double delta_;
  int p_;
};

// A substitution found in one window's text: at text index `start`, first differing at `first`.
struct Substitution {
  const TokenPair* pair = nullptr;
  size_t start = 0, first = 0;
};

// The earliest occurrence of a pair's `from` tokens in text (pairs in order at one index) whose
// differing token leaves a later token in every condition's window.
std::optional<Substitution> find_substitution(std::span<const int> text,
                                              const std::vector<TokenPair>& pairs, size_t ctx) {
  const size_t n = std::min(text.size(), ctx - 1);  // the text every condition's window holds
  for (size_t s = 0; s < n; ++s)
    for (const TokenPair& p : pairs) {
      if (s + p.from.size() > n || !std::equal(p.from.begin(), p.from.end(), text.begin() + s))
        continue;
      size_t j = 0;
      while (j < p.from.size() && j < p.to.size() && p.from[j] == p.to[j]) ++j;
      if (j < p.from.size() && p.from.size() == p.to.size() && s + j + 3 <= ctx)
        return Substitution{&p, s, s + j};
    }
  return std::nullopt;
}

// Mean and sample standard deviation over windows of per-window values [window][layer].
LayerMeanSd mean_sd(const std::vector<std::vector<double>>& values, int n_layers) {
  LayerMeanSd out{std::vector<double>(n_layers, 0.0), std::vector<double>(n_layers, 0.0)};
  const double n = static_cast<double>(values.size());
  if (values.empty()) return out;
  for (int l = 0; l < n_layers; ++l) {
    double sum = 0.0;
    for (const auto& v : values) sum += v[l];
    const double m = sum / n;
    double sq = 0.0;
    for (const auto& v : values) sq += (v[l] - m) * (v[l] - m);
    out.mean[l] = m;
    out.sd[l] = values.size() > 1 ? std::sqrt(sq / (n - 1)) : 0.0;
  }
  return out;
}

// Folds the perturbed passes of one kind over windows.
struct SpreadFold {
  std::vector<std::vector<double>> delta, ratio;            // [window][layer]
  std::vector<std::vector<double>> heat_delta, heat_ratio;  // [offset][layer] sums
  std::vector<size_t> heat_count;
  std::vector<int> positions;
  std::vector<std::string> pairs;
  double before_max = 0;

  void add(const SpreadObserver& s, int n_layers, size_t T, size_t p, const std::string& pair) {
    std::vector<double> d(n_layers, 0.0), r(n_layers, 0.0);
    const double later = static_cast<double>(T - 1 - p);
    if (heat_count.size() < T - p) {
      heat_count.resize(T - p, 0);
      heat_delta.resize(T - p, std::vector<double>(n_layers, 0.0));
      heat_ratio.resize(T - p, std::vector<double>(n_layers, 0.0));
    }
    for (int l = 0; l < n_layers; ++l)
      for (size_t t = 0; t < p; ++t) before_max = std::max(before_max, s.delta[l * T + t]);
    for (int l = 0; l < n_layers; ++l)
      for (size_t t = p; t < T; ++t) {
        const double dv = s.delta[l * T + t], rv = s.ratio[l * T + t];
        if (t > p) d[l] += dv / later, r[l] += rv / later;
        heat_delta[t - p][l] += dv;
        heat_ratio[t - p][l] += rv;
      }
    for (size_t o = 0; o < T - p; ++o) ++heat_count[o];
    delta.push_back(std::move(d));
    ratio.push_back(std::move(r));
    positions.push_back(static_cast<int>(p));
    pairs.push_back(pair);
  }

  SpreadResult result(const std::string& kind, int n_layers) const {
    SpreadResult r;
    r.perturbation = kind;
    r.windows = delta.size();
    r.delta = mean_sd(delta, n_layers);
    r.ratio = mean_sd(ratio, n_layers);
    r.token_delta = heat_delta;
    r.token_ratio = heat_ratio;
    for (size_t o = 0; o < heat_count.size(); ++o)
      for (int l = 0; l < n_layers; ++l) {
        r.token_delta[o][l] /= static_cast<double>(heat_count[o]);
        r.token_ratio[o][l] /= static_cast<double>(heat_count[o]);
      }
    r.token_windows = heat_count;
    r.before_max = before_max;
    r.positions = positions;
    r.pairs = pairs;
    return r;
  }
};

struct Condition {
  std::string name;
  bool bos;
  bool ablated;
};

}  // namespace

MixingResult run_mixing(const Model& model, ThreadPool& pool, std::span<const int> text_ids,
                        const MixingOptions& opt,
                        const std::function<void(long, long, long)>& progress) {
  const ModelConfig& c = model.config;
  const int L = c.n_layers;
  const size_t ctx = static_cast<size_t>(opt.ctx), D = static_cast<size_t>(c.dim);
  require(opt.ctx >= 3, "--ctx", "must be at least 3, not " + std::to_string(opt.ctx));
  size_t n_windows = text_ids.size() / ctx;
  if (opt.chunks > 0) n_windows = std::min(n_windows, static_cast<size_t>(opt.chunks));
  require(n_windows > 0, "--ctx",
          "the text has " + std::to_string(text_ids.size()) + " tokens, fewer than one window of " +
              std::to_string(ctx));
  const int position = mixing_position(opt);
  require(
      !opt.embedding || (position >= 0 && static_cast<size_t>(position) + 3 <= ctx), "--position",
      "must be in 0.." + std::to_string(opt.ctx - 3) + " (a later token in every window of --ctx " +
          std::to_string(opt.ctx) + "), not " + std::to_string(position));
  require(!opt.embedding || (std::isfinite(opt.delta) && opt.delta >= 0), "--delta",
          "must be a finite number ≥ 0, not " + std::to_string(opt.delta));
  const bool want_ablated = opt.ablate_sinks || !opt.heads.empty();
  require(opt.bos_id >= 0 ||
              (!want_ablated && std::find(opt.bos.begin(), opt.bos.end(), true) == opt.bos.end()),
          "--bos", "the tokenizer has no BOS token: use --bos off --ablate none");

  MixingResult res;
  res.ctx = opt.ctx;
  res.windows = n_windows;
  res.n_layers = L;
  res.delta = opt.delta;
  res.position = position;
  res.seed = opt.seed;
  res.eps = opt.eps;
  res.ablate = opt.ablate;
  for (const TokenPair& p : opt.pairs) {
    res.pairs.push_back(p.label);
    res.pair_tokens.emplace_back(p.from, p.to);
  }

  auto text_of = [&](size_t w) { return text_ids.subspan(w * ctx, ctx); };
  auto window_ids = [&](size_t w, bool bos) {
    std::span<const int> text = text_of(w);
    std::vector<int> ids;
    if (bos) ids.push_back(opt.bos_id);
    ids.insert(ids.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(ctx - bos));
    return ids;
  };

  std::vector<std::optional<Substitution>> subs(n_windows);
  size_t hits = 0;
  if (opt.substitute) {
    for (size_t w = 0; w < n_windows; ++w)
      hits += (subs[w] = find_substitution(text_of(w), opt.pairs, ctx)).has_value();
    if (opt.pairs.empty())
      res.notes.push_back("substitute: no usable word pair");
    else if (hits < n_windows)
      res.notes.push_back("substitute: " + std::to_string(n_windows - hits) + " of " +
                          std::to_string(n_windows) + " windows hold none of the pairs' words");
  }

  std::vector<Condition> conditions;
  for (bool bos : opt.bos) conditions.push_back({bos ? "bos-on" : "bos-off", bos, false});
  const long passes_per_window = 1 + (opt.embedding ? 1 : 0);
  long total = static_cast<long>(n_windows) * (opt.ablate_sinks ? 1 : 0) +
               static_cast<long>(conditions.size() + (want_ablated ? 1 : 0)) *
                   (static_cast<long>(n_windows) * passes_per_window + static_cast<long>(hits));
  long done = 0, tokens = 0;
  auto step = [&](size_t n) {
    ++done;
    tokens += static_cast<long>(n);
    if (progress) progress(done, total, tokens);
  };

  Runtime rt(model, pool, opt.ctx);
  std::vector<std::pair<int, int>> heads = opt.heads;
  if (opt.ablate_sinks) {
    // The sink heads of this text: mean bos_sink_score over the same windows, BOS first.
    SinkStatsObserver stats(model, SinkStatsOptions{4, opt.eps});
    rt.add_observer(&stats);
    std::vector<double> score(static_cast<size_t>(L) * c.n_heads, 0.0);
    for (size_t w = 0; w < n_windows; ++w) {
      std::vector<int> ids = window_ids(w, true);
      stats.begin_window(static_cast<int>(ids.size()));
      rt.forward(ids, 0, Logits::None);
      const HeadTable table = stats.finish_window();
      const std::vector<double>& s = table.at("bos_sink_score");
      for (size_t i = 0; i < score.size(); ++i) score[i] += s[i] / static_cast<double>(n_windows);
      step(ids.size());
    }
    rt.clear_observers();
    heads.clear();
    for (int l = 0; l < L; ++l)
      for (int h = 0; h < c.n_heads; ++h)
        if (score[static_cast<size_t>(l) * c.n_heads + h] > opt.eps) {
          heads.emplace_back(l, h);
          res.ablated_scores.push_back(score[static_cast<size_t>(l) * c.n_heads + h]);
        }
    if (heads.empty()) {
      res.notes.push_back("ablated: no head has bos_sink_score > " + std::to_string(opt.eps) +
                          " on this text, so nothing to ablate");
      total -= static_cast<long>(n_windows) * passes_per_window + static_cast<long>(hits);
    }
  }
  res.ablated = heads;
  if (!heads.empty()) conditions.push_back({"ablated", true, true});

  HeadMask mask(c);
  for (auto [l, h] : heads) mask.set(l, h, HeadAction::Zero);
  const std::vector<double> u = perturbation_direction(D, opt.seed);

  for (const Condition& cond : conditions) {
    MixingCondition mc;
    mc.name = cond.name;
    mc.bos = cond.bos;
    mc.masked_heads = cond.ablated ? static_cast<int>(heads.size()) : 0;
    rt.set_head_mask(cond.ablated ? &mask : nullptr);
    std::vector<std::vector<double>> mu;
    SpreadFold embedding, substitute;
    const size_t shift = cond.bos ? 1 : 0;  // window position of text index 0
    for (size_t w = 0; w < n_windows; ++w) {
      std::vector<int> ids = window_ids(w, cond.bos);
      const size_t T = ids.size();
      ResidualStore clean(L, T, D);
      rt.clear_observers();
      rt.add_observer(&clean);
      rt.forward(ids, 0, Logits::None);
      step(T);
      std::vector<double> m(L);
      for (int l = 0; l < L; ++l) m[l] = over_mixing(clean.row(l, 0), T, D);
      mu.push_back(std::move(m));
      auto perturbed = [&](const std::vector<int>& run_ids, Patcher* patcher, size_t p,
                           SpreadFold& fold, const std::string& pair) {
        SpreadObserver spread(clean, L, T, D);
        rt.clear_observers();
        rt.add_observer(&spread);
        rt.set_patcher(patcher);
        rt.forward(run_ids, 0, Logits::None);
        rt.set_patcher(nullptr);
        step(T);
        fold.add(spread, L, T, p, pair);
      };
      if (opt.embedding) {
        const size_t p = static_cast<size_t>(position) + shift;
        EmbeddingNudge nudge(u, opt.delta, static_cast<int>(p));
        perturbed(ids, &nudge, p, embedding, "");
      }
      if (subs[w]) {
        const Substitution& s = *subs[w];
        std::vector<int> changed = ids;
        std::copy(s.pair->to.begin(), s.pair->to.end(),
                  changed.begin() + static_cast<std::ptrdiff_t>(s.start + shift));
        perturbed(changed, nullptr, s.first + shift, substitute, s.pair->label);
      }
      mc.window_ids.push_back(std::move(ids));
    }
    rt.clear_observers();
    mc.over_mixing = mean_sd(mu, L);
    if (opt.embedding) mc.spread.push_back(embedding.result("embedding", L));
    if (hits > 0) mc.spread.push_back(substitute.result("substitute", L));
    res.conditions.push_back(std::move(mc));
  }
  rt.set_head_mask(nullptr);
  return res;
}

}  // namespace ss
