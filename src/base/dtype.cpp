#include "base/dtype.h"

namespace ss {

std::optional<DTypeInfo> dtype_info(uint32_t t) {
  // Block layouts from the GGUF specification (ggml docs): e.g. Q8_0 = f16 scale + 32 int8.
  switch (static_cast<DType>(t)) {
    case DType::F32:
      return DTypeInfo{"F32", 1, 4};
    case DType::F16:
      return DTypeInfo{"F16", 1, 2};
    case DType::BF16:
      return DTypeInfo{"BF16", 1, 2};
    case DType::Q4_0:
      return DTypeInfo{"Q4_0", 32, 18};
    case DType::Q4_1:
      return DTypeInfo{"Q4_1", 32, 20};
    case DType::Q5_0:
      return DTypeInfo{"Q5_0", 32, 22};
    case DType::Q5_1:
      return DTypeInfo{"Q5_1", 32, 24};
    case DType::Q8_0:
      return DTypeInfo{"Q8_0", 32, 34};
    case DType::Q8_1:
      return DTypeInfo{"Q8_1", 32, 36};
    case DType::Q2_K:
      return DTypeInfo{"Q2_K", 256, 84};
    case DType::Q3_K:
      return DTypeInfo{"Q3_K", 256, 110};
    case DType::Q4_K:
      return DTypeInfo{"Q4_K", 256, 144};
    case DType::Q5_K:
      return DTypeInfo{"Q5_K", 256, 176};
    case DType::Q6_K:
      return DTypeInfo{"Q6_K", 256, 210};
    case DType::Q8_K:
      return DTypeInfo{"Q8_K", 256, 292};
    case DType::MXFP4:
      return DTypeInfo{"MXFP4", 32, 17};
  }
  return std::nullopt;
}

std::string dtype_name(DType t) {
  auto info = dtype_info(static_cast<uint32_t>(t));
  return info ? info->name : "type" + std::to_string(static_cast<uint32_t>(t));
}

size_t dtype_row_bytes(DType t, size_t n) {
  auto info = dtype_info(static_cast<uint32_t>(t));
  return info ? n / info->block_elems * info->block_bytes : 0;
}

}  // namespace ss
