#pragma once
// The cost of a pruning sweep's point (`prune --cost`): the point's model is written as `export`
// writes it (heads removed where the set allows it, else zeroed; layers dropped), read back, and
// measured against the dense model:
//
//   cost.physical        1 when heads or layers left the file, 0 when the point could only zero
//                        (or skip) them and so keeps the dense model's size
//   cost.params          parameters of the written file (a tied classifier counts once)
//   cost.file_bytes      the file's size
//   cost.prefill_tok_s   plain forward over `ctx` tokens, logits of the last one (llama-bench pp)
//   cost.decode_tok_s    `decode` single-token steps after a 16-token prompt (llama-bench tg)
//   cost.*_speedup       the median over `reps` pairs of (dense time / pruned time), the two
//                        timed back to back in alternating order, so a drift of the machine's
//                        speed cancels in each pair; a sample repeats the work until it lasts
//                        min_sample_s on the dense model
//   llama.*              the same from llama.cpp's llama-bench on the same two files (optional)
//
// The counts are exact; the timings vary from run to run, and a 1.5 M-parameter model's window
// takes about a millisecond, so the speed-ups of small models are noisy (use more --cost-reps).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "model/model.h"
#include "model/model_export.h"
#include "runtime/head_mask.h"

namespace ss {

struct CostOptions {
  int ctx = 128;    // prefill tokens
  int decode = 32;  // decode steps
  int reps = 5;     // timed pairs
  // A sample repeats the prefill (decode run) until it lasts about this long on the dense model,
  // so that a small model's samples are not a scheduler tick long.
  double min_sample_s = 0.05;
  GgufMetadata tokenizer;   // the tokenizer.* keys of the written files
  std::string llama_bench;  // llama-bench binary (empty: none)
  std::string work_dir;     // where the files are written (and deleted after each point)
};

class CostMeter {
 public:
  CostMeter(const Model& dense, ThreadPool& pool, const CostOptions& opt);
  ~CostMeter();
  CostMeter(const CostMeter&) = delete;
  CostMeter& operator=(const CostMeter&) = delete;

  // The point pruning `heads` with the mask (zero or mean), or skipping `layers`.
  std::map<std::string, double> measure(const HeadMask& mask,
                                        const std::vector<std::pair<int, int>>& heads,
                                        const std::vector<int>& layers);

 private:
  struct Timing;
  const Model& dense_;
  ThreadPool& pool_;
  CostOptions opt_;
  std::string dense_file_;              // the dense model as export writes it, timed from the file
  std::unique_ptr<Model> dense_model_;  // loaded from dense_file_ at the first point
  std::unique_ptr<Timing> dense_timing_;
  int prefill_times_ = 1, decode_times_ = 1;  // repetitions per sample
};

// Parameters of a model as written to GGUF (model_gguf_tensors), a tied classifier once.
double gguf_parameter_count(const Model& model);

// llama-bench's JSON output (`-o json`): {model path: {"pp": tok/s, "tg": tok/s}} from each test's
// avg_ts; throws InputError(what, ...) when the text is not that.
std::map<std::string, std::map<std::string, double>> parse_llama_bench_json(
    const std::string& text, const std::string& what);

}  // namespace ss
