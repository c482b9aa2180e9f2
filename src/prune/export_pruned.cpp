#include "prune/export_pruned.h"

#include "model/model_export.h"
#include "model/synth.h"
#include "ops/dequant.h"
#include "prune/drop_layers.h"
#include "prune/remove_heads.h"

namespace ss {

Model apply_head_mask(const Model& model, const HeadMask& mask) {
  const ModelConfig& c = model.config;
  const int hd = c.head_dim;
  Model m = clone_model(model);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& w = m.layers[l];
    const int Q = c.q_dim(l);  // this layer's own width (per-layer head counts)
    std::vector<float> wo(static_cast<size_t>(c.dim) * Q);
    for (int r = 0; r < c.dim; ++r)
      dequantize_row(w.wo.type, w.wo.row(r), wo.data() + static_cast<size_t>(r) * Q, Q);
    std::vector<float> bias(c.dim, 0.0f);
    if (w.bo.data) bias.assign(w.bo.f32(), w.bo.f32() + c.dim);
    bool changed = false, biased = w.bo.data != nullptr;
    for (int h = 0; h < c.heads(l); ++h) {
      const HeadAction a = mask.get(l, h);
      if (a == HeadAction::Keep) continue;
      changed = true;
      const float* mean = a == HeadAction::Mean ? mask.mean(l, h) : nullptr;
      for (int r = 0; r < c.dim; ++r) {
        float* col = wo.data() + static_cast<size_t>(r) * Q + h * hd;
        if (mean) {
          double s = 0;
          for (int d = 0; d < hd; ++d) s += static_cast<double>(col[d]) * mean[d];
          bias[r] += static_cast<float>(s);
          biased = true;
        }
        for (int d = 0; d < hd; ++d) col[d] = 0.0f;
      }
    }
    if (!changed) continue;
    if (w.wo.type == DType::F32 || w.wo.type == DType::F16 || w.wo.type == DType::BF16) {
      // Values that came from this type convert back exactly.
      uint8_t* dst = mutable_data(m, w.wo);
      for (int r = 0; r < c.dim; ++r)
        quantize_row(w.wo.type, wo.data() + static_cast<size_t>(r) * c.q_dim(l),
                     dst + static_cast<size_t>(r) * w.wo.row_bytes(), c.q_dim(l));
    } else {
      // Re-quantizing a block type would move the kept values; W_O is stored as F32 instead.
      w.wo = add_owned_f32(m, w.wo.name, {c.q_dim(l), c.dim}, wo);
    }
    if (biased)
      w.bo = add_owned_f32(m, "blk." + std::to_string(l) + ".attn_output.bias", {c.dim}, bias);
  }
  validate_model(m);
  return m;
}

std::vector<std::pair<int, int>> masked_heads(const HeadMask& mask, const ModelConfig& c) {
  std::vector<std::pair<int, int>> heads;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.heads(l); ++h)
      if (mask.get(l, h) != HeadAction::Keep) heads.emplace_back(l, h);
  return heads;
}

void export_pruned_gguf(const Model& model, const GgufMetadata& tokenizer, const HeadMask& mask,
                        const std::string& path, const std::string& note, bool physical) {
  const std::vector<std::pair<int, int>> removed = masked_heads(mask, model.config);
  // Zeroing first folds a mean-mode head's constant into the bias; removal then drops its zeros.
  // Zero mode removes the heads straight away, so a block-quantized wo keeps its type where the
  // heads are whole blocks (apply_head_mask writes such a wo as F32).
  bool any_mean = false;
  for (auto [l, h] : removed) any_mean = any_mean || mask.get(l, h) == HeadAction::Mean;
  Model pruned = physical
                     ? remove_heads(any_mean ? apply_head_mask(model, mask) : model, removed, path)
                     : apply_head_mask(model, mask);
  std::vector<std::string> heads;
  bool mean = false;
  for (auto [l, h] : removed) {
    heads.push_back(std::to_string(l) + ":" + std::to_string(h));
    mean = mean || mask.get(l, h) == HeadAction::Mean;
  }
  write_model_gguf(pruned, tokenizer, path, std::nullopt, "sinkscope pruned model",
                   {{"sinkscope.pruned_heads", GgufValue::of_strings(heads)},
                    {"sinkscope.prune_mode", GgufValue::of_string(mean ? "mean" : "zero")},
                    {"sinkscope.prune_physical", GgufValue::of_bool(physical)},
                    {"sinkscope.prune_note", GgufValue::of_string(note)}});
}

void export_dropped_layers_gguf(const Model& model, const GgufMetadata& tokenizer,
                                const std::vector<int>& layers, const std::string& path) {
  write_model_gguf(drop_layers(model, layers, path), tokenizer, path, std::nullopt,
                   "sinkscope pruned model",
                   {{"sinkscope.dropped_layers", GgufValue::of_i32s(layers)}});
}

}  // namespace ss
