#pragma once
// The training loop: batches, forward/backward, gradient clipping, AdamW on a warm-up + cosine
// schedule, validation with the inference runtime (the same numbers `perplexity` prints for the
// saved model), CSV log, GGUF checkpoints with optimiser state beside them, and resume.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tokenizer/vocab.h"
#include "train/adamw.h"
#include "train/dataset.h"
#include "train/params.h"

namespace ss::train {

struct TrainOptions {
  int64_t steps = 1000;
  int batch = 8;
  double lr = 1e-3, min_lr_ratio = 0.1, wd = 0.1, clip = 1.0;
  LrSchedule schedule = LrSchedule::Cosine;
  int64_t warmup = -1;  // -1: 5% of the steps
  uint64_t seed = 1;
  int64_t checkpoint_every = 0;  // 0: only the final model
  int64_t eval_every = 0;        // 0: at checkpoints and at the end
  int val_windows = 16;          // windows of ctx tokens of the held-out text
  std::string out_dir;           // train.csv, model.gguf, checkpoints/, val.txt
  std::string name = "sinkscope-trained";
  std::vector<std::pair<std::string, std::string>> meta;  // recorded in every checkpoint
};

struct TrainState {
  ParamLayout layout;
  std::vector<float> params;
  AdamW opt;
  int64_t step = 0;    // steps done
  int64_t tokens = 0;  // weighted target tokens seen
};

// After each step: the step number (1-based), its loss, tokens/s so far.
using StepCallback = std::function<void(int64_t, double, double)>;

// Trains from state.step to opt.steps and writes the outputs. Returns the final validation loss
// (NaN when there is no validation text).
double train(TrainState& state, const Corpus& corpus, const WindowOptions& win, const Vocab& vocab,
             const TrainOptions& opt, ThreadPool& pool, const StepCallback& on_step = nullptr);

// Floating-point operations per trained token (forward + backward, multiply-adds counted as 2):
// 6 per matrix weight, plus 12·q_dim·(ctx+1)/2 per layer for the causal attention.
double flops_per_token(const ParamLayout& l, int ctx);

// Checkpoint I/O: <path> is a GGUF model; <path>.optim holds the step, token count and moments.
void save_checkpoint(const TrainState& s, const Vocab& vocab, const std::string& path,
                     const TrainOptions& opt);
TrainState load_checkpoint(const std::string& path);

// Mean NLL of the held-out text under the params, as `perplexity --ctx ctx --chunks windows`.
double validation_loss(const ParamLayout& l, const std::vector<float>& params,
                       const std::vector<int>& val_ids, int ctx, int bos_id, int windows,
                       ThreadPool& pool);

}  // namespace ss::train
