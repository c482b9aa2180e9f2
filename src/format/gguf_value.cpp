// GgufValue constructors and GgufTensor helpers shared by the GGUF reader and writer.
#include <utility>

#include "format/gguf.h"

namespace ss {

// Integers are stored in both i and u when the value fits in both, so callers may read either
// field; the writer reads u for unsigned types and i for signed ones.
GgufValue GgufValue::of_string(std::string v) {
  GgufValue r;
  r.type = GgufType::STRING;
  r.s = std::move(v);
  return r;
}

GgufValue GgufValue::of_u32(uint32_t v) {
  GgufValue r;
  r.type = GgufType::UINT32;
  r.u = v;
  r.i = v;
  return r;
}

GgufValue GgufValue::of_i32(int32_t v) {
  GgufValue r;
  r.type = GgufType::INT32;
  r.i = v;
  r.u = v >= 0 ? static_cast<uint64_t>(v) : 0;
  return r;
}

GgufValue GgufValue::of_f32(float v) {
  GgufValue r;
  r.type = GgufType::FLOAT32;
  r.f = v;
  return r;
}

GgufValue GgufValue::of_bool(bool v) {
  GgufValue r;
  r.type = GgufType::BOOL;
  r.b = v;
  return r;
}

GgufValue GgufValue::of_strings(const std::vector<std::string>& v) {
  GgufValue r;
  r.type = GgufType::ARRAY;
  r.elem_type = GgufType::STRING;
  r.arr.reserve(v.size());
  for (const auto& s : v) r.arr.push_back(of_string(s));
  return r;
}

GgufValue GgufValue::of_f32s(const std::vector<float>& v) {
  GgufValue r;
  r.type = GgufType::ARRAY;
  r.elem_type = GgufType::FLOAT32;
  r.arr.reserve(v.size());
  for (float x : v) r.arr.push_back(of_f32(x));
  return r;
}

GgufValue GgufValue::of_i32s(const std::vector<int32_t>& v) {
  GgufValue r;
  r.type = GgufType::ARRAY;
  r.elem_type = GgufType::INT32;
  r.arr.reserve(v.size());
  for (int32_t x : v) r.arr.push_back(of_i32(x));
  return r;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::UINT16:
    case GgufType::INT16:
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::UINT64:
    case GgufType::INT64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_float() const {
  return type == GgufType::FLOAT32 || type == GgufType::FLOAT64;
}

uint64_t GgufTensor::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;  // the reader has already rejected shapes that overflow
  return n;
}

}  // namespace ss
