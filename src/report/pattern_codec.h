#pragma once
// How the attention viewer stores patterns (report/attention_view.h): a head's packed lower
// triangle (analysis/triangle_capture.h) quantised to b-bit codes, code = round(α·(2^b − 1)),
// one byte per cell, zlib-deflated (the browser inflates it with DecompressionStream) and
// base64-encoded. A dequantised value code/(2^b − 1) is within half a step, 1/(2(2^b − 1)), of
// α. Eight bits unless the file's size budget asks for fewer (choose_levels).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ss {

constexpr int kPatternMaxBits = 8, kPatternMinBits = 2;

// The step 1/(2^bits − 1) of b-bit codes.
double pattern_step(int bits);
std::vector<uint8_t> quantize_pattern(std::span<const float> values, int bits);

// zlib (RFC 1950) streams, as DecompressionStream("deflate") reads them: the smaller of run-length
// coding and zlib level 1.
std::string deflate_bytes(std::span<const uint8_t> bytes);
std::vector<uint8_t> inflate_bytes(std::string_view z);  // std::runtime_error on a bad stream

std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);  // std::runtime_error on a bad character

// One head's pattern at a number of bits: the deflated codes.
struct PatternLevel {
  int bits = kPatternMaxBits;
  std::string deflated;
};

// The levels of one head from 8 bits down, each coarser one made only while the last is larger
// than `cap` bytes (so the last is at most cap, or at kPatternMinBits).
std::vector<PatternLevel> encode_levels(std::span<const float> values, size_t cap);

// Picks one level per head (an index into each head's levels) so that the deflated sizes sum to
// at most `budget` bytes where that can be done, finest first: every head gets its finest level
// that fits a common cap, the largest cap whose total fits. Heads whose coarsest level is above
// the cap keep it.
std::vector<size_t> choose_levels(const std::vector<std::vector<PatternLevel>>& heads,
                                  size_t budget);

}  // namespace ss
