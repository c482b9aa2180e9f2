// sinkscope view: an interactive, self-contained HTML attention viewer for one prompt.
#include <cstdio>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "experiments/attention_view.h"
#include "model/load_model.h"

namespace ss::cli {

namespace {
struct ViewArgs : CommonArgs {
  std::string prompt, file, out = "view.html", bos = "on";
  double max_mb = 40;
};
}  // namespace

void add_view(CLI::App& root) {
  auto a = std::make_shared<ViewArgs>();
  CLI::App* cmd = root.add_subcommand(
      "view",
      "An interactive attention viewer for one prompt of up to 512 tokens, as one self-contained "
      "HTML file: every head's pattern with BOS first and without, and with some heads zeroed");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  cmd->add_option("-p,--prompt", a->prompt, "The prompt text");
  cmd->add_option("-f,--file", a->file, "Or a text file (UTF-8)");
  cmd->add_option("-o,--out", a->out, "The HTML file to write")->capture_default_str();
  cmd->add_option("--bos", a->bos,
                  "The run the page opens with: on (BOS first) or off; both are stored")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--max-mb", a->max_mb,
                  "Size budget of the file in MB (10^6 bytes): patterns that do not fit at 8 bits "
                  "are stored with fewer")
      ->capture_default_str()
      ->check(between(1, 1000));
  add_ablate(cmd, *a);
  cmd->get_option("--ablate")
      ->description(
          "Heads zeroed in the ablated runs: L:H,... or a JSON file (default: the 4 heads with "
          "the highest bos_sink_score above 0.3 in the BOS-on run)");
  cmd->callback([a] {
    require(a->prompt.empty() != a->file.empty(), "--prompt",
            "give exactly one of -p TEXT or -f FILE");
    const std::string what = a->file.empty() ? "--prompt" : a->file;
    std::string text = a->prompt;
    if (!a->file.empty()) text = read_cli_text(a->file).text;
    Model model = load_cli_model(*a);
    const auto tok = load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    const std::vector<int> ids = tok->encode(text, false);
    require(a->bos == "off" || tok->bos_id() >= 0, "--bos",
            "the tokenizer has no BOS token: use --bos off");

    AttentionViewOptions opt;
    opt.bos_id = tok->bos_id();
    opt.start_bos = a->bos == "on";
    opt.max_bytes = static_cast<size_t>(a->max_mb * 1e6);
    opt.model_name = std::filesystem::path(a->model).filename().string();
    opt.description = model_description(model.config);
    if (!a->ablate.empty() || !a->ablate_sinks.empty()) {
      opt.ablation = ablation_mask(*a, model.config);
      opt.ablated_heads = parse_heads_option(a->ablate, model.config, "--ablate");
      opt.ablation_source = "--ablate " + a->ablate +
                            (a->ablate_sinks.empty() ? "" : " --ablate-sinks " + a->ablate_sinks);
    }
    ThreadPool pool(a->threads);
    const AttentionView view = build_attention_view(
        model, pool, ids, [&](int id) { return token_label(*tok, id); }, std::move(opt), what);
    const std::string html = render_attention_view(view);
    if (const auto parent = std::filesystem::path(a->out).parent_path(); !parent.empty())
      ensure_output_dir(parent.string());
    write_file_atomic(a->out, html);
    if (!a->quiet) {
      int coarse = 0, stored = 0;
      for (const ViewRun& r : view.runs)
        for (const ViewHead& h : r.heads)
          if (h.same_as < 0) ++stored, coarse += h.bits < 8;
      std::fprintf(stderr,
                   "wrote %s: %zu runs, %zu tokens, %d head patterns (%d below 8 bits), %.2f MB\n",
                   a->out.c_str(), view.runs.size(), view.runs[0].ids.size(), stored, coarse,
                   html.size() / 1e6);
    }
  });
}

}  // namespace ss::cli
