// GGUF reader/writer: round trips, a real vocabulary file, and malformed input of every kind.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "test_util.h"

namespace ss {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> slurp_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void spit_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Hand-assembled GGUF bytes, for files the writer would refuse to produce.
struct Bytes {
  std::vector<uint8_t> b;
  template <typename T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return put<uint32_t>(0x46554747).put(version).put(n_tensors).put(n_kv);
  }
  // One tensor info with a single dimension.
  Bytes& tensor(const std::string& name, uint64_t ne0, uint32_t type, uint64_t offset) {
    return str(name).put<uint32_t>(1).put(ne0).put(type).put(offset);
  }
  Bytes& pad(size_t alignment = 32) {
    b.resize((b.size() + alignment - 1) / alignment * alignment);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.resize(b.size() + n);
    return *this;
  }
};

// The message of the InputError that parsing `bytes` throws ("" if it parses).
std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    GgufFile g(bytes, "mem.gguf");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_PARSE_ERROR(bytes, substr)                                           \
  do {                                                                              \
    const std::string msg_ = parse_error(bytes);                                    \
    EXPECT_NE(msg_.find(substr), std::string::npos) << "message: '" << msg_ << "'"; \
  } while (0)

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  // A small valid file with metadata and one tensor of each dtype the runtime uses.
  std::string write_sample(const std::string& name, uint32_t alignment = 32) {
    GgufWriter w;
    w.set("general.architecture", GgufValue::of_string("llama"));
    w.set("llama.block_count", GgufValue::of_u32(2));
    w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "hello"}));
    w.add_tensor("f32", DType::F32, {3, 2}, f32_.data());
    w.add_tensor("f16", DType::F16, {5}, f16_.data());
    w.add_tensor("bf16", DType::BF16, {2, 2}, bf16_.data());
    w.add_tensor("q8_0", DType::Q8_0, {64}, q8_.data());
    const std::string path = file(name);
    w.write(path, alignment);
    return path;
  }

  std::string dir_;
  std::vector<float> f32_{1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, -1e8f};
  std::vector<uint16_t> f16_{0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000};
  std::vector<uint16_t> bf16_{0x3f80, 0xbf80, 0x4049, 0x0000};
  std::vector<uint8_t> q8_ = [] {
    std::vector<uint8_t> v(2 * 34);
    for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<uint8_t>(k * 7 + 3);
    return v;
  }();
};

GgufValue scalar(GgufType t, int64_t i, uint64_t u) {
  GgufValue v;
  v.type = t;
  v.i = i;
  v.u = u;
  return v;
}

GgufValue array_of(GgufType elem, std::vector<GgufValue> elems) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = elem;
  v.arr = std::move(elems);
  return v;
}

