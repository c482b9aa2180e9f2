#pragma once
// Whole-layer pruning: a model without some of its blocks, renumbered. Dropping a block is the
// same as skipping it: the residual stream passes it unchanged.
#include <string>
#include <vector>

#include "model/model.h"

namespace ss {

// "3,4" as sorted layer indices; throws InputError(what, ...) for malformed text, an index out of
// range, a repeated index, or every layer.
std::vector<int> parse_layer_list(const std::string& text, const ModelConfig& c,
                                  const std::string& what);

// Why the layers cannot be dropped from a file of this configuration, as one line (empty: they
// can). Architectures that choose sliding-window layers by index (Gemma's every Nth layer is
// global) must keep every kept layer's kind at its new index: their GGUF and sinkscope's config
// have no per-layer windows.
std::string layer_drop_problem(const ModelConfig& c, const std::vector<int>& layers);

// A copy of model without the layers (sorted indices), the others renumbered. Throws
// InputError(what, ...) when layer_drop_problem names a problem.
Model drop_layers(const Model& model, const std::vector<int>& layers, const std::string& what);

}  // namespace ss
