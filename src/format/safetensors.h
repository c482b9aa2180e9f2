#pragma once
// Reader and writer of the safetensors format (Hugging Face `safetensors` documentation): an
// 8-byte little-endian header length N, N bytes of a JSON object mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the first byte after the
// header), an optional "__metadata__" object of strings, then the tensor bytes.
//
// The reader memory-maps the file and checks the header as strictly as the GGUF reader checks
// its own: length within the file and at most kMaxSafetensorsHeader, valid JSON (nesting bounded,
// no duplicate names), known dtypes (F32, F16, BF16 are supported; the others are named in the
// error; U8 is read as raw bytes), shapes whose element count does not overflow, offsets in range,
// in order, of exactly numel * element size bytes, and no two tensors sharing a byte. A malformed
// file throws InputError("<path>: <what is wrong>"). Tensor data stays in the mapping.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/mmap_file.h"

namespace ss {

constexpr uint64_t kMaxSafetensorsHeader = uint64_t{100} << 20;  // 100 MB

struct SafetensorsTensor {
  std::string name;
  DType type = DType::F32;
  bool u8 = false;  // dtype U8: raw bytes (MXFP4 blocks and scales), and `type` means nothing
  std::vector<int64_t> shape;   // row-major: the last dimension is contiguous
  uint64_t begin = 0, end = 0;  // byte range within the data section
  const uint8_t* data = nullptr;
  uint64_t n_elements() const;
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws InputError on any malformation
  // Parses an in-memory image without copying it (tests, fuzzing): `bytes` must outlive the
  // object, and `name` stands in for the path in error messages.
  SafetensorsFile(std::span<const uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // file order
  const SafetensorsTensor* find(const std::string& name) const;               // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  [[noreturn]] void fail(const std::string& what) const;

 private:
  void parse(std::span<const uint8_t> bytes);

  std::string path_;
  std::unique_ptr<MappedFile> file_;  // null for in-memory images
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The safetensors name of a dtype ("F32", "F16", "BF16"); throws std::invalid_argument for others.
const char* safetensors_dtype_name(DType t);

// Builds a safetensors file; tensor bytes are copied from the given pointers at write time (they
// must stay valid until write() returns). Tensors are laid out in the order added, contiguously;
// the header is padded with spaces to a multiple of 8 bytes. write() is atomic (temporary file +
// rename) and streams the data, so a large model needs no second copy in memory.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                  const void* data);
  void add_u8(const std::string& name, std::vector<int64_t> shape, const void* data);
  uint64_t data_bytes() const;  // bytes of tensor data added so far
  void write(const std::string& path) const;

 private:
  struct Pending {
    std::string name;
    DType type;
    bool u8;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t nbytes;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<Pending> tensors_;
};

}  // namespace ss