TEST_F(GgufTest, RoundTripEveryValueType) {
  GgufWriter w;
  w.set("u8", scalar(GgufType::UINT8, 0, 255));
  w.set("i8", scalar(GgufType::INT8, -128, 0));
  w.set("u16", scalar(GgufType::UINT16, 0, 65535));
  w.set("i16", scalar(GgufType::INT16, -32768, 0));
  w.set("u32", GgufValue::of_u32(4000000000u));
  w.set("i32", GgufValue::of_i32(-2000000000));
  w.set("u64", scalar(GgufType::UINT64, 0, std::numeric_limits<uint64_t>::max()));
  w.set("i64", scalar(GgufType::INT64, std::numeric_limits<int64_t>::min(), 0));
  w.set("f32", GgufValue::of_f32(0.1f));
  GgufValue f64;
  f64.type = GgufType::FLOAT64;
  f64.f = 0.1;
  w.set("f64", f64);
  w.set("yes", GgufValue::of_bool(true));
  w.set("no", GgufValue::of_bool(false));
  w.set("str", GgufValue::of_string(std::string("a\0b \xe2\x96\x81x", 8)));
  w.set("empty", GgufValue::of_string(""));
  w.set("strs", GgufValue::of_strings({"", "x", "yz"}));
  w.set("f32s", GgufValue::of_f32s({1.0f, -0.5f}));
  w.set("i32s", GgufValue::of_i32s({-1, 0, 7}));
  w.set("u8s", array_of(GgufType::UINT8,
                        {scalar(GgufType::UINT8, 0, 1), scalar(GgufType::UINT8, 0, 200)}));
  w.set("no_elems", array_of(GgufType::UINT64, {}));
  // [[1, 2], [], [[3]]] is not uniform, so nest a level deeper only inside an array of arrays.
  GgufValue inner1 = GgufValue::of_i32s({1, 2}), inner2 = GgufValue::of_i32s({});
  GgufValue deep =
      array_of(GgufType::ARRAY, {array_of(GgufType::ARRAY, {GgufValue::of_strings({"d"})})});
  w.set("nested", array_of(GgufType::ARRAY, {inner1, inner2}));
  w.set("deep", deep);
  w.set("u32", GgufValue::of_u32(4000000001u));  // replaces, keeps the first position
  const std::string path = file("values.gguf");
  w.write(path);

  GgufFile g(path);
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.path(), path);
  EXPECT_EQ(g.metadata().size(), 21u);  // no general.alignment at the default alignment
  EXPECT_TRUE(g.tensors().empty());
  EXPECT_EQ(g.get_int("u8", 0), 255);
  EXPECT_EQ(g.find("u8")->type, GgufType::UINT8);
  EXPECT_EQ(g.get_int("i8", 0), -128);
  EXPECT_EQ(g.find("i8")->type, GgufType::INT8);
  EXPECT_EQ(g.get_int("u16", 0), 65535);
  EXPECT_EQ(g.get_int("i16", 0), -32768);
  EXPECT_EQ(g.get_int("u32", 0), 4000000001);
  EXPECT_EQ(g.find("u32")->u, 4000000001u);
  EXPECT_EQ(g.get_int("i32", 0), -2000000000);
  EXPECT_EQ(g.find("u64")->u, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(g.get_int("i64", 0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(g.get_float("f32", 0), static_cast<double>(0.1f));
  EXPECT_EQ(g.find("f32")->type, GgufType::FLOAT32);
  EXPECT_EQ(g.get_float("f64", 0), 0.1);
  EXPECT_EQ(g.find("f64")->type, GgufType::FLOAT64);
  EXPECT_TRUE(g.get_bool("yes", false));
  EXPECT_FALSE(g.get_bool("no", true));
  EXPECT_EQ(g.get_string("str"), std::string("a\0b \xe2\x96\x81x", 8));
  EXPECT_EQ(g.get_string("empty", "dflt"), "");
  EXPECT_EQ(g.get_string_array("strs"), (std::vector<std::string>{"", "x", "yz"}));
  EXPECT_EQ(g.get_float_array("f32s"), (std::vector<float>{1.0f, -0.5f}));
  EXPECT_EQ(g.get_int_array("i32s"), (std::vector<int32_t>{-1, 0, 7}));
  EXPECT_EQ(g.get_int_array("u8s"), (std::vector<int32_t>{1, 200}));
  EXPECT_EQ(g.find("u8s")->elem_type, GgufType::UINT8);
  EXPECT_TRUE(g.find("no_elems")->arr.empty());
  EXPECT_EQ(g.find("no_elems")->elem_type, GgufType::UINT64);

  const GgufValue* nested = g.find("nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elem_type, GgufType::ARRAY);
  ASSERT_EQ(nested->arr.size(), 2u);
  EXPECT_EQ(nested->arr[0].elem_type, GgufType::INT32);
  ASSERT_EQ(nested->arr[0].arr.size(), 2u);
  EXPECT_EQ(nested->arr[0].arr[1].i, 2);
  EXPECT_TRUE(nested->arr[1].arr.empty());
  const GgufValue* d = g.find("deep");
  ASSERT_EQ(d->arr.size(), 1u);
  ASSERT_EQ(d->arr[0].arr.size(), 1u);
  ASSERT_EQ(d->arr[0].arr[0].arr.size(), 1u);
  EXPECT_EQ(d->arr[0].arr[0].arr[0].s, "d");

  // Keys are written in insertion order: the first key in the file is "u8".
  const auto bytes = slurp_bytes(path);
  uint64_t len = 0;
  std::memcpy(&len, bytes.data() + 24, 8);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()) + 32, 2), "u8");
}

