#pragma once
// A tokenizer vocabulary as GGUF stores it (tokenizer.ggml.*): piece strings, merge scores,
// token types, and the special ids.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ss {

// SentencePiece's word-start mark, U+2581 "▁", which stands for a space in pieces.
constexpr std::string_view kSpaceMark = "\xe2\x96\x81";

class GgufFile;

// Token types, numbered as llama.cpp / GGUF number them.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

struct Vocab {
  std::string model = "llama";  // tokenizer.ggml.model: "llama" (SentencePiece BPE), "gpt2", ...
  std::vector<std::string> tokens;  // pieces; SentencePiece pieces mark spaces with U+2581 "▁"
  std::vector<float> scores;
  std::vector<TokenType> types;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t unk_id = 0;
  bool add_bos = true;
  bool add_space_prefix = true;  // SentencePiece dummy prefix
  // Per token, or empty for none: cut out of the text, it swallows the whitespace after it.
  // GGUF does not store this; vocab_from_gguf sets it for Phi-3 as llama.cpp does.
  std::vector<bool> rstrip;

  size_t size() const { return tokens.size(); }
};

// llama2.c tokenizer file (tokenizer.bin / tok512.bin): int32 max_token_length, then per token
// float32 score, int32 length, bytes. Spaces in pieces become "▁" so the vocabulary is the same
// as a GGUF `llama` one; ids 0,1,2 are unk, BOS, EOS; "<0xNN>" pieces are byte tokens.
Vocab load_llama2c_vocab(const std::string& path);

// tokenizer.ggml.* of a GGUF file.
Vocab vocab_from_gguf(const GgufFile& gguf);

// Every tokenizer.ggml.*_token_id key of the file (bos, eos, unknown, padding, seperator, eot,
// eom, cls, mask, fim_*, ...) holds an id inside a vocabulary of n tokens, or -1 for none; else
// InputError naming the file and the key. (llama.cpp warns and falls back to a default.)
void check_special_token_ids(const GgufFile& gguf, size_t n);

}  // namespace ss
