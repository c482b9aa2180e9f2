#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/interrupt.h"

namespace ss {

namespace {
thread_local const std::function<void()>* t_interrupt_check = nullptr;
int default_threads = 0;  // 0: every core

// How long a thread spins (under a Spin) for the next job, or for the workers to finish, before
// it sleeps: long enough to bridge the gaps between one token's jobs in decode. The spin yields
// the core every 64 pauses.
constexpr auto kSpin = std::chrono::microseconds(200);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

// Spins until done() or kSpin has passed, if a Spin lives; true if done().
template <class Done>
bool ThreadPool::spin_until(Done done) const {
  if (spinners_.load(std::memory_order_relaxed) == 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
  }
}

InterruptScope::InterruptScope(std::function<void()> check)
    : check_(std::move(check)), previous_(t_interrupt_check) {
  t_interrupt_check = &check_;
}

InterruptScope::~InterruptScope() {
  t_interrupt_check = previous_;
}

void check_interrupt() {
  if (t_interrupt_check) (*t_interrupt_check)();
}

int ThreadPool::default_size() {
  return default_threads > 0 ? default_threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}
void ThreadPool::set_default_size(int n) {
  default_threads = n;
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = default_size();
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

static void run_chunk(const std::function<void(size_t, size_t, int)>& fn, size_t n, int index,
                      int n_threads) {
  size_t begin = n * index / n_threads, end = n * (index + 1) / n_threads;
  if (begin < end) fn(begin, end, index);
}

static void run_pieces(const std::function<void(size_t, size_t, int)>& fn, size_t n, size_t grain,
                       int index, std::atomic<size_t>& next) {
  for (size_t b; (b = next.fetch_add(grain, std::memory_order_relaxed)) < n;)
    fn(b, std::min(n, b + grain), index);
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn) {
  run(n, 0, fn);
}

void ThreadPool::parallel_for_dynamic(size_t n, size_t grain,
                                      const std::function<void(size_t, size_t, int)>& fn) {
  run(n, std::max<size_t>(grain, 1), fn);
}

void ThreadPool::run(size_t n, size_t grain, const std::function<void(size_t, size_t, int)>& fn) {
  check_interrupt();  // before any worker starts: a throw leaves no job half handed out
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    fn(0, n, 0);
    return;
  }
  {
    std::lock_guard lock(mu_);
    job_ = &fn;
    job_n_ = n;
    job_grain_ = grain;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);
  }
  start_cv_.notify_all();  // (cheap when every worker is spinning: no waiter to wake)
  work(fn, n, grain, 0);
  const auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done)) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, all_done);
  }
  std::lock_guard lock(mu_);
  job_ = nullptr;
}

void ThreadPool::work(const std::function<void(size_t, size_t, int)>& fn, size_t n, size_t grain,
                      int index) {
  if (grain == 0)
    run_chunk(fn, n, index, size());
  else
    run_pieces(fn, n, grain, index, next_);
}

void ThreadPool::worker_loop(int index) {
  size_t seen = 0;
  for (;;) {
    const std::function<void(size_t, size_t, int)>* job;
    size_t n, grain;
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    {
      // The job's fields are read under the lock whether the spin saw it or not.
      std::unique_lock lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      job = job_;
      n = job_n_;
      grain = job_grain_;
    }
    work(*job, n, grain, index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the lock, so the caller cannot check pending_ and then miss this notification.
      std::lock_guard lock(mu_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace ss
