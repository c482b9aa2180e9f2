// sinkscope stream: StreamingLLM's evaluation. A long text runs token by token under each KV
// cache policy; stream.csv, stream.json and report.html show perplexity against position.
#include <cstdio>
#include <iostream>

#include "base/cluster.h"
#include "base/error.h"
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
};
}  // namespace

void add_stream(CLI::App& root) {
  auto a = std::make_shared<StreamArgs>();
  CLI::App* cmd = root.add_subcommand(
      "stream",
      "StreamingLLM evaluation: run the first --tokens tokens of a text one at a time under each "
      "KV cache policy (dense, window:W, sink:K+window:W, recompute:W) and write the nll of every "
      "position, tokens/s and the cache's size (stream.csv, stream.json, report.html)");
  add_common(cmd, *a, true, true);
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
  cmd->add_option("-o,--out", a->out, "Output folder")->capture_default_str();
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
    auto run_policy = [&](size_t i) {
      const CachePolicy& p = policies[i];
      std::span<const int> text = ids;
      if (p.kind == CachePolicy::Kind::Dense && static_cast<int>(text.size()) > dense_max)
        text = text.first(static_cast<size_t>(dense_max));
      const StreamResult r = stream_nll(model, pool, text, p, positions, nullptr, [&](size_t t) {
        if (t % 64 == 0)
          bar.update(done + static_cast<long>(t), total, done + static_cast<long>(t));
      });
      WireWriter w;
      w.put_vector<double>(r.nll).put<double>(r.seconds).put<uint64_t>(r.cache_bytes);
      w.put_vector<double>(r.block_seconds);
      return w.take();
    };
    auto fold_policy = [&](size_t i, std::string_view bytes) {
      WireReader in(bytes);
      StreamRun run{policies[i].name(), in.get_vector<double>(), 0, {}, 0};
      run.seconds = in.get<double>();
      run.cache_bytes = in.get<uint64_t>();
      run.block_seconds = in.get_vector<double>();
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
