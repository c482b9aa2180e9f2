#pragma once
// Helpers shared by the structure-aware fuzz targets (fuzz_model, fuzz_hf_config, fuzz_task):
// reading the fuzz input as a stream of choices, a scratch folder, a small tokenizer, the forward
// pass whose result must be finite, and the --make-seeds mode that writes a target's seed corpus.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "model/arch.h"
#include "model/model.h"
#include "runtime/runtime.h"
#include "tokenizer/vocab.h"

namespace ss::fuzz {

// A failed invariant: the input is a bug reproducer. abort() makes libFuzzer save it.
[[noreturn]] inline void bug(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// SINKSCOPE_FUZZ_VERBOSE set: says how a run ended (to look at a corpus or a reproducer).
inline void verbose(const std::string& what) {
  static const bool on = std::getenv("SINKSCOPE_FUZZ_VERBOSE") != nullptr;
  if (on) std::fprintf(stderr, "%s\n", what.c_str());
}

// The fuzz input read front to back as choices; past its end every read is 0, so a short input
// is a valid (unmutated) case.
class Choices {
 public:
  Choices(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  size_t left() const { return n_; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16() | (static_cast<uint32_t>(u16()) << 16)); }
  float f32() {
    const uint32_t bits = u32();
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  // One of n (n > 0).
  size_t pick(size_t n) { return n <= 256 ? u8() % n : u16() % n; }
  // The rest of the input as bytes.
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(p_), n_);
    p_ += n_;
    n_ = 0;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// A folder of this process for the files a run writes ($TMPDIR or /dev/shm, which avoids disk),
// removed at exit (the string is never destroyed, so the exit handler can still read it).
inline const std::string& scratch_dir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp ? tmp : "/dev/shm";
    if (!std::filesystem::is_directory(base)) base = "/tmp";
    auto* d = new std::string(base + "/sinkscope-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}

// A SentencePiece vocabulary small enough for fast runs: <unk>, <s>, </s>, the 256 byte tokens
// and a few pieces.
inline Vocab small_spm_vocab() {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.types.push_back(TokenType::Byte);
  }
  const char* pieces[] = {"\xe2\x96\x81",
                          "\xe2\x96\x81t",
                          "he",
                          "\xe2\x96\x81the",
                          "e",
                          "t",
                          "a",
                          "o",
                          "n",
                          "\xe2\x96\x81\x61",
                          "in"};
  for (const char* p : pieces) {
    v.tokens.push_back(p);
    v.types.push_back(TokenType::Normal);
  }
  v.scores.resize(v.tokens.size());
  for (size_t i = 0; i < v.scores.size(); ++i) v.scores[i] = -static_cast<float>(i);
  return v;
}

// GPT-2's byte-to-character map: printable bytes stand for themselves, the others take code
// points from 256 up, in byte order (UTF-8 encoded).
inline std::string byte_char(int b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  int cp = b;
  if (!printable) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) ++cp;
  }
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Pieces and merges of a small byte-level BPE vocabulary: the 256 byte characters, a few merged
// pieces, and <|endoftext|> last.
struct SmallBpe {
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
};
inline SmallBpe small_bpe_vocab() {
  SmallBpe v;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(byte_char(b));
    v.types.push_back(static_cast<int32_t>(TokenType::Normal));
  }
  const std::string sp = byte_char(' ');
  const std::pair<std::string, std::string> merges[] = {
      {sp, "t"}, {"h", "e"}, {sp + "t", "he"}, {"i", "n"}, {sp, "a"}};
  for (const auto& [a, b] : merges) {
    v.merges.push_back(a + " " + b);
    v.tokens.push_back(a + b);
    v.types.push_back(static_cast<int32_t>(TokenType::Normal));
  }
  v.tokens.push_back("<|endoftext|>");
  v.types.push_back(static_cast<int32_t>(TokenType::Control));
  return v;
}

// Runs ids through the model in one or two forward calls (the second at positions after the
// first, through the KV cache) on one thread. An InputError passes through; logits of the wrong
// size or not finite are a bug.
inline void checked_forward(const Model& m, const std::vector<int>& ids, size_t split) {
  static ThreadPool pool(1);
  Runtime rt(m, pool, static_cast<int>(ids.size()));
  split = split % ids.size();
  const size_t parts[2][2] = {{0, split}, {split, ids.size()}};
  for (const auto& [b, e] : parts) {
    if (b == e) continue;
    const std::vector<int> part(ids.begin() + static_cast<std::ptrdiff_t>(b),
                                ids.begin() + static_cast<std::ptrdiff_t>(e));
    const std::vector<float> logits = rt.forward(part, static_cast<int>(b), Logits::All);
    if (logits.size() != part.size() * static_cast<size_t>(m.config.vocab_size))
      bug("forward returned " + std::to_string(logits.size()) + " logits for " +
          std::to_string(part.size()) + " tokens of a vocabulary of " +
          std::to_string(m.config.vocab_size));
    for (size_t i = 0; i < logits.size(); ++i)
      if (!std::isfinite(logits[i]))
        bug("logit " + std::to_string(i) + " is " + std::to_string(logits[i]) +
            " and no InputError was thrown");
  }
}

// x as an integer, saturated (0 for NaN), without the undefined conversion of an out-of-range
// float.
inline int64_t saturate(double x) {
  if (!(x == x)) return 0;
  if (x >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (x <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

// An integer for a value that was orig: edge cases, neighbours, raw bytes of the input.
inline int64_t pick_int(Choices& ch, int64_t orig) {
  switch (ch.u8() % 20) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return -1;
    case 3:
      return 2;
    case 4:
      return 3;
    case 5:
      return static_cast<int64_t>(static_cast<uint64_t>(orig) + 1);  // wrapping
    case 6:
      return static_cast<int64_t>(static_cast<uint64_t>(orig) - 1);
    case 7:
      return static_cast<int64_t>(static_cast<uint64_t>(orig) * 2);
    case 8:
      return orig / 2;
    case 9:
      return std::numeric_limits<int32_t>::max();
    case 10:
      return int64_t{1} << 31;
    case 11:
      return std::numeric_limits<uint32_t>::max();
    case 12:
      return int64_t{1} << 24;
    case 13:
      return (int64_t{1} << 24) - 1;
    case 14:
      return std::numeric_limits<int64_t>::min();
    case 15:
      return ch.u32();
    case 16:
      return ch.u8();
    case 17:
      return 7;
    case 18:
      return int64_t{1} << 20;
    default:
      return -static_cast<int64_t>(ch.u16());
  }
}

// A float for a value that was orig: zeros, NaN, infinities, extremes, neighbours.
inline double pick_float(Choices& ch, double orig) {
  switch (ch.u8() % 20) {
    case 0:
      return 0;
    case 1:
      return -0.0;
    case 2:
      return -1;
    case 3:
      return std::nan("");
    case 4:
      return INFINITY;
    case 5:
      return -INFINITY;
    case 6:
      return 1e-30;
    case 7:
      return 1e30;
    case 8:
      return 3.5e38;
    case 9:
      return 1e-45;
    case 10:
      return orig * 2;
    case 11:
      return orig / 2;
    case 12:
      return orig * 1e6;
    case 13:
      return 0.5;
    case 14:
      return 1;
    case 15:
      return ch.f32();
    case 16:
      return 1e300;
    case 17:
      return -orig;
    case 18:
      return 1e-8;
    default:
      return 65504;
  }
}

// A change of a synth configuration: the model stays consistent, of an unusual shape (the caller
// runs apply_arch after).
inline void tweak_config(Choices& ch, ModelConfig& c) {
  const uint8_t v = ch.u8();
  switch (ch.u8() % 18) {
    case 0:
      c.dim = std::array{2, 4, 8, 12, 16, 32, 48, 96}[v % 8];
      break;
    case 1:
      c.hidden_dim = std::array{1, 2, 3, 8, 16, 32, 64, 256}[v % 8];
      break;
    case 2:
      c.n_heads = 1 + v % 8;
      break;
    case 3:
      c.n_kv_heads = 1 + v % 8;
      break;
    case 4:
      c.head_dim = std::array{2, 4, 6, 8, 10, 16, 32, 64}[v % 8];
      break;
    case 5:
      c.n_layers = 1 + v % 7;
      break;
    case 6:
      c.max_seq_len = std::array{1, 2, 3, 4, 8, 16, 64, 4096}[v % 8];
      break;
    case 7:
      if (arch_of(c).sliding) c.sliding_window = std::array{0, 1, 2, 3, 5, 8, 100, 1}[v % 8];
      break;
    case 8:
      if (arch_of(c).partial_rope) c.rope_dims = std::array{0, 2, 4, 6, 8, 16, 32, 2}[v % 8];
      break;
    case 9:
      c.final_logit_softcap = std::array{0.0f, 0.01f, 1.0f, 30.0f}[v % 4];
      break;
    case 10:
      c.attn_logit_softcap = std::array{0.0f, 0.01f, 1.0f, 50.0f}[v % 4];
      break;
    case 11:
      c.norm_eps = std::array{1e-12f, 1e-6f, 1e-2f, 1.0f, 100.0f}[v % 5];
      break;
    case 12:
      c.rope_theta = std::array{1.5f, 2.0f, 10.0f, 1e4f, 1e6f, 1e9f}[v % 6];
      break;
    case 13:
      if (c.n_experts > 0) {
        c.n_experts = 1 + v % 8;
        c.n_experts_used = std::min(c.n_experts_used, c.n_experts);
      }
      break;
    case 14:
      if (c.n_experts > 0) c.n_experts_used = 1 + v % c.n_experts;
      break;
    case 15:
      if (c.yarn_factor > 0) {
        c.yarn_factor = std::array{1.0f, 2.0f, 32.0f, 1000.0f}[v % 4];
        c.yarn_orig_ctx = std::array{1, 2, 16, 64}[(v / 4) % 4];
      }
      break;
    case 16:
      c.rope_scale = std::array{0.5f, 1.0f, 2.0f, 8.0f}[v % 4];
      break;
    default:
      if (c.rope_orig_ctx > 0) c.rope_orig_ctx = std::array{1, 2, 4, 16}[v % 4];
      break;
  }
}

// --make-seeds=DIR among the arguments: the folder to write the seed corpus to, else "".
inline std::string make_seeds_dir(int argc, char** argv) {
  const std::string flag = "--make-seeds=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], flag.c_str(), flag.size()) == 0) return argv[i] + flag.size();
  return "";
}

inline void write_seed(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

}  // namespace ss::fuzz