TEST_F(GgufTest, RoundTripTensorsOfEveryDtype) {
  for (uint32_t alignment : {32u, 64u, 1u}) {
    SCOPED_TRACE(alignment);
    const std::string path = write_sample("tensors.gguf", alignment);
    GgufFile g(path);
    ASSERT_EQ(g.tensors().size(), 4u);
    EXPECT_EQ(g.get_string("general.architecture"), "llama");
    EXPECT_EQ(g.get_int("general.alignment", 32), alignment);
    const auto bytes = slurp_bytes(path);

    auto check = [&](const std::string& name, DType type, std::vector<uint64_t> ne,
                     const void* data, size_t nbytes) {
      const GgufTensor* t = g.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->name, name);
      EXPECT_EQ(t->type, type);
      EXPECT_EQ(t->ne, ne);
      EXPECT_EQ(t->nbytes, nbytes);
      EXPECT_EQ(t->offset % alignment, 0u);
      ASSERT_NE(t->data, nullptr);
      EXPECT_EQ(std::memcmp(t->data, data, nbytes), 0) << name;
      // Data lies on an aligned file offset (the mapping itself is page-aligned).
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % alignment, 0u);
    };
    check("f32", DType::F32, {3, 2}, f32_.data(), 24);
    check("f16", DType::F16, {5}, f16_.data(), 10);
    check("bf16", DType::BF16, {2, 2}, bf16_.data(), 8);
    check("q8_0", DType::Q8_0, {64}, q8_.data(), 68);
    EXPECT_EQ(g.find_tensor("f32")->n_elements(), 6u);
    EXPECT_EQ(g.find_tensor("missing"), nullptr);
    EXPECT_EQ(g.tensors()[0].name, "f32");  // file order
    EXPECT_EQ(g.tensors()[3].name, "q8_0");

    // The same bytes parse identically from memory.
    GgufFile m(bytes, "mem");
    ASSERT_EQ(m.tensors().size(), 4u);
    EXPECT_EQ(m.path(), "mem");
    const GgufTensor* q = m.find_tensor("q8_0");
    EXPECT_EQ(q->offset, g.find_tensor("q8_0")->offset);
    EXPECT_EQ(std::memcmp(q->data, q8_.data(), q8_.size()), 0);
  }
  // Nothing but the output is left in the directory (the temporary file was renamed).
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    entries += e.path().filename() == "tensors.gguf" ? 1 : 100;
  EXPECT_EQ(entries, 1u);
}

TEST_F(GgufTest, TypedGettersRejectWrongTypes) {
  const std::string path = write_sample("getters.gguf");
  GgufFile g(path);
  EXPECT_EQ(g.get_string("absent", "d"), "d");
  EXPECT_EQ(g.get_int("absent", -5), -5);
  EXPECT_EQ(g.get_float("absent", 2.5), 2.5);
  EXPECT_TRUE(g.get_bool("absent", true));
  EXPECT_TRUE(g.get_string_array("absent").empty());
  EXPECT_FALSE(g.has("absent"));
  EXPECT_TRUE(g.has("llama.block_count"));
  EXPECT_EQ(g.get_float("llama.block_count", 0), 2.0);  // integers read as floats

  auto error = [](auto&& fn) {
    try {
      fn();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error([&] { g.get_int("general.architecture", 0); }),
            path + ": key 'general.architecture' is a string, expected an integer");
  EXPECT_EQ(error([&] { g.get_string("llama.block_count"); }),
            path + ": key 'llama.block_count' is a uint32, expected a string");
  EXPECT_NE(error([&] { g.get_bool("llama.block_count", false); }).find("expected a bool"),
            std::string::npos);
  EXPECT_NE(error([&] {
              g.get_float("tokenizer.ggml.tokens", 0);
            }).find("key 'tokenizer.ggml.tokens' is a array of string, expected a number"),
            std::string::npos);
  EXPECT_NE(error([&] { g.get_int_array("tokenizer.ggml.tokens"); }).find("tokenizer.ggml.tokens"),
            std::string::npos);
  EXPECT_NE(error([&] { g.get_float_array("general.architecture"); }).find("general.architecture"),
            std::string::npos);
  EXPECT_NE(error([&] { g.get_string_array("llama.block_count"); }).find("llama.block_count"),
            std::string::npos);
  EXPECT_EQ(error([&] { g.fail("missing tensor x"); }), path + ": missing tensor x");

  // Integers that do not fit the getter's type.
  GgufWriter w;
  w.set("big", scalar(GgufType::UINT64, 0, uint64_t{1} << 63));
  w.set("wide", array_of(GgufType::INT64, {scalar(GgufType::INT64, int64_t{1} << 40, 0)}));
  w.write(file("big.gguf"));
  GgufFile b(file("big.gguf"));
  EXPECT_NE(error([&] { b.get_int("big", 0); }).find("key 'big' value 9223372036854775808"),
            std::string::npos);
  EXPECT_NE(error([&] { b.get_int_array("wide"); }).find("does not fit in int32"),
            std::string::npos);
  EXPECT_EQ(b.get_float("big", 0), 9223372036854775808.0);
}

TEST(GgufVocab, ReadsLlamaSpmVocabulary) {
  GgufFile g(SINKSCOPE_SHARED_DIR "/models/vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(g.version(), 3u);
  EXPECT_TRUE(g.tensors().empty());
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "llama");
  const auto tokens = g.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 32000u);
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(g.get_float_array("tokenizer.ggml.scores").size(), 32000u);
  EXPECT_EQ(g.get_int_array("tokenizer.ggml.token_type").size(), 32000u);
  EXPECT_EQ(g.get_int("tokenizer.ggml.bos_token_id", -1), 1);
  EXPECT_EQ(g.get_int("tokenizer.ggml.eos_token_id", -1), 2);
}

