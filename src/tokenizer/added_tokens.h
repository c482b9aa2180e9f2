#pragma once
// Added tokens (special and user-defined ones) are cut out of the raw text before the rest is
// tokenized, as Hugging Face tokenizers and llama.cpp do: leftmost match, the longest token
// there. Non-special tokens are always cut out; special ones only when asked to (parse_special).
// A token with lstrip / rstrip swallows the whitespace before / after it.
#include <string_view>
#include <utility>
#include <vector>

namespace ss {

class AddedTokens {
 public:
  // The first of duplicate texts wins; empty texts are ignored.
  void add(std::string_view text, int id, bool special, bool lstrip = false, bool rstrip = false);
  bool empty() const { return nodes_.empty(); }

  // A stretch of text, then the added token that follows it (-1 after the last stretch).
  struct Section {
    std::string_view text;
    int added;
  };
  // text as sections; their text views point into text.
  std::vector<Section> split(std::string_view text, bool parse_special) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int>> kids;  // sorted by byte
    int id = -1;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
  };
  // The node of the longest active token starting at text[pos] (-1 if none), and its length.
  std::pair<int, size_t> match(std::string_view text, size_t pos, bool parse_special) const;

  std::vector<Node> nodes_;  // a byte trie; nodes_[0] is the root
  bool first_[256] = {};     // bytes some token starts with
};

}  // namespace ss
