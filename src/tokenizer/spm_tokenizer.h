#pragma once
// SentencePiece-style BPE with byte fallback, as llama2.c and GGUF tokenizer model `llama` use it:
// spaces become "▁", a dummy "▁" prefix is added, text is split into UTF-8 characters (bytes
// that are not valid UTF-8, or characters without a piece, fall back to <0xNN> byte tokens), then
// the adjacent pair whose merged piece has the highest score is merged (leftmost on ties) until
// no merge is possible. O(n log n) with a priority queue, so whole corpora tokenize quickly.
// As in llama.cpp, control, unknown and user-defined tokens (Phi-3's "<|user|>", "</s>") are cut
// out of the text first (see AddedTokens), and the dummy prefix also goes after each of them.
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace ss {

class SpmTokenizer : public Tokenizer {
 public:
  explicit SpmTokenizer(Vocab vocab);

  // Token ids of text, BOS first when add_bos. User-defined tokens are always cut out of the
  // text; control and unknown ones only when parse_special.
  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    return encode(text, add_bos, false);
  }
  std::vector<int> encode(std::string_view text, bool add_bos, bool parse_special) const;
  std::vector<int> encode_special(std::string_view text, bool add_bos) const override {
    return encode(text, add_bos, true);
  }
  std::string piece(int id) const override { return vocab_.tokens.at(id); }
  // The text of one token as it continues a sequence whose previous token is prev
  // (after BOS the leading space of the dummy prefix is dropped, as llama2.c does).
  std::string decode_token(int prev, int token) const override;
  // The text of a whole sequence (BOS/EOS/control tokens produce nothing).
  std::string decode(std::span<const int> ids) const;

  const Vocab& vocab() const { return vocab_; }
  int bos_id() const override { return vocab_.bos_id; }
  int eos_id() const override { return vocab_.eos_id; }
  bool add_bos() const override { return vocab_.add_bos; }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  // Appends the ids of text that holds no added token.
  void encode_text(std::string_view text, bool space_prefix, std::vector<int>& out) const;

  Vocab vocab_;
  std::unordered_map<std::string, int> piece_to_id_;
  int byte_ids_[256];
  AddedTokens added_;
};

}  // namespace ss
