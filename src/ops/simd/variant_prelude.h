#pragma once
// Everything the kernel bodies (variant-inl.h) use, included by a variant's translation unit
// before its target region opens, so that none of it is compiled for the variant's ISA.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "base/fp16.h"
#include "base/tensor.h"
#include "base/thread_pool.h"
#include "ops/attention.h"
#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/exp.h"
#include "ops/gemm_acc.h"
#include "ops/matmul_bf16.h"
#include "ops/matmul_int8.h"
#include "ops/quants.h"
#include "ops/simd/kernels.h"
#include "ops/simd/target.h"
#include "ops/simd/variants.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ss::simd {

// matmul_bf16 where a variant has no BF16 dot products: the scalar statement, one thread.
inline void matmul_bf16_statement(const Tensor& w, const float* x, size_t n_tokens, float* y,
                                  ThreadPool&) {
  matmul_bf16_reference(w, x, n_tokens, y);
}

}  // namespace ss::simd
