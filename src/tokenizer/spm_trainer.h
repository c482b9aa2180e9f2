#pragma once
// Training a SentencePiece-style BPE vocabulary with byte fallback, laid out like llama2.c's
// tokenizers: ids 0, 1, 2 are <unk>, <s>, </s>; 3..258 the byte tokens <0x00>..<0xFF>; then the
// single characters of the text (most frequent first, up to character_coverage of all
// characters); then merged pieces, each scored −rank so SpmTokenizer applies them in the order
// they were learnt.
#include <string>
#include <vector>

#include "tokenizer/vocab.h"

namespace ss {

struct SpmTrainOptions {
  int vocab_size = 512;
  double character_coverage = 0.9995;  // rarer characters are left to byte fallback
};

// Learns merges over words of the normalised texts (spaces → "▁", a "▁" before each text,
// words start at "▁" as in SentencePiece, so pieces never span a word boundary). The most
// frequent adjacent pair is merged, ties broken by the pieces' text. Deterministic.
// Throws InputError("--vocab", ...) when vocab_size leaves no room beyond the bytes.
Vocab train_spm_bpe(const std::vector<std::string>& texts, const SpmTrainOptions& opt);

// llama2.c tokenizer .bin: int32 max_token_length, then per token float32 score, int32 length,
// bytes ("▁" written as a space).
void write_llama2c_vocab(const Vocab& v, const std::string& path);

}  // namespace ss
