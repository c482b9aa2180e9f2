// sinkscope prune: sweep criteria × pruning ratios, evaluating every point.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "eval/mc_eval.h"
#include "eval/perplexity.h"
#include "eval/perplexity_conventions.h"
#include "experiments/analyze.h"
#include "experiments/sweep.h"
#include "model/load_model.h"
#include "prune/layer_criteria.h"

namespace ss::cli {

namespace {
struct PruneArgs : CommonArgs {
  std::vector<std::string> criteria{"bos-sink", "weight-magnitude", "activation-magnitude",
                                    "random"};
  std::vector<double> ratios{0, 0.1, 0.2, 0.3, 0.4, 0.5};
  std::string calib;
  int calib_ctx = 256;
  int calib_chunks = 4;
  std::vector<std::string> evals;
  int eval_ctx = 256;
  int eval_chunks = 8;
  int eval_stride = 0;
  int limit = 200;
  std::string mode = "zero";
  std::string scope = "global";
  std::string unit = "head";
  uint64_t seed = 0;
  std::string out = "sinkscope-prune";
  int kill_after_points = 0;
  bool cost = false;
  int cost_ctx = 128;
  int cost_decode = 32;
  int cost_reps = 5;
  double cost_sample_s = 0.05;
  std::string llama_bench;
};

// The root reads and tokenizes; every rank gets the ids.
std::vector<int> text_tokens(const Tokenizer& tok, const std::string& path, bool bos) {
  return root_ids([&] { return tok.encode(read_text(path).text, bos); });
}
}  // namespace

void add_prune(CLI::App& root) {
  auto a = std::make_shared<PruneArgs>();
  CLI::App* cmd = root.add_subcommand(
      "prune",
      "Sweep pruning criteria × ratios; each point is evaluated and saved at once, and a rerun "
      "with the same --out resumes. Writes sweep.csv, sweep.json, scores.json and report.html");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  CLI::Option* criteria =
      cmd->add_option(
             "--criteria", a->criteria,
             "Comma-separated: bos-sink, dormant:<score> (e.g. dormant:ahon_ln), "
             "weight-magnitude, activation-magnitude, random, ablation-delta; with --unit "
             "layer: layer-bos-sink, block-influence, layer-ablation-delta, random (default: "
             "all four)")
          ->delimiter(',')
          ->capture_default_str();
  cmd->add_option("--unit", a->unit,
                  "head, or layer: skip whole layers (export --drop-layers writes such a model)")
      ->check(CLI::IsMember({"head", "layer"}))
      ->capture_default_str();
  cmd->add_option("--ratios", a->ratios, "Fractions of all query heads (or layers) to remove")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--calib", a->calib, "Calibration text for the criteria")->required();
  add_calibration_windows(cmd, a->calib_ctx, a->calib_chunks);
  cmd->add_option("--eval", a->evals,
                  "ppl:FILE (perplexity) or mc:FILE (multiple choice); repeatable")
      ->required();
  cmd->add_option("--eval-ctx", a->eval_ctx, "Perplexity window length")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--eval-chunks", a->eval_chunks,
                  "Perplexity windows (0: all; with --eval-stride below --eval-ctx every token "
                  "is scored, which adds bits_per_byte)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--eval-stride", a->eval_stride,
                  "Perplexity windows start every S tokens (0: --eval-ctx, consecutive; "
                  "--eval-ctx minus 1 scores every token for about the same work)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--limit", a->limit, "Items per multiple-choice task (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--mode", a->mode, "zero: zero the head; mean: replace by its calibration mean")
      ->check(CLI::IsMember({"zero", "mean"}))
      ->capture_default_str();
  cmd->add_option("--scope", a->scope,
                  "global ranking; per-layer: the same number of heads in every layer; per-group: "
                  "the same number from every KV group; group: whole KV groups (see export)")
      ->check(CLI::IsMember({"global", "per-layer", "per-group", "group"}))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the random criterion")->capture_default_str();
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_flag("--cost", a->cost,
                "Also measure each point's exported model (heads removed where the set allows, "
                "layers dropped): parameters, file size, prefill and decode tokens/s and the "
                "speed-ups over the dense model, timed in alternation with it (docs/pruning.md)");
  cmd->add_option("--cost-ctx", a->cost_ctx, "Prefill tokens of the --cost timing")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--cost-decode", a->cost_decode, "Decode steps of the --cost timing")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--cost-reps", a->cost_reps,
                  "Timed pairs (dense, pruned) per point; medians are reported")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--cost-sample-s", a->cost_sample_s,
                  "A timed sample repeats the work until it lasts this long on the dense model")
      ->capture_default_str()
      ->check(between(0.0, 60.0));
  cmd->add_option("--llama-bench", a->llama_bench,
                  "With --cost, also run this llama-bench binary on the dense and pruned files "
                  "(-p COST_CTX -n COST_DECODE -r COST_REPS); implies --cost")
      ->check(CLI::ExistingFile);
  // Hidden (no group): for the resume test, a SIGKILL after this many new points.
  cmd->add_option("--kill-after-points", a->kill_after_points)->group("")->check(at_least(1));
  cmd->callback([a, criteria] {
    Model model = load_cli_model(*a);
    const std::unique_ptr<Tokenizer> tok_ptr = on_every_rank(cluster(), [&] {
      return load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    });
    const Tokenizer& tok = *tok_ptr;
    // BOS where the model's tokenizer asks for it; otherwise windows keep their first token.
    const int bos = tok.add_bos() ? tok.bos_id() : -1;
    const bool layers = a->unit == "layer";
    if (layers && criteria->count() == 0) a->criteria = layer_criterion_names();
    for (const auto& c : a->criteria)
      require(layers ? is_valid_layer_criterion(c) : is_valid_criterion(c), "--criteria",
              "unknown " + std::string(layers ? "layer " : "") + "criterion '" + c + "'");
    for (double r : a->ratios)
      require(r >= 0 && r <= 1, "--ratios", "each ratio must be in [0, 1]");
    require(!a->criteria.empty() && !a->ratios.empty(), "--criteria", "nothing to sweep");
    require(a->calib_ctx >= 2 && a->eval_ctx >= 2, "--calib-ctx",
            "window lengths must be at least 2");
    require(a->eval_stride <= a->eval_ctx, "--eval-stride", "must be at most --eval-ctx");

    SweepOptions opt;
    opt.criteria = a->criteria;
    opt.ratios = a->ratios;
    opt.scope = parse_prune_scope(a->scope, "--scope");
    opt.layers = layers;
    opt.mode = a->mode == "mean" ? HeadAction::Mean : HeadAction::Zero;
    opt.calib = {text_tokens(tok, a->calib, false), a->calib_ctx, a->calib_chunks, bos, a->seed};
    require(!make_windows(opt.calib.ids, a->calib_ctx, {"on", bos}, 1).empty(), a->calib,
            "shorter than one calibration window");
    opt.eval_ctx = a->eval_ctx;
    opt.out_dir = a->out;
    opt.kill_after_points = a->kill_after_points;
    opt.cluster = &cluster();

    std::string setup = sha256_file(a->model) + " calib " + sha256_file(a->calib) + " " +
                        std::to_string(a->calib_ctx) + "x" + std::to_string(a->calib_chunks) +
                        " seed " + std::to_string(a->seed) + " mode " + a->mode + " scope " +
                        a->scope + (layers ? " unit layer" : "") + " eval-ctx " +
                        std::to_string(a->eval_ctx) + "x" + std::to_string(a->eval_chunks) +
                        (a->eval_stride ? " stride " + std::to_string(a->eval_stride) : "") +
                        " limit " + std::to_string(a->limit);
    std::vector<SweepMetric> metrics;
    for (const auto& e : a->evals) {
      const size_t colon = e.find(':');
      require(colon != std::string::npos, "--eval", "'" + e + "' is not ppl:FILE or mc:FILE");
      const std::string kind = e.substr(0, colon), path = e.substr(colon + 1);
      const std::string name = kind + ":" + std::filesystem::path(path).stem().string();
      setup += " " + e + " " + sha256_file(path);
      if (kind == "ppl") {
        auto text = std::make_shared<std::string>(read_text(path).text);
        auto ids = std::make_shared<std::vector<int>>(tok.encode(*text, tok.add_bos()));
        const int ctx = a->eval_ctx, chunks = a->eval_chunks, stride = a->eval_stride;
        metrics.push_back(
            {name, [ids, text, ctx, chunks, stride, bos](Runtime& rt) {
               PerplexityResult r = perplexity(rt, *ids, ctx, bos, chunks, nullptr, stride);
               std::map<std::string, double> m{{"ppl", r.ppl}, {"nll_mean", r.nll_mean}};
               // Per byte only when every token after the first was scored (--eval-chunks 0 and
               // --eval-stride below --eval-ctx).
               if (static_cast<int64_t>(ids->size()) - 1 == r.tokens_scored)
                 m["bits_per_byte"] = text_perplexities(r.nll_sum, *text).bits_per_byte;
               return m;
             }});
      } else if (kind == "mc") {
        auto task = std::make_shared<McTask>(read_mc_task(path, a->limit));
        const Tokenizer* t = &tok;
        metrics.push_back(
            {name, [task, t](Runtime& rt) {
               McResult r = evaluate_task(rt, *t, *task);
               if (r.is_cloze) return std::map<std::string, double>{{"acc", r.acc}, {"ppl", r.ppl}};
               return std::map<std::string, double>{{"acc", r.acc}, {"acc_norm", r.acc_norm}};
             }});
      } else {
        throw InputError("--eval", "unknown kind '" + kind + "' (ppl or mc)");
      }
    }
    opt.setup_key = setup;
    if (a->cost || !a->llama_bench.empty()) {
      CostOptions cost;
      cost.ctx = a->cost_ctx;
      cost.decode = a->cost_decode;
      cost.reps = a->cost_reps;
      cost.min_sample_s = a->cost_sample_s;
      cost.llama_bench = a->llama_bench;
      cost.tokenizer = export_tokenizer(a->model, a->tokenizer);
      cost.work_dir = (std::filesystem::path(a->out) / "cost").string();
      opt.cost = cost;
    }

    ThreadPool pool(a->threads);
    const auto started = std::chrono::steady_clock::now();
    Progress bar("prune", !a->quiet);
    run_sweep(model, pool, opt, metrics,
              [&](int done, int total, const std::string&) { bar.update(done, total); });
    bar.finish();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const nlohmann::json rank_times = rank_wall_times(wall);
    if (!cluster().root()) return;  // the root wrote the sweep
    nlohmann::json run = run_info();
    run["model"] = {{"path", a->model}, {"sha256", sha256_file(a->model)}};
    run["threads"] = pool.size();
    run["wall_time_s"] = wall;
    run["rank_wall_time_s"] = rank_times;
    write_file_atomic(a->out + "/run.json", run.dump(2) + "\n");
    if (!a->quiet)
      std::fprintf(stderr, "wrote %s/sweep.csv, report.html and run.json\n", a->out.c_str());
  });
}

}  // namespace ss::cli
