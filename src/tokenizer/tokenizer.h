#pragma once
// What the commands need from a tokenizer, whichever algorithm the model's vocabulary uses:
// SentencePiece BPE (SpmTokenizer, GGUF tokenizer.ggml.model "llama") or byte-level / merge
// BPE (BpeTokenizer, "gpt2").
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ss {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids of text, BOS first when add_bos and the tokenizer has one.
  virtual std::vector<int> encode(std::string_view text, bool add_bos) const = 0;
  // The same with the special tokens written in the text ("<|im_start|>", "<s>") parsed as those
  // tokens instead of as plain text.
  virtual std::vector<int> encode_special(std::string_view text, bool add_bos) const = 0;
  // The vocabulary's stored text of a token ("▁the", "Ġthe", "<0x0A>"); std::out_of_range for an
  // id outside the vocabulary.
  virtual std::string piece(int id) const = 0;
  // The text of `token` as it continues a sequence whose previous token is prev.
  virtual std::string decode_token(int prev, int token) const = 0;
  virtual int bos_id() const = 0;  // -1: none
  virtual int eos_id() const = 0;  // -1: none
  // Whether the model expects BOS first (GGUF tokenizer.ggml.add_bos_token; Qwen: no).
  virtual bool add_bos() const = 0;
  virtual size_t vocab_size() const = 0;
};

// The tokenizer of a GGUF file, by tokenizer.ggml.model: "llama" -> SentencePiece BPE,
// "gpt2" -> byte-level BPE. Anything else throws InputError naming the file.
std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& gguf);
// A Hugging Face tokenizer.json (BPE model), as BpeTokenizer::from_tokenizer_json reads it.
std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& path);

}  // namespace ss
