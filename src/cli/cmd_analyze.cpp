// sinkscope analyze: every per-head sink statistic over a corpus, written to a run directory.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/cluster.h"
#include "base/error.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "base/utf8.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "experiments/analyze.h"
#include "experiments/attention_view.h"
#include "experiments/pipeline.h"
#include "experiments/stream_sinks.h"
#include "model/load_model.h"
#include "report/analysis_files.h"
#include "report/mechanism_files.h"
#include "report/stream_sinks_files.h"

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
  bool no_view = false;
  std::string cache = "dense";
  std::string positions = "cache";
  int tokens = 0;
  bool pipeline = false;
  std::string pipeline_split;
  bool mechanism = false;
};

// One paragraph per run of --mechanism's figures on stderr.
void print_mechanism(const AnalysisRun& r, const MechanismResult& m) {
  std::string ups, downs;
  for (const MechanismLayer& l : m.layers) {
    if (l.step > 0) ups += " " + std::to_string(l.layer);
    if (l.step < 0) downs += " " + std::to_string(l.layer);
  }
  std::fprintf(stderr, "mechanism ctx %d bos %s: step-up blocks:%s, step-down blocks:%s\n", r.ctx,
               r.bos.c_str(), ups.empty() ? " none" : ups.c_str(),
               downs.empty() ? " none" : downs.c_str());
  auto print_form = [](const char* what, const FfnQuadraticForm& f) {
    std::fprintf(stderr,
                 "  quadratic form at the %s: block %d channel %d: lambda1 %.6g, "
                 "|lambda1/lambda2| %.4g, cosine %.4f, quadratic %.4g vs FFN output %.4g\n",
                 what, f.layer, f.channel, f.eigenvalues.empty() ? 0.0 : f.eigenvalues[0], f.ratio,
                 f.cosine, f.quadratic, f.ffn_output);
  };
  if (m.form) print_form("spike", *m.form);
  if (m.sink_form) print_form("sink's step-up", *m.sink_form);
  if (!m.form_note.empty()) std::fprintf(stderr, "  note: %s\n", m.form_note.c_str());
}

}  // namespace

