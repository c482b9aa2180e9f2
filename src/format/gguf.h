#pragma once
// GGUF v2/v3 reader and writer (format: ggml's docs/gguf.md).
//
// The reader memory-maps the file and checks every count, string length, offset and shape
// against the file size before using it; a malformed file throws InputError("<path>: ...").
// Tensor data stays in the mapping: GgufTensor::data points into it.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/mmap_file.h"

namespace ss {

// The file format's fixed values, shared by the reader and the writer.
constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint32_t kGgufDefaultAlignment = 32;
constexpr uint32_t kGgufMaxDims = 4;  // GGML_MAX_DIMS
constexpr int kGgufMaxArrayDepth = 8;

enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

// One metadata value. Scalars live in the field of their kind (integers of any width in i or u,
// floats in f, bool in b); arrays hold their elements (which may themselves be arrays).
struct GgufValue {
  GgufType type = GgufType::UINT32;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string s;
  GgufType elem_type = GgufType::UINT32;  // for ARRAY
  std::vector<GgufValue> arr;             // for ARRAY

  static GgufValue of_string(std::string v);
  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_strings(const std::vector<std::string>& v);
  static GgufValue of_f32s(const std::vector<float>& v);
  static GgufValue of_i32s(const std::vector<int32_t>& v);

  bool is_integer() const;  // any of the integer types
  bool is_float() const;    // FLOAT32 or FLOAT64
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // dims, ne[0] is the contiguous (fastest) dimension
  DType type = DType::F32;
  uint64_t offset = 0;            // relative to the start of the data section
  const uint8_t* data = nullptr;  // into the mapping
  uint64_t nbytes = 0;
  uint64_t n_elements() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws InputError on any malformation
  // Parses an in-memory image without copying it (tests, fuzzing): `bytes` must outlive the
  // object, and `name` stands in for the path in error messages.
  GgufFile(std::span<const uint8_t> bytes, const std::string& name);
  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufValue* find(const std::string& key) const;           // nullptr if absent
  const GgufTensor* find_tensor(const std::string& name) const;  // nullptr if absent

  // Typed getters; a present key of the wrong type throws InputError naming the key.
  bool has(const std::string& key) const { return find(key) != nullptr; }
  std::string get_string(const std::string& key, const std::string& dflt = "") const;
  int64_t get_int(const std::string& key, int64_t dflt) const;  // any integer type
  double get_float(const std::string& key, double dflt) const;  // float or integer
  bool get_bool(const std::string& key, bool dflt) const;
  std::vector<std::string> get_string_array(const std::string& key) const;  // empty if absent
  std::vector<float> get_float_array(const std::string& key) const;
  std::vector<int32_t> get_int_array(const std::string& key) const;

  // "<path>: <what>" errors for callers that validate further (e.g. shapes).
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void parse(std::span<const uint8_t> bytes);

  std::string path_;
  std::unique_ptr<MappedFile> file_;  // null for in-memory images
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Tensor data is copied at write time from the given pointer, which
// must stay valid until write() returns. write() is atomic (temporary file + rename).
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);  // keeps insertion order
  void add_tensor(const std::string& name, DType type, std::vector<uint64_t> ne, const void* data);
  void write(const std::string& path, uint32_t alignment = 32) const;

 private:
  struct PendingTensor {
    std::string name;
    DType type;
    std::vector<uint64_t> ne;
    const void* data;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace ss
