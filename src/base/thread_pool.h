#pragma once
// A fixed pool of worker threads. parallel_for splits [0, n) into contiguous chunks; each index is
// processed by exactly one thread with the same code path whatever the thread count, so results
// do not depend on it.
//
// While a ThreadPool::Spin lives, a thread spins for a short while between jobs before it sleeps
// on a condition variable: decode runs over a hundred short jobs per token, and a futex wake-up
// per job (tens of microseconds on a VM) cost it a tenth of its time. Otherwise threads sleep at
// once: spinning after every job doubled the run time of some tests under ctest -j2, whose
// processes share the cores. A spin lasts at most 200 µs per gap and yields the core as it goes,
// so decode under a Spin in processes that share cores (tests, MPI ranks) costs little.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ss {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads = 0);  // 0: default_size()
  // The size of a pool asked for 0 threads: every core, or what set_default_size chose (the
  // cores divided by the MPI ranks sharing them).
  static int default_size();
  static void set_default_size(int n);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Spinning between jobs, for as long as one of these lives (nested ones count).
  class Spin {
   public:
    Spin(ThreadPool& pool, bool on) : pool_(on ? &pool : nullptr) {
      if (pool_) pool_->spinners_.fetch_add(1);
    }
    ~Spin() {
      if (pool_) pool_->spinners_.fetch_sub(1);
    }
    Spin(const Spin&) = delete;
    Spin& operator=(const Spin&) = delete;

   private:
    ThreadPool* pool_;
  };

  // Calls fn(begin, end, thread_index) on disjoint chunks covering [0, n); returns when all are
  // done.
  void parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn);

  // The same, with [0, n) handed out in pieces of `grain` to whichever thread is free: a thread
  // that the OS (or a VM's host) holds back then costs its share of one piece, not half the work.
  // Which thread runs an index varies from run to run, so fn must not depend on thread_index for
  // its results (per-thread scratch is fine; per-thread partial sums are not).
  void parallel_for_dynamic(size_t n, size_t grain,
                            const std::function<void(size_t, size_t, int)>& fn);

 private:
  void worker_loop(int index);
  template <class Done>
  bool spin_until(Done done) const;
  void run(size_t n, size_t grain, const std::function<void(size_t, size_t, int)>& fn);
  void work(const std::function<void(size_t, size_t, int)>& fn, size_t n, size_t grain, int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(size_t, size_t, int)>* job_ = nullptr;
  size_t job_n_ = 0;
  size_t job_grain_ = 0;  // 0: contiguous chunks (parallel_for); else pieces of job_grain_
  std::atomic<size_t> next_{0};
  // Written under mu_, read by spinning threads without it.
  std::atomic<size_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> spinners_{0};  // live Spin objects
  bool stop_ = false;
};

}  // namespace ss
