#pragma once
// Full attention patterns of chosen heads over the first W tokens of a window: the only place a
// T×T matrix exists, and only W×W of it.
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "runtime/hooks.h"

namespace ss {

class PatternDumpObserver : public Observer {
 public:
  PatternDumpObserver(std::vector<std::pair<int, int>> heads, int window);
  bool wants_pattern(int layer) const override;
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override;
  // [query][key] of the first W tokens, zeros above the diagonal.
  const std::vector<std::vector<float>>& pattern(int layer, int head) const {
    return patterns_.at({layer, head});
  }
  const std::vector<std::pair<int, int>>& heads() const { return heads_; }

 private:
  std::vector<std::pair<int, int>> heads_;
  int window_;
  std::map<std::pair<int, int>, std::vector<std::vector<float>>> patterns_;
};

}  // namespace ss
