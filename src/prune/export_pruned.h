#pragma once
// A pruned model as a stand-alone model: the pruned heads' column slices of W_O are zeroed, so
// they no longer reach the residual stream (equal to zeroing z at hook_z). In mean mode the
// constant W_O^(h)·mean_h each pruned head contributed is folded into the attn_output bias.
// With `physical`, the zeroed heads are then removed from the weights (prune/remove_heads.h).
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
// metadata sinkscope.pruned_heads ("L:H" strings, the heads' indices in the unpruned model),
// sinkscope.prune_mode, sinkscope.prune_physical (whether the heads are removed rather than
// zeroed) and sinkscope.prune_note (e.g. the criterion and ratio). physical: remove the heads;
// throws InputError(path, ...) when the set cannot be removed (see head_removal_problem).
void export_pruned_gguf(const Model& model, const GgufMetadata& tokenizer, const HeadMask& mask,
                        const std::string& path, const std::string& note, bool physical = false);

// drop_layers (prune/drop_layers.h) + GGUF as above, with metadata sinkscope.dropped_layers
// (the layers' indices in the unpruned model). Throws InputError(path, ...) when the layers cannot
// be dropped.
void export_dropped_layers_gguf(const Model& model, const GgufMetadata& tokenizer,
                                const std::vector<int>& layers, const std::string& path);

// The heads the mask does not keep, sorted by (layer, head).
std::vector<std::pair<int, int>> masked_heads(const HeadMask& mask, const ModelConfig& c);

}  // namespace ss
