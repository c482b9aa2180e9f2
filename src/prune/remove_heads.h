#pragma once
// Physical head removal: a model whose pruned heads are gone from the weights, with a smaller
// head_count (and head_count_kv), so it is smaller and cheaper to run. GGUF and sinkscope keep one
// head count for every layer, so every layer must lose the same number of heads; under GQA the
// query heads of each kept KV group must stay contiguous, so a layer loses whole KV groups or the
// same number of query heads from every group. Refused: OLMo 2 (q/k norms over the whole
// projection) and the architectures whose query width llama.cpp takes from embedding_length.
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

// A copy of model without those heads: the rows of wq, wk, wv and their biases, the columns of
// wo and the learned sink logits of the removed heads (and of KV heads no query head uses any
// more) are gone; per-head q/k norms stay, and so does attn_output.bias. Throws
// InputError(what, problem.message()) when head_removal_problem finds one. Block-quantized wo keeps
// its type when the kept columns are whole blocks (head_dim a multiple of the block: Q8_0, Q4_0,
// Q5_0, MXFP4 with heads of 64), else it is written back as F32 (re-quantizing would move the
// kept values).
Model remove_heads(const Model& model, const std::vector<std::pair<int, int>>& heads,
                   const std::string& what);

}  // namespace ss