TEST(GgufVocab, ReadsGpt2Vocabulary) {
  GgufFile g(SINKSCOPE_SHARED_DIR "/models/vocab/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g.get_string_array("tokenizer.ggml.tokens").size(), 50257u);
  EXPECT_EQ(g.get_string_array("tokenizer.ggml.merges").size(), 50000u);
}

TEST_F(GgufTest, WriteThenRewriteSameFileRoundTrips) {
  // Rewriting what the reader returned reproduces the file byte for byte.
  const std::string path = write_sample("a.gguf");
  GgufFile g(path);
  GgufWriter w;
  for (const std::string key :
       {"general.architecture", "llama.block_count", "tokenizer.ggml.tokens"})
    w.set(key, *g.find(key));
  for (const GgufTensor& t : g.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data);
  w.write(file("b.gguf"));
  EXPECT_EQ(slurp_bytes(path), slurp_bytes(file("b.gguf")));
}

TEST_F(GgufTest, TruncatedFilesThrow) {
  const auto bytes = slurp_bytes(write_sample("whole.gguf"));
  ASSERT_GT(bytes.size(), 300u);
  // Every sixteenth, through the file path...
  for (size_t k = 0; k < 16; ++k) {
    const size_t len = bytes.size() * k / 16;
    SCOPED_TRACE(len);
    const std::string path = file("cut.gguf");
    spit_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(len)));
    try {
      GgufFile g(path);
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
      bool expected = false;
      for (const char* what :
           {"truncated: ", "extends past the end of the file", "header claims", "bytes are left"})
        expected |= msg.find(what) != std::string::npos;
      EXPECT_TRUE(expected) << msg;
    }
  }
  // ...and every length from memory. The last tensor (68 bytes) is followed by 28 bytes of
  // padding, which may be missing.
  const size_t data_end = bytes.size() - 28;
  for (size_t len = 0; len < data_end; ++len) {
    EXPECT_NE(
        parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(len))),
        "")
        << len;
  }
  EXPECT_EQ(
      parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(data_end))),
      "");
  EXPECT_PARSE_ERROR(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 30),
                     "header claims 4 tensors, file is 30 bytes");
  EXPECT_PARSE_ERROR(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 160),
                     "value of key 'tokenizer.ggml.tokens' is an array of 4 elements");
  EXPECT_PARSE_ERROR(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 220),
                     "truncated: tensor info 1 of 4");
}

TEST(GgufMalformed, HugeCountsFailFast) {
  EXPECT_PARSE_ERROR(Bytes().header(uint64_t{1} << 40, 0).zeros(100).b,
                     "mem.gguf: header claims 1099511627776 tensors, file is 124 bytes");
  EXPECT_PARSE_ERROR(Bytes().header(0, uint64_t{1} << 40).zeros(100).b,
                     "mem.gguf: header claims 1099511627776 key-value pairs, file is 124 bytes");
  EXPECT_PARSE_ERROR(Bytes().header(0, std::numeric_limits<uint64_t>::max()).b, "key-value pairs");
  // An array claiming 2^40 elements.
  EXPECT_PARSE_ERROR(
      Bytes()
          .header(0, 1)
          .str("a")
          .put<uint32_t>(9)
          .put<uint32_t>(4)
          .put(uint64_t{1} << 40)
          .zeros(64)
          .b,
      "value of key 'a' is an array of 1099511627776 elements, but only 64 bytes are left");
}

