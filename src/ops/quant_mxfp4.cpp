// MXFP4 (layout in ops/quants.h): the reference quantizer, the scale check and the repacking of
// Hugging Face's gpt-oss blocks.
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "ops/quants.h"

namespace ss {
namespace {

constexpr size_t kMxfp4Block = 32;  // elements per block

// Midpoints between neighbouring E2M1 magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
constexpr float kMid[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};

// The scale byte of a block whose largest magnitude is amax: the smallest power of two S with
// 6 S >= amax, so no value is clamped. That is ggml's 2^(floor(log2 amax) - 2) when amax fits
// under 6 times it, else twice it (ggml clamps those blocks, with errors up to amax / 4).
int mxfp4_scale(float amax) {
  if (!(amax > 0)) return 0;
  int p;
  const float f = std::frexp(amax, &p);  // amax = f * 2^p, f in [0.5, 1)
  const int e = p - 3 + (f > 0.75f ? 1 : 0) + 127;
  return std::clamp(e, 0, static_cast<int>(kMxfp4MaxScale));
}

// The code of the E2M1 value nearest q * sign(x) (q = |x| / S); ties go to the smaller magnitude,
// as in ggml's reference quantizer, and zero never takes the sign bit.
uint8_t e2m1_code(float q, bool negative) {
  uint8_t m = 0;
  while (m < 7 && q > kMid[m]) ++m;
  return static_cast<uint8_t>(m != 0 && negative ? m | 8 : m);
}

}  // namespace

void quantize_mxfp4(const float* src, uint8_t* dst, size_t nb) {
  for (size_t b = 0; b < nb; ++b, src += kMxfp4Block, dst += sizeof(BlockMXFP4)) {
    float amax = 0;
    for (size_t j = 0; j < kMxfp4Block; ++j) amax = std::fmax(amax, std::fabs(src[j]));
    const int e = mxfp4_scale(amax);
    const float inv = std::ldexp(1.0f, 127 - e);  // 1 / S, a power of two: x * inv is exact
    uint8_t code[kMxfp4Block];
    for (size_t j = 0; j < kMxfp4Block; ++j)
      code[j] = e2m1_code(std::fabs(src[j]) * inv, src[j] < 0);
    dst[offsetof(BlockMXFP4, e)] = static_cast<uint8_t>(e);
    uint8_t* qs = dst + offsetof(BlockMXFP4, qs);
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(code[j] | (code[j + 16] << 4));
  }
}

size_t check_mxfp4_scales(const uint8_t* data, size_t n_blocks) {
  for (size_t b = 0; b < n_blocks; ++b)
    if (data[b * sizeof(BlockMXFP4) + offsetof(BlockMXFP4, e)] > kMxfp4MaxScale) return b;
  return n_blocks;
}

void mxfp4_block_from_hf(uint8_t scale, const uint8_t hf[16], uint8_t out[17]) {
  uint8_t code[kMxfp4Block];
  for (int j = 0; j < 16; ++j) {
    code[2 * j] = hf[j] & 15;
    code[2 * j + 1] = hf[j] >> 4;
  }
  out[offsetof(BlockMXFP4, e)] = scale;  // both are E8M0 with bias 127
  uint8_t* qs = out + offsetof(BlockMXFP4, qs);
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(code[j] | (code[j + 16] << 4));
}

void mxfp4_block_to_hf(const uint8_t in[17], uint8_t& scale, uint8_t hf[16]) {
  uint8_t code[kMxfp4Block];
  const uint8_t* qs = in + offsetof(BlockMXFP4, qs);
  for (int j = 0; j < 16; ++j) {
    code[j] = qs[j] & 15;
    code[j + 16] = qs[j] >> 4;
  }
  scale = in[offsetof(BlockMXFP4, e)];
  for (int j = 0; j < 16; ++j) hf[j] = static_cast<uint8_t>(code[2 * j] | (code[2 * j + 1] << 4));
}

}  // namespace ss
