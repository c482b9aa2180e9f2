// SentencePiece-style BPE: golden ids from llama2.c (tok512), llama.cpp's SPM test vectors,
// added tokens as llama.cpp cuts them out (Phi-3), round trips over real text, a naive reference
// of llama2.c's greedy merge loop, and malformed tokenizer files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "test_util.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/vocab.h"

namespace ss {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const SpmTokenizer& tok512() {
  static const SpmTokenizer t(load_llama2c_vocab(test::shared("models/tok512.bin")));
  return t;
}

// A temporary file with the given bytes, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("sinkscope-tok-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void append_i32(std::string& s, int32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}
void append_record(std::string& s, float score, const std::string& piece) {
  s.append(reinterpret_cast<const char*>(&score), 4);
  append_i32(s, static_cast<int32_t>(piece.size()));
  s += piece;
}

// llama2.c's encode, transcribed: per character a piece or byte tokens, then repeatedly merge
// the leftmost pair with the strictly greatest score. O(n^2), for checking the fast one.
std::vector<int> reference_encode(const Vocab& v, std::string_view text) {
  std::unordered_map<std::string, int> text_ids, byte_ids;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.types[i] == TokenType::Byte)
      byte_ids.emplace(v.tokens[i], static_cast<int>(i));
    else if (v.types[i] == TokenType::Normal || v.types[i] == TokenType::UserDefined)
      text_ids.emplace(v.tokens[i], static_cast<int>(i));
  }
  std::string norm = text.empty() ? "" : "\xe2\x96\x81";
  for (char c : text) norm += c == ' ' ? std::string("\xe2\x96\x81") : std::string(1, c);

  std::vector<int> ids;
  for (size_t pos = 0; pos < norm.size();) {
    // Character length by the same strict UTF-8 rules; a bad byte stands alone.
    const auto* s = reinterpret_cast<const unsigned char*>(norm.data() + pos);
    size_t rest = norm.size() - pos, len = 1;
    uint32_t cp = s[0];
    size_t want = s[0] < 0x80                    ? 1
                  : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                  : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                  : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                 : 0;
    if (want > 1 && rest >= want) {
      cp = s[0] & (0xFF >> (want + 1));
      bool ok = true;
      for (size_t k = 1; k < want; ++k) {
        ok = ok && (s[k] & 0xC0) == 0x80;
        cp = cp << 6 | (s[k] & 0x3F);
      }
      const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
      if (ok && cp >= min_cp[want] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) len = want;
    }
    std::string ch = norm.substr(pos, len);
    auto it = text_ids.find(ch);
    if (len == want && it != text_ids.end()) {
      ids.push_back(it->second);
    } else {
      for (unsigned char b : ch) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        ids.push_back(byte_ids.at(name));
      }
    }
    pos += len;
  }
  while (true) {
    float best = -1e10f;
    int best_id = -1, best_i = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      auto it = text_ids.find(v.tokens[ids[i]] + v.tokens[ids[i + 1]]);
      if (it != text_ids.end() && v.scores[it->second] > best) {
        best = v.scores[it->second];
        best_id = it->second;
        best_i = static_cast<int>(i);
      }
    }
    if (best_i < 0) break;
    ids[best_i] = best_id;
    ids.erase(ids.begin() + best_i + 1);
  }
  return ids;
}

// Lines of a text file (without their '\n'), at most max_lines.
std::vector<std::string> lines_of(const std::string& path, size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; lines.size() < max_lines && std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string show(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += std::to_string(id) + " ";
  return s;
}

TEST(TokenizerVocab, Llama2cFileLayout) {
  const Vocab& v = tok512().vocab();
  ASSERT_EQ(v.size(), 512u);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "\n<s>\n");
  EXPECT_EQ(v.tokens[2], "\n</s>\n");
  EXPECT_EQ(v.types[0], TokenType::Unknown);
  EXPECT_EQ(v.types[1], TokenType::Control);
  EXPECT_EQ(v.types[2], TokenType::Control);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    EXPECT_EQ(v.tokens[3 + b], name);
    EXPECT_EQ(v.types[3 + b], TokenType::Byte);
  }
  for (size_t i = 259; i < v.size(); ++i) {
    EXPECT_EQ(v.types[i], TokenType::Normal) << i;
    EXPECT_EQ(v.tokens[i].find(' '), std::string::npos) << "spaces become U+2581: " << i;
  }
  EXPECT_EQ(v.tokens[410], "\xe2\x96\x81");
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
}