TEST(GgufMalformed, MetadataArraysAreCapped) {
  // Elements are ~100 bytes each once parsed, so their total is capped even when the file
  // holds enough bytes for them; the check comes before any allocation.
  constexpr uint64_t kCap = uint64_t{1} << 22;
  EXPECT_PARSE_ERROR(Bytes()
                         .header(0, 1)
                         .str("a")
                         .put<uint32_t>(9)
                         .put<uint32_t>(0)
                         .put(kCap + 1)
                         .zeros(kCap + 1)
                         .b,
                     "metadata arrays hold more than 4194304 elements in total");
}

TEST(GgufMalformed, StringPastEndOfFile) {
  EXPECT_PARSE_ERROR(Bytes().header(0, 1).put<uint64_t>(1000).zeros(20).b,
                     "truncated: key 1 of 1 (string of 1000 bytes, 20 left)");
  EXPECT_PARSE_ERROR(Bytes().header(0, 1).str("k").put<uint32_t>(8).put(uint64_t{1} << 62).b,
                     "truncated: value of key 'k' (string of 4611686018427387904 bytes, 0 left)");
  EXPECT_PARSE_ERROR(
      Bytes().header(1, 1).str("k").put<uint32_t>(4).put<uint32_t>(1).put<uint64_t>(99).zeros(30).b,
      "truncated: tensor info 1 of 1 (string of 99 bytes");
}

TEST(GgufMalformed, BadHeader) {
  EXPECT_PARSE_ERROR(Bytes().put<uint32_t>(0x46554746).put<uint32_t>(3).zeros(16).b,
                     "mem.gguf: not a GGUF file (bad magic)");
  EXPECT_PARSE_ERROR(Bytes().put<uint16_t>(0x4747).b, "mem.gguf: truncated: header");
  EXPECT_PARSE_ERROR(Bytes().b, "truncated: header");
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 1).b, "GGUF version 1 is not supported");
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 7).b, "unsupported GGUF version 7");
  EXPECT_PARSE_ERROR(Bytes().header(0, 0, 0x03000000).b, "big-endian");
  EXPECT_EQ(parse_error(Bytes().header(0, 0, 2).b), "");  // v2 has the same layout
  EXPECT_EQ(parse_error(Bytes().header(0, 0).b), "");
}

TEST(GgufMalformed, BadMetadata) {
  EXPECT_PARSE_ERROR(Bytes()
                         .header(0, 2)
                         .str("k")
                         .put<uint32_t>(7)
                         .put<uint8_t>(1)
                         .str("k")
                         .put<uint32_t>(7)
                         .put<uint8_t>(0)
                         .b,
                     "mem.gguf: duplicate key 'k'");
  EXPECT_PARSE_ERROR(Bytes().header(0, 1).str("k").put<uint32_t>(13).zeros(16).b,
                     "value of key 'k' has unknown type 13");
  EXPECT_PARSE_ERROR(
      Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(42).put<uint64_t>(0).b,
      "value of key 'k' is an array of unknown type 42");
  EXPECT_PARSE_ERROR(Bytes().header(0, 1).str("k\n\x01").put<uint32_t>(13).zeros(16).b,
                     "key 'k\\x0a\\x01'");
  // Arrays nested 9 deep (8 are allowed).
  Bytes deep;
  deep.header(0, 1).str("k").put<uint32_t>(9);
  for (int k = 0; k < 8; ++k) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.put<uint32_t>(4).put<uint64_t>(0);
  EXPECT_PARSE_ERROR(deep.b, "value of key 'k' nests arrays deeper than 8");
  Bytes ok;
  ok.header(0, 1).str("k").put<uint32_t>(9);
  for (int k = 0; k < 7; ++k) ok.put<uint32_t>(9).put<uint64_t>(1);
  ok.put<uint32_t>(4).put<uint64_t>(0);
  EXPECT_EQ(parse_error(ok.b), "");
}

TEST(GgufMalformed, BadAlignment) {
  auto with_alignment = [](uint32_t a) {
    return Bytes().header(0, 1).str("general.alignment").put<uint32_t>(4).put(a).b;
  };
  EXPECT_PARSE_ERROR(with_alignment(48),
                     "mem.gguf: general.alignment must be a nonzero power of two, got 48");
  EXPECT_PARSE_ERROR(with_alignment(0), "general.alignment must be a nonzero power of two, got 0");
  EXPECT_EQ(parse_error(with_alignment(8)), "");
  EXPECT_PARSE_ERROR(Bytes().header(0, 1).str("general.alignment").put<uint32_t>(8).str("32").b,
                     "general.alignment must be a nonzero power of two, got string");
}

