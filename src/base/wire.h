#pragma once
// Bytes that carry results between the ranks of a cluster (base/cluster.h): numbers in this
// machine's representation, written and read in the same order. Doubles travel bit for bit.
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ss {

class WireWriter {
 public:
  template <class T>
  WireWriter& put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  template <class T>
  WireWriter& put_vector(std::span<const T> v) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size_bytes());
    return *this;
  }
  WireWriter& put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes_.append(s);
    return *this;
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<uint64_t>();
    if (n > (bytes_.size() - pos_) / sizeof(T)) throw std::runtime_error("wire: truncated vector");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), take(n * sizeof(T)), n * sizeof(T));
    return v;
  }
  std::string get_string() {
    const auto n = get<uint64_t>();
    return std::string(take(n), n);
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  const char* take(size_t n) {
    if (n > bytes_.size() - pos_) throw std::runtime_error("wire: truncated message");
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace ss
