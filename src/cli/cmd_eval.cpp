// sinkscope eval: zero-shot multiple-choice and cloze accuracy on benchmark files.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/cluster.h"
#include "base/error.h"
#include "base/wire.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "eval/mc_eval.h"
#include "model/load_model.h"
#include "report/mc_json.h"

namespace ss::cli {

namespace {
struct EvalArgs : CommonArgs {
  std::vector<std::string> tasks;
  int limit = 0;
  int ctx = 0;
  bool json = false;
};

}  // namespace

namespace {
// Tasks as bytes, for the ranks of a cluster.
std::string encode_tasks(const std::vector<McTask>& tasks) {
  WireWriter w;
  w.put<uint64_t>(tasks.size());
  for (const McTask& t : tasks) {
    w.put_string(t.name).put_string(t.format).put<bool>(t.is_cloze).put<uint64_t>(t.invalid_utf8);
    w.put<uint64_t>(t.items.size());
    for (const McItem& item : t.items) {
      w.put<int>(item.gold).put<uint64_t>(item.contexts.size()).put<uint64_t>(item.choices.size());
      for (const auto& c : item.contexts) w.put_string(c);
      for (const auto& c : item.choices) w.put_string(c);
    }
  }
  return w.take();
}

std::vector<McTask> decode_tasks(const std::string& bytes) {
  WireReader r(bytes);
  std::vector<McTask> tasks(r.get<uint64_t>());
  for (McTask& t : tasks) {
    t.name = r.get_string();
    t.format = r.get_string();
    t.is_cloze = r.get<bool>();
    t.invalid_utf8 = r.get<uint64_t>();
    t.items.resize(r.get<uint64_t>());
    for (McItem& item : t.items) {
      item.gold = r.get<int>();
      item.contexts.resize(r.get<uint64_t>());
      item.choices.resize(r.get<uint64_t>());
      for (auto& c : item.contexts) c = r.get_string();
      for (auto& c : item.choices) c = r.get_string();
    }
  }
  return tasks;
}
}  // namespace

void add_eval(CLI::App& root) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = root.add_subcommand(
      "eval",
      "Zero-shot multiple-choice accuracy (lm-evaluation-harness style): each choice is scored by "
      "the sum of log-probabilities of \" \" + choice after BOS + context; acc takes the best "
      "sum, acc_norm the best sum per UTF-8 byte of the choice. Cloze tasks (LAMBADA) report "
      "greedy exact-match accuracy and perplexity. Formats and prompts: docs/tasks.md");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  cmd->add_option("--task", a->tasks,
                  "Task file (repeatable): ARC/PIQA/BoolQ/WinoGrande/LAMBADA jsonl or llama.cpp "
                  "HellaSwag text")
      ->required();
  cmd->add_option("--limit", a->limit, "Score only the first N items of each task (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--ctx", a->ctx,
                  "KV cache length in tokens (0: the model's context); longer items keep BOS "
                  "and lose the tokens after it")
      ->capture_default_str()
      ->check(at_least(0));
  add_ablate(cmd, *a);
  cmd->add_flag("--json", a->json, "Print one JSON object instead of a table");
  cmd->callback([a] {
    require(a->limit >= 0, "--limit", "must not be negative");
    Model model = load_cli_model(*a);
    std::unique_ptr<Tokenizer> tok_ptr = on_every_rank(cluster(), [&] {
      return load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    });
    const Tokenizer& tok = *tok_ptr;
    const int ctx = a->ctx > 0 ? a->ctx : model.config.max_seq_len;
    require(ctx >= 2, "--ctx", "must be at least 2");
    if (ctx > model.config.max_seq_len)
      std::fprintf(stderr,
                   "sinkscope: warning: --ctx %d exceeds the model's trained context of %d\n", ctx,
                   model.config.max_seq_len);
    HeadMask mask = ablation_mask(*a, model.config);
    // Read every file first, so a bad one fails before any model time is spent. The root reads
    // them and sends them to the other ranks.
    const std::vector<McTask> tasks = decode_tasks(on_root(cluster(), [&] {
      std::vector<McTask> read;
      for (const std::string& f : a->tasks) {
        read.push_back(read_mc_task(f, a->limit));
        warn_invalid_utf8(f, read.back().invalid_utf8);
      }
      return encode_tasks(read);
    }));

    ThreadPool pool(a->threads);
    Runtime rt(model, pool, ctx);
    rt.set_head_mask(&mask);
    nlohmann::json out{{"ctx", ctx}, {"limit", a->limit}, {"heads_ablated", mask.n_masked()}};
    out["tasks"] = nlohmann::json::array();
    if (!a->json && cluster().root())
      std::printf("%-20s %6s %8s %10s %8s %15s %12s\n", "task", "n", "acc", "acc_stderr",
                  "acc_norm", "acc_norm_stderr", "ppl");
    for (size_t i = 0; i < tasks.size(); ++i) {
      const McTask& t = tasks[i];
      Progress bar("eval " + t.name, !a->quiet);
      McResult r = evaluate_task(
          rt, tok, t, [&](int done, int total) { bar.update(done, total); }, &cluster());
      bar.finish();
      if (!cluster().root()) continue;  // the root holds the result
      if (r.truncated)
        std::fprintf(stderr,
                     "sinkscope: warning: %s: %d of %d items exceed the %d-token context; the "
                     "tokens after BOS were dropped\n",
                     a->tasks[i].c_str(), r.truncated, r.n, ctx);
      if (a->json) {
        out["tasks"].push_back(mc_result_json(r, t, a->tasks[i]));
      } else if (r.is_cloze) {
        std::printf("%-20s %6d %8.4f %10.4f %8s %15s %12.3f\n", r.task.c_str(), r.n, r.acc,
                    r.acc_stderr, "-", "-", r.ppl);
      } else {
        std::printf("%-20s %6d %8.4f %10.4f %8.4f %15.4f %12s\n", r.task.c_str(), r.n, r.acc,
                    r.acc_stderr, r.acc_norm, r.acc_norm_stderr, "-");
      }
      std::fflush(stdout);
    }
    if (a->json && cluster().root()) std::cout << out.dump(2) << "\n";
  });
}

}  // namespace ss::cli
