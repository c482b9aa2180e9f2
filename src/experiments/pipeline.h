#pragma once
// Pipelines of layers over the ranks of a cluster (`--pipeline`, docs/cluster.md): rank r runs a
// contiguous range of layers, receives each window's residual stream from rank r − 1 and sends it
// on to rank r + 1; the last rank makes the logits.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/cluster.h"
#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "model/model.h"
#include "runtime/head_mask.h"
#include "runtime/pipeline_stage.h"

namespace ss {

struct LayerRange {
  int first = 0, end = 0;  // layers [first, end)
};

// The bytes of weights a range touches: its layers' tensors, with the token embedding on the
// first range and the output norm and classifier on the last (tied: the same bytes, on both).
double range_weight_bytes(const Model& m, LayerRange r);

// One range per rank, contiguous, each at least one layer, chosen to balance range_weight_bytes.
// InputError("--pipeline") with more ranks than layers.
std::vector<LayerRange> balanced_split(const Model& m, int ranks);

// "--pipeline-split 0:8,8:16": one range per rank, in order, covering every layer.
std::vector<LayerRange> parse_split(const std::string& text, int n_layers, int ranks);

// The stage of this rank's range, passing the stream over the cluster.
PipelineStage cluster_stage(const Cluster& c, LayerRange r);

// The ranges of --pipeline: --pipeline-split when given, else balanced_split.
std::vector<LayerRange> pipeline_ranges(const Model& m, int ranks, const std::string& split);

// Perplexity (eval/perplexity.h) with every window passing through the ranks' stages; the last
// rank scores, and the result reaches the root (only the root's is whole). Windows follow each
// other through the pipeline, so every rank works on its stage of a later window while the next
// rank works on an earlier one.
PerplexityResult pipeline_perplexity(const Model& m, ThreadPool& pool, std::span<const int> ids,
                                     const WindowPlan& plan, int bos_id, const HeadMask& mask,
                                     const Cluster& c, const std::vector<LayerRange>& ranges,
                                     const std::function<void(int, int)>& progress = nullptr);

}  // namespace ss
