#include "tokenizer/added_tokens.h"

#include <algorithm>

namespace ss {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

void AddedTokens::add(std::string_view text, int id, bool special, bool lstrip, bool rstrip) {
  if (text.empty()) return;
  if (nodes_.empty()) nodes_.emplace_back();
  first_[static_cast<unsigned char>(text[0])] = true;
  int n = 0;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    auto& kids = nodes_[n].kids;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::pair<unsigned char, int>(b, -1));
    if (it != kids.end() && it->first == b) {
      n = it->second;
    } else {
      const int fresh = static_cast<int>(nodes_.size());
      kids.insert(it, {b, fresh});
      nodes_.emplace_back();
      n = fresh;
    }
  }
  Node& node = nodes_[n];
  if (node.id >= 0) return;
  node.id = id;
  node.special = special;
  node.lstrip = lstrip;
  node.rstrip = rstrip;
}

std::pair<int, size_t> AddedTokens::match(std::string_view text, size_t pos,
                                          bool parse_special) const {
  if (nodes_.empty() || !first_[static_cast<unsigned char>(text[pos])]) return {-1, 0};
  std::pair<int, size_t> best{-1, 0};
  int n = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const auto& kids = nodes_[n].kids;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::pair<unsigned char, int>(b, -1));
    if (it == kids.end() || it->first != b) break;
    n = it->second;
    if (nodes_[n].id >= 0 && (parse_special || !nodes_[n].special)) best = {n, i + 1 - pos};
  }
  return best;
}

std::vector<AddedTokens::Section> AddedTokens::split(std::string_view text,
                                                     bool parse_special) const {
  std::vector<Section> sections;
  std::vector<const Node*> tokens;  // the node after each section
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    auto [node, len] = match(text, pos, parse_special);
    if (node < 0) {
      ++pos;
      continue;
    }
    sections.push_back({text.substr(start, pos - start), nodes_[node].id});
    tokens.push_back(&nodes_[node]);
    pos += len;
    start = pos;
  }
  sections.push_back({text.substr(start), -1});
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view& before = sections[i].text;
    std::string_view& after = sections[i + 1].text;
    if (tokens[i]->lstrip)
      while (!before.empty() && is_space(before.back())) before.remove_suffix(1);
    if (tokens[i]->rstrip)
      while (!after.empty() && is_space(after.front())) after.remove_prefix(1);
  }
  return sections;
}

}  // namespace ss
