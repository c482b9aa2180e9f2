#pragma once
// Conversion of weight rows to f32, one function per dtype, plus the reverse for the types
// sinkscope writes. These are the scalar references the matmul kernels are tested against.
#include <cstddef>
#include <cstdint>

#include "model/dtype.h"

namespace ss {

// Q8_0 block: f16 scale d, 32 int8 q; value = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Writes n values of the row at src (n a multiple of the block size) to dst.
// Throws std::invalid_argument for a dtype without a dequantizer.
void dequantize_row(DType type, const uint8_t* src, float* dst, size_t n);

// f32 -> dtype, for F32, F16, BF16 and Q8_0 (round to nearest; Q8_0 scale = max|x| / 127).
void quantize_row(DType type, const float* src, uint8_t* dst, size_t n);

bool can_dequantize(DType type);

}  // namespace ss