TEST(TokenizerLlama2c, GoldenCases) {
  std::ifstream in(test::shared("golden/stories260K.json"));
  const auto golden = nlohmann::json::parse(in);
  ASSERT_FALSE(golden["tokenizer_cases"].empty());
  for (const auto& c : golden["tokenizer_cases"]) {
    const std::string text = c["text"];
    const std::vector<int> want = c["ids"];
    EXPECT_EQ(tok512().encode(text, true), want) << text;
    EXPECT_EQ(tok512().decode(want), text) << text;
  }

  const auto& g = golden["greedy"];
  const std::vector<int> ids = g["ids"];
  EXPECT_EQ(tok512().decode(ids), g["text"].get<std::string>());
  const std::vector<int> prompt = tok512().encode(g["prompt"].get<std::string>(), true);
  ASSERT_LE(prompt.size(), ids.size());
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), ids.begin())) << show(prompt);
}

TEST(TokenizerLlama2c, DecodeTokenRules) {
  const SpmTokenizer& t = tok512();
  EXPECT_EQ(t.decode_token(1, 410), "");   // "▁" right after BOS: the dummy prefix
  EXPECT_EQ(t.decode_token(5, 410), " ");  // elsewhere a space
  EXPECT_EQ(t.decode_token(1, 403), "Once");
  EXPECT_EQ(t.decode_token(-1, 403), " Once");
  EXPECT_EQ(t.decode_token(1, 3 + 0x20), " ");  // a byte token is raw, even after BOS
  EXPECT_EQ(t.decode_token(7, 3 + 0x0A), "\n");
  EXPECT_EQ(t.decode_token(7, 3 + 0xFF), "\xff");
  EXPECT_EQ(t.decode_token(7, 0), "");  // unknown
  EXPECT_EQ(t.decode_token(7, 1), "");  // BOS
  EXPECT_EQ(t.decode_token(7, 2), "");  // EOS
  EXPECT_THROW(t.decode_token(7, 512), std::out_of_range);
  EXPECT_EQ(t.encode("", false), std::vector<int>{});
  EXPECT_EQ(t.encode("", true), std::vector<int>{1});
}

