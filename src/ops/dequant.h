#pragma once
// Conversion of weight rows to f32 for every GGUF tensor type sinkscope reads, plus the reverse
// (reference quantizers). matmul expands a few rows at a time, never a whole matrix.
//
// Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
// MXFP4 (block layouts in ops/quants.h).
//
// Error bounds of quantize_row followed by dequantize_row, per element x of a block, for finite
// input whose scales fit in f16 (|x| up to about 1e5 for the 4-bit types). e = 2^-10 (the relative
// error of rounding a scale to f16), t = 2^-24 (the f16 subnormal spacing, which replaces the
// relative error for tiny scales); each bound holds up to f32 rounding of the arithmetic (tests
// allow a relative 1e-5 plus 1e-6 * max |x| of the block):
//   F16, BF16   half an ulp of x (relative 2^-11, 2^-8; 2^-25 absolute for f16-subnormal x)
//   Q8_0, Q8_1  A / 254 * (1 + e) + t,  A = max |x| in the block of 32; d = A / 127 rounded to the
//               nearest half (the original Q8_0 quantizer, kept), so add 2^-18 when d is an f16
//               subnormal (A < 127 * 2^-14, about 0.0078)
//   Q8_K        A / 254,  A = max |x| in the block of 256 (f32 d)
//   Q4_0, Q5_0  |s| / 2 * (1 + e) + t,  s = symmetric_step(min, max, 8 or 16) (ops/quants.h): the
//               smallest step whose grid s * {-8..7} (s * {-16..15}), either way up, holds every
//               value of the block within s/2. The quantizer also tries ggml's choice (largest
//               magnitude on level -8 / -16) and keeps it when its largest error is no larger.
//   Q4_1, Q5_1  (max - min + e * |min| + t) / (2 * Q) * (1 + e) + t,  Q = 15 or 31: m is min
//               rounded down to f16, d = (max - m) / Q rounded up, so nothing is clamped
// K-quants, per element of sub-block j:
//   Q2_K, Q4_K, Q5_K  (Q = 3, 15, 31 levels; S = 15, 63, 63 scale steps; sub-blocks of 16, 32, 32)
//               ((r_j + Dm) / Q + D) / 2,  lo_j = min(0, min of sub-block j), r_j = max_j - lo_j,
//               Dm = max_j(-lo_j) / S * (1 + e) + t,  D = (max_j r_j + Dm) / (Q * S) * (1 + e) + t:
//               the grid of sub-block j starts within Dm below lo_j (mins round up, the format's
//               offset is never positive) and its step exceeds r_j / Q by at most one D (scales
//               round up, so the top is never clamped)
//   Q3_K, Q6_K  (|s_j| + D) / 2,  s_j = symmetric_step of sub-block j (16 values) with 4 or 32
//               negative levels, D = max_j |s_j| / S * (1 + e) + t, S = 31 or 127 (signed scales)
//   MXFP4       S / 4, S / 2 or S for |x| up to 2S, 4S or 6S (half the E2M1 grid's step there),
//               S = the smallest power of two with 6S >= A (A = max |x| in the block of 32; at
//               least 2^-127, at most 2^125: larger A clamps). Exact scales, so no rounding term.
#include <cstddef>
#include <cstdint>

#include "base/dtype.h"
#include "ops/quants.h"

namespace ss {

// Writes n values of the row at src (n a multiple of the block size) to dst, by the SIMD variant in
// use (every variant gives the same values). Throws std::invalid_argument for a dtype without a
// dequantizer or n not a multiple of its block.
void dequantize_row(DType type, const uint8_t* src, float* dst, size_t n);

// The checks of dequantize_row alone, for callers that convert many rows of one tensor.
void check_row(DType type, size_t n);

// f32 -> dtype for every type dequantize_row reads (round to nearest on a per-block grid; bounds
// above). Same preconditions and exceptions as dequantize_row.
void quantize_row(DType type, const float* src, uint8_t* dst, size_t n);

bool can_dequantize(DType type);

}  // namespace ss
