#include "ops/dequant.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "base/fp16.h"
#include "ops/simd/kernels.h"

namespace ss {
namespace {

using QuantFn = void (*)(const float*, uint8_t*, size_t);

struct BlockCodec {
  size_t elems;
  QuantFn quant;
};

// The block-quantized types; {0, nullptr, nullptr} for the rest.
BlockCodec block_codec(DType t) {
  switch (t) {
    case DType::Q4_0:
      return {32, quantize_q4_0};
    case DType::Q4_1:
      return {32, quantize_q4_1};
    case DType::Q5_0:
      return {32, quantize_q5_0};
    case DType::Q5_1:
      return {32, quantize_q5_1};
    case DType::Q8_0:
      return {32, quantize_q8_0};
    case DType::Q8_1:
      return {32, quantize_q8_1};
    case DType::Q2_K:
      return {kQK, quantize_q2_k};
    case DType::Q3_K:
      return {kQK, quantize_q3_k};
    case DType::Q4_K:
      return {kQK, quantize_q4_k};
    case DType::Q5_K:
      return {kQK, quantize_q5_k};
    case DType::Q6_K:
      return {kQK, quantize_q6_k};
    case DType::Q8_K:
      return {kQK, quantize_q8_k};
    case DType::MXFP4:
      return {32, quantize_mxfp4};
    default:
      return {0, nullptr};
  }
}

void check_length(DType type, size_t n, size_t block) {
  if (n % block != 0)
    throw std::invalid_argument("row of " + std::to_string(n) +
                                " values is not a multiple of the " + std::to_string(block) +
                                "-element blocks of " + dtype_name(type));
}

}  // namespace

bool can_dequantize(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || block_codec(t).elems != 0;
}

void dequantize_row(DType type, const uint8_t* src, float* dst, size_t n) {
  check_row(type, n);
  kernels().dequantize_row(type, src, dst, n);  // ops/dequant-inl.h, for the variant in use
}

void check_row(DType type, size_t n) {
  if (type == DType::F32 || type == DType::F16 || type == DType::BF16) return;
  const BlockCodec c = block_codec(type);
  if (!c.quant) throw std::invalid_argument("no dequantizer for " + dtype_name(type));
  check_length(type, n, c.elems);
}

void quantize_row(DType type, const float* src, uint8_t* dst, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_f16(src[i]));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
      return;
    default:
      break;
  }
  const BlockCodec c = block_codec(type);
  if (!c.quant) throw std::invalid_argument("no quantizer for " + dtype_name(type));
  check_length(type, n, c.elems);
  c.quant(src, dst, n / c.elems);
}

}  // namespace ss