// Inputs are separated by "\n__ggml_vocab_test__\n" (the file also ends with one); the .out file
// has one line of ids per input, without BOS.
TEST(TokenizerLlamaSpm, LlamaCppVectors) {
  const std::string base = test::shared("models/vocab/ggml-vocab-llama-spm.gguf");
  const SpmTokenizer t(vocab_from_gguf(GgufFile(base)));
  EXPECT_EQ(t.vocab().size(), 32000u);

  const std::string inp = read_file(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  size_t pos = 0;
  for (size_t at; (at = inp.find(sep, pos)) != std::string::npos; pos = at + sep.size())
    inputs.push_back(inp.substr(pos, at - pos));
  EXPECT_EQ(pos, inp.size()) << "text after the last separator";

  std::vector<std::vector<int>> outputs;
  std::istringstream out(read_file(base + ".out"));
  for (std::string line; std::getline(out, line);) {
    std::istringstream ls(line);
    outputs.emplace_back();
    for (int id; ls >> id;) outputs.back().push_back(id);
  }
  ASSERT_EQ(inputs.size(), 46u);
  ASSERT_EQ(outputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int> ids = t.encode(inputs[i], false);
    EXPECT_EQ(ids, outputs[i]) << "case " << i << " '" << inputs[i] << "': got " << show(ids);
    // Without BOS the dummy prefix's space stays in the text.
    EXPECT_EQ(t.decode(ids), inputs[i].empty() ? "" : " " + inputs[i]) << "case " << i;
  }
}

// Phi-3's GGUF vocabulary as llama.cpp's converter writes it: Llama-2's 32000 pieces ("</s>"
// USER_DEFINED), 11 chat tokens of type CONTROL from <|endoftext|> (32000) to <|user|> (32010), and
// padding of type UNKNOWN up to 32064. Built from the Llama-2 vocabulary of llama.cpp's tests.
std::string write_phi3_vocab(const std::string& dir, const std::string& general_name) {
  const Vocab llama =
      vocab_from_gguf(GgufFile(test::shared("models/vocab/ggml-vocab-llama-spm.gguf")));
  std::vector<std::string> tokens = llama.tokens;
  std::vector<float> scores = llama.scores;
  std::vector<int32_t> types;
  for (TokenType t : llama.types) types.push_back(static_cast<int32_t>(t));
  types[2] = static_cast<int32_t>(TokenType::UserDefined);
  for (const char* chat : {"<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
                           "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>",
                           "<|placeholder5|>", "<|placeholder6|>", "<|user|>"}) {
    tokens.push_back(chat);
    types.push_back(static_cast<int32_t>(TokenType::Control));
  }
  while (tokens.size() < 32064) {
    tokens.push_back("[PAD" + std::to_string(tokens.size()) + "]");
    types.push_back(static_cast<int32_t>(TokenType::Unknown));
  }
  scores.resize(tokens.size(), 0.0f);
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("phi3"));
  w.set("general.name", GgufValue::of_string(general_name));
  w.set("tokenizer.ggml.model", GgufValue::of_string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
  w.set("tokenizer.ggml.scores", GgufValue::of_f32s(scores));
  w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::of_u32(1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::of_u32(32000));
  const std::string path = dir + "/" + general_name + ".gguf";
  w.write(path);
  return path;
}

// As llama.cpp: control and unknown tokens are cut out of the text when parsing special tokens,
// user-defined ones always; the dummy prefix also goes after each; a GGUF named Phi-3 lets the
// chat tokens and </s> swallow the whitespace after them.
TEST(TokenizerSpmAddedTokens, Phi3) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("sinkscope-phi3-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const SpmTokenizer phi3(vocab_from_gguf(GgufFile(write_phi3_vocab(dir, "Phi3"))));
  const SpmTokenizer plain(vocab_from_gguf(GgufFile(write_phi3_vocab(dir, "Other"))));
  const SpmTokenizer llama2(
      vocab_from_gguf(GgufFile(test::shared("models/vocab/ggml-vocab-llama-spm.gguf"))));
  std::filesystem::remove_all(dir);
  using Ids = std::vector<int>;
  const int user = 32010, end = 32007, assistant = 32001, eot = 32000;
  // Python transformers on Phi-3-mini (add_special_tokens=False): "Hello<|end|>" is
  // [15043, 32007] and " Hi" is [29871, 6324].
  EXPECT_EQ(phi3.encode("Hello<|end|>", false, true), (Ids{15043, end}));
  EXPECT_EQ(phi3.encode(" Hi", false, true), (Ids{29871, 6324}));
  EXPECT_EQ(phi3.encode("<|user|>\nHello<|end|>\n<|assistant|>", true, true),
            (Ids{1, user, 15043, end, assistant}));
  // <|endoftext|> keeps its whitespace; "▁" + " x" is "▁▁x".
  EXPECT_EQ(phi3.encode("Hi<|endoftext|> x", false, true), (Ids{6324, eot, 29871, 921}));
  // Without parsing special tokens, control tokens are text; the user-defined </s> is cut out.
  EXPECT_EQ(phi3.encode("<|end|>", false), llama2.encode("<|end|>", false));
  EXPECT_EQ(phi3.encode("Hi</s>  there", false), (Ids{6324, 2, 727}));
  EXPECT_EQ(llama2.encode("Hi</s>", true, true), (Ids{1, 6324, 2}));  // Llama-2's is CONTROL
  EXPECT_NE(llama2.encode("Hi</s>", false), (Ids{6324, 2}));
  // Another name: no whitespace is swallowed, and the text after a token gets the prefix.
  EXPECT_EQ(plain.encode("<|user|>\nHello", false, true), (Ids{user, 29871, 13, 10994}));
  // Text without added tokens is unchanged.
  EXPECT_EQ(phi3.encode("Hello world", true), llama2.encode("Hello world", true));
}

TEST(TokenizerVocab, Gpt2VocabIsRejected) {
  const Vocab v = vocab_from_gguf(GgufFile(test::shared("models/vocab/ggml-vocab-gpt-2.gguf")));
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_THROW(SpmTokenizer{v}, InputError);
}

TEST(TokenizerLlama2c, RoundTripCorpora) {
  const SpmTokenizer& t = tok512();
  size_t n = 0;
  for (const char* name : {"tinystories-valid-sample.txt", "tinyshakespeare-input.txt",
                           "pg2600-war-and-peace.txt", "wikitext2-test-hfrows-crlf.raw"}) {
    for (const std::string& line : lines_of(test::shared("data/text/") + name, 1500)) {
      ASSERT_EQ(t.decode(t.encode(line, true)), line) << name << ": " << line;
      ++n;
    }
  }
  EXPECT_GE(n, 4000u);

  // Invalid UTF-8 survives through byte tokens.
  for (std::string s : {std::string("\xff"), std::string("a\x80z"), std::string("\xc3"),
                        std::string("caf\xc3 \xe2\x82"), std::string("\xed\xa0\x80 surrogate"),
                        std::string("\xc0\xaf overlong"), std::string("\xf4\x90\x80\x80"),
                        std::string("x\0y", 3), std::string(" \xe2\x96")}) {
    const std::vector<int> ids = t.encode(s, true);
    EXPECT_EQ(t.decode(ids), s) << show(ids);
  }
  // A lone continuation byte after ASCII is a byte token of its own.
  EXPECT_EQ(t.encode("a\x80", false).back(), 3 + 0x80);
}

TEST(TokenizerLlama2c, WholeFileFastAndExact) {
  const std::string text = read_file(test::shared("data/text/tinystories-valid-sample.txt"));
  ASSERT_GT(text.size(), 500000u);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> ids = tok512().encode(text, true);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("encode_seconds", std::to_string(secs));
  std::printf("encoded %zu bytes into %zu tokens in %.3f s\n", text.size(), ids.size(), secs);
  EXPECT_EQ(tok512().decode(ids), text);
#if !defined(__SANITIZE_ADDRESS__) && defined(__OPTIMIZE__)  // else timings mean nothing
  EXPECT_LT(secs, 1.0);
#endif
}

TEST(TokenizerLlama2c, MatchesReferenceAlgorithm) {
  const SpmTokenizer& t = tok512();
  // Real lines, whole.
  for (const std::string& line :
       lines_of(test::shared("data/text/tinyshakespeare-input.txt"), 300)) {
    ASSERT_EQ(t.encode(line, false), reference_encode(t.vocab(), line)) << line;
  }
  // Random strings over an alphabet with spaces, multibyte characters and bad bytes.
  const std::vector<std::string> alphabet = {"a",
                                             "e",
                                             "t",
                                             "h",
                                             "o",
                                             "n",
                                             " ",
                                             " ",
                                             "s",
                                             "Z",
                                             "\n",
                                             ".",
                                             "\xc3\xa9",
                                             "\xe2\x96\x81",
                                             "\xf0\x9f\x98\x80",
                                             "\x80",
                                             "\xc3",
                                             "\xff",
                                             "<",
                                             "0",
                                             "x",
                                             ">"};
  std::mt19937 rng(42);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s;
    const int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(t.encode(s, false), reference_encode(t.vocab(), s)) << s;
  }
}

