#include "tokenizer/tokenizer.h"

#include "format/gguf.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/spm_tokenizer.h"

namespace ss {

namespace {

// BpeTokenizer behind the common interface (its encode() has an extra parse_special flag).
class BpeAdapter final : public Tokenizer {
 public:
  explicit BpeAdapter(BpeTokenizer bpe) : bpe_(std::move(bpe)) {}
  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    return bpe_.encode(text, add_bos);
  }
  std::vector<int> encode_special(std::string_view text, bool add_bos) const override {
    return bpe_.encode(text, add_bos, true);
  }
  std::string piece(int id) const override { return bpe_.piece(id); }
  // Byte-level pieces decode on their own (special tokens give nothing); a character split over
  // two tokens comes out as its bytes in two pieces.
  std::string decode_token(int, int token) const override { return bpe_.decode({&token, 1}); }
  int bos_id() const override { return bpe_.bos_id(); }
  int eos_id() const override { return bpe_.eos_id(); }
  bool add_bos() const override { return bpe_.add_bos(); }
  size_t vocab_size() const override { return bpe_.vocab_size(); }

 private:
  BpeTokenizer bpe_;
};

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& gguf) {
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model == "gpt2") return std::make_unique<BpeAdapter>(BpeTokenizer::from_gguf(gguf));
  // vocab_from_gguf reports any other model as unsupported.
  return std::make_unique<SpmTokenizer>(vocab_from_gguf(gguf));
}

std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& path) {
  return std::make_unique<BpeAdapter>(BpeTokenizer::from_tokenizer_json(path));
}

}  // namespace ss
