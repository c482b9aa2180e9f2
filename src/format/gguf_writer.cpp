// GGUF v3 writer. Everything is validated before the file is opened, so a bad value or shape
// leaves no partial output; the file itself appears atomically (temporary file + rename).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "format/gguf.h"

namespace ss {
namespace {

constexpr uint32_t kVersion = 3;

// Little-endian encoding of the header and metadata (the host is little-endian, see reader).
class Encoder {
 public:
  explicit Encoder(const std::string& path) : path_(path) {}
  std::string& bytes() { return bytes_; }

  template <typename T>
  void put(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes_.append(s);
  }

  void put_value(const std::string& key, const GgufValue& v, GgufType type, int depth) {
    if (v.type != type) fail(key, "array element of a different type than the array");
    switch (type) {
      case GgufType::UINT8:
        put(unsigned_as<uint8_t>(key, v));
        break;
      case GgufType::INT8:
        put(signed_as<int8_t>(key, v));
        break;
      case GgufType::UINT16:
        put(unsigned_as<uint16_t>(key, v));
        break;
      case GgufType::INT16:
        put(signed_as<int16_t>(key, v));
        break;
      case GgufType::UINT32:
        put(unsigned_as<uint32_t>(key, v));
        break;
      case GgufType::INT32:
        put(signed_as<int32_t>(key, v));
        break;
      case GgufType::UINT64:
        put(v.u);
        break;
      case GgufType::INT64:
        put(v.i);
        break;
      case GgufType::FLOAT32:
        put(static_cast<float>(v.f));
        break;
      case GgufType::FLOAT64:
        put(v.f);
        break;
      case GgufType::BOOL:
        put<uint8_t>(v.b ? 1 : 0);
        break;
      case GgufType::STRING:
        put_string(v.s);
        break;
      case GgufType::ARRAY:
        if (depth >= kGgufMaxArrayDepth) fail(key, "arrays nested too deeply");
        put(static_cast<uint32_t>(v.elem_type));
        put<uint64_t>(v.arr.size());
        for (const GgufValue& e : v.arr) put_value(key, e, v.elem_type, depth + 1);
        break;
      default:
        fail(key, "unknown value type " + std::to_string(static_cast<uint32_t>(type)));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError(path_, "cannot write key '" + key + "': " + what);
  }
  template <typename T>
  T unsigned_as(const std::string& key, const GgufValue& v) const {
    if (v.u > std::numeric_limits<T>::max()) fail(key, std::to_string(v.u) + " is out of range");
    return static_cast<T>(v.u);
  }
  template <typename T>
  T signed_as(const std::string& key, const GgufValue& v) const {
    if (v.i < std::numeric_limits<T>::min() || v.i > std::numeric_limits<T>::max())
      fail(key, std::to_string(v.i) + " is out of range");
    return static_cast<T>(v.i);
  }

  const std::string& path_;
  std::string bytes_;
};

uint64_t align_up(uint64_t x, uint64_t alignment) {
  return (x + alignment - 1) / alignment * alignment;
}

// An open temporary file that is removed again unless commit() renames it into place.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path)
      : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail();
  }
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail();
      p += w;
      n -= static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
  }
  void pad_to(uint64_t offset) {
    static const char zeros[4096] = {};
    while (written_ < offset) write(zeros, std::min<uint64_t>(sizeof zeros, offset - written_));
  }
  void commit() {
    // fsync first so the rename never exposes a file whose data is not on disk yet.
    if (::fsync(fd_) != 0) fail();
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0 || ::rename(tmp_.c_str(), path_.c_str()) != 0) fail();
    committed_ = true;
  }

 private:
  [[noreturn]] void fail() const {
    throw InputError(path_, std::string("cannot write: ") + std::strerror(errno));
  }

  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv_) {
    if (k == key) {  // replace in place: a key may appear only once
      v = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<uint64_t> ne,
                            const void* data) {
  tensors_.push_back({name, type, std::move(ne), data});
}

void GgufWriter::write(const std::string& path, uint32_t alignment) const {
  require(std::has_single_bit(alignment), path,
          "alignment must be a nonzero power of two, got " + std::to_string(alignment));

  // general.alignment always matches the layout actually written; it is only added when the
  // caller did not set it and the alignment differs from the default.
  const bool has_alignment_key = std::any_of(
      kv_.begin(), kv_.end(), [](const auto& kv) { return kv.first == "general.alignment"; });
  const bool add_alignment_key = !has_alignment_key && alignment != kGgufDefaultAlignment;

  Encoder enc(path);
  enc.put(kGgufMagic);
  enc.put(kVersion);
  enc.put<uint64_t>(tensors_.size());
  enc.put<uint64_t>(kv_.size() + (add_alignment_key ? 1 : 0));
  const GgufValue alignment_value = GgufValue::of_u32(alignment);
  for (const auto& [key, value] : kv_) {
    const GgufValue& v = key == "general.alignment" ? alignment_value : value;
    enc.put_string(key);
    enc.put(static_cast<uint32_t>(v.type));
    enc.put_value(key, v, v.type, 0);
  }
  if (add_alignment_key) {
    enc.put_string("general.alignment");
    enc.put(static_cast<uint32_t>(GgufType::UINT32));
    enc.put_value("general.alignment", alignment_value, GgufType::UINT32, 0);
  }

  // Tensor infos, with each tensor's data placed at the next aligned offset.
  std::set<std::string> names;
  std::vector<uint64_t> offsets, sizes;
  uint64_t data_size = 0;
  for (const PendingTensor& t : tensors_) {
    const std::string what = "cannot write tensor '" + t.name + "': ";
    require(names.insert(t.name).second, path, what + "duplicate name");
    require(!t.ne.empty() && t.ne.size() <= kGgufMaxDims, path,
            what + "must have 1 to 4 dimensions");
    const auto info = dtype_info(static_cast<uint32_t>(t.type));
    require(info.has_value(), path, what + "unknown type");
    uint64_t n = 1;
    for (uint64_t d : t.ne) {
      require(!__builtin_mul_overflow(n, d, &n) && n <= uint64_t{INT64_MAX}, path,
              what + "too many elements");
    }
    require(t.ne[0] % info->block_elems == 0, path,
            what + "ne[0] is not a multiple of the block size");
    const uint64_t nbytes = n / info->block_elems * info->block_bytes;
    require(nbytes == 0 || t.data != nullptr, path, what + "no data");
    offsets.push_back(align_up(data_size, alignment));
    sizes.push_back(nbytes);
    data_size = offsets.back() + nbytes;

    enc.put_string(t.name);
    enc.put(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) enc.put(d);
    enc.put(static_cast<uint32_t>(t.type));
    enc.put(offsets.back());
  }

  AtomicFile out(path);
  out.write(enc.bytes().data(), enc.bytes().size());
  const uint64_t data_start = align_up(enc.bytes().size(), alignment);
  for (size_t k = 0; k < tensors_.size(); ++k) {
    out.pad_to(data_start + offsets[k]);
    out.write(tensors_[k].data, sizes[k]);
  }
  out.pad_to(data_start + align_up(data_size, alignment));  // as ggml does, pad the last tensor
  out.commit();
}

}  // namespace ss
