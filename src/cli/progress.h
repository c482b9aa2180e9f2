#pragma once
// A one-line progress bar on stderr with rate and ETA. Silent when disabled (--quiet) or when
// stderr is not a terminal.
#include <chrono>
#include <string>

namespace ss {

class Progress {
 public:
  Progress(std::string label, bool enabled);
  ~Progress();
  // done/total units of work; items (e.g. tokens) processed so far, for the rate.
  void update(long done, long total, long items = -1);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ss
