#include "experiments/attention_view.h"

#include <algorithm>
#include <numeric>

#include "analysis/head_stats.h"
#include "analysis/triangle_capture.h"
#include "base/error.h"
#include "report/pattern_codec.h"
#include "runtime/runtime.h"

namespace ss {

namespace {

struct Captured {
  ViewRun run;
  std::vector<std::vector<PatternLevel>> levels;  // per head; empty where same_as >= 0
};

// Max-pooled S × S thumbnail of one head's triangle.
void thumbnail(std::span<const float> tri, int T, int S, uint8_t* out) {
  std::vector<float> best(static_cast<size_t>(S) * S, 0.0f);
  for (int t = 0; t < T; ++t) {
    const int bt = t * S / T;
    const float* row = tri.data() + triangle_offset(t);
    for (int k = 0; k <= t; ++k) {
      float& b = best[static_cast<size_t>(bt) * S + k * S / T];
      b = std::max(b, row[k]);
    }
  }
  for (size_t i = 0; i < best.size(); ++i)
    out[i] = static_cast<uint8_t>(std::clamp(best[i], 0.0f, 1.0f) * 255.0f + 0.5f);
}

Captured run_one(const Model& model, ThreadPool& pool, std::vector<int> ids, const HeadMask* mask,
                 double eps, size_t cap, const std::function<std::string(int)>& label) {
  const ModelConfig& c = model.config;
  const int T = static_cast<int>(ids.size());
  const size_t n = static_cast<size_t>(c.n_layers) * c.n_heads;
  TriangleCapture capture(c, T);
  SinkStatsObserver stats(model, {4, static_cast<float>(eps)});
  {
    Runtime rt(model, pool, T);
    rt.set_head_mask(mask);
    rt.add_observer(&capture);
    rt.add_observer(&stats);
    stats.begin_window(T);
    rt.forward(ids, 0, Logits::None);
  }
  const HeadTable table = stats.finish_window();
  const std::vector<double>& score = table.at("bos_sink_score");

  Captured out;
  out.run.ids = std::move(ids);
  for (int id : out.run.ids) out.run.tokens.push_back(label(id));
  out.run.thumb = view_thumb_size(T);
  const int S = out.run.thumb;
  out.run.thumbs.resize(n * S * S);
  out.run.heads.resize(n);
  out.levels.resize(n);
  pool.parallel_for_dynamic(n, 1, [&](size_t begin, size_t end, int) {
    for (size_t i = begin; i < end; ++i) {
      const auto tri =
          capture.head(static_cast<int>(i / c.n_heads), static_cast<int>(i % c.n_heads));
      out.levels[i] = encode_levels(tri, cap);
      thumbnail(tri, T, S, out.run.thumbs.data() + i * S * S);
      out.run.heads[i].bos_sink_score = score[i];
    }
  });
  return out;
}

}  // namespace

AttentionView build_attention_view(const Model& model, ThreadPool& pool,
                                   std::span<const int> text_ids,
                                   const std::function<std::string(int)>& token_label,
                                   AttentionViewOptions opt, const std::string& what) {
  const ModelConfig& c = model.config;
  const bool with_bos = opt.bos_id >= 0;
  const size_t T = text_ids.size() + (with_bos ? 1 : 0);
  require(!text_ids.empty(), what, "the text has no tokens");
  require(T <= static_cast<size_t>(kViewMaxTokens), what,
          std::to_string(T) + " tokens" + (with_bos ? " with BOS" : "") +
              ", more than the viewer's " + std::to_string(kViewMaxTokens));
  require(T <= static_cast<size_t>(c.max_seq_len), what,
          std::to_string(T) + " tokens, longer than the model's context of " +
              std::to_string(c.max_seq_len));
  const size_t n = static_cast<size_t>(c.n_layers) * c.n_heads;

  // Up to four runs. Each head's levels go down to an even share of a conservative budget
  // (thumbnails counted raw); choose_levels then spends what the sparse heads leave of the real
  // one.
  const int bases = with_bos ? 2 : 1;
  const size_t S = static_cast<size_t>(view_thumb_size(static_cast<int>(T)));
  auto fixed_bytes = [&](size_t thumbs, size_t labels, size_t runs) {
    return 80'000 + runs * (T * 12 + n * 40) + labels * 7 / 6 + thumbs * 4 / 3;
  };
  auto budget_for = [&](size_t fixed) {
    return opt.max_bytes > fixed ? (opt.max_bytes - fixed) * 3 / 4 : 0;  // base64: 4 per 3
  };
  const size_t cap0 =
      budget_for(fixed_bytes(2 * bases * n * S * S, 2 * bases * T * 64, 2 * bases)) /
      (2 * bases * n);

  std::vector<Captured> runs;
  auto base_ids = [&](bool bos) {
    std::vector<int> ids;
    if (bos) ids.push_back(opt.bos_id);
    ids.insert(ids.end(), text_ids.begin(), text_ids.end());
    return ids;
  };
  for (bool bos : {true, false}) {
    if (bos && !with_bos) continue;
    runs.push_back(run_one(model, pool, base_ids(bos), nullptr, opt.eps, cap0, token_label));
    runs.back().run.bos = bos;
    runs.back().run.name = bos ? "BOS on" : "BOS off";
  }
  if (!opt.ablation) {
    // The strongest sink heads of the first run (BOS on where there is one).
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    const auto& heads = runs[0].run.heads;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return heads[a].bos_sink_score > heads[b].bos_sink_score;
    });
    HeadMask mask(c);
    opt.ablated_heads.clear();
    for (size_t i : order) {
      if (opt.ablated_heads.size() >= static_cast<size_t>(kViewDefaultAblated) ||
          !(heads[i].bos_sink_score > opt.eps))
        break;
      const int l = static_cast<int>(i / c.n_heads), h = static_cast<int>(i % c.n_heads);
      opt.ablated_heads.emplace_back(l, h);
      mask.set(l, h, HeadAction::Zero);
    }
    std::sort(opt.ablated_heads.begin(), opt.ablated_heads.end());
    const std::string eps = std::to_string(opt.eps).substr(0, 4);
    opt.ablation_source =
        opt.ablated_heads.empty()
            ? "none (by default the strongest sink heads, but no head has a bos_sink_score above " +
                  eps + " in the " + runs[0].run.name + " run)"
            : "default: the " + std::to_string(opt.ablated_heads.size()) +
                  " heads with the highest bos_sink_score above " + eps + " in the " +
                  runs[0].run.name + " run";
    if (!opt.ablated_heads.empty()) opt.ablation = std::move(mask);
  }
  if (opt.ablation && opt.ablation->any()) {
    for (int b = 0; b < bases; ++b) {
      const bool bos = runs[b].run.bos;
      Captured r = run_one(model, pool, base_ids(bos), &*opt.ablation, opt.eps, cap0, token_label);
      r.run.bos = bos;
      r.run.ablated = true;
      r.run.name = runs[b].run.name + ", ablated";
      // Layers before the first ablated one see the same rows: stored once.
      for (size_t i = 0; i < n; ++i)
        if (r.levels[i][0].deflated == runs[b].levels[i][0].deflated) {
          r.run.heads[i].same_as = b;
          r.levels[i].clear();
        }
      runs.push_back(std::move(r));
    }
  }

  // One level per stored head, within the budget.
  std::vector<std::vector<PatternLevel>> all;
  std::vector<std::pair<size_t, size_t>> where;
  for (size_t r = 0; r < runs.size(); ++r)
    for (size_t i = 0; i < n; ++i)
      if (!runs[r].levels[i].empty()) {
        all.push_back(std::move(runs[r].levels[i]));
        where.emplace_back(r, i);
      }
  size_t thumbs = 0, labels = 0;
  for (const Captured& r : runs) {
    thumbs += deflate_bytes(r.run.thumbs).size();
    for (const std::string& t : r.run.tokens) labels += t.size();
  }
  const std::vector<size_t> chosen =
      choose_levels(all, budget_for(fixed_bytes(thumbs, labels, runs.size())));
  for (size_t j = 0; j < all.size(); ++j) {
    ViewHead& h = runs[where[j].first].run.heads[where[j].second];
    h.bits = all[j][chosen[j]].bits;
    h.deflated = std::move(all[j][chosen[j]].deflated);
  }

  AttentionView view;
  view.model = opt.model_name;
  view.description = opt.description;
  view.n_layers = c.n_layers;
  view.n_heads = c.n_heads;
  view.eps = opt.eps;
  view.ablated = opt.ablated_heads;
  view.ablation_source = opt.ablation_source;
  view.start_bos = opt.start_bos && with_bos;
  for (Captured& r : runs) view.runs.push_back(std::move(r.run));
  return view;
}

}  // namespace ss
