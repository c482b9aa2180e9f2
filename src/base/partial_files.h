#pragma once
// A long run's work saved as it goes, under DIR/.partial/: one file per item of work (a policy
// of `sinkscope stream`), holding its result once finished or, before that, a state to continue
// it from. Each file is written atomically (atomic_file.h) and records the setup (a fingerprint
// of the inputs every item depends on) as DIR/.partial/setup does, so a rerun continues only the
// same work.
#include <string>
#include <string_view>

namespace ss {

class PartialFiles {
 public:
  PartialFiles(const std::string& dir, std::string setup);

  // Creates DIR/.partial and records the setup there, or checks the one recorded. Throws
  // InputError naming DIR/.partial/setup when it holds another setup ("settings" says what the
  // setup covers, for the message). Once per run (the root).
  void claim(const std::string& settings) const;

  struct Saved {
    bool finished = false;
    std::string bytes;    // the item's result or state; empty when none was saved
    std::string problem;  // why a file there is of no use (truncated, ...); empty if none
  };
  Saved read(const std::string& item) const;
  void save(const std::string& item, bool finished, std::string_view bytes) const;

  // The item's file, for messages.
  std::string path(const std::string& item) const;

 private:
  std::string dir_, setup_;
};

}  // namespace ss
