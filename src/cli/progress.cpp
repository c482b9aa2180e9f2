#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "base/cluster.h"

namespace ss {

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)),
      enabled_(enabled && cluster().root() && ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::update(long done, long total, long items) {
  if (!enabled_ || total <= 0) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double frac = static_cast<double>(done) / static_cast<double>(total);
  const int width = 30;
  int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  double eta = done > 0 ? secs * (1.0 / frac - 1.0) : 0.0;
  if (items >= 0 && secs > 0)
    std::fprintf(stderr, "\r%s [%s] %ld/%ld  %.0f tok/s  ETA %.0fs ", label_.c_str(), bar.c_str(),
                 done, total, static_cast<double>(items) / secs, eta);
  else
    std::fprintf(stderr, "\r%s [%s] %ld/%ld  ETA %.0fs ", label_.c_str(), bar.c_str(), done, total,
                 eta);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace ss
