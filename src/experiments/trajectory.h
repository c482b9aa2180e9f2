#pragma once
// Sink statistics over training: analyze() on every checkpoint of a run, one window length with
// BOS first, reduced to a few numbers per checkpoint (sink rate, strongest and mean BOS sink
// score, dormant heads, loss) plus each head's BOS sink score, for curves over training steps.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "analysis/trajectory_result.h"
#include "base/thread_pool.h"
#include "prune/dormant_rule.h"

namespace ss {

struct TrajectoryOptions {
  int ctx = 256;
  int chunks = 8;
  float eps = 0.3f;
  DormantRule dormant{"ahon_ln", 0.1, -1};
};

// The GGUF files in dir ordered by training step (metadata sinkscope.train.step, else the
// number in the file name). Throws InputError when there are none.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir);

// progress(done, total) after each checkpoint. text_ids: the corpus without BOS; each model's
// own tokenizer must give the same ids (checkpoints of one run share it).
TrajectoryResult trajectory(const std::vector<std::pair<int64_t, std::string>>& ckpts,
                            std::span<const int> text_ids, int bos_id, const TrajectoryOptions& opt,
                            ThreadPool& pool,
                            const std::function<void(int, int)>& progress = nullptr);

}  // namespace ss
