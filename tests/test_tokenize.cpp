// sinkscope tokenize: the CLI gives the library's ids (the golden SentencePiece ids of
// stories260K, a byte-level BPE), the --jsonl format, --bos, --special, --pieces and its errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/text_file.h"
#include "model/load_model.h"
#include "test_fixtures.h"

namespace ss {
namespace {

std::vector<int> parse_ids(const std::string& line) {
  std::istringstream in(line);
  std::vector<int> ids;
  for (int id; in >> id;) ids.push_back(id);
  return ids;
}

const std::string kSpm = " --tokenizer " + test::tok_bin();

TEST(Cli, TokenizeGivesTheGoldenSentencePieceIds) {
  const std::string text = test::shared("data/text/tinystories-valid-sample.txt");
  auto r = test::run_cli("tokenize" + kSpm + " -f " + text);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<int> ids = parse_ids(r.out);
  const auto golden = test::golden()["window"]["ids"].get<std::vector<int>>();
  ASSERT_GE(ids.size(), golden.size());
  EXPECT_TRUE(std::equal(golden.begin(), golden.end(), ids.begin()));
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  EXPECT_EQ(ids, tok.encode(read_text_file(text), true));
}

TEST(Cli, TokenizeJsonlBosPiecesAndSpecial) {
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/in.jsonl") << "\"Once upon a time\"\n\"two\\nlines\"\n\"<s>hi\"\n";
  auto r = test::run_cli("tokenize" + kSpm + " --jsonl < " + dir + "/in.jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> out;
  for (std::string l; std::getline(lines, l);) out.push_back(l);
  ASSERT_EQ(out.size(), 3u);
  SpmTokenizer tok = load_tokenizer(test::model_bin(), test::tok_bin());
  EXPECT_EQ(parse_ids(out[0]), tok.encode("Once upon a time", true));
  EXPECT_EQ(parse_ids(out[1]), tok.encode("two\nlines", true));
  EXPECT_EQ(parse_ids(out[2]), tok.encode("<s>hi", true));  // "<s>" as text
  EXPECT_EQ(parse_ids(out[0])[0], tok.bos_id());

  // --special: "<s>" in the text becomes BOS itself (the default model's BOS piece is "<s>";
  // llama2.c's tok512 spells it "\n<s>\n").
  const std::string tiny = std::string(SINKSCOPE_SOURCE_DIR) + "/models/sinkscope-tiny.gguf";
  auto t = load_text_tokenizer(tiny, "");
  auto s = test::run_cli("tokenize -m " + tiny + " --special --bos off -p '<s>hi'");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(parse_ids(s.out), t->encode_special("<s>hi", false));
  EXPECT_EQ(parse_ids(s.out)[0], t->bos_id());
  auto plain = test::run_cli("tokenize -m " + tiny + " --bos off -p '<s>hi'");
  EXPECT_EQ(parse_ids(plain.out), t->encode("<s>hi", false));
  EXPECT_NE(parse_ids(plain.out)[0], t->bos_id());

  auto off = test::run_cli("tokenize" + kSpm + " --bos off -p 'Once upon a time'");
  EXPECT_EQ(parse_ids(off.out), tok.encode("Once upon a time", false));

  auto p = test::run_cli("tokenize" + kSpm + " --pieces -p 'Once'");
  ASSERT_EQ(p.code, 0) << p.err;
  const std::vector<int> once = tok.encode("Once", true);
  std::string expected;
  for (int id : once)
    expected += std::to_string(id) + "\t" + nlohmann::json(tok.vocab().tokens[id]).dump() + "\n";
  EXPECT_EQ(p.out, expected);
  EXPECT_EQ(p.out.substr(0, 8), "1\t\"\\n<s>");  // the piece, JSON-escaped
}

TEST(Cli, TokenizeByteLevelBpe) {
  const std::string dir = test::temp_dir(), json = dir + "/tokenizer.json";
  std::ofstream(json) << test::byte_level_tokenizer_json({{"a", "b"}, {"ab", "c"}}).dump();
  auto r = test::run_cli("tokenize --tokenizer " + json + " --pieces -p 'abc ab'");
  ASSERT_EQ(r.code, 0) << r.err;
  // GPT-2 split: "abc", " ab". The merges make "abc" (257) and "ab" (256); the space is byte 32,
  // whose byte-level character is "Ġ" (ids 0..255 are the bytes).
  EXPECT_EQ(r.out, "257\t\"abc\"\n32\t\"\xc4\xa0\"\n256\t\"ab\"\n");
}

TEST(Cli, TokenizeErrorsAreOneLine) {
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/bad.jsonl") << "\"fine\"\nnot json\n";
  auto bad = test::run_cli("tokenize" + kSpm + " --jsonl < " + dir + "/bad.jsonl");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("stdin:2: not a JSON string"), std::string::npos) << bad.err;
  auto none = test::run_cli("tokenize -p hi");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--model: give a model or --tokenizer FILE"), std::string::npos);
  auto two = test::run_cli("tokenize" + kSpm + " -p hi --jsonl");
  EXPECT_EQ(two.code, 2);
  EXPECT_NE(two.err.find("exactly one of"), std::string::npos);
  auto bos = test::run_cli("tokenize" + kSpm + " -p hi --bos maybe");
  EXPECT_EQ(bos.code, 2);
  for (const auto* r : {&bad, &none, &two, &bos})
    EXPECT_EQ(std::count(r->err.begin(), r->err.end(), '\n'), 1) << r->err;
}

}  // namespace
}  // namespace ss
