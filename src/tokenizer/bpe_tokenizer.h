#pragma once
// Merge-ranked BPE, as GPT-2-family (byte-level) and SentencePiece-converted (byte-fallback)
// tokenizers use it, loaded from a GGUF file (tokenizer.ggml.model = "gpt2") or a Hugging Face
// tokenizer.json.
//
// encode(text) runs the Hugging Face `tokenizers` pipeline:
//  1. Added tokens are cut out of the raw text first (leftmost, longest first). Non-special added
//     tokens (GGUF USER_DEFINED, tokenizer.json "special": false, e.g. Qwen3's "<think>") are
//     always cut out; special ones (GGUF CONTROL/UNKNOWN, "special": true, e.g. "<|im_start|>")
//     only when parse_special is true; otherwise they are tokenized as ordinary text. llama.cpp's
//     test-tokenizer-0 vectors are made with parse_special = false; transformers.js always
//     parses them.
//  2. The rest is normalized (tokenizer.json "normalizer": NFC, Replace " " -> "▁", ...).
//  3. It is split into words by the pre-tokenizer (the regex of tokenizer.ggml.pre, or
//     tokenizer.json's Split / ByteLevel / Metaspace steps).
//  4. Each word becomes initial symbols: in byte-level mode every byte is the token of its
//     GPT-2 alphabet character (so any byte string, even invalid UTF-8, encodes); otherwise every
//     UTF-8 character is its token, or its <0xNN> byte tokens (byte_fallback), or <unk>.
//  5. The adjacent pair with the lowest merge rank is merged (leftmost on ties) until none is
//     left: O(n log n) per word with a priority queue. Results of words up to 256 bytes are
//     cached (thread-safe).
// BOS is prepended only when encode() is asked to (add_bos) and the tokenizer has a BOS token;
// add_bos() reports what the model's metadata asks for (GGUF tokenizer.ggml.add_bos_token,
// default per pre-tokenizer as in llama.cpp; tokenizer.json: a TemplateProcessing post-processor
// that starts with a special token). EOS is never appended.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace ss {

class GgufFile;

// Everything a BpeTokenizer is made from. from_gguf() and from_tokenizer_json() fill one in;
// tests can build small ones by hand.
struct BpeSpec {
  struct AddedToken {
    int id;
    bool special;         // cut out of the text only when encode() parses special tokens
    bool lstrip = false;  // swallows the whitespace before it
    bool rstrip = false;  // swallows the whitespace after it
  };

  std::string source;               // the file, for error messages
  std::vector<std::string> pieces;  // id -> token text; byte-level pieces spell bytes ("Ġthe")
  std::vector<TokenType> types;     // Normal, Byte (<0xNN>), Control, UserDefined, Unknown, Unused
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order, as pieces
  // Where merges come from, for errors: every merge's two tokens and its result must be tokens
  // (as Hugging Face tokenizers require; llama.cpp would ignore such a merge).
  std::string merges_key = "model.merges";
  std::vector<AddedToken> added;  // their text is pieces[id]

  bool byte_level = true;      // GPT-2 byte alphabet; otherwise characters with byte fallback
  bool byte_fallback = false;  // characters without a token become <0xNN> tokens
  bool ignore_merges = false;  // a word that is a token is that token (Llama-3)
  bool fuse_unk = false;       // consecutive unknown characters make one <unk>
  int unk_id = -1;             // -1: none (unknown characters are dropped, as HF does)
  int bos_id = -1;             // -1: none
  int eos_id = -1;
  bool add_bos = false;
  int decode_strip_spaces = 0;  // leading spaces decode() removes (HF decoder "Strip")

  bpe::Normalizer normalizer;
  bpe::PreTokenizer pretokenizer;
};

class BpeTokenizer {
 public:
  // Throws InputError(spec.source, ...) when the spec is inconsistent (a merge of pieces that are
  // not in the vocabulary, an id out of range, ...).
  explicit BpeTokenizer(BpeSpec spec);

  // tokenizer.ggml.model must be "gpt2" and tokenizer.ggml.pre one of gpt-2, mpt / olmo
  // (GPT-NeoX-20B: Pythia), llama-bpe (also llama3, llama-v3), dbrx (cl100k: OLMo-2), qwen2,
  // gpt-4o (also llama4: o200k); anything missing or malformed throws InputError.
  static BpeTokenizer from_gguf(const GgufFile& gguf);
  // The split regex a tokenizer.ggml.pre name stands for, "" when it is not one from_gguf knows
  // (tests compare it with the regex of the model's own tokenizer.json).
  static std::string gguf_pre_pattern(std::string_view pre);
  // A Hugging Face tokenizer.json with a BPE model. A tokenizer_config.json next to it, if any,
  // supplies the names of the BOS/EOS tokens when the post-processor does not.
  static BpeTokenizer from_tokenizer_json(const std::string& path);
  // The same from in-memory JSON (tests, fuzzing); `name` stands in for the path in errors.
  static BpeTokenizer from_tokenizer_json_text(std::string_view json, const std::string& name,
                                               std::string_view config_json = {});

  // Token ids of text; BOS first when add_bos and the tokenizer has one. Any byte string is
  // accepted (invalid UTF-8 goes through the byte alphabet or byte fallback). Thread-safe.
  std::vector<int> encode(std::string_view text, bool add_bos, bool parse_special = false) const;
  // The text of ids. Special (control/unknown) tokens produce nothing unless render_special.
  // Throws std::out_of_range for an id outside the vocabulary.
  std::string decode(std::span<const int> ids, bool render_special = false) const;

  size_t vocab_size() const;
  const std::string& piece(int id) const;  // the token's stored text; throws std::out_of_range
  TokenType type(int id) const;
  int token_id(std::string_view piece) const;  // -1 if no token has that text
  int bos_id() const;                          // -1 if none
  int eos_id() const;                          // -1 if none
  bool add_bos() const;
  bool byte_level() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // immutable (plus an internally locked cache): copies share
};

}  // namespace ss
