// safetensors reader and writer. The header is bounded before it is parsed, and every shape and
// offset is checked against the bytes actually present before a tensor view is made, so a
// malformed file can only throw.
#include "format/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string_view>

#include "base/error.h"

namespace ss {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian, as is the host");

using json = nlohmann::json;

constexpr int kMaxJsonDepth = 16;  // a valid header nests 3 deep (object, entry, shape array)
constexpr size_t kSafetensorsMaxDims = 8;
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// One line whatever the parser put in its message.
// Deepest nesting of arrays and objects in JSON text (strings skipped), so that a header of a
// million '[' is refused before any parser or destructor could recurse over it.
int json_depth(std::string_view s) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

struct DtypeName {
  const char* name;
  DType type;
  bool supported;
  bool u8 = false;
};

// Every dtype the safetensors format defines; the float types sinkscope computes with map to a
// DType, and U8 is read as raw bytes (gpt-oss's MXFP4 blocks and scales).
const DtypeName kDtypes[] = {
    {"F32", DType::F32, true},      {"F16", DType::F16, true},      {"BF16", DType::BF16, true},
    {"F64", DType::F32, false},     {"I64", DType::F32, false},     {"U64", DType::F32, false},
    {"I32", DType::F32, false},     {"U32", DType::F32, false},     {"I16", DType::F32, false},
    {"U16", DType::F32, false},     {"I8", DType::F32, false},      {"U8", DType::F32, true, true},
    {"BOOL", DType::F32, false},    {"F8_E4M3", DType::F32, false}, {"F8_E5M2", DType::F32, false},
    {"F8_E8M0", DType::F32, false}, {"F6_E2M3", DType::F32, false}, {"F6_E3M2", DType::F32, false},
    {"F4", DType::F32, false},      {"C64", DType::F32, false},
};

uint64_t element_bytes(DType t) {
  return t == DType::F32 ? 4 : 2;
}

// A non-negative JSON integer, or nullopt.
bool as_u64(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

uint64_t SafetensorsTensor::n_elements() const {
  uint64_t n = 1;
  for (auto d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F16:
      return "F16";
    case DType::BF16:
      return "BF16";
    default:
      throw std::invalid_argument("safetensors stores F32, F16 or BF16, not " + dtype_name(t));
  }
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path)) {
  parse(file_->bytes());
}

SafetensorsFile::SafetensorsFile(std::span<const uint8_t> bytes, const std::string& name)
    : path_(name) {
  parse(bytes);
}

void SafetensorsFile::fail(const std::string& what) const {
  throw InputError(path_, what);
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::parse(std::span<const uint8_t> bytes) {
  const uint64_t size = bytes.size();
  if (size < 8)
    fail("truncated: " + std::to_string(size) + " bytes, too short for a safetensors header");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxSafetensorsHeader)
    fail("header length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(kMaxSafetensorsHeader) + " bytes (not a safetensors file?)");
  if (n > size - 8)
    fail("truncated: header length " + std::to_string(n) + " but only " + std::to_string(size - 8) +
         " bytes follow");
  if (n < 2) fail("header of " + std::to_string(n) + " bytes cannot hold a JSON object");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  if (text.front() != '{') fail("header does not start with '{' (not a safetensors file?)");
  if (json_depth(text) > kMaxJsonDepth)
    fail("header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");

  // Duplicate names are caught while parsing: a JSON object keeps only the last of them.
  std::set<std::string> names;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string() &&
        !names.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    fail("header is not valid JSON: " + one_line(e.what()));
  }
  if (!duplicate.empty()) fail("duplicate tensor name " + quoted_name(duplicate));
  if (!header.is_object()) fail("header is not a JSON object");

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size - data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("__metadata__ is not an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          fail("__metadata__ value of " + quoted_name(key) + " is not a string");
        metadata_.emplace(key, value.get<std::string>());
      }
      continue;
    }
    const std::string what = "tensor " + quoted_name(name);
    if (!entry.is_object()) fail(what + ": entry is not an object");
    auto dt = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) fail(what + ": missing or non-string dtype");
    if (shape == entry.end() || !shape->is_array()) fail(what + ": missing or non-array shape");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
      fail(what + ": data_offsets is not an array [begin, end]");

    SafetensorsTensor t;
    t.name = name;
    const std::string dname = dt->get<std::string>();
    const DtypeName* known = nullptr;
    for (const DtypeName& d : kDtypes)
      if (dname == d.name) known = &d;
    if (!known) fail(what + " has unknown dtype " + quoted_name(dname));
    if (!known->supported)
      fail(what + " has dtype " + dname + ", which sinkscope does not read (F32, F16, BF16, U8)");
    t.type = known->type;
    t.u8 = known->u8;

    if (shape->size() > kSafetensorsMaxDims)
      fail(what + " has " + std::to_string(shape->size()) + " dimensions (at most " +
           std::to_string(kSafetensorsMaxDims) + ")");
    uint64_t numel = 1;
    for (const json& d : *shape) {
      uint64_t v;
      if (!as_u64(d, v)) fail(what + ": shape holds something other than a non-negative integer");
      if (v > kMaxInt64 || __builtin_mul_overflow(numel, v, &numel) || numel > kMaxInt64)
        fail(what + ": shape has too many elements");
      t.shape.push_back(static_cast<int64_t>(v));
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(numel, t.u8 ? 1 : element_bytes(t.type), &nbytes))
      fail(what + ": shape has too many elements");

    if (!as_u64((*offsets)[0], t.begin) || !as_u64((*offsets)[1], t.end))
      fail(what + ": data_offsets are not non-negative integers");
    if (t.begin > t.end)
      fail(what + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
           "] are reversed");
    if (t.end > data_size)
      fail(what + ": data_offsets end " + std::to_string(t.end) + " is past the data section (" +
           std::to_string(data_size) + " bytes; truncated file?)");
    if (t.end - t.begin != nbytes)
      fail(what + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes, shape and " +
           dname + " need " + std::to_string(nbytes));
    t.data = bytes.data() + data_start + t.begin;
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // No byte may belong to two tensors. Sorted by start, each non-empty range must begin at or
  // after the furthest end seen so far.
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensors_[a].begin != tensors_[b].begin ? tensors_[a].begin < tensors_[b].begin
                                                  : tensors_[a].end < tensors_[b].end;
  });
  uint64_t furthest = 0;
  const SafetensorsTensor* owner = nullptr;
  for (size_t k : order) {
    const SafetensorsTensor& t = tensors_[k];
    if (t.begin == t.end) continue;
    if (owner && t.begin < furthest)
      fail("tensors " + quoted_name(owner->name) + " and " + quoted_name(t.name) + " overlap");
    if (t.end > furthest) {
      furthest = t.end;
      owner = &t;
    }
  }
  // File order: by offset, as writers lay tensors out.
  std::vector<SafetensorsTensor> sorted;
  sorted.reserve(tensors_.size());
  for (size_t k : order) sorted.push_back(std::move(tensors_[k]));
  tensors_ = std::move(sorted);
  index_.clear();
  for (size_t k = 0; k < tensors_.size(); ++k) index_.emplace(tensors_[k].name, k);
}

