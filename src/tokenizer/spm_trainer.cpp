#include "tokenizer/spm_trainer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "base/atomic_file.h"
#include "base/error.h"

namespace ss {

namespace {
const std::string kMark = "\xe2\x96\x81";  // U+2581 ▁

size_t utf8_len(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

// Word -> count, each word a sequence of characters, beginning at a "▁" where there is one.
std::map<std::string, int64_t> count_words(const std::vector<std::string>& texts) {
  std::map<std::string, int64_t> words;
  for (const std::string& t : texts) {
    std::string norm = kMark;
    for (char c : t) norm += c == ' ' ? kMark : std::string(1, c);
    size_t start = 0;
    for (size_t i = kMark.size(); i <= norm.size(); ++i)
      if (i == norm.size() || norm.compare(i, kMark.size(), kMark) == 0) {
        if (i > start) ++words[norm.substr(start, i - start)];
        start = i;
      }
  }
  return words;
}
}  // namespace

Vocab train_spm_bpe(const std::vector<std::string>& texts, const SpmTrainOptions& opt) {
  Vocab v;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.types.push_back(TokenType::Byte);
  }
  require(opt.vocab_size > static_cast<int>(v.tokens.size()), "--vocab",
          "must be more than 259 (<unk>, <s>, </s> and 256 byte tokens)");
  v.scores.assign(v.tokens.size(), 0.0f);

  // Words as symbol sequences; characters counted for the character pieces.
  const auto words = count_words(texts);
  std::map<std::string, int64_t> chars;
  std::vector<std::vector<std::string>> seqs;
  std::vector<int64_t> freq;
  int64_t total_chars = 0;
  for (const auto& [w, n] : words) {
    std::vector<std::string> s;
    for (size_t i = 0; i < w.size();) {
      const size_t l = std::min(utf8_len(static_cast<unsigned char>(w[i])), w.size() - i);
      s.push_back(w.substr(i, l));
      chars[s.back()] += n;
      total_chars += n;
      i += l;
    }
    seqs.push_back(std::move(s));
    freq.push_back(n);
  }
  std::vector<std::pair<int64_t, std::string>> by_freq;
  for (const auto& [c, n] : chars) by_freq.emplace_back(-n, c);
  std::sort(by_freq.begin(), by_freq.end());
  std::map<std::string, bool> known;
  int64_t covered = 0;
  for (const auto& [neg, c] : by_freq) {
    if (static_cast<int>(v.tokens.size()) >= opt.vocab_size) break;
    if (covered >= static_cast<int64_t>(opt.character_coverage * static_cast<double>(total_chars)))
      break;
    covered += -neg;
    v.tokens.push_back(c);
    v.types.push_back(TokenType::Normal);
    v.scores.push_back(0.0f);
    known[c] = true;
  }
  // Characters without a piece become bytes: they never merge.
  for (auto& s : seqs)
    for (auto& c : s)
      if (!known.count(c)) c.clear();

  // Merges: recount all pairs each round (simple; fine for vocabularies of a few thousand).
  int rank = 0;
  while (static_cast<int>(v.tokens.size()) < opt.vocab_size) {
    std::unordered_map<std::string, int64_t> pairs;  // "a\0b" -> count
    for (size_t w = 0; w < seqs.size(); ++w)
      for (size_t i = 0; i + 1 < seqs[w].size(); ++i)
        if (!seqs[w][i].empty() && !seqs[w][i + 1].empty())
          pairs[seqs[w][i] + '\0' + seqs[w][i + 1]] += freq[w];
    const std::pair<const std::string, int64_t>* best = nullptr;
    for (const auto& p : pairs)
      if (!best || p.second > best->second || (p.second == best->second && p.first < best->first))
        best = &p;
    if (!best || best->second < 2) break;  // nothing left worth a token
    const size_t z = best->first.find('\0');
    const std::string a = best->first.substr(0, z), b = best->first.substr(z + 1), ab = a + b;
    v.tokens.push_back(ab);
    v.types.push_back(TokenType::Normal);
    v.scores.push_back(static_cast<float>(-(++rank)));
    for (auto& s : seqs) {
      std::vector<std::string> out;
      for (size_t i = 0; i < s.size(); ++i)
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b)
          out.push_back(ab), ++i;
        else
          out.push_back(s[i]);
      s.swap(out);
    }
  }
  // Character pieces must lose to every merge: score below the last rank.
  for (size_t i = 259; i < v.tokens.size(); ++i)
    if (v.scores[i] == 0.0f) v.scores[i] = static_cast<float>(-(rank + 1));
  return v;
}

void write_llama2c_vocab(const Vocab& v, const std::string& path) {
  std::string out(4, '\0');
  int32_t max_len = 0;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    std::string piece;
    for (size_t j = 0; j < v.tokens[i].size();)
      if (v.tokens[i].compare(j, kMark.size(), kMark) == 0)
        piece += ' ', j += kMark.size();
      else
        piece += v.tokens[i][j++];
    max_len = std::max(max_len, static_cast<int32_t>(piece.size()));
    const float score = v.scores[i];
    const int32_t len = static_cast<int32_t>(piece.size());
    out.append(reinterpret_cast<const char*>(&score), 4);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += piece;
  }
  std::memcpy(out.data(), &max_len, 4);
  write_file_atomic(path, out);
}

}  // namespace ss
