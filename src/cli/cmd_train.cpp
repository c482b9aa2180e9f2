// sinkscope train: pretrain a llama model from scratch (or resume a checkpoint) on text files.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "model/attention_kind.h"
#include "model/load_model.h"
#include "train/trainer.h"

namespace ss::cli {

namespace {
struct TrainArgs {
  std::vector<std::string> data;
  std::string tokenizer, out, resume, name = "sinkscope-trained";
  int dim = 128, layers = 4, heads = 4, kv_heads = 0, ffn = 0, ctx = 256, min_ctx = 0;
  double rope_theta = 10000;
  bool untied = false;
  std::string bos = "fixed", packing = "packed", attention = "softmax", schedule = "cosine";
  std::string norm = "pre", positional = "rope";
  train::TrainOptions opt;
  double val_fraction = 0.05;
  int threads = 0;
  bool quiet = false, json = false;
};
}  // namespace

void add_train(CLI::App& root) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = root.add_subcommand(
      "train",
      "Pretrain a llama model on text files with AdamW (warm-up + cosine schedule, gradient "
      "clipping). Deterministic for a given --seed and thread count. Writes OUT/train.csv (loss, "
      "grad norm, tokens/s, validation loss), OUT/model.gguf, OUT/checkpoints/step-N.gguf (each "
      "with a .optim file for --resume) and OUT/val.txt, the held-out text: `sinkscope "
      "perplexity -m OUT/model.gguf -f OUT/val.txt --ctx CTX --chunks VAL_WINDOWS` reproduces the "
      "logged validation loss.");
  cmd->add_option("--data", a->data, "Training text files (UTF-8)")->required()->expected(1, -1);
  cmd->add_option("--tokenizer", a->tokenizer,
                  "Tokenizer: llama2.c .bin, a GGUF with a vocabulary, or one made by `sinkscope "
                  "tokenizer train` (default with --resume: the checkpoint's)");
  cmd->add_option("-o,--out", a->out, "Output directory")->required();
  cmd->add_option("--dim", a->dim, "Model width")->capture_default_str()->check(at_least(1));
  cmd->add_option("--layers", a->layers, "Layers")->capture_default_str()->check(at_least(1));
  cmd->add_option("--heads", a->heads, "Query heads")->capture_default_str()->check(at_least(1));
  cmd->add_option("--kv-heads", a->kv_heads, "Key/value heads (0: --heads)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--ffn", a->ffn, "FFN width (0: 8/3 dim rounded up to 32)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--ctx", a->ctx, "Context: positions per window")
      ->capture_default_str()
      ->check(at_least(1));
  CLI::Option* attention =
      cmd->add_option("--attention", a->attention,
                      "Attention variant (Gu et al. 2024): softmax; softmax1 (a fixed sink logit "
                      "of 0); sigmoid (σ(q·k/√d), not normalised); sink-logit (a learned logit "
                      "per head, as gpt-oss); sink-kv (a learned key and value per KV head)")
          ->capture_default_str();
  CLI::Option* norm =
      cmd->add_option("--norm", a->norm,
                      "Norm placement: pre (Pre-LN, each branch reads RMSNorm(x)); post (Post-LN "
                      "of the original Transformer: h = Norm(x + Attn(x)), out = Norm(h + "
                      "FFN(h)); the final norm stays)")
          ->check(CLI::IsMember({"pre", "post"}))
          ->capture_default_str();
  CLI::Option* positional =
      cmd->add_option("--positional", a->positional,
                      "Position encoding: rope (rotary); none (NoPE, the causal mask only); "
                      "learned (an absolute table position_embd [ctx][dim] added to the token "
                      "embedding, as GPT-2)")
          ->check(CLI::IsMember({"rope", "none", "learned"}))
          ->capture_default_str();
  CLI::Option* rope_theta =
      cmd->add_option("--rope-theta", a->rope_theta,
                      "RoPE base θ: pair i of a head turns by θ^(-2i/head_dim) per position; a "
                      "larger base leaves more pairs nearly still over the context")
          ->capture_default_str()
          ->check(between(1.0, 1e9));
  cmd->add_flag("--untied", a->untied, "Separate classifier instead of the embedding's transpose");
  cmd->add_option("--bos", a->bos, "fixed: every window starts with BOS; none: never")
      ->check(CLI::IsMember({"fixed", "none"}))
      ->capture_default_str();
  cmd->add_option("--packing", a->packing,
                  "packed: random cuts of the concatenated text; document: one paragraph per "
                  "window, padded and masked")
      ->check(CLI::IsMember({"packed", "document"}))
      ->capture_default_str();
  cmd->add_option("--min-context", a->min_ctx,
                  "Each step's window length is drawn uniformly from [C, --ctx] (0: always --ctx)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--steps", a->opt.steps, "Optimiser steps")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--batch", a->opt.batch, "Windows per step")
      ->capture_default_str()
      ->check(at_least(1));
  cmd->add_option("--lr", a->opt.lr, "Peak learning rate")
      ->capture_default_str()
      ->check(between(1e-12, 1e3));
  cmd->add_option("--min-lr-ratio", a->opt.min_lr_ratio, "Final learning rate / peak")
      ->capture_default_str()
      ->check(between(0.0, 1.0));
  cmd->add_option("--lr-schedule", a->schedule,
                  "After the warm-up: cosine or linear to the final rate, constant (the peak "
                  "throughout), or wsd (warm-up-stable-decay: the peak, then linear to the final "
                  "rate over the last 20% of the steps)")
      ->check(CLI::IsMember({"cosine", "linear", "constant", "wsd"}))
      ->capture_default_str();
  cmd->add_option("--wd", a->opt.wd, "AdamW weight decay (matrices only)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--warmup", a->opt.warmup, "Warm-up steps (-1: 5% of --steps)")
      ->capture_default_str()
      ->check(between(-1, 1 << 30));
  cmd->add_option("--clip", a->opt.clip, "Gradient norm clip (0: none)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--seed", a->opt.seed, "Seed of initial weights and batches")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", a->opt.checkpoint_every,
                  "Write a GGUF checkpoint every K steps (0: only the final model)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--eval-every", a->opt.eval_every,
                  "Validation every K steps (0: at checkpoints and at the end)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--val-fraction", a->val_fraction, "Tail of each file held out for validation")
      ->capture_default_str()
      ->check(between(0.0, 1.0));
  cmd->add_option("--val-windows", a->opt.val_windows, "Validation windows of --ctx tokens")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_option("--resume", a->resume,
                  "Continue from a checkpoint (its shape wins over --dim etc.; same --seed and "
                  "--steps give the run an uninterrupted one would)");
  cmd->add_option("--name", a->name, "general.name of the written models")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Worker threads (0: all cores)")
      ->capture_default_str()
      ->check(at_least(0));
  cmd->add_flag("--quiet", a->quiet, "No progress output on stderr");
  cmd->add_flag("--json", a->json, "Print a JSON summary");
  cmd->callback([a, attention, norm, positional, rope_theta] {
    require(a->opt.steps > 0, "--steps", "must be positive");
    require(a->opt.batch > 0, "--batch", "must be positive");
    require(a->opt.lr > 0 && std::isfinite(a->opt.lr), "--lr", "must be positive");
    require(a->opt.wd >= 0, "--wd", "must not be negative");
    require(a->val_fraction >= 0 && a->val_fraction < 1, "--val-fraction", "must be in [0, 1)");
    require(a->tokenizer.size() || a->resume.size(), "--tokenizer", "required (or --resume)");
    SpmTokenizer tok = load_tokenizer(a->resume, a->tokenizer);

    train::TrainState state;
    if (!a->resume.empty()) {
      state = train::load_checkpoint(a->resume);
      a->ctx = state.layout.config.max_seq_len;
      require(state.layout.config.vocab_size == static_cast<int>(tok.vocab().size()), a->resume,
              "vocabulary size differs from the tokenizer's");
      const AttentionKind saved = state.layout.config.attention;
      require(
          attention->count() == 0 || attention_kind_option(a->attention, "--attention") == saved,
          a->resume,
          std::string("was trained with --attention ") + attention_kind_name(saved) + ", not " +
              a->attention);
      a->attention = attention_kind_name(saved);
      // The block options as saved: the same for a resumed run, or a one-line error.
      const ModelConfig& sc = state.layout.config;
      require(norm->count() == 0 || a->norm == norm_placement_name(sc.norm_placement), a->resume,
              std::string("was trained with --norm ") + norm_placement_name(sc.norm_placement) +
                  ", not " + a->norm);
      require(positional->count() == 0 || a->positional == position_kind_name(sc.positional),
              a->resume,
              std::string("was trained with --positional ") + position_kind_name(sc.positional) +
                  ", not " + a->positional);
      char saved_theta[32], given_theta[32];
      std::snprintf(saved_theta, sizeof saved_theta, "%.9g", static_cast<double>(sc.rope_theta));
      std::snprintf(given_theta, sizeof given_theta, "%.9g", a->rope_theta);
      require(rope_theta->count() == 0 || static_cast<float>(a->rope_theta) == sc.rope_theta,
              a->resume,
              std::string("was trained with --rope-theta ") + saved_theta + ", not " + given_theta);
      a->norm = norm_placement_name(sc.norm_placement);
      a->positional = position_kind_name(sc.positional);
      a->rope_theta = sc.rope_theta;
    } else {
      require(a->dim > 0 && a->layers > 0 && a->heads > 0, "--dim/--layers/--heads",
              "must be positive");
      const int kv = a->kv_heads > 0 ? a->kv_heads : a->heads;
      require(a->dim % a->heads == 0 && (a->dim / a->heads) % 2 == 0, "--heads",
              "must divide --dim into heads of even width");
      require(a->heads % kv == 0, "--kv-heads", "must divide --heads");
      require(a->ctx >= 2, "--ctx", "must be at least 2");
      ModelConfig c;
      c.dim = a->dim;
      c.n_layers = a->layers;
      c.n_heads = a->heads;
      c.n_kv_heads = kv;
      c.head_dim = a->dim / a->heads;
      c.hidden_dim = a->ffn > 0 ? a->ffn : (8 * a->dim / 3 + 31) / 32 * 32;
      c.vocab_size = static_cast<int>(tok.vocab().size());
      c.max_seq_len = a->ctx;
      c.attention = attention_kind_option(a->attention, "--attention");
      c.norm_placement = *parse_norm_placement(a->norm);  // IsMember checked the names
      c.positional = *parse_position_kind(a->positional);
      require(rope_theta->count() == 0 || c.positional == PositionKind::Rope, "--rope-theta",
              "needs --positional rope");
      c.rope_theta = static_cast<float>(a->rope_theta);
      state.layout = train::make_layout(c, !a->untied);
      state.params = train::init_params(state.layout, a->opt.seed);
    }
    require(a->min_ctx <= a->ctx, "--min-context", "must not exceed --ctx");
    train::Corpus corpus = train::load_corpus(a->data, tok, a->val_fraction);
    train::WindowOptions win;
    win.ctx = a->ctx;
    win.min_ctx = a->min_ctx > 0 ? a->min_ctx : a->ctx;
    win.bos = a->bos == "fixed";
    win.packed = a->packing == "packed";
    win.bos_id = tok.bos_id();
    win.pad_id = tok.eos_id() >= 0 ? tok.eos_id() : 0;
    require(!corpus.docs.empty(), a->data.front(), "no text to train on");
    a->opt.out_dir = a->out;
    a->opt.name = a->name;
    a->opt.schedule = train::parse_lr_schedule(a->schedule, "--lr-schedule");
    a->opt.meta = {{"bos", a->bos},
                   {"lr_schedule", a->schedule},
                   {"packing", a->packing},
                   {"min_context", std::to_string(win.min_ctx)},
                   {"attention", a->attention}};

    ThreadPool pool(a->threads);
    Progress bar("train", !a->quiet);
    const int64_t first = state.step;
    const int64_t per_step = static_cast<int64_t>(a->opt.batch) * a->ctx;
    const auto started = std::chrono::steady_clock::now();
    const double val = train::train(
        state, corpus, win, tok.vocab(), a->opt, pool, [&](int64_t step, double, double) {
          bar.update(static_cast<long>(step), static_cast<long>(a->opt.steps),
                     static_cast<long>((step - first) * per_step));
        });
    bar.finish();
    // Wall-clock speed of the steps run now (validation included, as a user would time it).
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double tokens_per_s =
        seconds > 0 ? static_cast<double>((state.step - first) * per_step) / seconds : 0.0;
    const auto& c = state.layout.config;
    nlohmann::json run = run_info();
    run.update({{"threads", pool.size()},
                {"steps", state.step},
                {"tokens", state.tokens},
                {"tokens_per_s", tokens_per_s},
                {"wall_time_s", seconds},
                {"val_loss", std::isnan(val) ? nlohmann::json() : nlohmann::json(val)}});
    write_file_atomic(a->out + "/run.json", run.dump(2) + "\n");
    if (a->json) {
      nlohmann::json out{{"model", a->out + "/model.gguf"},
                         {"steps", state.step},
                         {"tokens", state.tokens},
                         {"params", state.layout.total},
                         {"attention", a->attention},
                         {"norm", a->norm},
                         {"positional", a->positional},
                         {"train_tokens_available", corpus.n_tokens()},
                         {"tokens_per_s", tokens_per_s},
                         {"flops_per_token", train::flops_per_token(state.layout, a->ctx)},
                         {"threads", pool.size()},
                         {"val_loss", std::isnan(val) ? nlohmann::json() : nlohmann::json(val)}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::printf("model      %s/model.gguf (dim %d, %d layers, %d/%d heads, ffn %d, ctx %d)\n",
                  a->out.c_str(), c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.hidden_dim,
                  c.max_seq_len);
      std::printf("params     %zu\n", state.layout.total);
      std::printf("steps      %lld (%lld target tokens)\n", static_cast<long long>(state.step),
                  static_cast<long long>(state.tokens));
      if (!std::isnan(val)) std::printf("val_loss   %.6f\n", val);
      std::printf("speed      %.0f tokens/s, %.2f GFLOP/s on %d threads\n", tokens_per_s,
                  tokens_per_s * train::flops_per_token(state.layout, a->ctx) * 1e-9, pool.size());
    }
  });
}

}  // namespace ss::cli
