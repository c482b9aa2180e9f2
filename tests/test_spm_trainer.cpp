// tokenizer train: a SentencePiece-style BPE vocabulary learnt from text, saved and reloaded.
#include <gtest/gtest.h>

#include "base/error.h"
#include "test_util.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/spm_trainer.h"

namespace ss {
namespace {

TEST(SpmTrainer, LearnsMergesAndRoundTrips) {
  const std::string text =
      "the cat sat on the mat. the cat ate the rat.\nthe hat is on the cat, the mat is flat.\n";
  std::vector<std::string> texts(20, text);
  Vocab v = train_spm_bpe(texts, {300, 1.0});
  ASSERT_EQ(v.size(), 300u);
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[3 + 'A'], "<0x41>");
  EXPECT_EQ(v.types[3 + 'A'], TokenType::Byte);
  // Frequent words became single pieces.
  SpmTokenizer tok(v);
  auto ids = tok.encode("the cat", false);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(v.tokens[ids[0]], "\xe2\x96\x81the");
  // Round trip, including characters never seen (byte fallback).
  const std::string odd = "the €uro cat\tzz";
  EXPECT_EQ(tok.decode(tok.encode(odd, true)), odd);  // after BOS the dummy prefix is dropped
  EXPECT_LT(tok.encode(text, false).size(), text.size() / 2);
  // Saved as a llama2.c .bin it loads to the same vocabulary.
  const std::string path = test::temp_dir() + "/tok.bin";
  write_llama2c_vocab(v, path);
  Vocab back = load_llama2c_vocab(path);
  EXPECT_EQ(back.tokens, v.tokens);
  EXPECT_EQ(back.scores, v.scores);
  EXPECT_EQ(SpmTokenizer(back).encode(text, true), tok.encode(text, true));
  // Deterministic.
  EXPECT_EQ(train_spm_bpe(texts, {300, 1.0}).tokens, v.tokens);
  EXPECT_THROW(train_spm_bpe(texts, {100, 1.0}), InputError);
}

TEST(SpmTrainer, Cli) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli("tokenizer train --data " +
                         test::shared("data/text/tinystories-valid-sample.txt") +
                         " --vocab 300 -o " + dir + "/t.bin");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_llama2c_vocab(dir + "/t.bin").size(), 300u);
  r = test::run_cli("tokenizer train --data /nonexistent.txt --vocab 300 -o " + dir + "/u.bin");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.txt"), std::string::npos);
}

}  // namespace
}  // namespace ss