// ---- writer ----

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                                   const void* data) {
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      throw std::invalid_argument("safetensors: bad shape for tensor " + name);
  }
  safetensors_dtype_name(type);  // throws for types the format cannot hold
  tensors_.push_back({name, type, false, std::move(shape), data, numel * element_bytes(type)});
}

void SafetensorsWriter::add_u8(const std::string& name, std::vector<int64_t> shape,
                               const void* data) {
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
      throw std::invalid_argument("safetensors: bad shape for tensor " + name);
  }
  tensors_.push_back({name, DType::F32, true, std::move(shape), data, numel});
}

uint64_t SafetensorsWriter::data_bytes() const {
  uint64_t n = 0;
  for (const Pending& t : tensors_) n += t.nbytes;
  return n;
}

void SafetensorsWriter::write(const std::string& path) const {
  json header = json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const Pending& t : tensors_) {
    require(!header.contains(t.name), path, "cannot write tensor '" + t.name + "': duplicate name");
    header[t.name] = {{"dtype", t.u8 ? "U8" : safetensors_dtype_name(t.type)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t n = text.size();

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(text.data(), 1, n, f) == n;
  for (const Pending& t : tensors_)
    ok = ok && (t.nbytes == 0 || std::fwrite(t.data, 1, t.nbytes, f) == t.nbytes);
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw InputError(path, std::string("cannot write: ") + std::strerror(err));
  }
}

}  // namespace ss
