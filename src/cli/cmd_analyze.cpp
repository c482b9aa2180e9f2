// sinkscope analyze: every per-head sink statistic over a corpus, written to a run directory.
#include <chrono>
#include <cstdio>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/analyze.h"
#include "model/load_model.h"
#include "report/analysis_files.h"

namespace ss::cli {

namespace {
struct AnalyzeArgs : CommonArgs {
  std::vector<std::string> files;
  std::vector<int> contexts{256};
  int chunks = 0;
  std::vector<std::string> bos{"on"};
  std::string first_token;
  std::string out = "sinkscope-analyze";
  int sink_tokens = 4;
  float eps = 0.3f;
  std::string dump_attention;
  int dump_window = 64;
  bool no_nll = false;
};
}  // namespace

void add_analyze(CLI::App& root) {
  auto a = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "analyze",
      "Per-head sink statistics (SPEC.md) over a corpus in windows of each --ctx; writes run.json, "
      "heads.csv/json, layers.csv, massive.csv, stability.csv, moe.csv (models with experts) and "
      "report.html to --out");
  add_common(cmd, *a, true, true);
  add_bf16_activations(cmd, *a);
  cmd->add_option("-f,--file", a->files, "Text files (UTF-8), tokenized and concatenated")
      ->required();
  cmd->add_option("--ctx", a->contexts, "Window lengths, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--chunks", a->chunks, "Windows per length (0: all that fit)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--bos", a->bos, "on: BOS first; off: the first text token first; on,off: both")
      ->delimiter(',')
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--first-token", a->first_token,
                  "Also run with this text's (single) token first instead of BOS");
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_option("--sink-tokens", a->sink_tokens, "K of first_k_mass")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--eps", a->eps, "Threshold of is_sink_head and sink_rate")
      ->capture_default_str()
      ->check(between(0.0, 1.0));
  cmd->add_option("--dump-attention", a->dump_attention,
                  "Write the full pattern of these heads (L:H,...) for the first window");
  cmd->add_option("--dump-window", a->dump_window, "Tokens of each dumped pattern")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_flag("--no-nll", a->no_nll,
                "Skip the next-token loss (nll, ppl): no vocabulary projection, about a fifth of "
                "a 1B model's time");
  add_ablate(cmd, *a);
  cmd->callback([a] {
    const auto start = std::chrono::steady_clock::now();
    Model model = load_cli_model(*a);
    std::unique_ptr<Tokenizer> tok_ptr = load_text_tokenizer(a->model, a->tokenizer);
    const Tokenizer& tok = *tok_ptr;
    std::vector<int> text_ids;
    nlohmann::json invalid = nlohmann::json::object();
    for (const auto& f : a->files) {
      TextFile file = read_text(f);
      if (file.invalid_utf8) {
        invalid[f] = file.invalid_utf8;
        std::fprintf(stderr,
                     "sinkscope: warning: %s: %zu bytes of invalid UTF-8 replaced by U+FFFD\n",
                     f.c_str(), file.invalid_utf8);
      }
      std::vector<int> ids = tok.encode(file.text, false);
      text_ids.insert(text_ids.end(), ids.begin(), ids.end());
    }
    std::sort(a->contexts.begin(), a->contexts.end());
    require(std::adjacent_find(a->contexts.begin(), a->contexts.end()) == a->contexts.end(),
            "--ctx", "lengths must be distinct");
    for (int ctx : a->contexts)
      require(ctx >= 2 && ctx <= (1 << 20), "--ctx", "each length must be in 2..1048576");
    require(a->chunks >= 0, "--chunks", "must not be negative");
    require(a->sink_tokens >= 1, "--sink-tokens", "must be at least 1");
    require(a->dump_window >= 1, "--dump-window", "must be at least 1");

    AnalyzeOptions opt;
    opt.contexts = a->contexts;
    opt.chunks = a->chunks;
    opt.stats = {a->sink_tokens, a->eps};
    opt.dump_heads = parse_head_list(a->dump_attention, model.config, "--dump-attention");
    opt.dump_window = a->dump_window;
    opt.nll = !a->no_nll;
    for (const auto& b : a->bos) {
      require(b != "on" || tok.bos_id() >= 0, "--bos",
              "the tokenizer has no BOS token: use --bos off");
      opt.modes.push_back({b, b == "on" ? tok.bos_id() : -1});
    }
    if (!a->first_token.empty()) {
      std::vector<int> ids = tok.encode(a->first_token, false);
      require(ids.size() == 1, "--first-token",
              "'" + a->first_token + "' is " + std::to_string(ids.size()) + " tokens, not one");
      opt.modes.push_back({"first-token", ids[0]});
    }
    HeadMask mask = ablation_mask(*a, model.config);
    opt.mask = &mask;

    ensure_output_dir(a->out);
    ThreadPool pool(a->threads);
    Progress bar("analyze", !a->quiet);
    const AnalysisResult result =
        analyze(model, pool, text_ids, opt,
                [&](long done, long total, long tokens) { bar.update(done, total, tokens); });
    bar.finish();

    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json run = run_info();
    run.update({{"model", {{"path", a->model}, {"sha256", sha256_file(a->model)}}},
                {"tokenizer", a->tokenizer},
                {"files", a->files},
                {"invalid_utf8_replaced", invalid},
                {"options",
                 {{"ctx", a->contexts},
                  {"chunks", a->chunks},
                  {"bos", a->bos},
                  {"first_token", a->first_token},
                  {"sink_tokens", a->sink_tokens},
                  {"eps", a->eps},
                  {"ablate", a->ablate},
                  {"threads", pool.size()}}},
                {"wall_time_s", wall},
                {"tokens_processed", result.tokens_processed}});
    write_analysis_files(a->out, result, run);
    if (!a->quiet) {
      for (const AnalysisRun& r : result.runs)
        std::fprintf(stderr, "ctx %d bos %s: %zu windows, sink_rate %.3f, nll %s\n", r.ctx,
                     r.bos.c_str(), r.windows, r.sink_rate,
                     r.nll_mean ? std::to_string(*r.nll_mean).c_str() : "not computed (--no-nll)");
      std::fprintf(stderr, "wrote %s/report.html\n", a->out.c_str());
    }
  });
}

}  // namespace ss::cli