// Equal scores merge leftmost first; pieces of other types never take part in merges.
TEST(TokenizerSpm, TiesAndNonTextPieces) {
  Vocab v;
  auto add = [&](const std::string& piece, float score, TokenType type = TokenType::Normal) {
    v.tokens.push_back(piece);
    v.scores.push_back(score);
    v.types.push_back(type);
    return static_cast<int>(v.tokens.size() - 1);
  };
  add("<unk>", 0, TokenType::Unknown);
  add("<s>", 0, TokenType::Control);
  add("</s>", 0, TokenType::Control);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, TokenType::Byte);
  }
  const int mark = add("\xe2\x96\x81", -1);
  const int a = add("a", -1);
  const int aa = add("aa", -2);
  add("\xe2\x96\x81"
      "a",
      -3);  // "▁a" loses to "aa"
  for (const char* piece : {"<", "0", "x", "4", "1", ">", "<0", "<0x"}) add(piece, -1);
  const int lt0x4 = add("<0x4", -1), one_gt = add("1>", -1);
  const SpmTokenizer t(v);
  // "▁aaa": "aa" at 1 and 2 tie, the leftmost wins, leaving "▁" "aa" "a".
  EXPECT_EQ(t.encode("aaa", false), (std::vector<int>{mark, aa, a}));
  // "<0x4" + "1>" spells the byte piece for 'A' but must stay two text pieces.
  EXPECT_EQ(t.encode("<0x41>", false), (std::vector<int>{mark, lt0x4, one_gt}));
  EXPECT_EQ(t.decode(t.encode("<0x41>", true)), "<0x41>");
}

