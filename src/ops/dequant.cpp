#include "ops/dequant.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "ops/fp16.h"

namespace ss {

bool can_dequantize(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0;
}

void dequantize_row(DType type, const uint8_t* src, float* dst, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::Q8_0:
      for (size_t b = 0; b < n / 32; ++b) {
        BlockQ8_0 blk;
        std::memcpy(&blk, src + b * sizeof(BlockQ8_0), sizeof blk);
        float d = f16_to_f32(blk.d);
        for (int j = 0; j < 32; ++j) dst[b * 32 + j] = d * static_cast<float>(blk.qs[j]);
      }
      return;
    default:
      throw std::invalid_argument("no dequantizer for " + dtype_name(type));
  }
}

void quantize_row(DType type, const float* src, uint8_t* dst, size_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::Q8_0:
      for (size_t b = 0; b < n / 32; ++b) {
        const float* x = src + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        float d = amax / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        BlockQ8_0 blk;
        blk.d = f32_to_f16(d);
        for (int j = 0; j < 32; ++j) blk.qs[j] = static_cast<int8_t>(std::lround(x[j] * id));
        std::memcpy(dst + b * sizeof(BlockQ8_0), &blk, sizeof blk);
      }
      return;
    default:
      throw std::invalid_argument("no quantizer for " + dtype_name(type));
  }
}

}  // namespace ss
