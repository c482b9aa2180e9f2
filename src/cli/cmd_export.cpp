// sinkscope export: a pruned model as GGUF, loadable by sinkscope and llama.cpp.
#include <cstdio>

#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "experiments/calibrate.h"
#include "format/gguf.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "prune/criteria.h"
#include "prune/drop_layers.h"
#include "prune/export_pruned.h"
#include "prune/remove_heads.h"
#include "prune/select.h"

namespace ss::cli {

namespace {
struct ExportArgs : CommonArgs {
  std::string prune_heads;
  std::string drop_layers;
  std::string criterion;
  double ratio = 0;
  std::string scope = "global";
  std::string mode = "zero";
  std::string calib;
  int calib_ctx = 256;
  int calib_chunks = 4;
  uint64_t seed = 0;
  bool zero_only = false;
  bool physical = false;
  std::string out;
};
}  // namespace

void add_export(CLI::App& root) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = root.add_subcommand(
      "export",
      "Write a GGUF with heads pruned: removed from the weights (smaller head_count; per-layer "
      "head counts, which only sinkscope reads, when layers lose different numbers), or their "
      "W_O slices zeroed where removal is impossible or --zero-only asks (mean mode: their "
      "calibration mean folded into attn_output.bias); the pruned set is recorded in "
      "sinkscope.pruned_heads");
  add_common(cmd, *a);
  cmd->add_option("--prune-heads", a->prune_heads, "Heads to prune: L:H,... or a JSON file");
  cmd->add_option("--drop-layers", a->drop_layers,
                  "Or remove whole layers: L,... (a model with fewer layers)");
  cmd->add_option("--criterion", a->criterion, "Or choose heads by this criterion (see prune)");
  cmd->add_option("--ratio", a->ratio, "Fraction of heads the criterion removes")
      ->capture_default_str()
      ->check(between(0.0, 1.0));
  cmd->add_option("--scope", a->scope,
                  "global, per-layer, per-group (the same number from every KV group) or group "
                  "(whole KV groups)")
      ->check(CLI::IsMember({"global", "per-layer", "per-group", "group"}))
      ->capture_default_str();
  cmd->add_option("--mode", a->mode, "zero or mean")
      ->check(CLI::IsMember({"zero", "mean"}))
      ->capture_default_str();
  cmd->add_option("--calib", a->calib, "Calibration text (criteria that need it, and --mode mean)");
  add_calibration_windows(cmd, a->calib_ctx, a->calib_chunks);
  cmd->add_option("--seed", a->seed, "Seed of the random criterion")->capture_default_str();
  auto* zero = cmd->add_flag("--zero-only", a->zero_only,
                             "Zero the heads' W_O slices and keep every head count (any reader)");
  cmd->add_flag("--physical", a->physical,
                "Remove the heads from the weights, or fail when the set does not allow it")
      ->excludes(zero);
  cmd->add_option("-o,--out", a->out, "Output GGUF file")->required();
  cmd->callback([a] {
    Model model = load_model(a->model);
    const std::unique_ptr<Tokenizer> tok_ptr =
        load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    const Tokenizer& tok = *tok_ptr;
    require(a->prune_heads.empty() + a->criterion.empty() + a->drop_layers.empty() == 2,
            "--prune-heads", "give one of --prune-heads, --criterion with --ratio, --drop-layers");
    if (!a->drop_layers.empty()) {
      const std::vector<int> layers =
          parse_layer_list(a->drop_layers, model.config, "--drop-layers");
      export_dropped_layers_gguf(model, export_tokenizer(a->model, a->tokenizer), layers, a->out);
      if (!a->quiet)
        std::fprintf(stderr, "wrote %s (%zu of %d layers dropped)\n", a->out.c_str(), layers.size(),
                     model.config.n_layers);
      return;
    }
    CalibrationData calib_data{
        {}, a->calib_ctx, a->calib_chunks, tok.add_bos() ? tok.bos_id() : -1, a->seed};
    if (!a->calib.empty()) calib_data.ids = tok.encode(read_text(a->calib).text, false);
    const bool needs_calib =
        a->mode == "mean" ||
        (!a->criterion.empty() && a->criterion != "random" && a->criterion != "weight-magnitude");
    require(!needs_calib || !calib_data.ids.empty(), "--calib",
            "this criterion or mode needs --calib FILE");

    std::vector<std::pair<int, int>> heads;
    std::string note;
    ThreadPool pool(a->threads);
    Calibration calib(model, pool, calib_data);
    if (!a->criterion.empty()) {
      require(is_valid_criterion(a->criterion), "--criterion",
              "unknown criterion '" + a->criterion + "'");
      require(a->ratio >= 0 && a->ratio <= 1, "--ratio", "must be in [0, 1]");
      auto r = removability(model, a->criterion, calib.criterion_inputs());
      heads = select_heads(r, model.config, a->ratio, parse_prune_scope(a->scope, "--scope"));
      note =
          "criterion " + a->criterion + " ratio " + std::to_string(a->ratio) + " scope " + a->scope;
    } else {
      heads = parse_heads_option(a->prune_heads, model.config, "--prune-heads");
      note = "heads " + a->prune_heads;
    }
    HeadMask mask(model.config);
    const HeadAction action = a->mode == "mean" ? HeadAction::Mean : HeadAction::Zero;
    for (auto [l, h] : heads) mask.set(l, h, action);
    if (action == HeadAction::Mean) mask.set_means(calib.z_means());
    // Removed when the set allows it (or --physical asks); else zeroed, saying why.
    const HeadRemovalProblem problem = head_removal_problem(model.config, heads);
    if (a->physical && problem) throw InputError(a->out, problem.message());
    const bool physical = !a->zero_only && !problem && !heads.empty();
    if (!a->zero_only && problem && !a->quiet) {
      const std::string remedy = problem.remedy.empty() ? "" : " (consider " + problem.remedy + ")";
      std::fprintf(stderr, "note: %s: heads zeroed, not removed: %s%s\n", a->out.c_str(),
                   problem.reason.c_str(), remedy.c_str());
    }
    export_pruned_gguf(model, export_tokenizer(a->model, a->tokenizer), mask, a->out,
                       note + " mode " + a->mode, physical);
    if (!a->quiet) {
      const ModelConfig out = load_model(a->out).config;
      if (out.uniform_heads()) {
        std::fprintf(stderr, "wrote %s (%zu heads %s; %d query and %d KV heads per layer)\n",
                     a->out.c_str(), heads.size(), physical ? "removed" : "zeroed", out.n_heads,
                     out.n_kv_heads);
      } else {
        // Which readers load it, since llama.cpp's graphs take one count for every layer.
        std::string q, kv;
        for (int l = 0; l < out.n_layers; ++l) {
          q += (l ? "," : "") + std::to_string(out.heads(l));
          kv += (l ? "," : "") + std::to_string(out.kv_heads(l));
        }
        std::fprintf(stderr,
                     "wrote %s (%zu heads removed; query heads per layer %s, KV heads %s)\n"
                     "note: %s: %s\n",
                     a->out.c_str(), heads.size(), q.c_str(), kv.c_str(), a->out.c_str(),
                     readers_note(out).c_str());
      }
    }
  });
}

}  // namespace ss::cli
