// sinkscope generate: continue a prompt, streaming the text to stdout.
#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "cli/common.h"
#include "model/load_model.h"
#include "runtime/generate.h"
#include "runtime/sampler.h"
#include "runtime/streaming.h"

namespace ss::cli {

namespace {
struct GenerateArgs : CommonArgs {
  std::string prompt;
  int n_new = 128;
  float temperature = 0.0f;
  float top_p = 0.9f;
  uint64_t seed = 42;
  std::string cache = "dense";
  std::string positions = "cache";
};
}  // namespace

void add_generate(CLI::App& root) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = root.add_subcommand("generate", "Generate text from a prompt");
  add_common(cmd, *a, true, true);
  add_activation_modes(cmd, *a);
  add_ablate(cmd, *a);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text (BOS is added)")->capture_default_str();
  cmd->add_option("-n,--n-new", a->n_new, "Number of new tokens")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--temp", a->temperature, "Temperature; 0 is greedy")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--top-p", a->top_p, "Nucleus sampling mass (used when --temp > 0)")
      ->capture_default_str()
      ->check(between(0.0, 1.0));
  cmd->add_option("--seed", a->seed, "Random seed for sampling")->capture_default_str();
  cmd->add_option("--cache", a->cache,
                  "KV cache: dense (up to the model's context), window:W or sink:K+window:W "
                  "(StreamingLLM: constant memory and speed, for any -n)")
      ->capture_default_str();
  cmd->add_option("--positions", a->positions,
                  "With window caches: cache (positions within the cache, StreamingLLM) or "
                  "original (positions in the text)")
      ->check(CLI::IsMember({"cache", "original"}))
      ->capture_default_str();
  cmd->callback([a, cmd] {
    const CachePolicy policy = CachePolicy::parse(a->cache, "--cache");
    require(policy.kind != CachePolicy::Kind::Recompute &&
                policy.kind != CachePolicy::Kind::SinkRecompute,
            "--cache",
            "recompute:W is an evaluation baseline (sinkscope stream), not a generation cache");
    Model model = load_cli_model(*a);
    std::unique_ptr<Tokenizer> tok_ptr =
        load_text_tokenizer(a->model, a->tokenizer, model.config.vocab_size);
    const Tokenizer& tok = *tok_ptr;
    require(a->n_new >= 0, "-n", "must not be negative");
    std::vector<int> ids = tok.encode(a->prompt, tok.add_bos());
    check_cache_policy(policy, model.config, cmd->count("--positions") > 0);
    const bool streaming = policy.kind != CachePolicy::Kind::Dense;
    require(streaming || static_cast<int>(ids.size()) < model.config.max_seq_len, a->model,
            "prompt of " + std::to_string(ids.size()) + " tokens fills the context of " +
                std::to_string(model.config.max_seq_len));
    ThreadPool pool(a->threads);
    // A cache for the prompt and the new tokens, not the whole claimed context.
    const int64_t need = static_cast<int64_t>(ids.size()) + a->n_new;
    Runtime rt(model, pool,
               streaming ? policy.sinks + policy.window
                         : static_cast<int>(std::min<int64_t>(need, model.config.max_seq_len)));
    HeadMask mask = ablation_mask(*a, model.config);
    rt.set_head_mask(&mask);
    Sampler sampler(a->temperature, a->top_p, a->seed);
    // The prompt as the tokenizer reads it back; BOS (when added) prints nothing.
    const size_t first = !ids.empty() && ids[0] == tok.bos_id() ? 1 : 0;
    for (size_t i = first; i < ids.size(); ++i)
      std::fputs(tok.decode_token(i > 0 ? ids[i - 1] : -1, ids[i]).c_str(), stdout);
    std::fflush(stdout);
    auto print = [&](int prev, int next) {
      std::fputs(tok.decode_token(prev, next).c_str(), stdout);
      std::fflush(stdout);
    };
    const std::vector<int> stops = {tok.bos_id(), tok.eos_id()};
    if (streaming)
      generate_streaming(
          rt, policy, a->positions == "cache" ? StreamPositions::Cache : StreamPositions::Original,
          ids, a->n_new, sampler, stops, print);
    else
      generate(rt, ids, a->n_new, sampler, stops, print);
    std::fputs("\n", stdout);
  });
}

}  // namespace ss::cli
