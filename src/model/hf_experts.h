#pragma once
// gpt-oss's experts in Hugging Face checkpoints (transformers' GptOssExperts and its MXFP4
// variant) against the GGUF layout sinkscope keeps: separate gate, up and down stacks of
// [expert][output row][input].
//  - MXFP4: `<proj>_blocks` [E, out, in/32, 16] and `<proj>_scales` [E, out, in/32], U8: a row
//    per output, blocks of 32 inputs (byte j holds inputs 2j and 2j + 1, scales biased by 127).
//  - dense (BF16, F16, F32): gate_up_proj [E, in, 2F] and down_proj [E, F, in], inputs by
//    outputs (transposed).
// gate_up_proj's outputs, and gate_up_proj_bias [E, 2F], interleave gate (even) and up (odd).
#include <cstddef>
#include <cstdint>

namespace ss::hf {

// The outputs of a Hugging Face stack that a GGUF stack holds: all, even (gate), odd (up).
enum class Outputs { All, Even, Odd };

inline int64_t picked(int64_t hf_outputs, Outputs pick) {
  return pick == Outputs::All ? hf_outputs : hf_outputs / 2;
}
inline int64_t hf_output(int64_t r, Outputs pick) {
  return pick == Outputs::All ? r : 2 * r + (pick == Outputs::Odd ? 1 : 0);
}

// MXFP4 blocks and scales [E][hf_outputs][inputs/32] -> GGUF MXFP4 [E][picked][inputs/32 × 17 B].
void mxfp4_experts_from_hf(const uint8_t* blocks, const uint8_t* scales, int64_t n_experts,
                           int64_t hf_outputs, int64_t inputs, Outputs pick, uint8_t* out);
// The inverse, into the picked outputs of HF blocks and scales.
void mxfp4_experts_to_hf(const uint8_t* gguf, int64_t n_experts, int64_t hf_outputs, int64_t inputs,
                         Outputs pick, uint8_t* blocks, uint8_t* scales);

// Dense [E][inputs][hf_outputs] of `elem`-byte values (HF) -> [E][picked][inputs] (GGUF), or
// back when to_hf.
void dense_experts(const uint8_t* src, uint8_t* dst, int64_t n_experts, int64_t inputs,
                   int64_t hf_outputs, Outputs pick, size_t elem, bool to_hf);

}  // namespace ss::hf
