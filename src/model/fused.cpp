#include "model/fused.h"

#include <cstring>
#include <stdexcept>

#include "base/error.h"

namespace ss {

std::vector<FusedSlot> gguf_fused_slots(const ArchSpec& a) {
  using L = LayerWeights;
  std::vector<FusedSlot> out;
  if (a.gguf_fused_qkv) {
    out.push_back({"attn_qkv.weight", {&L::wq, &L::wk, &L::wv}});
    if (a.qkv_bias) out.push_back({"attn_qkv.bias", {&L::bq, &L::bk, &L::bv}});
  }
  if (a.gguf_fused_gate_up) out.push_back({"ffn_up.weight", {&L::w_gate, &L::w_up}});
  return out;
}

bool is_fused_part(const ArchSpec& a, Tensor LayerWeights::*member) {
  for (const FusedSlot& f : gguf_fused_slots(a))
    for (auto p : f.parts)
      if (p == member) return true;
  return false;
}

int64_t part_size(Tensor LayerWeights::*m, const ModelConfig& c) {
  using L = LayerWeights;
  if (m == &L::wq || m == &L::bq) return c.q_dim();
  if (m == &L::wk || m == &L::bk || m == &L::wv || m == &L::bv) return c.kv_dim();
  if (m == &L::w_gate || m == &L::w_up) return c.hidden_dim;
  throw std::logic_error("part_size: not a fused part");
}

std::vector<Tensor> split_fused(const Tensor& fused, const std::vector<int64_t>& sizes,
                                const std::vector<std::string>& names, const std::string& path) {
  const bool vector = fused.ne.size() == 1;
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  const int64_t have = vector ? fused.cols() : fused.rows();
  if (fused.ne.empty() || fused.ne.size() > 2 || have != total)
    throw InputError(path, "tensor " + fused.name + " has " + std::to_string(have) + " " +
                               (vector ? "values" : "rows") + ", expected " +
                               std::to_string(total) + " (the fused parts' sum)");
  if (vector && fused.type != DType::F32)
    throw InputError(path, "bias tensor " + fused.name + " must be F32");
  std::vector<Tensor> out;
  size_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Tensor t{names[i], fused.type, {}, fused.data + offset};
    t.ne = vector ? std::vector<int64_t>{sizes[i]} : std::vector<int64_t>{fused.cols(), sizes[i]};
    offset += vector ? static_cast<size_t>(sizes[i]) * sizeof(float)
                     : static_cast<size_t>(sizes[i]) * fused.row_bytes();
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<uint8_t> concat_parts(const std::vector<const Tensor*>& parts,
                                  std::vector<int64_t>& ne) {
  std::vector<uint8_t> out;
  int64_t n = 0;
  for (const Tensor* t : parts) {
    const bool vector = parts[0]->ne.size() == 1;
    if (t->type != parts[0]->type || t->ne.size() != parts[0]->ne.size() ||
        (!vector && t->cols() != parts[0]->cols()))
      throw std::logic_error("concat_parts: " + t->name + " differs from " + parts[0]->name);
    const size_t bytes = t->row_bytes() * static_cast<size_t>(t->rows());
    out.insert(out.end(), t->data, t->data + bytes);
    n += t->ne.size() == 1 ? t->cols() : t->rows();
  }
  ne = parts[0]->ne.size() == 1 ? std::vector<int64_t>{n}
                                : std::vector<int64_t>{parts[0]->cols(), n};
  return out;
}

}  // namespace ss
