#include "experiments/analyze.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/massive.h"
#include "analysis/moe_stats.h"
#include "analysis/pattern_dump.h"
#include "analysis/rank_correlation.h"
#include "analysis/sink_capture.h"
#include "analysis/sink_mechanism.h"
#include "analysis/statistics.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/wire.h"
#include "experiments/pipeline.h"
#include "runtime/runtime.h"

namespace ss {

std::vector<std::vector<int>> make_windows(std::span<const int> text_ids, int ctx,
                                           const FirstTokenMode& mode, int max_windows) {
  const bool prefixed = mode.first_id >= 0;
  const size_t body = prefixed ? ctx - 1 : ctx;
  std::vector<std::vector<int>> windows;
  for (size_t start = 0; start + body <= text_ids.size(); start += body) {
    if (max_windows > 0 && static_cast<int>(windows.size()) == max_windows) break;
    std::vector<int> w;
    if (prefixed) w.push_back(mode.first_id);
    w.insert(w.end(), text_ids.begin() + start, text_ids.begin() + start + body);
    windows.push_back(std::move(w));
  }
  return windows;
}

namespace {

// What one window adds to a run: its statistics, losses, top massive activations and router
// counts. Records travel between ranks as bytes.
struct WindowRecord {
  HeadTable table;
  std::vector<double> nll;
  std::vector<MassiveEntry> massive;
  std::optional<MoeStatsObserver::Window> moe;
  std::optional<MechanismWindow> mechanism;
};

std::string encode(const WindowRecord& r) {
  WireWriter out;
  out.put<uint64_t>(r.table.size());
  for (const auto& [name, values] : r.table) out.put_string(name).put_vector<double>(values);
  out.put_vector<double>(r.nll).put_vector<MassiveEntry>(r.massive).put<bool>(r.moe.has_value());
  if (r.moe)
    out.put_vector<double>(r.moe->entropy)
        .put_vector<long>(r.moe->tokens)
        .put_vector<long>(r.moe->slots);
  out.put<bool>(r.mechanism.has_value());
  if (const auto& m = r.mechanism)
    out.put_vector<double>(m->sink_max_abs)
        .put_vector<int>(m->sink_channel)
        .put_vector<double>(m->norm_share)
        .put_vector<double>(m->base_norm_share)
        .put_vector<int>(m->share_channel)
        .put_vector<double>(m->resid_share)
        .put_vector<double>(m->sink_keys)
        .put_vector<double>(m->base_keys);
  return out.take();
}

WindowRecord decode(std::string_view bytes) {
  WireReader in(bytes);
  WindowRecord r;
  for (auto n = in.get<uint64_t>(); n > 0; --n) {
    std::string name = in.get_string();
    r.table[name] = in.get_vector<double>();
  }
  r.nll = in.get_vector<double>();
  r.massive = in.get_vector<MassiveEntry>();
  if (in.get<bool>()) {
    MoeStatsObserver::Window w;
    w.entropy = in.get_vector<double>();
    w.tokens = in.get_vector<long>();
    w.slots = in.get_vector<long>();
    r.moe = std::move(w);
  }
  if (in.get<bool>()) {
    MechanismWindow m;
    m.sink_max_abs = in.get_vector<double>();
    m.sink_channel = in.get_vector<int>();
    m.norm_share = in.get_vector<double>();
    m.base_norm_share = in.get_vector<double>();
    m.share_channel = in.get_vector<int>();
    m.resid_share = in.get_vector<double>();
    m.sink_keys = in.get_vector<double>();
    m.base_keys = in.get_vector<double>();
    r.mechanism = std::move(m);
  }
  return r;
}

// One window's records from the stages of a pipeline, as one record: each layer's rows from the
// rank that ran it, the losses from the last.
WindowRecord merge_stages(const std::vector<WindowRecord>& parts,
                          const std::vector<LayerRange>& ranges, int n_layers) {
  WindowRecord out = parts.back();
  out.massive.clear();
  for (size_t r = 0; r < parts.size(); ++r) {
    const LayerRange g = ranges[r];
    if (r + 1 < parts.size()) {
      for (auto& [name, values] : out.table) {
        const size_t per_layer = values.size() / n_layers;
        const auto& src = parts[r].table.at(name);
        std::copy(src.begin() + g.first * per_layer, src.begin() + g.end * per_layer,
                  values.begin() + g.first * per_layer);
      }
      if (out.moe) {
        const size_t E = out.moe->slots.size() / n_layers;
        for (int l = g.first; l < g.end; ++l) {
          out.moe->entropy[l] = parts[r].moe->entropy[l];
          out.moe->tokens[l] = parts[r].moe->tokens[l];
          std::copy_n(parts[r].moe->slots.begin() + l * E, E, out.moe->slots.begin() + l * E);
        }
      }
    }
    // Each rank's entries are its layers', layer-major: in rank order, layer-major across ranks.
    out.massive.insert(out.massive.end(), parts[r].massive.begin(), parts[r].massive.end());
  }
  return out;
}

// The run's mechanism result: the accumulated windows, and the FFN quadratic form at the spike,
// whose normed FFN input a second pass over the spike's window captures.
MechanismResult mechanism_result(const Model& model, ThreadPool& pool, int ctx,
                                 const std::vector<std::vector<int>>& windows,
                                 std::span<const MassiveEntry> massive,
                                 const MechanismAccumulator& acc) {
  MechanismResult r = acc.result();
  r.spike = choose_spike(massive, model.config.n_layers);
  if (const auto why = quadratic_form_unsupported(model.config)) {
    r.form_note = "no FFN quadratic form: the model has " + *why;
    return r;
  }
  if (!r.spike) {
    r.form_note = "no FFN quadratic form: no activation was recorded";
    return r;
  }
  // The normed FFN input of (window, layer, pos), and the form there.
  auto form_at = [&](size_t window, int layer, int pos, int channel) {
    FfnInputCapture input(layer, pos);
    Runtime rt(model, pool, ctx);
    rt.set_linear_input(&input);
    rt.forward(windows[window], 0, Logits::None);
    return ffn_quadratic_form(model, layer, channel, input.input(), pool);
  };
  r.form = form_at(r.spike->window, r.spike->layer, r.spike->pos, r.spike->channel);
  if (!r.spike->massive)
    r.form_note =
        "no activation passes the massive rule (|h| > 100 and > 1000 x median): the form is "
        "taken at the block with the largest step-up of the top |h|";
  if (const int b = sink_step_block(r); b >= 0)
    r.sink_form = form_at(0, b, 0, r.layers[b].sink_channel);
  return r;
}

using Patterns = std::map<std::pair<int, int>, std::vector<std::vector<float>>>;

// The full patterns of the strongest head (chosen by the root and sent to every rank of a
// pipeline) and of --dump-attention's heads over the first `dump_w` tokens of a window. In a
// pipeline every rank runs the window through its stage and sends the patterns of its layers to
// the root. Only the root's result is whole.
Patterns dump_patterns(const Model& model, ThreadPool& pool, int ctx, std::span<const int> window,
                       const AnalyzeOptions& opt, const Cluster& cl, const PipelineStage* stage,
                       std::pair<int, int> strongest, int dump_w) {
  if (stage) {  // the root's choice, on every rank
    WireWriter w;
    w.put<int>(strongest.first).put<int>(strongest.second).put<int>(dump_w);
    std::string bytes = w.take();
    cl.broadcast(bytes);
    WireReader in(bytes);
    strongest.first = in.get<int>();
    strongest.second = in.get<int>();
    dump_w = in.get<int>();
  }
  std::vector<std::pair<int, int>> heads = opt.dump_heads;
  heads.push_back(strongest);
  PatternDumpObserver dump(heads, dump_w);
  Runtime rt(model, pool, ctx);
  rt.set_head_mask(opt.mask);
  rt.set_stage(stage);
  rt.add_observer(&dump);
  rt.forward(window, 0, Logits::None);
  Patterns out;
  if (!stage) {
    for (auto lh : heads) out[lh] = dump.pattern(lh.first, lh.second);
    return out;
  }
  WireWriter mine;
  for (auto [l, h] : heads) {
    if (l < stage->first || l >= stage->end) continue;
    const auto& p = dump.pattern(l, h);
    mine.put<int>(l).put<int>(h).put<uint64_t>(p.size());
    for (const auto& row : p) mine.put_vector<float>(row);
  }
  for (const std::string& bytes : cl.gather(mine.take())) {
    WireReader in(bytes);
    while (!in.done()) {
      const int l = in.get<int>(), h = in.get<int>();
      std::vector<std::vector<float>> rows(in.get<uint64_t>());
      for (auto& row : rows) row = in.get_vector<float>();
      out[{l, h}] = std::move(rows);
    }
  }
  return out;
}

// One (ctx, mode): all windows, aggregated.
AnalysisRun analyze_run(const Model& model, ThreadPool& pool, std::span<const int> text_ids,
                        int ctx, const FirstTokenMode& mode, const AnalyzeOptions& opt,
                        const std::function<void(int)>& window_done) {
  const ModelConfig& c = model.config;
  const int L = c.n_layers, H = c.n_heads;
  auto windows = make_windows(text_ids, ctx, mode, opt.chunks);
  const size_t needed = mode.first_id >= 0 ? ctx - 1 : ctx;
  require(!windows.empty(), "--ctx",
          "the text has " + std::to_string(text_ids.size()) + " tokens, fewer than one window of " +
              std::to_string(ctx) + " (needs " + std::to_string(needed) + ")");

  Runtime rt(model, pool, ctx);
  rt.set_head_mask(opt.mask);
  SinkStatsObserver stats(model, opt.stats);
  MassiveObserver massive(c);
  rt.add_observer(&stats);
  rt.add_observer(&massive);
  std::optional<MoeStatsObserver> moe;
  if (c.n_experts > 0) rt.add_observer(&moe.emplace(L, c.n_experts, c.n_experts_used));
  // The baseline of the sink's key: the middle of the window.
  const int baseline = ctx / 2;
  std::optional<SinkCaptureObserver> capture;
  std::optional<MechanismAccumulator> mechanism;
  if (opt.mechanism) {
    rt.add_observer(&capture.emplace(model, baseline));
    rt.set_linear_input(&*capture);
    mechanism.emplace(c, baseline);
  }

  std::map<std::string, std::vector<double>> sum, sumsq;
  std::vector<std::map<int, int>> top_key_votes(static_cast<size_t>(L) * H);
  double nll_sum = 0;
  long scored = 0;
  MassiveObserver massive_all(c);
  std::optional<MoeStatsObserver> moe_all;
  if (moe) moe_all.emplace(L, c.n_experts, c.n_experts_used);
  // Each window on its rank (base/cluster.h), or through every rank's stage of a pipeline: its
  // record travels to the root, which folds the records in window order.
  const Cluster& cl = opt.cluster ? *opt.cluster : single_process();
  const bool piped = !opt.pipeline.empty();
  std::optional<PipelineStage> stage;
  if (piped) rt.set_stage(&stage.emplace(cluster_stage(cl, opt.pipeline[cl.rank()])));
  auto run_window = [&](size_t w) {
    stats.begin_window(ctx);
    massive.reset();
    massive.begin_window(static_cast<int>(w), windows[w]);
    if (moe) moe->begin_window();
    if (capture) capture->begin_window();
    WindowRecord r;
    if (opt.nll)
      r.nll = rt.forward_nll(windows[w], 0);
    else
      rt.forward(windows[w], 0, Logits::None);
    r.table = stats.finish_window();
    r.massive = massive.entries();
    if (moe) r.moe = moe->window();
    if (capture) r.mechanism = capture->window();
    return encode(r);
  };
  auto fold = [&](const WindowRecord& r) {
    for (double nll : r.nll) nll_sum += nll, ++scored;
    massive_all.merge(r.massive);
    if (moe) moe_all->add_window(*r.moe);
    if (mechanism) mechanism->add(*r.mechanism);
    for (const auto& [name, values] : r.table) {
      auto& s = sum[name];
      auto& s2 = sumsq[name];
      s.resize(values.size(), 0.0);
      s2.resize(values.size(), 0.0);
      for (size_t i = 0; i < values.size(); ++i) s[i] += values[i], s2[i] += values[i] * values[i];
    }
    const std::vector<double>& top_key = r.table.at("top_key");
    for (size_t i = 0; i < top_key_votes.size(); ++i)
      ++top_key_votes[i][static_cast<int>(top_key[i])];
  };
  if (!piped) {
    distribute(cl, windows.size(), run_window, [&](size_t, std::string_view bytes) {
      fold(decode(bytes));
      if (window_done) window_done(ctx);
    });
    if (!cl.root()) return {};  // the root holds the result
  } else {
    // Every rank runs every window through its stage; windows follow each other, so the stages
    // work on successive windows at once. The records meet on the root at the end.
    WireWriter mine;
    mine.put<uint64_t>(windows.size());
    for (size_t w = 0; w < windows.size(); ++w) {
      mine.put_string(run_window(w));
      if (window_done) window_done(ctx);
    }
    const std::vector<std::string> all = cl.gather(mine.take());
    if (cl.root()) {
      std::vector<WireReader> readers(all.begin(), all.end());
      for (auto& in : readers) in.get<uint64_t>();
      for (size_t w = 0; w < windows.size(); ++w) {
        std::vector<WindowRecord> parts;
        for (auto& in : readers) parts.push_back(decode(in.get_string()));
        fold(merge_stages(parts, opt.pipeline, L));
      }
    } else {
      dump_patterns(model, pool, ctx, windows[0], opt, cl, stage ? &*stage : nullptr, {}, 0);
      return {};  // the root holds the result
    }
  }

  const double n = static_cast<double>(windows.size());
  auto mean = [&](const std::string& name, size_t i) { return sum[name][i] / n; };
  auto stddev = [&](const std::string& name, size_t i) {
    if (windows.size() < 2) return 0.0;  // sample standard deviation over windows
    double m = mean(name, i);
    return std::sqrt(std::max(0.0, (sumsq[name][i] - n * m * m) / (n - 1)));
  };
  const auto& registry = statistics();
  const double eps = opt.stats.eps;
  AnalysisRun run;
  run.ctx = ctx;
  run.bos = mode.name;
  run.first_token_id = mode.first_id;
  run.windows = windows.size();
  run.tokens = windows.size() * static_cast<size_t>(ctx);
  if (scored) run.nll_mean = nll_sum / scored;
  int sinks = 0, sinks08 = 0, sinks_top = 0;
  size_t strongest = 0;
  double present = 0;  // heads the layers have
  for (int l = 0; l < L; ++l) {
    LayerResult lr;
    lr.layer = l;
    lr.mean.assign(registry.size(), 0.0);
    int lsinks = 0, lsinks08 = 0, lsinks_top = 0;
    for (int h = 0; h < H; ++h) {
      const size_t i = static_cast<size_t>(l) * H + h;
      HeadResult hr;
      hr.layer = l, hr.head = h;
      hr.mean.assign(registry.size(), 0.0);
      hr.stddev.assign(registry.size(), 0.0);
      for (size_t s = 0; s < registry.size(); ++s) {
        const std::string name(registry[s].name);
        if (registry[s].aggregate == Aggregate::Mode) {
          // The key most often strongest across windows (lowest on ties).
          auto best = std::max_element(top_key_votes[i].begin(), top_key_votes[i].end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
          hr.mean[s] = best->first;
          continue;
        }
        hr.mean[s] = mean(name, i);
        hr.stddev[s] = stddev(name, i);
      }
      const double bos = mean("bos_sink_score", i);
      hr.is_sink = bos > eps;
      hr.is_sink_08 = bos > 0.8;
      lsinks += bos > eps;
      lsinks08 += bos > 0.8;
      lsinks_top += mean("top_key_score", i) > eps;
      if (bos > mean("bos_sink_score", strongest)) strongest = i;
      run.heads.push_back(std::move(hr));
    }
    for (size_t s = 0; s < registry.size(); ++s) {
      if (registry[s].aggregate == Aggregate::Mode) continue;  // an index: no layer mean
      const std::string name(registry[s].name);
      double sm = 0;
      for (int h = 0; h < c.heads(l); ++h) sm += mean(name, static_cast<size_t>(l) * H + h);
      lr.mean[s] = sm / c.heads(l);
    }
    // Over the heads the layer has (per-layer head counts: the others are absent, all 0).
    lr.sink_rate = static_cast<double>(lsinks) / c.heads(l);
    lr.sink_rate_08 = static_cast<double>(lsinks08) / c.heads(l);
    lr.sink_rate_top_key = static_cast<double>(lsinks_top) / c.heads(l);
    present += c.heads(l);
    sinks += lsinks, sinks08 += lsinks08, sinks_top += lsinks_top;
    run.layers.push_back(std::move(lr));
  }
  run.massive = massive_all.entries();
  if (moe) run.moe = moe_all->result();
  if (mechanism)
    run.mechanism = mechanism_result(model, pool, ctx, windows, run.massive, *mechanism);

  // A second pass over the first window for the full patterns: the strongest sink head (for
  // the report) and any heads asked for with --dump-attention.
  const int sl = static_cast<int>(strongest / H), sh = static_cast<int>(strongest % H);
  const int dump_w = std::min(ctx, std::max(opt.dump_window, opt.pattern_window));
  const auto patterns = dump_patterns(model, pool, ctx, windows[0], opt, cl,
                                      stage ? &*stage : nullptr, {sl, sh}, dump_w);
  auto crop = [&](int l, int h, int w) {
    const auto& p = patterns.at({l, h});
    HeadPattern out{l, h, std::vector<std::vector<float>>(p.begin(), p.begin() + w)};
    for (auto& r : out.rows) r.resize(w);
    return out;
  };
  for (auto [l, h] : opt.dump_heads)
    run.dumps.push_back(crop(l, h, std::min(ctx, opt.dump_window)));
  run.strongest_sink = crop(sl, sh, std::min(ctx, opt.pattern_window));

  if (has_sink_column(model)) {
    const size_t learned = stat_index("learned_sink_mass"), bos = stat_index("bos_sink_score");
    std::vector<double> a[3], b[3];  // all, sliding, full
    for (const HeadResult& hr : run.heads)
      for (int g : {0, c.is_sliding(hr.layer) ? 1 : 2}) {
        if (hr.head >= c.heads(hr.layer)) break;  // absent (per-layer head counts)
        a[g].push_back(hr.mean[learned]);
        b[g].push_back(hr.mean[bos]);
      }
    run.learned_vs_bos = {spearman(a[0], b[0]), spearman(a[1], b[1]), spearman(a[2], b[2])};
  }
  run.sink_rate = sinks / present;
  run.sink_rate_08 = sinks08 / present;
  run.sink_rate_top_key = sinks_top / present;
  return run;
}

}  // namespace

AnalysisResult analyze(const Model& model, ThreadPool& pool, std::span<const int> text_ids,
                       const AnalyzeOptions& opt,
                       const std::function<void(long, long, long)>& progress) {
  long total = 0, done = 0, tokens = 0;
  for (const auto& mode : opt.modes)
    for (int ctx : opt.contexts)
      total += static_cast<long>(make_windows(text_ids, ctx, mode, opt.chunks).size());
  auto window_done = [&](int ctx) {
    ++done;
    tokens += ctx;
    if (progress) progress(done, total, tokens);
  };

  const ModelConfig& c = model.config;
  AnalysisResult r;
  r.arch = c.arch;
  r.n_layers = c.n_layers, r.n_heads = c.n_heads, r.n_kv_heads = c.n_kv_heads;
  r.heads_per_layer = c.layer_n_heads;
  r.head_dim = c.head_dim, r.dim = c.dim, r.vocab_size = c.vocab_size;
  r.eps = opt.stats.eps;
  r.sink_tokens = opt.stats.sink_tokens;
  for (const auto& mode : opt.modes)
    for (int ctx : opt.contexts)
      r.runs.push_back(analyze_run(model, pool, text_ids, ctx, mode, opt, window_done));
  if (!(opt.cluster ? *opt.cluster : single_process()).root())
    return r;  // only the root's is whole

  // Length robustness: Spearman ρ of bos_sink_score rankings between every pair of lengths.
  const size_t bos = stat_index("bos_sink_score");
  auto scores = [&](const std::string& mode, int ctx) {
    std::vector<double> out;
    for (const auto& run : r.runs)
      if (run.bos == mode && run.ctx == ctx)
        for (const auto& h : run.heads) out.push_back(h.mean[bos]);
    return out;
  };
  for (const auto& mode : opt.modes)
    for (size_t a = 0; a < opt.contexts.size(); ++a)
      for (size_t b = a + 1; b < opt.contexts.size(); ++b)
        r.stability.push_back(
            {mode.name, opt.contexts[a], opt.contexts[b],
             spearman(scores(mode.name, opt.contexts[a]), scores(mode.name, opt.contexts[b]))});
  r.tokens_processed = tokens;
  return r;
}

}  // namespace ss
