#pragma once
// A read-only view of a weight tensor in any dtype. Shapes use GGUF order: ne[0] is the
// contiguous dimension, so a matrix with ne = {cols, rows} holds `rows` rows of `cols` values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace ss {

struct Tensor {
  std::string name;
  DType type = DType::F32;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;

  int64_t cols() const { return ne.empty() ? 0 : ne[0]; }
  int64_t rows() const { return ne.size() < 2 ? 1 : ne[1]; }
  int64_t n_elements() const {
    int64_t n = 1;
    for (auto d : ne) n *= d;
    return n;
  }
  size_t row_bytes() const { return dtype_row_bytes(type, static_cast<size_t>(cols())); }
  // Bytes of the whole tensor, every dimension past the rows included (3-D expert stacks).
  size_t nbytes() const {
    return cols() ? row_bytes() * static_cast<size_t>(n_elements() / cols()) : 0;
  }
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

}  // namespace ss
