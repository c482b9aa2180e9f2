// sinkscope perplexity: mean NLL over consecutive windows of a text file.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "analysis/statistics.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "eval/perplexity.h"
#include "eval/perplexity_conventions.h"
#include "experiments/calibrate.h"
#include "experiments/dormant_perplexity.h"
#include "experiments/pipeline.h"
#include "model/load_model.h"
#include "prune/criteria.h"
#include "prune/dormant_rule.h"
#include "runtime/head_mask.h"
#include "runtime/streaming.h"

namespace ss::cli {

namespace {
struct PerplexityArgs : CommonArgs {
  std::string file;
  int ctx = 0;
  int chunks = 0;
  int stride = 0;
  std::string scoring = "all";
  bool json = false;
  std::string dormant_threshold;
  double dormant_fraction = -1;
  std::string dormant_score = "ahon_ln";
  std::string dormant_mode = "per-input";
  std::string calib;
  int calib_ctx = 256;
  int calib_chunks = 4;
  bool pipeline = false;
  std::string pipeline_split;
  std::string cache = "dense";
  std::string positions = "cache";
};
}  // namespace

void add_perplexity(CLI::App& root) {
  auto a = std::make_shared<PerplexityArgs>();
  CLI::App* cmd = root.add_subcommand(
      "perplexity",
      "Perplexity of a text file. The whole file is tokenized (BOS first) and cut into "
      "windows of --ctx tokens (consecutive, or every --stride tokens); each window after the "
      "first starts with BOS in place of its first token; the first window scores positions "
      "1..ctx-1, later ones the tokens no earlier window scored (or, with --scoring "
      "second-half, llama.cpp's windows). Reports token perplexity and, when every token is "
      "scored, bits per byte, byte and word perplexity (lm-evaluation-harness). Optionally zeroes "
      "dormant heads (Sandoval-Segura et al.) chosen per window or from calibration text.");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  cmd->add_option("-f,--file", a->file, "Text file (UTF-8)")->required();
  cmd->add_option("--ctx", a->ctx, "Window length in tokens (0: the model's context)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--chunks", a->chunks, "Keep only the first K windows (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--stride", a->stride,
                  "Start a window every N tokens and score only tokens no earlier window scored "
                  "(0: --ctx, consecutive windows)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--scoring", a->scoring,
                  "all: every token after the first; second-half: llama.cpp's llama-perplexity "
                  "(consecutive windows, each scored on tokens ctx/2+1..ctx-1; BOS first in each)")
      ->capture_default_str();
  add_ablate(cmd, *a);
  cmd->add_flag("--json", a->json, "Print one JSON object instead of text");
  cmd->add_option(
      "--dormant-threshold", a->dormant_threshold,
      "Zero dormant heads: SCORE=θ flags s < θ (s > θ for awft, awft_ln), e.g. ahon_ln=0.1");
  cmd->add_option("--dormant-fraction", a->dormant_fraction,
                  "Or zero this fraction of heads, most dormant by --dormant-score first");
  cmd->add_option("--dormant-score", a->dormant_score, "Score for --dormant-fraction")
      ->capture_default_str();
  cmd->add_option("--dormant-mode", a->dormant_mode,
                  "per-input: flag heads on each window (a scoring pass, then the scored pass); "
                  "static: once, from scores averaged over --calib")
      ->check(CLI::IsMember({"per-input", "static"}))
      ->capture_default_str();
  cmd->add_option("--calib", a->calib, "Calibration text for --dormant-mode static");
  add_calibration_windows(cmd, a->calib_ctx, a->calib_chunks);
  add_pipeline(cmd, a->pipeline, a->pipeline_split);
  cmd->add_option("--cache", a->cache,
                  "dense: windows as above; window:W, sink:K+window:W, recompute:W: the whole text "
                  "one token at a time through that KV cache (StreamingLLM; as `stream`)")
      ->capture_default_str();
  cmd->add_option("--positions", a->positions,
                  "With --cache: cache (positions within the cache) or original")
      ->check(CLI::IsMember({"cache", "original"}))
      ->capture_default_str();
  cmd->callback([a, cmd] {
    Model model = load_cli_model(*a);
    std::unique_ptr<Tokenizer> tok_ptr = on_every_rank(cluster(), [&] {
      return load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    });
    const Tokenizer& tok = *tok_ptr;
    std::string text;  // on the root, which reads and tokenizes the file
    std::vector<int> ids = root_ids([&] {
      text = read_cli_text(a->file).text;
      return tok.encode(text, tok.add_bos());
    });
    const Scoring scoring = parse_scoring(a->scoring, "--scoring");
    const int ctx = a->ctx > 0 ? a->ctx : model.config.max_seq_len;
    require(ctx >= 2, "--ctx", "must be at least 2");
    if (ctx > model.config.max_seq_len)
      std::fprintf(stderr,
                   "sinkscope: warning: --ctx %d exceeds the model's trained context of %d\n", ctx,
                   model.config.max_seq_len);
    require(a->chunks >= 0, "--chunks", "must not be negative");
    HeadMask mask = ablation_mask(*a, model.config);
    require(ids.size() >= 2, a->file, "too short to score any token");
    const WindowPlan plan{ctx, a->stride, a->chunks, scoring};
    plan_windows(ids.size(), plan);  // bad --stride or too short for --scoring: before any work
    ThreadPool pool(a->threads);

    // Dormant heads: a rule, then either one head set from calibration or one per window.
    const bool dormant = !a->dormant_threshold.empty() || a->dormant_fraction >= 0;
    DormantRule rule;
    if (!a->dormant_threshold.empty())
      rule = parse_dormant_threshold(a->dormant_threshold, "--dormant-threshold");
    else
      rule = {a->dormant_score, -1, a->dormant_fraction};
    dormant_score(rule.score, "--dormant-score");  // one of the registry's, else a one-line error
    require(a->dormant_fraction <= 1, "--dormant-fraction", "must be at most 1");
    std::optional<DormantOptions> dormant_opt;
    if (dormant) {
      dormant_opt = DormantOptions{rule, std::nullopt};
      if (a->dormant_mode == "static") {
        require(!a->calib.empty(), "--calib", "--dormant-mode static needs calibration text");
        dormant_opt->calibration =
            CalibrationData{root_ids([&] { return tok.encode(read_text(a->calib).text, false); }),
                            a->calib_ctx, a->calib_chunks, tok.bos_id(), 0};
      }
    }

    const CachePolicy cache = CachePolicy::parse(a->cache, "--cache");
    const bool streaming = cache.kind != CachePolicy::Kind::Dense;
    require(streaming || cmd->count("--positions") == 0, "--positions", "only with --cache");
    for (const char* opt : {"--ctx", "--chunks", "--stride", "--scoring", "--pipeline"})
      require(!streaming || cmd->count(opt) == 0, opt,
              "not with --cache " + cache.name() + ": the whole text streams through the cache");
    require(!streaming || !dormant, "--cache",
            "dormant heads are chosen per window: not with a "
            "streaming cache");
    if (streaming) check_cache_policy(cache, model.config, cmd->count("--positions") > 0);

    Progress bar("perplexity", !a->quiet);
    auto progress = [&](int done, int total) {
      bar.update(done, total, static_cast<long>(done) * ctx);
    };
    const int bos_id = tok.add_bos() ? tok.bos_id() : -1;
    DormantPerplexity d;
    if (streaming) {
      // One sequence: the root streams it alone.
      if (!cluster().root()) return;
      const StreamResult sr = stream_nll(
          model, pool, ids, cache,
          a->positions == "cache" ? StreamPositions::Cache : StreamPositions::Original,
          [&](Runtime& rt) { rt.set_head_mask(&mask); },
          [&](size_t t) {
            if (t % 64 == 0) bar.update(static_cast<long>(t), static_cast<long>(ids.size()) - 1);
          });
      PerplexityResult& r = d.perplexity;
      for (double v : sr.nll) r.nll_sum += v, ++r.tokens_scored;
      r.windows = 1;
      r.nll_mean = r.tokens_scored ? r.nll_sum / static_cast<double>(r.tokens_scored) : 0.0;
      r.ppl = std::exp(r.nll_mean);
    } else if (a->pipeline) {
      require(!dormant, "--pipeline",
              "dormant heads are chosen from whole-model passes: not with "
              "--pipeline");
      d.perplexity = pipeline_perplexity(
          model, pool, ids, plan, bos_id, mask, cluster(),
          on_every_rank(
              cluster(),
              [&] { return pipeline_ranges(model, cluster().size(), a->pipeline_split); }),
          progress);
    } else {
      d = dormant_perplexity(model, pool, ids, plan, bos_id, mask, dormant_opt, progress,
                             &cluster());
    }
    bar.finish();
    if (!cluster().root()) return;  // the root holds the result
    const PerplexityResult& r = d.perplexity;
    const double dormant_mean = d.heads_flagged_mean;
    // Per byte and per word only when the whole text after its first token was scored.
    const int64_t unscored = static_cast<int64_t>(ids.size()) - 1 - r.tokens_scored;
    std::optional<TextPerplexities> per_text;
    if (unscored == 0) per_text = text_perplexities(r.nll_sum, text);
    if (a->json) {
      nlohmann::json out{{"nll_mean", r.nll_mean},
                         {"ppl", r.ppl},
                         {"tokens_scored", r.tokens_scored},
                         {"windows", r.windows},
                         {"ctx", ctx},
                         {"stride", a->stride > 0 ? a->stride : ctx},
                         {"scoring", scoring_name(scoring)},
                         {"nll_sum", r.nll_sum},
                         {"unscored_tokens", unscored},
                         {"heads_ablated", mask.n_masked()}};
      if (streaming) {  // one token at a time: no windows
        out["ctx"] = out["stride"] = nullptr;
        out["cache"] = cache.name();
        out["positions"] = a->positions;
      }
      for (const char* key :
           {"bytes", "words", "bits_per_byte", "byte_perplexity", "word_perplexity"})
        out[key] = nullptr;  // null: not every token was scored
      if (per_text) {
        out["bytes"] = per_text->bytes;
        out["words"] = per_text->words;
        out["bits_per_byte"] = per_text->bits_per_byte;
        out["byte_perplexity"] = per_text->byte_perplexity;
        out["word_perplexity"] = per_text->word_perplexity;
      }
      if (dormant)
        out["dormant"] = {
            {"score", rule.score},
            {"threshold", rule.threshold >= 0 ? nlohmann::json(rule.threshold) : nlohmann::json()},
            {"fraction", rule.fraction >= 0 ? nlohmann::json(rule.fraction) : nlohmann::json()},
            {"mode", a->dormant_mode},
            {"heads_flagged_mean", dormant_mean},
            {"fraction_flagged_mean",
             dormant_mean / (model.config.n_layers * model.config.n_heads)}};
      std::cout << out.dump(2) << "\n";
    } else {
      if (streaming)
        std::printf("cache          %s, one token at a time (positions %s)\n", cache.name().c_str(),
                    a->positions.c_str());
      else
        std::printf("windows        %d x %d tokens\n", r.windows, ctx);
      std::printf("tokens_scored  %lld\n", static_cast<long long>(r.tokens_scored));
      std::printf("nll_mean       %.8f\n", r.nll_mean);
      std::printf("ppl            %.6f\n", r.ppl);
      if (scoring == Scoring::SecondHalf)
        std::printf("scoring        second-half (llama.cpp's llama-perplexity windows)\n");
      if (!per_text && scoring == Scoring::All && a->chunks == 0)
        std::printf(
            "bits_per_byte  n/a: %lld tokens at window starts unscored (--stride < --ctx "
            "scores every token)\n",
            static_cast<long long>(unscored));
      if (per_text) {
        std::printf("bits_per_byte  %.8f  (%zu bytes)\n", per_text->bits_per_byte, per_text->bytes);
        std::printf("byte_ppl       %.6f\n", per_text->byte_perplexity);
        std::printf("word_ppl       %.6f  (%zu words)\n", per_text->word_perplexity,
                    per_text->words);
      }
      if (dormant)
        std::printf("dormant        %s, %.2f heads zeroed per window on average\n",
                    a->dormant_mode.c_str(), dormant_mean);
    }
  });
}

}  // namespace ss::cli
