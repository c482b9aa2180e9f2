// sinkscope perplexity: mean NLL over consecutive windows of a text file.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "eval/perplexity.h"
#include "io/load_model.h"
#include "runtime/head_mask.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/text_file.h"

namespace ss::cli {

namespace {
struct PerplexityArgs : CommonArgs {
  std::string file;
  int ctx = 0;
  int chunks = 0;
  int stride = 0;
  bool json = false;
};
}  // namespace

void add_perplexity(CLI::App& root) {
  auto a = std::make_shared<PerplexityArgs>();
  CLI::App* cmd = root.add_subcommand(
      "perplexity",
      "Perplexity of a text file. The whole file is tokenized (BOS first) and cut into "
      "consecutive windows of --ctx tokens; each window after the first starts with BOS in place "
      "of its first token; positions 1..ctx-1 of every window are scored.");
  add_common(cmd, *a);
  cmd->add_option("-f,--file", a->file, "Text file (UTF-8)")->required();
  cmd->add_option("--ctx", a->ctx, "Window length in tokens (0: the model's context)")
      ->capture_default_str();
  cmd->add_option("--chunks", a->chunks, "Keep only the first K windows (0: all)")
      ->capture_default_str();
  cmd->add_option("--stride", a->stride,
                  "Start a window every N tokens and score only tokens no earlier window scored "
                  "(0: --ctx, consecutive windows)")
      ->capture_default_str();
  add_ablate(cmd, *a);
  cmd->add_flag("--json", a->json, "Print one JSON object instead of text");
  cmd->callback([a] {
    Model model = load_model(a->model);
    SpmTokenizer tok = load_tokenizer(a->model, a->tokenizer);
    TextFile file = read_text(a->file);
    if (file.invalid_utf8)
      std::fprintf(stderr,
                   "sinkscope: warning: %s: %zu bytes of invalid UTF-8 replaced by U+FFFD\n",
                   a->file.c_str(), file.invalid_utf8);
    const int ctx = a->ctx > 0 ? a->ctx : model.config.max_seq_len;
    require(ctx >= 2, "--ctx", "must be at least 2");
    if (ctx > model.config.max_seq_len)
      std::fprintf(stderr,
                   "sinkscope: warning: --ctx %d exceeds the model's trained context of %d\n", ctx,
                   model.config.max_seq_len);
    require(a->chunks >= 0, "--chunks", "must not be negative");
    require(a->stride >= 0 && a->stride <= ctx, "--stride", "must be between 0 and --ctx");
    HeadMask mask = ablation_mask(*a, model.config);
    std::vector<int> ids = tok.encode(file.text, true);
    require(ids.size() >= 2, a->file, "too short to score any token");
    ThreadPool pool(a->threads);
    Runtime rt(model, pool, ctx);
    rt.set_head_mask(&mask);
    Progress bar("perplexity", !a->quiet);
    PerplexityResult r = perplexity(
        rt, ids, ctx, tok.bos_id(), a->chunks,
        [&](int done, int total) { bar.update(done, total, static_cast<long>(done) * ctx); });
    bar.finish();
    if (a->json) {
      nlohmann::json out{{"nll_mean", r.nll_mean},
                         {"ppl", r.ppl},
                         {"tokens_scored", r.tokens_scored},
                         {"windows", r.windows},
                         {"ctx", ctx},
                         {"stride", a->stride > 0 ? a->stride : ctx},
                         {"heads_ablated", mask.n_masked()}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("windows        %d x %d tokens\n", r.windows, ctx);
      std::printf("tokens_scored  %lld\n", static_cast<long long>(r.tokens_scored));
      std::printf("nll_mean       %.8f\n", r.nll_mean);
      std::printf("ppl            %.6f\n", r.ppl);
    }
  });
}

}  // namespace ss::cli
