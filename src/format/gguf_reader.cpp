// GGUF reader. Every count, length, shape and offset is checked against the bytes that are
// actually left before anything is allocated or read, so a malformed file can only throw.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "format/gguf.h"

namespace ss {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF is little-endian, as is the host");

// Each parsed array element costs ~100 bytes of memory (sizeof(GgufValue)), so a cap on the
// total keeps a hostile file from turning 1 byte into 100 without bound. Real files stay far
// below it: the largest vocabularies have ~260k tokens and ~300k merges.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 22;
constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Smallest possible encodings, used to reject absurd counts before allocating anything.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes =
    8 + 4 + 8 + 4 + 8;  // empty name, n_dims, ne[0], type, offset

bool is_unsigned(GgufType t) {
  return t == GgufType::UINT8 || t == GgufType::UINT16 || t == GgufType::UINT32 ||
         t == GgufType::UINT64;
}

std::string type_name(GgufType t) {
  switch (t) {
    case GgufType::UINT8:
      return "uint8";
    case GgufType::INT8:
      return "int8";
    case GgufType::UINT16:
      return "uint16";
    case GgufType::INT16:
      return "int16";
    case GgufType::UINT32:
      return "uint32";
    case GgufType::INT32:
      return "int32";
    case GgufType::FLOAT32:
      return "float32";
    case GgufType::BOOL:
      return "bool";
    case GgufType::STRING:
      return "string";
    case GgufType::ARRAY:
      return "array";
    case GgufType::UINT64:
      return "uint64";
    case GgufType::INT64:
      return "int64";
    case GgufType::FLOAT64:
      return "float64";
  }
  return "type " + std::to_string(static_cast<uint32_t>(t));
}

std::string describe(const GgufValue& v) {
  if (v.type == GgufType::ARRAY) return "array of " + type_name(v.elem_type);
  return type_name(v.type);
}

// Bytes taken by the smallest value of a type; 0 for unknown types.
uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL:
      return 1;
    case GgufType::UINT16:
    case GgufType::INT16:
      return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32:
      return 4;
    case GgufType::UINT64:
    case GgufType::INT64:
    case GgufType::FLOAT64:
    case GgufType::STRING:  // the length field
      return 8;
    case GgufType::ARRAY:  // element type + count
      return 12;
  }
  return 0;
}

void set_unsigned(GgufValue& v, uint64_t x) {
  v.u = x;
  v.i = x <= kInt64Max ? static_cast<int64_t>(x) : 0;
}

void set_signed(GgufValue& v, int64_t x) {
  v.i = x;
  v.u = x >= 0 ? static_cast<uint64_t>(x) : 0;
}

// A bounds-checked cursor over the file. It remembers which part of the file it is in, so a
// truncation error can say where ("truncated: tensor info 3 of 12").
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  void at(const char* section, uint64_t index = 0, uint64_t count = 0) {
    section_ = section;
    index_ = index;
    count_ = count;
    key_ = nullptr;
  }
  void at_value_of(const std::string* key) { key_ = key; }

  std::string where() const {
    if (key_) return "value of key " + quoted_name(*key_);
    // Appended piece by piece: `" " + std::to_string(...)` trips a false -Wrestrict in GCC 12.
    std::string w = section_;
    if (count_) {
      w += ' ';
      w += std::to_string(index_ + 1);
      w += " of ";
      w += std::to_string(count_);
    }
    return w;
  }

  [[noreturn]] void fail(const std::string& what) const { throw InputError(path_, what); }
  [[noreturn]] void truncated(const std::string& detail = "") const {
    fail("truncated: " + where() + (detail.empty() ? "" : " (" + detail + ")"));
  }

  template <typename T>
  T read() {
    if (sizeof(T) > remaining()) truncated();
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string() {
    const auto n = read<uint64_t>();
    if (n > remaining()) {
      truncated("string of " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
                " left");
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }

  GgufValue read_value(GgufType type, int depth) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufType::UINT8:
        set_unsigned(v, read<uint8_t>());
        break;
      case GgufType::INT8:
        set_signed(v, read<int8_t>());
        break;
      case GgufType::UINT16:
        set_unsigned(v, read<uint16_t>());
        break;
      case GgufType::INT16:
        set_signed(v, read<int16_t>());
        break;
      case GgufType::UINT32:
        set_unsigned(v, read<uint32_t>());
        break;
      case GgufType::INT32:
        set_signed(v, read<int32_t>());
        break;
      case GgufType::UINT64:
        set_unsigned(v, read<uint64_t>());
        break;
      case GgufType::INT64:
        set_signed(v, read<int64_t>());
        break;
      case GgufType::FLOAT32:
        v.f = read<float>();
        break;
      case GgufType::FLOAT64:
        v.f = read<double>();
        break;
      case GgufType::BOOL:
        v.b = read<uint8_t>() != 0;
        break;
      case GgufType::STRING:
        v.s = read_string();
        break;
      case GgufType::ARRAY:
        read_array(v, depth + 1);
        break;
      default:
        fail(where() + " has unknown type " + std::to_string(static_cast<uint32_t>(type)));
    }
    return v;
  }

 private:
  void read_array(GgufValue& v, int depth) {
    if (depth > kGgufMaxArrayDepth)
      fail(where() + " nests arrays deeper than " + std::to_string(kGgufMaxArrayDepth));
    v.elem_type = static_cast<GgufType>(read<uint32_t>());
    const uint64_t min_bytes = min_value_bytes(v.elem_type);
    if (min_bytes == 0) {
      fail(where() + " is an array of unknown type " +
           std::to_string(static_cast<uint32_t>(v.elem_type)));
    }
    const auto count = read<uint64_t>();
    if (count > remaining() / min_bytes) {
      fail(where() + " is an array of " + std::to_string(count) + " elements, but only " +
           std::to_string(remaining()) + " bytes are left");
    }
    array_elements_ += count;
    if (array_elements_ > kMaxArrayElements) {
      fail("metadata arrays hold more than " + std::to_string(kMaxArrayElements) +
           " elements in total");
    }
    v.arr.reserve(count);
    for (uint64_t k = 0; k < count; ++k) v.arr.push_back(read_value(v.elem_type, depth));
  }

  std::span<const uint8_t> bytes_;
  const std::string& path_;
  uint64_t pos_ = 0;
  uint64_t array_elements_ = 0;
  const char* section_ = "header";
  uint64_t index_ = 0, count_ = 0;
  const std::string* key_ = nullptr;
};