TEST(TokenizerVocab, MalformedLlama2cFiles) {
  std::string good;
  append_i32(good, 6);
  append_record(good, 0, "<unk>");
  append_record(good, 0, "\n<s>\n");
  append_record(good, 0, "\n</s>\n");
  append_record(good, -1.5f, " a b");
  {
    TempFile f(good);
    Vocab v = load_llama2c_vocab(f.path());
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(v.tokens[3],
              "\xe2\x96\x81"
              "a\xe2\x96\x81"
              "b");
    EXPECT_EQ(v.scores[3], -1.5f);
  }
  auto expect_error = [](const std::string& bytes, const std::string& what) {
    TempFile f(bytes);
    try {
      load_llama2c_vocab(f.path());
      ADD_FAILURE() << "no error for " << what;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(f.path() + ": ", 0), 0u) << e.what();
    }
  };
  expect_error("", "empty file");
  expect_error(good.substr(0, 2), "cut header");
  expect_error(good.substr(0, 4), "no tokens");
  expect_error(good.substr(0, good.size() - 1), "cut piece");
  expect_error(good.substr(0, good.size() - 7), "cut length");
  std::string negative = good;
  append_i32(negative, 0);  // score 0.0
  append_i32(negative, -3);
  expect_error(negative, "negative length");
  std::string too_long = good;
  append_record(too_long, 0, "xyz");
  std::memset(&too_long[too_long.size() - 7], 0x7f, 4);  // length 0x7f7f7f7f
  expect_error(too_long, "length past the end");
  EXPECT_THROW(load_llama2c_vocab("/nonexistent/tok.bin"), InputError);
}

TEST(TokenizerVocab, GgufSizeMismatch) {
  TempFile f("");
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("tokenizer.ggml.model", GgufValue::of_string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "a"}));
  w.set("tokenizer.ggml.scores", GgufValue::of_f32s({0, 0, 0}));
  w.write(f.path());
  try {
    vocab_from_gguf(GgufFile(f.path()));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.scores"), std::string::npos) << e.what();
  }

  // Defaults when only the tokens are present.
  GgufWriter w2;
  w2.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "a"}));
  w2.write(f.path());
  Vocab v = vocab_from_gguf(GgufFile(f.path()));
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.scores, std::vector<float>(4, 0.0f));
  EXPECT_EQ(v.types, std::vector<TokenType>(4, TokenType::Normal));
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
}

}  // namespace
}  // namespace ss