TEST(GgufMalformed, BadTensorInfo) {
  auto one = [](uint64_t ne0, uint32_t type, uint64_t offset, size_t data) {
    return Bytes().header(1, 0).tensor("w", ne0, type, offset).pad().zeros(data).b;
  };
  EXPECT_EQ(parse_error(one(4, 0, 0, 16)), "");
  EXPECT_PARSE_ERROR(one(4, 0, 0, 15), "mem.gguf: tensor 'w' extends past the end of the file");
  EXPECT_PARSE_ERROR(one(4, 0, 32, 40), "tensor 'w' extends past the end of the file");
  EXPECT_PARSE_ERROR(one(4, 0, std::numeric_limits<uint64_t>::max() - 31, 40),
                     "extends past the end");
  EXPECT_PARSE_ERROR(one(4, 99, 0, 16), "mem.gguf: tensor 'w' has unknown type 99");
  EXPECT_PARSE_ERROR(one(4, 0, 4, 64), "tensor 'w' offset 4 is not a multiple of the alignment 32");
  EXPECT_PARSE_ERROR(one(33, 8, 0, 64),
                     "tensor 'w' has ne[0] = 33, not a multiple of the block size 32 of Q8_0");
  EXPECT_PARSE_ERROR(one(uint64_t{1} << 63, 0, 0, 64), "tensor 'w' has too many elements");
  // nbytes overflows even though the element count fits.
  EXPECT_PARSE_ERROR(one(uint64_t{1} << 62, 0, 0, 64), "tensor 'w' has too many elements");
  // A file that ends before the data section, with a tensor.
  EXPECT_PARSE_ERROR(Bytes().header(1, 0).tensor("w", 0, 0, 0).b,
                     "tensor 'w' extends past the end");

  // Shape overflow across dimensions, too many dimensions, duplicate names.
  EXPECT_PARSE_ERROR(Bytes()
                         .header(1, 0)
                         .str("w")
                         .put<uint32_t>(2)
                         .put(uint64_t{1} << 32)
                         .put(uint64_t{1} << 32)
                         .put<uint32_t>(0)
                         .put<uint64_t>(0)
                         .pad()
                         .b,
                     "tensor 'w' has too many elements");
  EXPECT_PARSE_ERROR(Bytes().header(1, 0).str("w").put<uint32_t>(5).zeros(60).b,
                     "tensor 'w' has 5 dimensions (must be 1 to 4)");
  EXPECT_PARSE_ERROR(
      Bytes().header(2, 0).tensor("w", 4, 0, 0).tensor("w", 4, 0, 32).pad().zeros(64).b,
      "duplicate tensor name 'w'");
  EXPECT_PARSE_ERROR(Bytes().header(2, 0).tensor(std::string(40, 'w'), 4, 0, 0).str("v").b,
                     "truncated: tensor info 2 of 2");
}

TEST_F(GgufTest, WriterErrors) {
  GgufWriter w;
  w.set("k", GgufValue::of_u32(1));
  const std::string missing = file("no/such/dir/x.gguf");
  try {
    w.write(missing);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot write: No such file or directory");
  }
  EXPECT_THROW(w.write(file("x.gguf"), 48), InputError);

  GgufWriter bad_value;
  bad_value.set("small", scalar(GgufType::UINT8, 0, 256));
  EXPECT_THROW(bad_value.write(file("x.gguf")), InputError);
  GgufWriter mixed;
  mixed.set("mixed", array_of(GgufType::INT32, {GgufValue::of_string("x")}));
  EXPECT_THROW(mixed.write(file("x.gguf")), InputError);

  const float data[4] = {};
  GgufWriter dup;
  dup.add_tensor("t", DType::F32, {4}, data);
  dup.add_tensor("t", DType::F32, {4}, data);
  EXPECT_THROW(dup.write(file("x.gguf")), InputError);
  GgufWriter block;
  block.add_tensor("t", DType::Q8_0, {4}, data);
  EXPECT_THROW(block.write(file("x.gguf")), InputError);
  EXPECT_FALSE(fs::exists(file("x.gguf")));  // nothing written by any failure
}

#undef EXPECT_PARSE_ERROR  // keep it out of the files after this one in a unity build

}  // namespace
}  // namespace ss