void add_analyze(CLI::App& root) {
  auto a = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "analyze",
      "Per-head sink statistics (SPEC.md) over a corpus in windows of each --ctx; writes run.json, "
      "heads.csv/json, layers.csv, massive.csv, stability.csv, moe.csv (models with experts) and "
      "report.html to --out");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
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
  cmd->add_flag("--no-view", a->no_view,
                "Do not write view.html, the attention viewer of the first window (at most 512 "
                "tokens; sinkscope view), which the report's top sink heads link to");
  cmd->add_option("--cache", a->cache,
                  "Also run the text token by token under this KV cache (window:W or "
                  "sink:K+window:W) and measure the sinks under eviction: stream_sinks.csv, "
                  "stream_sinks.json and a report section (dense: no streaming run)")
      ->capture_default_str();
  cmd->add_option("--positions", a->positions,
                  "With --cache: cache (positions within the cache, StreamingLLM) or original "
                  "(the tokens' positions in the text)")
      ->check(CLI::IsMember({"cache", "original"}))
      ->capture_default_str();
  cmd->add_option("--tokens", a->tokens,
                  "With --cache: tokens of the text to stream, the first token included (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_flag("--mechanism", a->mechanism,
                "The spike, the sparse and the sink (Sun et al. 2026): the first token's max |h| "
                "across depth with step-up/down blocks, its normed input's top-channel share and "
                "key cosines over windows, and the FFN quadratic form at the spike (gated SiLU "
                "FFNs): mechanism.csv, mechanism_keys.csv, mechanism.json and a report section");
  add_ablate(cmd, *a);
  add_pipeline(cmd, a->pipeline, a->pipeline_split);
  cmd->callback([a, cmd] {
    const auto start = std::chrono::steady_clock::now();
    const CachePolicy cache = CachePolicy::parse(a->cache, "--cache");
    using Kind = CachePolicy::Kind;
    if (cache.kind != Kind::Dense && cache.kind != Kind::Window && cache.kind != Kind::SinkWindow)
      throw InputError("--cache", "'" + a->cache +
                                      "' re-encodes every window from scratch, so no cache slot "
                                      "is ever evicted: use window:W or sink:K+window:W");
    const bool streaming = cache.kind != CachePolicy::Kind::Dense;
    for (const char* opt : {"--positions", "--tokens"})
      require(streaming || cmd->count(opt) == 0, opt,
              "only with --cache window:W or sink:K+window:W");
    Model model = load_cli_model(*a);
    if (streaming) check_cache_policy(cache, model.config, cmd->count("--positions") > 0);
    std::unique_ptr<Tokenizer> tok_ptr = on_every_rank(cluster(), [&] {
      return load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    });
    const Tokenizer& tok = *tok_ptr;
    nlohmann::json invalid = nlohmann::json::object();
    const std::vector<int> text_ids = root_ids([&] {
      std::vector<int> all;
      for (const auto& f : a->files) {
        TextFile file = read_cli_text(f);
        if (file.invalid_utf8) invalid[f] = file.invalid_utf8;
        std::vector<int> ids = tok.encode(file.text, false);
        all.insert(all.end(), ids.begin(), ids.end());
      }
      return all;
    });
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
    opt.mechanism = a->mechanism;
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
    opt.cluster = &cluster();
    if (a->pipeline) {
      require(!streaming, "--pipeline", "streaming (--cache) runs the whole model on one rank");
      require(!a->mechanism, "--pipeline", "--mechanism runs the whole model on one rank");
      opt.pipeline = on_every_rank(
          cluster(), [&] { return pipeline_ranges(model, cluster().size(), a->pipeline_split); });
    }

    ensure_output_dir(a->out);
    ThreadPool pool(a->threads);
    Progress bar("analyze", !a->quiet);
    const AnalysisResult result =
        analyze(model, pool, text_ids, opt,
                [&](long done, long total, long tokens) { bar.update(done, total, tokens); });
    bar.finish();
    const nlohmann::json rank_times = rank_wall_times(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!cluster().root()) return;  // the root holds the result and writes the files

    // Sinks under eviction: each first-token mode's sequence streamed through the cache.
    std::vector<StreamSinksRun> streams;
    if (streaming) {
      StreamSinksOptions so;
      so.policy = cache;
      so.positions = a->positions == "cache" ? StreamPositions::Cache : StreamPositions::Original;
      so.mask = &mask;
      std::vector<std::vector<int>> seqs;
      long total = 0;
      for (const FirstTokenMode& mode : opt.modes) {
        std::vector<int> ids;
        if (mode.first_id >= 0) ids.push_back(mode.first_id);
        ids.insert(ids.end(), text_ids.begin(), text_ids.end());
        if (a->tokens > 0 && ids.size() > static_cast<size_t>(a->tokens)) ids.resize(a->tokens);
        require(ids.size() >= 2, "--tokens", "streaming needs at least two tokens of text");
        total += static_cast<long>(ids.size()) - 1;
        seqs.push_back(std::move(ids));
      }
      Progress sbar("stream-sinks", !a->quiet);
      long done = 0;
      for (size_t m = 0; m < opt.modes.size(); ++m) {
        StreamSinksResult r = stream_sinks(model, pool, seqs[m], so, nullptr, [&](size_t t) {
          if (t % 64 == 0)
            sbar.update(done + static_cast<long>(t), total, done + static_cast<long>(t));
        });
        done += r.tokens;
        streams.push_back({opt.modes[m].name, std::move(r)});
      }
      sbar.finish();
    }
    const nlohmann::json stream_doc =
        streaming ? stream_sinks_json(streams, model.config.max_seq_len,
                                      [&](int id) { return token_label(tok, id); })
                  : nlohmann::json();

    // The attention viewer of the first window of the shortest length, at most 512 tokens: BOS
    // on and off as the modes ask, and with the heads of --ablate zeroed (default: the strongest
    // sink heads).
    std::string view_href;
    const bool view_bos_on = std::find(a->bos.begin(), a->bos.end(), "on") != a->bos.end();
    const bool view_bos_off = std::find(a->bos.begin(), a->bos.end(), "off") != a->bos.end();
    // Not in a pipeline: the root holds only its own layers there.
    if (!a->no_view && !a->pipeline && (view_bos_on || view_bos_off)) {
      AttentionViewOptions vo;
      vo.bos_id = view_bos_on ? tok.bos_id() : -1;
      vo.eps = a->eps;
      vo.model_name = std::filesystem::path(a->model).filename().string();
      vo.description = model_description(model.config);
      if (mask.any()) {
        vo.ablation = mask;
        vo.ablated_heads = parse_heads_option(a->ablate, model.config, "--ablate");
        vo.ablation_source = "--ablate " + a->ablate;
      }
      const size_t n = std::min<size_t>(
          {text_ids.size(), static_cast<size_t>(std::min(a->contexts.front(), kViewMaxTokens)) -
                                (vo.bos_id >= 0 ? 1 : 0)});
      const std::span<const int> first(text_ids.data(), n);
      const AttentionView view = build_attention_view(
          model, pool, first, [&](int id) { return token_label(tok, id); }, std::move(vo), "--ctx");
      ensure_output_dir(a->out);
      write_file_atomic((std::filesystem::path(a->out) / "view.html").string(),
                        render_attention_view(view));
      view_href = "view.html";
    }

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
                {"rank_wall_time_s", rank_times},
                {"tokens_processed", result.tokens_processed}});
    std::string extra_html;
    if (a->mechanism) {
      run["options"]["mechanism"] = true;  // absent without: run.json as before
      const nlohmann::json doc = mechanism_json(result);
      write_mechanism_files(a->out, doc);
      extra_html = mechanism_html(doc);
    }
    if (streaming) {
      run["options"]["cache"] = cache.name();
      run["options"]["positions"] = a->positions;
      run["options"]["tokens"] = a->tokens;
      write_stream_sinks_files(a->out, streams, stream_doc);
      write_analysis_files(a->out, result, run, stream_sinks_html(stream_doc) + extra_html,
                           view_href);
    } else {
      write_analysis_files(a->out, result, run, extra_html, view_href);
    }
    if (!a->quiet) {
      for (const AnalysisRun& r : result.runs)
        std::fprintf(stderr, "ctx %d bos %s: %zu windows, sink_rate %.3f, nll %s\n", r.ctx,
                     r.bos.c_str(), r.windows, r.sink_rate,
                     r.nll_mean ? std::to_string(*r.nll_mean).c_str() : "not computed (--no-nll)");
      for (const AnalysisRun& r : result.runs)
        if (const auto& m = r.mechanism) print_mechanism(r, *m);
      for (const StreamSinksRun& s : streams)
        std::fprintf(stderr, "%s bos %s: %ld steps, streaming nll %.4f, %.1f tokens/s\n",
                     s.result.policy.c_str(), s.bos.c_str(), s.result.tokens, s.result.nll_mean,
                     s.result.seconds > 0 ? s.result.tokens / s.result.seconds : 0.0);
      std::fprintf(stderr, "wrote %s/report.html\n", a->out.c_str());
    }
  });
}

}  // namespace ss::cli
