#pragma once
// The trainable weights of a llama model as one flat f32 array (so the optimiser, gradient
// clipping and checkpoints see a single vector), with the offset of every tensor in it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace ss::train {

// How a tensor starts: matrices (position_embd and sink-kv's key and value too) ~ N(0, sd), norms
// at 1, learned sink logits at 0 (the head starts as softmax1).
enum class ParamInit { Normal, One, Zero };

struct ParamTensor {
  std::string name;  // GGUF name, e.g. blk.0.attn_q.weight
  std::vector<int64_t> ne;
  size_t offset = 0, size = 0;
  bool decay = false;  // weight decay applies to matrices, not to norms or the sink parameters
  ParamInit init = ParamInit::Normal;
};

// Offset of a tensor the attention variant does not have.
inline constexpr size_t kNoParam = static_cast<size_t>(-1);

struct LayerOffsets {
  size_t attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
  // The attention variant's own (kNoParam when absent): sink-logit's [n_heads] logits, sink-kv's
  // key and value [n_kv][head_dim].
  size_t sink_logit = kNoParam, sink_k = kNoParam, sink_v = kNoParam;
};

struct ParamLayout {
  ModelConfig config;
  bool tied = true;  // classifier shares the embedding
  std::vector<ParamTensor> tensors;
  size_t embd = 0, output = 0, output_norm = 0;  // output == embd when tied
  size_t position = kNoParam;                    // position_embd [ctx][dim] with learned positions
  std::vector<LayerOffsets> layers;
  size_t total = 0;
};

ParamLayout make_layout(const ModelConfig& c, bool tied);

// Matrices ~ N(0, 0.02²), the residual projections (wo, w_down) scaled by 1/sqrt(2·layers) so the
// residual stream does not grow with depth; norms are 1.
std::vector<float> init_params(const ParamLayout& l, uint64_t seed);

// A Model whose tensors are views of `data` (which must outlive it), for the inference runtime
// and GGUF export.
Model model_view(const ParamLayout& l, const float* data);

// Layout and f32 copy of a loaded model's weights (any dtype is dequantised); used by --resume.
ParamLayout layout_of(const Model& m);
std::vector<float> params_of(const Model& m, const ParamLayout& l);

}  // namespace ss::train
