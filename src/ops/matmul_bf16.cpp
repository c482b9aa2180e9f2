#include "ops/matmul_bf16.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "base/fp16.h"
#include "ops/dot.h"
#include "ops/simd/kernels.h"

namespace ss {
namespace {

constexpr size_t kGroup = 32;  // elements per step of the 16 lanes

using Bf16 = uint16_t;

// Step 2 for one group.
void lanes_step(const Bf16* w, const Bf16* x, float* lanes) {
  for (size_t l = 0; l < kDotLanes; ++l) {
    lanes[l] = std::fma(bf16_to_f32(x[2 * l + 1]), bf16_to_f32(w[2 * l + 1]), lanes[l]);
    lanes[l] = std::fma(bf16_to_f32(x[2 * l]), bf16_to_f32(w[2 * l]), lanes[l]);
  }
}

void require_bf16(const Tensor& w, const char* who) {
  if (w.type != DType::BF16)
    throw std::invalid_argument(std::string(who) + ": " + w.name + " is not BF16");
}

}  // namespace

bool bf16_dot_supported() {
  return active_isa() == Isa::Avx512Bf16;
}

// The fast paths are in ops/gemm-inl.h, in the avx512bf16 variant: Bf16Gemm (W packed) from 8
// tokens, bf16_decode_rows (rows read straight from W) below.
void matmul_bf16(const Tensor& w, const float* x, size_t n_tokens, float* y, ThreadPool& pool) {
  require_bf16(w, "matmul_bf16");
  kernels().matmul_bf16(w, x, n_tokens, y, pool);
}

void matmul_bf16_reference(const Tensor& w, const float* x, size_t n_tokens, float* y) {
  require_bf16(w, "matmul_bf16_reference");
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  const size_t cols32 = cols / kGroup * kGroup;
  std::vector<Bf16> xr(cols);
  for (size_t t = 0; t < n_tokens; ++t) {
    for (size_t i = 0; i < cols; ++i) xr[i] = f32_to_bf16(x[t * cols + i]);
    for (size_t r = 0; r < rows; ++r) {
      const Bf16* wr = reinterpret_cast<const Bf16*>(w.row(static_cast<int64_t>(r)));
      float lanes[kDotLanes] = {};
      for (size_t i = 0; i < cols32; i += kGroup) lanes_step(wr + i, xr.data() + i, lanes);
      double sum = sum_lanes_reference(lanes);
      for (size_t i = cols32; i < cols; ++i)
        sum += static_cast<double>(bf16_to_f32(wr[i])) * bf16_to_f32(xr[i]);
      y[t * rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace ss
