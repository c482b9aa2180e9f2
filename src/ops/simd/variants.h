#pragma once
// The tables that the variants' translation units define, for kernels.cpp.
#include "ops/simd/kernels.h"

namespace ss::simd {

// Each variant's table (kernels_<isa>.cpp).
extern const Kernels kScalarKernels;
#if defined(__x86_64__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
// The BF16 GEMM of the avx512bf16 variant (its other kernels are the avx512 variant's).
void avx512bf16_matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y,
                            ThreadPool& pool);
#endif

}  // namespace ss::simd
