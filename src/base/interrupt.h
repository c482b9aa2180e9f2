#pragma once
// A way to stop a long computation from outside (Ctrl-C in the Python module): a check that
// ThreadPool runs on the calling thread before it hands out each job. The check may throw; the
// exception leaves the computation through the library's RAII like any other error. Set per
// thread, so only the computations that thread starts are checked, and never on a worker.
#include <functional>

namespace ss {

// Installs `check` for the current thread while it lives; restores the previous one after.
class InterruptScope {
 public:
  explicit InterruptScope(std::function<void()> check);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  std::function<void()> check_;
  const std::function<void()>* previous_;
};

// Runs the current thread's check, if any (ThreadPool calls it; so may long loops that run
// without the pool).
void check_interrupt();

}  // namespace ss
