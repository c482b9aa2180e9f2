#include "model/hf_experts.h"

#include <cstring>

#include "ops/quants.h"

namespace ss::hf {

namespace {
constexpr size_t kBlock = 17;  // GGUF MXFP4: a scale byte and 16 bytes of codes per 32 values
}

void mxfp4_experts_from_hf(const uint8_t* blocks, const uint8_t* scales, int64_t n_experts,
                           int64_t hf_outputs, int64_t inputs, Outputs pick, uint8_t* out) {
  const int64_t nb = inputs / 32, rows = picked(hf_outputs, pick);
  for (int64_t e = 0; e < n_experts; ++e)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t src = e * hf_outputs + hf_output(r, pick);
      uint8_t* dst = out + static_cast<size_t>((e * rows + r) * nb) * kBlock;
      for (int64_t b = 0; b < nb; ++b)
        mxfp4_block_from_hf(scales[src * nb + b], blocks + (src * nb + b) * 16, dst + b * kBlock);
    }
}

void mxfp4_experts_to_hf(const uint8_t* gguf, int64_t n_experts, int64_t hf_outputs, int64_t inputs,
                         Outputs pick, uint8_t* blocks, uint8_t* scales) {
  const int64_t nb = inputs / 32, rows = picked(hf_outputs, pick);
  for (int64_t e = 0; e < n_experts; ++e)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t dst = e * hf_outputs + hf_output(r, pick);
      const uint8_t* src = gguf + static_cast<size_t>((e * rows + r) * nb) * kBlock;
      for (int64_t b = 0; b < nb; ++b)
        mxfp4_block_to_hf(src + b * kBlock, scales[dst * nb + b], blocks + (dst * nb + b) * 16);
    }
}

void dense_experts(const uint8_t* src, uint8_t* dst, int64_t n_experts, int64_t inputs,
                   int64_t hf_outputs, Outputs pick, size_t elem, bool to_hf) {
  const int64_t rows = picked(hf_outputs, pick);
  for (int64_t e = 0; e < n_experts; ++e)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < inputs; ++i) {
        const int64_t g = (e * rows + r) * inputs + i;  // GGUF [E][picked][inputs]
        const int64_t h = (e * inputs + i) * hf_outputs + hf_output(r, pick);  // HF [E][in][out]
        std::memcpy(dst + static_cast<size_t>(to_hf ? h : g) * elem,
                    src + static_cast<size_t>(to_hf ? g : h) * elem, elem);
      }
}

}  // namespace ss::hf
