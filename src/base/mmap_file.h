#pragma once
// A read-only memory-mapped file. Empty files map to an empty span. With SINKSCOPE_NO_MMAP=1 the
// file is read into anonymous memory instead (same bytes, same lifetime).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ss {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws InputError if it cannot be opened
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ss
