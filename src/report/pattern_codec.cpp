#include "report/pattern_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ss {

double pattern_step(int bits) {
  return 1.0 / static_cast<double>((1 << bits) - 1);
}

std::vector<uint8_t> quantize_pattern(std::span<const float> values, int bits) {
  const float top = static_cast<float>((1 << bits) - 1);
  std::vector<uint8_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = std::clamp(values[i], 0.0f, 1.0f) * top;
    out[i] = static_cast<uint8_t>(std::lround(v));
  }
  return out;
}

namespace {
std::string deflate_with(std::span<const uint8_t> bytes, int level, int strategy) {
  z_stream s{};
  if (deflateInit2(&s, level, Z_DEFLATED, 15, 9, strategy) != Z_OK)
    throw std::runtime_error("zlib deflateInit2 failed");
  std::string out(deflateBound(&s, static_cast<uLong>(bytes.size())), '\0');
  s.next_in = const_cast<Bytef*>(bytes.data());
  s.avail_in = static_cast<uInt>(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib deflate failed");
  return out;
}
}  // namespace

std::string deflate_bytes(std::span<const uint8_t> bytes) {
  // Run lengths only (zeros in rows and columns), or zlib's fastest full search, whichever is
  // smaller: both take milliseconds where level 9 takes up to a second on a noisy 512-token head,
  // and on such heads run lengths are even the smaller.
  std::string rle = deflate_with(bytes, 9, Z_RLE);
  std::string lz = deflate_with(bytes, 1, Z_DEFAULT_STRATEGY);
  return rle.size() <= lz.size() ? rle : lz;
}

std::vector<uint8_t> inflate_bytes(std::string_view z) {
  z_stream s{};
  if (inflateInit(&s) != Z_OK) throw std::runtime_error("zlib inflateInit failed");
  std::vector<uint8_t> out;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  s.avail_in = static_cast<uInt>(z.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    const size_t done = out.size();
    out.resize(done + 65536);
    s.next_out = out.data() + done;
    s.avail_out = 65536;
    rc = inflate(&s, Z_NO_FLUSH);
    out.resize(done + 65536 - s.avail_out);
    if (rc == Z_BUF_ERROR && s.avail_in == 0) break;
  }
  inflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("not a complete zlib stream");
  return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    for (int s : {18, 12, 6, 0}) out += kB64[(v >> s) & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    const uint32_t v = (p[i] << 16) | (rest > 1 ? p[i + 1] << 8 : 0);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += rest > 1 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const char* at = std::find(kB64, kB64 + 64, c);
    if (at == kB64 + 64) throw std::runtime_error("not base64");
    acc = (acc << 6) | static_cast<uint32_t>(at - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::vector<PatternLevel> encode_levels(std::span<const float> values, size_t cap) {
  std::vector<PatternLevel> levels;
  for (int bits = kPatternMaxBits; bits >= kPatternMinBits; --bits) {
    levels.push_back({bits, deflate_bytes(quantize_pattern(values, bits))});
    if (levels.back().deflated.size() <= cap) break;
  }
  return levels;
}

std::vector<size_t> choose_levels(const std::vector<std::vector<PatternLevel>>& heads,
                                  size_t budget) {
  auto pick = [&](size_t cap, std::vector<size_t>* chosen) {
    size_t total = 0;
    for (size_t h = 0; h < heads.size(); ++h) {
      size_t i = 0;
      while (i + 1 < heads[h].size() && heads[h][i].deflated.size() > cap) ++i;
      total += heads[h][i].deflated.size();
      if (chosen) (*chosen)[h] = i;
    }
    return total;
  };
  std::vector<size_t> caps;
  for (const auto& levels : heads)
    for (const auto& l : levels) caps.push_back(l.deflated.size());
  std::sort(caps.begin(), caps.end());
  caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
  std::vector<size_t> chosen(heads.size(), 0);
  if (caps.empty()) return chosen;
  // The total only grows with the cap: the largest cap that fits, else the smallest.
  size_t lo = 0, hi = caps.size();  // caps[lo-1] fits; caps[hi] does not
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (pick(caps[mid], nullptr) <= budget)
      lo = mid + 1;
    else
      hi = mid;
  }
  pick(caps[lo > 0 ? lo - 1 : 0], &chosen);
  return chosen;
}

}  // namespace ss
