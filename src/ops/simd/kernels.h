#pragma once
// The kernels that have a SIMD variant per ISA, as one table per variant. ops/matmul.h,
// ops/attention.h and the others call kernels(), the table of the variant in use
// (ops/simd/isa.h); tests call kernels_for(isa) to hold every variant the CPU can run to the
// scalar references, bit for bit.
//
// A variant's table is made by its translation unit (kernels_<isa>.cpp), which compiles the
// kernel bodies (ops/*-inl.h) for that ISA whatever the build's -march.
#include <cstddef>
#include <cstdint>

#include "base/dtype.h"
#include "base/tensor.h"
#include "base/thread_pool.h"
#include "ops/attention.h"
#include "ops/gemm_acc.h"
#include "ops/simd/isa.h"

namespace ss {

struct Kernels {
  Isa isa;
  // ops/matmul.h: Y = X · Wᵀ with exact f32 products, any weight type.
  void (*matmul)(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);
  // ops/matmul_bf16.h: BF16 weights × BF16-rounded activations (the scalar statement where the
  // variant has no BF16 dot products).
  void (*matmul_bf16)(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);
  // ops/matmul_int8.h: Q4_K and Q8_0 weights × activations quantized to 8 bits, integer dot
  // products (the scalar statement in the scalar variant).
  void (*matmul_int8)(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool);
  // ops/attention.h.
  void (*attend_head)(const float* q, const float* k, const float* v, int pos0, int n,
                      const AttentionShape& s, float* z, const PatternFn& on_row);
  // ops/gemm_acc.h: C += A · B for training.
  void (*gemm_accumulate)(const GemmOperands& g, ThreadPool& pool);
  // ops/dot.h: one dot product with the 16-lane layout; 8 lane sums at once.
  float (*dot)(const float* a, const float* b, size_t n);
  void (*sum_lanes_x8)(const float* lanes, double* out);
  // y[i] = fma(a, x[i], y[i]) in double.
  void (*axpy_f64)(double* y, const double* x, double a, size_t n);
  void (*axpy_f32_f64)(double* y, const float* x, double a, size_t n);
  // y[i] += x[i] in double.
  void (*add_f32_to_f64)(double* y, const float* x, size_t n);
  // ops/dequant.h: a row of any readable type to f32 (n checked by the caller).
  void (*dequantize_row)(DType type, const uint8_t* src, float* dst, size_t n);
  // IEEE half bits (little-endian) to f32.
  void (*f16_to_f32_row)(const uint8_t* src, float* dst, size_t n);
};

// The table of the variant in use (active_isa(); throws InputError for a bad SINKSCOPE_ISA).
const Kernels& kernels();

// The table of a variant this CPU supports (isa_supported(isa)).
const Kernels& kernels_for(Isa isa);

}  // namespace ss
