#pragma once
// A pruned model as a stand-alone model: the pruned heads' column slices of W_O are zeroed, so
// they no longer reach the residual stream (equal to zeroing z at hook_z). In mean mode the
// constant W_O^(h)·mean_h each pruned head contributed is folded into the attn_output bias.
// Physical removal of heads is left for later: GGUF `llama` keeps one head count per model and
// sinkscope's runtime one per layer, and under GQA a head can only go with its whole KV group.
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"
#include "model/model_export.h"
#include "runtime/head_mask.h"

namespace ss {

// A copy of model with the heads the mask does not keep folded into the weights (see above).
Model apply_head_mask(const Model& model, const HeadMask& mask);

// apply_head_mask + GGUF of the model's own architecture with the given tokenizer.* keys and
// metadata sinkscope.pruned_heads ("L:H" strings), sinkscope.prune_mode and sinkscope.prune_note
// (e.g. the criterion and ratio).
void export_pruned_gguf(const Model& model, const GgufMetadata& tokenizer, const HeadMask& mask,
                        const std::string& path, const std::string& note);

}  // namespace ss
