// base/utf8.h against an independent statement of RFC 3629 (decode by the lead byte's pattern,
// then reject overlong forms, surrogates and code points past U+10FFFF): every sequence of 1 to 3
// bytes, and 4-byte sequences over every lead byte with sampled continuations.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "base/text_file.h"
#include "base/utf8.h"

namespace ss {
namespace {

// Length of the valid character at s[0..n), or 0.
size_t reference_len(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  uint32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[k] & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void expect_same(const unsigned char* s, size_t n) {
  const size_t got = utf8_char_len(s, n), want = reference_len(s, n);
  ASSERT_EQ(got, want) << std::hex << int(s[0]) << " " << (n > 1 ? int(s[1]) : -1) << " "
                       << (n > 2 ? int(s[2]) : -1) << " n=" << n;
  if (got) {
    std::string back;
    utf8_append(back, utf8_decode(s, got));
    ASSERT_EQ(back, std::string(reinterpret_cast<const char*>(s), got));
  }
}

TEST(Utf8, CharLenAgreesWithReferenceOnEveryShortSequence) {
  unsigned char s[4] = {};
  for (int a = 0; a < 256; ++a) {
    s[0] = static_cast<unsigned char>(a);
    expect_same(s, 1);
    for (int b = 0; b < 256; ++b) {
      s[1] = static_cast<unsigned char>(b);
      expect_same(s, 2);
      for (int c = 0; c < 256; ++c) {
        s[2] = static_cast<unsigned char>(c);
        expect_same(s, 3);
      }
    }
  }
  std::mt19937 rng(5);
  for (int a = 0xF0; a < 0x100; ++a)
    for (int i = 0; i < 20000; ++i) {
      s[0] = static_cast<unsigned char>(a);
      for (int k = 1; k < 4; ++k) s[k] = static_cast<unsigned char>(0x80 + rng() % 0x40);
      if (i % 7 == 0) s[1 + i % 3] = static_cast<unsigned char>(rng());  // some not continuations
      expect_same(s, 4);
    }
}

TEST(Utf8, FindInvalidPointsAtTheFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("plain ascii", 0), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xF0\x9F\x99\x82", 0), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF", 0), 2u);        // overlong '/'
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80", 0), 2u);    // surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80", 0), 0u);  // past U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xE2\x82", 0), 2u);        // cut short
  EXPECT_EQ(find_invalid_utf8("\x80ok\x80", 1), 3u);        // from a position
  size_t replaced = 0;
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b\xC3",
                          &replaced),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(replaced, 2u);
}

}  // namespace
}  // namespace ss