std::string value_string(const GgufValue& v) {
  if (is_unsigned(v.type)) return std::to_string(v.u);
  if (v.is_integer()) return std::to_string(v.i);
  return describe(v);
}

uint64_t read_alignment(const GgufFile& g) {
  const GgufValue* a = g.find("general.alignment");
  if (!a) return kGgufDefaultAlignment;
  const bool ok = is_unsigned(a->type) ? std::has_single_bit(a->u)
                  : a->is_integer() ? a->i > 0 && std::has_single_bit(static_cast<uint64_t>(a->i))
                                    : false;
  if (!ok) g.fail("general.alignment must be a nonzero power of two, got " + value_string(*a));
  return is_unsigned(a->type) ? a->u : static_cast<uint64_t>(a->i);
}

// Checks a tensor's shape and type and fills in nbytes; offsets are checked later.
void check_shape(const GgufFile& g, GgufTensor& t, uint32_t type) {
  const std::string name = "tensor " + quoted_name(t.name);
  const auto info = dtype_info(type);
  if (!info) g.fail(name + " has unknown type " + std::to_string(type));
  t.type = static_cast<DType>(type);
  uint64_t n = 1;
  for (uint64_t d : t.ne) {
    // ggml holds dimensions and element counts in int64_t.
    if (d > kInt64Max || __builtin_mul_overflow(n, d, &n) || n > kInt64Max)
      g.fail(name + " has too many elements");
  }
  if (t.ne[0] % info->block_elems != 0) {
    g.fail(name + " has ne[0] = " + std::to_string(t.ne[0]) +
           ", not a multiple of the block size " + std::to_string(info->block_elems) + " of " +
           info->name);
  }
  if (__builtin_mul_overflow(n / info->block_elems, info->block_bytes, &t.nbytes))
    g.fail(name + " has too many elements");
}

}  // namespace

GgufFile::GgufFile(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path)) {
  parse(file_->bytes());
}

GgufFile::GgufFile(std::span<const uint8_t> bytes, const std::string& name) : path_(name) {
  parse(bytes);
}

