// The kernel bodies of one SIMD variant and its table. A variant's translation unit includes
// variant_prelude.h, defines SS_ISA_LEVEL (0 scalar, 1 AVX2, 2 AVX-512) and SS_ISA_BF16, opens its
// target region and namespace, and includes this file.
// The order matters: each body uses the ones above it.
// clang-format off
#include "ops/simd/lanes-inl.h"
#include "ops/vec-inl.h"
#include "ops/dequant-inl.h"
#include "ops/decode-inl.h"
#include "ops/gemm-inl.h"
#include "ops/int8dot-inl.h"
#include "ops/attention-inl.h"
#include "ops/gemm_acc-inl.h"
// clang-format on

constexpr Kernels variant_kernels(Isa isa) {
  return Kernels{isa,
                 &matmul,
                 &matmul_bf16_statement,
                 &matmul_int8,
                 &attend_head,
                 &gemm_accumulate,
                 &dot,
                 &sum_lanes_x8,
                 &axpy_f64,
                 &axpy_f32_f64,
                 &add_f32_to_f64,
                 &expand_row,
                 &f16_to_f32_row};
}
