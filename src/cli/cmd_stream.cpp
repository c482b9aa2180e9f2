// sinkscope stream: StreamingLLM's evaluation. A long text runs token by token under each KV
// cache policy; stream.csv, stream.json and report.html show perplexity against position. Each
// policy's result, and the state of one under way, is saved in OUT/.partial/ as the run goes, so
// a rerun with the same --out resumes (base/partial_files.h).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "base/cluster.h"
#include "base/error.h"
#include "base/partial_files.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "base/wire.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "model/load_model.h"
#include "report/stream_files.h"
#include "runtime/streaming.h"

namespace ss::cli {

namespace {
struct StreamArgs : CommonArgs {
  std::string file;
  std::vector<std::string> policies;
  int tokens = 0;
  std::string positions = "cache";
  int dense_max = 0;
  std::string out = "out/stream";
  int checkpoint_tokens = 0;
  int kill_after_files = 0;
};

// A policy's state is saved after this much work, or 20 times the last save's time when that is
// longer (a large KV cache): a kill loses at most about this much, and saving costs under 5%.
constexpr double kCheckpointSeconds = 30;

// A policy's result as bytes: what a rank sends the root, and what OUT/.partial/ keeps.
std::string encode_run(const StreamResult& r) {
  WireWriter w;
  w.put_vector<double>(r.nll).put<double>(r.seconds).put<uint64_t>(r.cache_bytes);
  w.put_vector<double>(r.block_seconds);
  return w.take();
}

// Throws std::runtime_error for bytes that are not a whole result.
StreamRun decode_run(const std::string& policy, std::string_view bytes) {
  WireReader in(bytes);
  StreamRun run{policy, in.get_vector<double>(), 0, {}, 0};
  run.seconds = in.get<double>();
  run.cache_bytes = in.get<uint64_t>();
  run.block_seconds = in.get_vector<double>();
  if (!in.done()) throw std::runtime_error("bytes after the result");
  return run;
}
}  // namespace

void add_stream(CLI::App& root) {
  auto a = std::make_shared<StreamArgs>();
  CLI::App* cmd = root.add_subcommand(
      "stream",
      "StreamingLLM evaluation: run the first --tokens tokens of a text one at a time under each "
      "KV cache policy (dense, window:W, sink:K+window:W, recompute:W) and write the nll of every "
      "position, tokens/s and the cache's size (stream.csv, stream.json, report.html)");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  cmd->add_option("-f,--file", a->file, "Long text file (UTF-8)")->required();
  cmd->add_option("--policy", a->policies, "A cache policy (repeatable)")->required();
  cmd->add_option("--tokens", a->tokens, "Tokens of the text to run (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--positions", a->positions,
                  "cache: positions within the cache, keys rotated again after each eviction "
                  "(StreamingLLM); original: the tokens' positions in the text")
      ->check(CLI::IsMember({"cache", "original"}))
      ->capture_default_str();
  cmd->add_option("--dense-max", a->dense_max,
                  "Run dense only over this many tokens (0: twice the model's context)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("-o,--out", a->out,
                  "Output folder; a rerun with the same --out resumes from OUT/.partial/")
      ->capture_default_str();
  // Hidden (no group), for the resume tests: a state saved every N tokens instead of by time,
  // and a SIGKILL right after this many files reached OUT/.partial/ (a kill at a known point).
  cmd->add_option("--checkpoint-tokens", a->checkpoint_tokens)->group("")->check(at_least(1));
  cmd->add_option("--kill-after-partial-files", a->kill_after_files)->group("")->check(at_least(1));
  cmd->callback([a, cmd] {
    std::vector<CachePolicy> policies;
    for (const std::string& p : a->policies) policies.push_back(CachePolicy::parse(p, "--policy"));
    Model model = load_cli_model(*a);
    const ModelConfig& c = model.config;
    for (const CachePolicy& p : policies) check_cache_policy(p, c, cmd->count("--positions") > 0);
    std::unique_ptr<Tokenizer> tok = on_every_rank(cluster(), [&] {
      return load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    });
    std::vector<int> ids =
        root_ids([&] { return tok->encode(read_text(a->file).text, tok->add_bos()); });
    if (a->tokens > 0 && static_cast<int>(ids.size()) > a->tokens) ids.resize(a->tokens);
    require(ids.size() >= 2, a->file, "too short to score any token");
    const int dense_max = a->dense_max > 0 ? a->dense_max : 2 * c.max_seq_len;
    const StreamPositions positions =
        a->positions == "cache" ? StreamPositions::Cache : StreamPositions::Original;

    // What every policy's result depends on, recorded with the partial results (the policies
    // are not: each has its own file, which a rerun with more policies reuses). Not the thread
    // count or the ranks: results do not depend on them.
    const std::string model_hash = on_root(cluster(), [&] { return sha256_file(a->model); });
    const std::string ids_hash =
        sha256_hex({reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int)});
    const PartialFiles partial(
        a->out, "model " + model_hash + " tokens " + std::to_string(ids.size()) + " " + ids_hash +
                    " positions " + a->positions + " dense-max " + std::to_string(dense_max));
    on_root(cluster(), [&] {
      partial.claim("settings (model, text, tokenizer, --tokens, --positions or --dense-max)");
      return std::string();
    });
    int files_written = 0;
    auto written = [&] {
      if (++files_written == a->kill_after_files) raise(SIGKILL);
    };
    auto note = [](const std::string& what) {
      std::fprintf(stderr, "sinkscope: %s\n", what.c_str());
    };

    ThreadPool pool(a->threads);
    long total = 0;
    for (const CachePolicy& p : policies)
      total += p.kind == CachePolicy::Kind::Dense
                   ? std::min<long>(static_cast<long>(ids.size()), dense_max) - 1
                   : static_cast<long>(ids.size()) - 1;
    Progress bar("stream", !a->quiet);
    long done = 0;
    std::vector<StreamRun> runs;
    // Each policy on its rank (base/cluster.h); the root gathers the runs in policy order.
    // A policy finished by an earlier run is not run again; one under way continues from its
    // last saved state.
    auto run_policy = [&](size_t i) {
      const CachePolicy& p = policies[i];
      const std::string name = p.name();
      const std::string file = partial.path(name);
      PartialFiles::Saved saved = partial.read(name);
      if (!saved.problem.empty())
        note(file + ": " + saved.problem + "; running " + name + " afresh");
      std::span<const int> text = ids;
      if (p.kind == CachePolicy::Kind::Dense && static_cast<int>(text.size()) > dense_max)
        text = text.first(static_cast<size_t>(dense_max));
      if (saved.finished) {
        try {
          if (decode_run(name, saved.bytes).nll.size() + 1 != text.size())
            throw std::runtime_error("another text length");
          if (!a->quiet) note(name + ": finished by an earlier run (" + file + ")");
          return saved.bytes;
        } catch (const std::runtime_error& e) {
          note(file + ": " + e.what() + "; running " + name + " afresh");
          saved.bytes.clear();
        }
      }
      StreamCheckpoints checkpoints;
      checkpoints.resume = std::move(saved.bytes);
      if (!checkpoints.resume.empty() && !a->quiet)
        note(name + ": continuing from its saved state (" + file + ")");
      auto last_save = std::chrono::steady_clock::now();
      double interval = kCheckpointSeconds;
      checkpoints.due = [&](int t) {
        if (a->checkpoint_tokens > 0) return (t + 1) % a->checkpoint_tokens == 0;
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save)
                   .count() >= interval;
      };
      checkpoints.save = [&](std::string&& state) {
        const auto saving = std::chrono::steady_clock::now();
        partial.save(name, false, state);
        last_save = std::chrono::steady_clock::now();
        interval = std::max(kCheckpointSeconds,
                            20 * std::chrono::duration<double>(last_save - saving).count());
        written();
      };
      auto progress = [&](size_t t) {
        if (t % 64 == 0)
          bar.update(done + static_cast<long>(t), total, done + static_cast<long>(t));
      };
      StreamResult r;
      try {
        r = stream_nll(model, pool, text, p, positions, nullptr, progress, &checkpoints);
      } catch (const BadStreamState& e) {
        note(file + ": " + e.what() + "; running " + name + " afresh");
        checkpoints.resume.clear();
        r = stream_nll(model, pool, text, p, positions, nullptr, progress, &checkpoints);
      }
      std::string bytes = encode_run(r);
      partial.save(name, true, bytes);
      written();
      return bytes;
    };
    auto fold_policy = [&](size_t i, std::string_view bytes) {
      StreamRun run = decode_run(policies[i].name(), bytes);
      done += static_cast<long>(run.nll.size());
      runs.push_back(std::move(run));
    };
    distribute(cluster(), policies.size(), run_policy, fold_policy);
    bar.finish();
    if (!cluster().root()) return;  // the root holds the runs
    write_stream_files(a->out, runs, c.max_seq_len, a->model, a->file);
    for (const StreamRun& r : runs) {
      double sum = 0;
      for (double v : r.nll) sum += v;
      std::printf("%-24s %7zu tokens  ppl %10.4f  %8.1f tok/s  cache %.2f MiB\n", r.policy.c_str(),
                  r.nll.size(), std::exp(sum / r.nll.size()),
                  r.seconds > 0 ? r.nll.size() / r.seconds : 0.0, r.cache_bytes / 1048576.0);
    }
    std::printf("wrote %s/stream.csv, stream.json, report.html\n", a->out.c_str());
  });
}

}  // namespace ss::cli
