#pragma once
// Fused tensors: one file tensor holding several LayerWeights tensors as consecutive blocks of
// rows (a matrix) or of values (a bias). GGUF gpt2, gptneox and phi3 store wq, wk, wv as
// attn_qkv [Q; K; V], and phi3 w_gate, w_up as ffn_up [gate; up]. Loading splits them into views
// of the same bytes; writing concatenates the parts again.
#include <cstdint>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "model/arch.h"
#include "model/model.h"

namespace ss {

// One fused file tensor: its name after "blk.N." and the layer tensors it holds, in order.
struct FusedSlot {
  const char* gguf_name;
  std::vector<Tensor LayerWeights::*> parts;
};
// The architecture's fused GGUF tensors (empty for the llama family).
std::vector<FusedSlot> gguf_fused_slots(const ArchSpec& a);
// Whether the layer tensor is stored inside one of them.
bool is_fused_part(const ArchSpec& a, Tensor LayerWeights::*member);
// Rows (of a matrix) or values (of a bias) of a layer tensor: what each part takes of the fused.
int64_t part_size(Tensor LayerWeights::*member, const ModelConfig& c);

// Views of consecutive blocks of `fused`: rows of a matrix, values of a 1-D F32 bias. The sizes
// must add up to the fused tensor's; the error names `path` and the tensor.
std::vector<Tensor> split_fused(const Tensor& fused, const std::vector<int64_t>& sizes,
                                const std::vector<std::string>& names, const std::string& path);

// The parts' bytes one after another (all of one dtype and row length), and the fused shape.
std::vector<uint8_t> concat_parts(const std::vector<const Tensor*>& parts,
                                  std::vector<int64_t>& ne);

}  // namespace ss
