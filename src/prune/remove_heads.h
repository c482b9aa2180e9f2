#pragma once
// Physical head removal: a model whose pruned heads are gone from the weights, with a smaller
// head_count (and head_count_kv), so it is smaller and cheaper to run. When every layer loses the
// same number of heads the file keeps one head count for every layer, which llama.cpp reads too;
// otherwise it holds per-layer counts (arrays in attention.head_count and head_count_kv, as
// llama.cpp writes OpenELM's), which sinkscope runs and llama.cpp's llama, qwen and gemma graphs
// do not (they size every layer's tensors by layer 0's count). Under GQA the query heads of each
// kept KV group must stay contiguous, so a layer loses whole KV groups or the same number of
// query heads from every group. Refused: OLMo 2 (q/k norms over the whole projection), the
// architectures whose query width llama.cpp takes from embedding_length, and a layer's last head.
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"

namespace ss {

// Why a head set cannot be removed physically (empty reason: it can), and the options that
// would choose a removable set instead (e.g. "--scope per-layer"; empty: none).
struct HeadRemovalProblem {
  std::string reason, remedy;
  explicit operator bool() const { return !reason.empty(); }
  // "<reason>; use <remedy> or --zero-only": the one-line error of a removal that was asked for.
  std::string message() const;
};
HeadRemovalProblem head_removal_problem(const ModelConfig& c,
                                        const std::vector<std::pair<int, int>>& heads);

// Whether removing heads (which head_removal_problem allows) leaves one head count for every layer,
// so that any GGUF reader (llama.cpp too) loads the file.
bool removal_keeps_one_head_count(const ModelConfig& c,
                                  const std::vector<std::pair<int, int>>& heads);

// Which readers load a model of c's head counts, in one phrase for the export's output.
std::string readers_note(const ModelConfig& c);

// A copy of model without those heads: the rows of wq, wk, wv and their biases, the columns of
// wo and the learned sink logits of the removed heads (and of KV heads no query head uses any
// more) are gone, and each layer keeps its own head counts (config.h layer_n_heads); per-head q/k
// norms stay, and so does attn_output.bias. Throws InputError(what, problem.message()) when
// head_removal_problem finds one. Block-quantized wo keeps its type when the kept columns are whole
// blocks (head_dim a multiple of the block: Q8_0, Q4_0, Q5_0, MXFP4 with heads of 64), else it is
// written back as F32 (re-quantizing would move the kept values).
Model remove_heads(const Model& model, const std::vector<std::pair<int, int>>& heads,
                   const std::string& what);

}  // namespace ss
