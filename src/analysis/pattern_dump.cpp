#include "analysis/pattern_dump.h"

#include <algorithm>

namespace ss {

PatternDumpObserver::PatternDumpObserver(std::vector<std::pair<int, int>> heads, int window)
    : heads_(std::move(heads)), window_(window) {
  // Allocated up front: on_pattern runs on worker threads and must not insert into the map.
  for (auto lh : heads_) patterns_[lh].assign(window_, std::vector<float>(window_, 0.0f));
}

bool PatternDumpObserver::wants_pattern(int layer) const {
  return std::any_of(heads_.begin(), heads_.end(), [&](auto lh) { return lh.first == layer; });
}

void PatternDumpObserver::on_pattern(int layer, int head, int pos, std::span<const float> row) {
  if (pos >= window_) return;
  auto it = patterns_.find({layer, head});
  if (it == patterns_.end()) return;
  std::copy(row.begin(), row.end(), it->second[pos].begin());
}

}  // namespace ss
