// sinkscope mixing: over-mixing and perturbation spread with and without the attention sink
// (Barbero et al. 2025; docs/mixing.md).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/sha256.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/mixing.h"
#include "model/load_model.h"
#include "report/mixing_files.h"

namespace ss::cli {

namespace {
// A number as a user typed it ("1.5", "-1", "nan"), for messages.
std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

struct MixingArgs : CommonArgs {
  std::string file, out = "mixing", perturb = "both", substitute;
  std::vector<std::string> bos{"on", "off"};
  MixingOptions opt;
  bool json = false;
};

// The summary on stdout: µ per layer per condition, then the mean spread of later tokens.
void print_summary(const MixingResult& r) {
  std::printf("%zu windows of %d tokens; ablated: %zu heads (%s)\n", r.windows, r.ctx,
              r.ablated.size(), r.ablate.c_str());
  std::printf("over-mixing mu(V)/|V|_F per layer\n%6s", "layer");
  for (const MixingCondition& c : r.conditions) std::printf(" %18s", c.name.c_str());
  std::printf("\n");
  for (int l = 0; l < r.n_layers; ++l) {
    std::printf("%6d", l);
    for (const MixingCondition& c : r.conditions)
      std::printf("  %8.5f ± %-7.5f", c.over_mixing.mean[l], c.over_mixing.sd[l]);
    std::printf("\n");
  }
  for (const char* kind : {"embedding", "substitute"}) {
    bool any = false;
    for (const MixingCondition& c : r.conditions)
      for (const SpreadResult& s : c.spread) any |= s.perturbation == kind;
    if (!any) continue;
    std::printf("%s perturbation: mean |dh|/|h| of later tokens per layer\n%6s", kind, "layer");
    for (const MixingCondition& c : r.conditions) std::printf(" %18s", c.name.c_str());
    std::printf("\n");
    for (int l = 0; l < r.n_layers; ++l) {
      std::printf("%6d", l);
      for (const MixingCondition& c : r.conditions) {
        const SpreadResult* s = nullptr;
        for (const SpreadResult& x : c.spread)
          if (x.perturbation == kind) s = &x;
        if (s)
          std::printf("  %8.5f ± %-7.5f", s->ratio.mean[l], s->ratio.sd[l]);
        else
          std::printf(" %18s", "-");
      }
      std::printf("\n");
    }
  }
  for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
}
}  // namespace

void add_mixing(CLI::App& root) {
  auto a = std::make_shared<MixingArgs>();
  CLI::App* cmd = root.add_subcommand(
      "mixing",
      "Over-mixing of the residual stream and the spread of a one-token perturbation (Barbero et "
      "al. 2025), with BOS first, without BOS and with the sink heads ablated; writes "
      "over_mixing.csv, spread.csv, spread_tokens.csv, mixing.json, run.json and report.html to "
      "--out (docs/mixing.md)");
  add_common(cmd, *a, true, true);
  cmd->add_option("-f,--file", a->file, "Text (UTF-8)")->required();
  cmd->add_option("--ctx", a->opt.ctx, "Window length in tokens")->capture_default_str();
  cmd->add_option("--chunks", a->opt.chunks, "Windows: window w is the text from token w·ctx on")
      ->capture_default_str();
  cmd->add_option("--bos", a->bos,
                  "Conditions without ablation: on (BOS first), off (the first text token first)")
      ->delimiter(',')
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--ablate", a->opt.ablate,
                  "The \"ablated\" condition (BOS first, these heads zeroed): sinks (the heads "
                  "with bos_sink_score > --eps on the same windows), none, L:H,... (0-based) or a "
                  "JSON file of [layer, head] pairs")
      ->capture_default_str();
  cmd->add_option("--eps", a->opt.eps, "Sink head for --ablate sinks: bos_sink_score > eps")
      ->capture_default_str();
  cmd->add_option("--perturb", a->perturb,
                  "embedding (δ added to one token's input vector), substitute (one word "
                  "replaced), both or none")
      ->check(CLI::IsMember({"embedding", "substitute", "both", "none"}))
      ->capture_default_str();
  cmd->add_option("--delta", a->opt.delta,
                  "Size of the embedding perturbation relative to the vector's norm")
      ->capture_default_str();
  cmd->add_option("--position", a->opt.position,
                  "Text token (0-based, within each window's text) whose embedding is perturbed "
                  "(-1: (ctx - 1) / 4)")
      ->capture_default_str();
  cmd->add_option("--seed", a->opt.seed, "Seed of the perturbation's direction")
      ->capture_default_str();
  cmd->add_option("--substitute", a->substitute,
                  "Word pairs FROM=TO,... to substitute (default: a built-in list, docs/mixing.md; "
                  "pairs whose token counts differ are refused)");
  cmd->add_option("--out", a->out, "Output directory")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print mixing.json on stdout instead of the summary");
  cmd->callback([a] {
    const auto start = std::chrono::steady_clock::now();
    MixingOptions& opt = a->opt;
    require(opt.ctx >= 3 && opt.ctx <= (1 << 20), "--ctx",
            "must be in 3..1048576, not " + std::to_string(opt.ctx));
    require(opt.chunks >= 1, "--chunks", "must be at least 1, not " + std::to_string(opt.chunks));
    require(opt.position >= -1, "--position",
            "must be a text token index (or -1), not " + std::to_string(opt.position));
    require(std::isfinite(opt.delta) && opt.delta > 0, "--delta",
            "must be a positive number, not " + number(opt.delta));
    require(std::isfinite(opt.eps) && opt.eps >= 0 && opt.eps < 1, "--eps",
            "must be in [0, 1), not " + number(opt.eps));
    opt.embedding = a->perturb == "embedding" || a->perturb == "both";
    opt.substitute = a->perturb == "substitute" || a->perturb == "both";
    require(opt.substitute || a->substitute.empty(), "--substitute",
            "needs --perturb substitute or both");
    opt.bos.clear();
    for (const std::string& b : a->bos) opt.bos.push_back(b == "on");

    Model model = load_cli_model(*a);
    opt.ablate_sinks = opt.ablate == "sinks";
    if (!opt.ablate_sinks && opt.ablate != "none")
      opt.heads = parse_heads_option(opt.ablate, model.config, "--ablate");
    std::unique_ptr<Tokenizer> tok =
        load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    opt.bos_id = tok->bos_id();
    require(opt.bos_id >= 0 || (std::find(opt.bos.begin(), opt.bos.end(), true) == opt.bos.end() &&
                                opt.ablate == "none"),
            "--bos", "the tokenizer has no BOS token: use --bos off --ablate none");
    std::vector<std::string> skipped;
    if (opt.substitute) {
      const bool given = !a->substitute.empty();
      for (const WordPair& p :
           given ? parse_word_pairs(a->substitute, "--substitute") : default_word_pairs()) {
        std::string why;
        TokenPair t = tokenize_pair(*tok, p, why);
        require(!given || why.empty(), "--substitute", why);
        if (why.empty())
          opt.pairs.push_back(std::move(t));
        else
          skipped.push_back("substitute: left out " + p.from + "=" + p.to + ": " + why);
      }
    }
    TextFile text = read_cli_text(a->file);
    const std::vector<int> ids = tok->encode(text.text, false);

    ensure_output_dir(a->out);
    ThreadPool pool(a->threads);
    Progress bar("mixing", !a->quiet);
    MixingResult res = run_mixing(model, pool, ids, opt, [&](long done, long total, long tokens) {
      bar.update(done, total, tokens);
    });
    bar.finish();
    require(!opt.substitute || a->substitute.empty() ||
                std::any_of(res.conditions.begin(), res.conditions.end(),
                            [](const MixingCondition& c) {
                              return std::any_of(c.spread.begin(), c.spread.end(),
                                                 [](const SpreadResult& s) {
                                                   return s.perturbation == "substitute";
                                                 });
                            }),
            "--substitute", "no window of the text holds any of the words to substitute");
    res.notes.insert(res.notes.begin(), skipped.begin(), skipped.end());

    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json run = run_info();
    run.update({{"model", {{"path", a->model}, {"sha256", sha256_file(a->model)}}},
                {"tokenizer", a->tokenizer},
                {"file", a->file},
                {"invalid_utf8_replaced", text.invalid_utf8},
                {"options",
                 {{"ctx", opt.ctx},
                  {"chunks", opt.chunks},
                  {"bos", a->bos},
                  {"ablate", opt.ablate},
                  {"eps", opt.eps},
                  {"perturb", a->perturb},
                  {"delta", opt.delta},
                  {"position", res.position},
                  {"seed", opt.seed},
                  {"substitute", a->substitute},
                  {"threads", pool.size()}}},
                {"wall_time_s", wall}});
    write_mixing(a->out, res, run);
    if (a->json)
      std::cout << to_json(res).dump(2) << "\n";
    else
      print_summary(res);
    if (!a->quiet) std::fprintf(stderr, "wrote %s/report.html\n", a->out.c_str());
  });
}

}  // namespace ss::cli
