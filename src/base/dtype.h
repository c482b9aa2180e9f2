#pragma once
// Weight data types, numbered as GGUF/ggml numbers them so a GGUF tensor's type id maps directly.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace ss {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
  MXFP4 = 39,  // gpt-oss experts: E2M1 codes with an E8M0 scale per 32
};

struct DTypeInfo {
  const char* name;
  size_t block_elems;  // elements per block (1 for plain float types)
  size_t block_bytes;  // bytes per block
};

// Layout facts for a GGUF type id; nullopt for ids sinkscope does not know.
std::optional<DTypeInfo> dtype_info(uint32_t ggml_type);
std::string dtype_name(DType t);

// Bytes taken by n elements of type t; n must be a multiple of the block size.
size_t dtype_row_bytes(DType t, size_t n);

}  // namespace ss