void GgufFile::parse(std::span<const uint8_t> bytes) {
  Reader r(bytes, path_);
  r.at("header");
  if (r.read<uint32_t>() != kGgufMagic) fail("not a GGUF file (bad magic)");
  version_ = r.read<uint32_t>();
  if (version_ == 1) fail("GGUF version 1 is not supported (only versions 2 and 3)");
  if (version_ == 0x02000000 || version_ == 0x03000000)
    fail("big-endian GGUF files are not supported");
  if (version_ != 2 && version_ != 3)
    fail("unsupported GGUF version " + std::to_string(version_) + " (only versions 2 and 3)");
  const auto n_tensors = r.read<uint64_t>();
  const auto n_kv = r.read<uint64_t>();
  if (n_tensors > r.remaining() / kMinTensorInfoBytes) {
    fail("header claims " + std::to_string(n_tensors) + " tensors, file is " +
         std::to_string(r.size()) + " bytes");
  }
  if (n_kv > r.remaining() / kMinKvBytes) {
    fail("header claims " + std::to_string(n_kv) + " key-value pairs, file is " +
         std::to_string(r.size()) + " bytes");
  }

  for (uint64_t k = 0; k < n_kv; ++k) {
    r.at("key", k, n_kv);
    std::string key = r.read_string();
    const auto type = static_cast<GgufType>(r.read<uint32_t>());
    r.at_value_of(&key);
    GgufValue value = r.read_value(type, 0);
    if (kv_.contains(key)) fail("duplicate key " + quoted_name(key));
    kv_.emplace(std::move(key), std::move(value));
  }
  const uint64_t alignment = read_alignment(*this);

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    r.at("tensor info", k, n_tensors);
    GgufTensor t;
    t.name = r.read_string();
    const auto n_dims = r.read<uint32_t>();
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      fail("tensor " + quoted_name(t.name) + " has " + std::to_string(n_dims) +
           " dimensions (must be 1 to " + std::to_string(kGgufMaxDims) + ")");
    }
    t.ne.resize(n_dims);
    for (auto& d : t.ne) d = r.read<uint64_t>();
    const auto type = r.read<uint32_t>();
    t.offset = r.read<uint64_t>();
    check_shape(*this, t, type);
    if (tensor_index_.contains(t.name)) fail("duplicate tensor name " + quoted_name(t.name));
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment; files without tensors may
  // end before it.
  const uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  for (GgufTensor& t : tensors_) {
    if (t.offset % alignment != 0) {
      fail("tensor " + quoted_name(t.name) + " offset " + std::to_string(t.offset) +
           " is not a multiple of the alignment " + std::to_string(alignment));
    }
    if (data_start > r.size() || t.offset > r.size() - data_start ||
        t.nbytes > r.size() - data_start - t.offset)
      fail("tensor " + quoted_name(t.name) + " extends past the end of the file: it needs " +
           std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) +
           " of the data section, which holds " +
           std::to_string(data_start > r.size() ? 0 : r.size() - data_start));
    t.data = bytes.data() + data_start + t.offset;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void GgufFile::fail(const std::string& what) const {
  throw InputError(path_, what);
}

namespace {

[[noreturn]] void wrong_type(const GgufFile& g, const std::string& key, const GgufValue& v,
                             const char* expected) {
  g.fail("key " + quoted_name(key) + " is a " + describe(v) + ", expected " + expected);
}

int64_t to_int64(const GgufFile& g, const std::string& key, const GgufValue& v) {
  if (!is_unsigned(v.type)) return v.i;
  if (v.u > kInt64Max)
    g.fail("key " + quoted_name(key) + " value " + std::to_string(v.u) + " does not fit in int64");
  return static_cast<int64_t>(v.u);
}

double to_double(const GgufValue& v) {
  if (v.is_float()) return v.f;
  return is_unsigned(v.type) ? static_cast<double>(v.u) : static_cast<double>(v.i);
}

}  // namespace

std::string GgufFile::get_string(const std::string& key, const std::string& dflt) const {
  const GgufValue* v = find(key);
  if (!v) return dflt;
  if (v->type != GgufType::STRING) wrong_type(*this, key, *v, "a string");
  return v->s;
}

int64_t GgufFile::get_int(const std::string& key, int64_t dflt) const {
  const GgufValue* v = find(key);
  if (!v) return dflt;
  if (!v->is_integer()) wrong_type(*this, key, *v, "an integer");
  return to_int64(*this, key, *v);
}

double GgufFile::get_float(const std::string& key, double dflt) const {
  const GgufValue* v = find(key);
  if (!v) return dflt;
  if (!v->is_float() && !v->is_integer()) wrong_type(*this, key, *v, "a number");
  return to_double(*v);
}

bool GgufFile::get_bool(const std::string& key, bool dflt) const {
  const GgufValue* v = find(key);
  if (!v) return dflt;
  if (v->type != GgufType::BOOL) wrong_type(*this, key, *v, "a bool");
  return v->b;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return {};
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::STRING)
    wrong_type(*this, key, *v, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->arr.size());
  for (const auto& e : v->arr) out.push_back(e.s);
  return out;
}

std::vector<float> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return {};
  GgufValue elem;
  elem.type = v->elem_type;
  if (v->type != GgufType::ARRAY || !(elem.is_float() || elem.is_integer()))
    wrong_type(*this, key, *v, "an array of numbers");
  std::vector<float> out;
  out.reserve(v->arr.size());
  for (const auto& e : v->arr) out.push_back(static_cast<float>(to_double(e)));
  return out;
}

std::vector<int32_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return {};
  GgufValue elem;
  elem.type = v->elem_type;
  if (v->type != GgufType::ARRAY || !elem.is_integer())
    wrong_type(*this, key, *v, "an array of integers");
  std::vector<int32_t> out;
  out.reserve(v->arr.size());
  for (size_t k = 0; k < v->arr.size(); ++k) {
    const GgufValue& e = v->arr[k];
    const bool fits = is_unsigned(e.type) ? e.u <= uint64_t{std::numeric_limits<int32_t>::max()}
                                          : e.i >= std::numeric_limits<int32_t>::min() &&
                                                e.i <= std::numeric_limits<int32_t>::max();
    if (!fits) {
      fail("key " + quoted_name(key) + " element " + std::to_string(k) + " (" + value_string(e) +
           ") does not fit in int32");
    }
    out.push_back(static_cast<int32_t>(is_unsigned(e.type) ? static_cast<int64_t>(e.u) : e.i));
  }
  return out;
}

}  // namespace ss
