#pragma once
// The data of the attention viewer (report/attention_view.h) for one prompt: forward passes with
// BOS first and without it, and each again with some heads zeroed, every head's pattern captured
// from the attention hook (analysis/triangle_capture.h), its bos_sink_score folded by the sink
// statistics observer (analysis/head_stats.h), quantised and deflated to fit a size budget.
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "report/attention_view.h"
#include "runtime/head_mask.h"

namespace ss {

constexpr int kViewMaxTokens = 512;
// Heads zeroed by default in the ablated runs: the strongest sink heads of the first run.
constexpr int kViewDefaultAblated = 4;

struct AttentionViewOptions {
  int bos_id = -1;        // -1: the tokenizer has none, so only runs without BOS
  bool start_bos = true;  // the run the page opens with
  // The ablated runs' mask; nullopt: zero the kViewDefaultAblated heads with the highest
  // bos_sink_score above eps in the first run (no ablated runs when no head is a sink).
  std::optional<HeadMask> ablation;
  std::vector<std::pair<int, int>> ablated_heads;  // what `ablation` zeroes, for the page
  std::string ablation_source = "--ablate";
  double eps = 0.3;
  size_t max_bytes = 40'000'000;  // the whole file
  std::string model_name, description;
};

// text_ids: the prompt without BOS. InputError("--prompt", ...) when BOS plus the text is more
// than kViewMaxTokens tokens or longer than the model's context.
AttentionView build_attention_view(const Model& model, ThreadPool& pool,
                                   std::span<const int> text_ids,
                                   const std::function<std::string(int)>& token_label,
                                   AttentionViewOptions opt, const std::string& what = "--prompt");

}  // namespace ss
