// sinkscope compare: two models with one vocabulary on the same windows of a text, token by token
// (KL divergence, top-1 agreement, Δnll), and with --stats the drift of their sink statistics.
#include <cstdio>
#include <iostream>

#include "base/atomic_file.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/compare_models.h"
#include "model/load_model.h"
#include "report/compare_files.h"
#include "tokenizer/vocabulary_difference.h"

namespace ss::cli {

namespace {
struct CompareArgs {
  std::vector<std::string> models;
  std::string tokenizer, file, out, scoring = "all";
  int ctx = 0, chunks = 0, threads = 0;
  bool stats = false, json = false, quiet = false;
  double eps = 0.3;
};
}  // namespace

void add_compare(CLI::App& root) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = root.add_subcommand(
      "compare",
      "Compare two models with the same tokenizer token by token on a text: KL(A||B) of the "
      "next-token distributions, top-1 agreement and the change in NLL, over the windows "
      "`perplexity` scores; with --stats also how every head's sink statistics moved");
  cmd->add_option("-m,--model", a->models, "The two models, A then B (-m A -m B)")
      ->required()
      ->expected(2);
  cmd->add_option("--tokenizer", a->tokenizer,
                  "Tokenizer for both (llama2.c .bin or GGUF); default: each model's own");
  cmd->add_option("-f,--file", a->file, "Text file (UTF-8)")->required();
  cmd->add_option("--ctx", a->ctx, "Window length in tokens (0: model A's context)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--chunks", a->chunks, "Keep only the first K windows (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--scoring", a->scoring,
                  "all: every token after the first; second-half: llama.cpp's llama-perplexity "
                  "windows (each scores its second half)")
      ->capture_default_str();
  cmd->add_flag("--stats", a->stats,
                "Also measure every head's sink statistics in both models on the same windows: "
                "per-head deltas, Spearman rho of bos_sink_score, heads entering/leaving the "
                "sink set");
  cmd->add_option("--eps", a->eps, "Sink-head threshold on bos_sink_score (--stats)")
      ->capture_default_str()
      ->check(between(0, 1));
  cmd->add_option("-o,--out", a->out,
                  "Folder for compare.json, compare.csv, compare_heads.csv and report.html");
  cmd->add_flag("--json", a->json, "Print the summary as one JSON object instead of text");
  cmd->add_option("--threads", a->threads, "Worker threads (0: all cores)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_flag("--quiet", a->quiet, "No progress output on stderr");
  cmd->callback([a] {
    const Scoring scoring = parse_scoring(a->scoring, "--scoring");
    const Cluster& ranks = cluster();
    if (!a->out.empty()) on_root(ranks, [&] { return ensure_output_dir(a->out), std::string(); });
    const std::string &path_a = a->models[0], &path_b = a->models[1];
    // Every rank maps both models; the root reads and tokenizes the text.
    Model model_a = on_every_rank(ranks, [&] { return load_model(path_a); });
    Model model_b = on_every_rank(ranks, [&] { return load_model(path_b); });
    auto tok_a = on_every_rank(ranks, [&] {
      return load_text_tokenizer(path_a, a->tokenizer, model_a.config.vocab_size);
    });
    auto tok_b = on_every_rank(ranks, [&] {
      return load_text_tokenizer(path_b, a->tokenizer, model_b.config.vocab_size);
    });
    if (auto diff = vocabulary_difference(*tok_a, *tok_b))
      throw ClusterError(path_b + ": its tokenizer differs from " + path_a + "'s: " + *diff);
    const int ctx = a->ctx > 0 ? a->ctx : model_a.config.max_seq_len;
    for (const Model* m : {&model_a, &model_b})
      if (ctx > m->config.max_seq_len)
        std::fprintf(stderr,
                     "sinkscope: warning: --ctx %d exceeds a model's trained context of %d\n", ctx,
                     m->config.max_seq_len);
    const std::vector<int> ids =
        root_ids([&] { return tok_a->encode(read_cli_text(a->file).text, tok_a->add_bos()); });

    CompareOptions opt;
    opt.plan = {ctx, 0, a->chunks, scoring};
    opt.bos_id = tok_a->add_bos() ? tok_a->bos_id() : -1;
    opt.stats = a->stats;
    opt.stat_options.eps = static_cast<float>(a->eps);
    opt.cluster = &ranks;
    ThreadPool pool(a->threads);
    Progress bar("compare", !a->quiet);
    const ModelComparison r = run_compare(
        model_a, model_b, path_b, pool, ids, opt,
        [&](int done, int total) { bar.update(done, total, static_cast<long>(done) * ctx); });
    bar.finish();
    if (!ranks.root()) return;  // the root holds the result

    const CompareInfo info{path_a, path_b, a->file, opt.plan};
    if (!a->out.empty()) write_compare_files(a->out, info, r.tokens, r.drift, run_info());
    const CompareSummary& s = r.tokens.summary;
    if (a->json) {
      nlohmann::json j = compare_json(info, s, r.drift);
      if (j.contains("sink_drift")) j["sink_drift"].erase("heads");  // per head: compare.json
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::printf("windows          %d x %d tokens, scoring %s\n", s.windows, ctx,
                scoring_name(scoring));
    std::printf("tokens_scored    %lld\n", static_cast<long long>(s.tokens));
    std::printf("kl_mean          %.9g\n", s.kl_mean);
    std::printf("kl_median        %.9g\n", s.kl_median);
    std::printf("kl_p90           %.9g\n", s.kl_p90);
    std::printf("kl_p99           %.9g\n", s.kl_p99);
    std::printf("kl_max           %.9g\n", s.kl_max);
    std::printf("top1_agreement   %.6f\n", s.top1_agreement);
    std::printf("ppl_a            %.6f\n", s.ppl_a);
    std::printf("ppl_b            %.6f\n", s.ppl_b);
    std::printf("delta_ppl        %.6f\n", s.delta_ppl);
    if (r.drift) {
      const SinkDrift& d = *r.drift;
      std::printf("bos_sink_rho     %.6f\n", d.bos_spearman);
      std::printf("sink_heads       %d -> %d (eps %.3g): %zu entered, %zu left\n", d.sinks_a,
                  d.sinks_b, d.eps, d.entered.size(), d.left.size());
    }
    if (!a->out.empty() && !a->quiet) std::fprintf(stderr, "wrote %s\n", a->out.c_str());
  });
}

}  // namespace ss::cli
