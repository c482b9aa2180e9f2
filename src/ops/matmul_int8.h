#pragma once
// Y = X · Wᵀ for Q4_K and Q8_0 weights with the activations quantized to 8 bits, as llama.cpp
// computes such a model: integer products of 4- or 8-bit weights and 8-bit activations, many to an
// instruction, and no float per weight. It is an opt-in approximation (--int8-activations);
// matmul() stays the exact product of f32 activations. Other weight types are not covered and keep
// matmul().
//
// The arithmetic of every output, whatever the path, token count or thread count:
//   1. each token's x is quantized in blocks (quantize_act_q8: per 256 for Q4_K, llama.cpp's
//      Q8_K rule; quantize_act_q8_0: per 32 for Q8_0, llama.cpp's Q8_0 rule), to codes q_i and a
//      step d_x with x_i ≈ d_x · q_i (the rules are stated at the functions);
//   2. per block b of a row, in integers (exact, any order):
//        Q4_K: sumi = Σ_t sc[t] · Σ_{i in t} w_i · q_i,   summ = Σ_t mn[t] · Σ_{i in t} q_i
//              over sub-blocks t of 32, with w_i the 4-bit codes and sc/mn the 6-bit scales and
//              mins (ops/quants.h);
//        Q8_0: sumi = Σ_i w_i · q_i over the block's 32 codes;
//   3. the row's sum, in double, of the blocks' terms
//        Q4_K: term_b = d_x · (d_w · sumi − dmin_w · summ)
//              (d_w, dmin_w the block's f16 scales; each product and difference rounded to double
//              in that order, no fused multiply-add);
//        Q8_0: term_b = (d_w · d_x) · sumi, exact in double (11 + 11 + 19 significant bits:
//              |sumi| <= 32 · 128 · 127);
//      term_b goes to lane b % 4 of four lanes for the whole groups of 4 blocks, the lanes are
//      summed as (l0 + l1) + (l2 + l3), the terms of the last blocks % 4 blocks are added in
//      order, and the sum is rounded to f32 once.
// So every variant, and prefill against decode, give the same bits.
#include <cstddef>
#include <cstdint>

#include "base/dtype.h"
#include "base/fp16.h"
#include "base/tensor.h"
#include "base/thread_pool.h"

namespace ss {

// One quantized block of 256 activations: q in element order, bsums[t] = Σ q over sub-block t of
// 32 elements, d the step (step 1).
struct alignas(32) ActQ8 {
  int8_t q[256];
  int16_t bsums[8];
  float d;
};

// One quantized block of 32 activations for Q8_0 weights: q in element order, d the step (an
// f16 value, held as float).
struct ActQ8_0 {
  int8_t q[32];
  float d;
};

// Whether matmul_int8 covers weights of this type.
bool int8_dot_type(DType type);

// Step 1 for Q4_K, n a multiple of 256: n / 256 blocks into out. Per block: m = the element of
// largest |x| (the first such), s = -127 / m in f32, q_i = x_i · s rounded to nearest even,
// d = 1 / s in f32; d = 0 and q = 0 where s is not finite (a block of zeros, or of values below
// 127 / FLT_MAX); d = NaN where the block holds a NaN or an infinity, so that the outputs are NaN.
void quantize_act_q8(const float* x, size_t n, ActQ8* out);

// Step 1 for Q8_0, n a multiple of 32: n / 32 blocks into out. Per block, as llama.cpp's x86
// quantize_row_q8_0: a = max |x_i| in f32, d = f16(a / 127) (nearest even), s = 127 / a in f32,
// q_i = x_i · s rounded to nearest even; d = NaN where the block holds a NaN or an infinity.
// At the ends of the range, as llama.cpp's outputs: a at or above 65520 · 127 makes d infinite
// (the block's outputs infinite or NaN); a below about 3.8e-6 makes d = 0 with q ≠ 0 (the block
// adds nothing); where s is not finite (a = 0, or a below 127 / FLT_MAX) q = 0 (llama.cpp's
// codes are then -128, times d = 0).
void quantize_act_q8_0(const float* x, size_t n, ActQ8_0* out);

// Step 3's term of one super-block, d_w and dmin_w as f16 bits. (The SIMD kernels compute the same
// operations four blocks at a time; -ffp-contract=off keeps both unfused.)
inline double q4k_block_term(float d_x, uint16_t d_w, uint16_t dmin_w, int32_t sumi, int32_t summ) {
  const double scaled = static_cast<double>(f16_to_f32(d_w)) * sumi;
  const double mins = static_cast<double>(f16_to_f32(dmin_w)) * summ;
  return static_cast<double>(d_x) * (scaled - mins);
}

// Step 3's term of one Q8_0 block, d_w as f16 bits.
inline double q8_0_block_term(float d_x, uint16_t d_w, int32_t sumi) {
  return static_cast<double>(f16_to_f32(d_w)) * d_x * sumi;
}

// w of a covered type (int8_dot_type), cols a multiple of its block (256 for Q4_K, 32 for Q8_0).
void matmul_int8(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);

// The plain statement of the arithmetic above, one thread.
void matmul_int8_reference(const Tensor& w, const float* x, size_t n_tokens, float* y);

}  // namespace ss
