// ThreadPool: both ways of splitting [0, n) cover every index exactly once, in pieces of the size
// asked for, and the pool can be reused job after job; an interrupt check (base/interrupt.h)
// stops a computation before a job and leaves the pool usable.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/interrupt.h"
#include "base/thread_pool.h"

namespace ss {
namespace {

// How many times each index was visited, and the largest piece seen.
struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<size_t> largest{0};
  explicit Coverage(size_t n) : hits(n) {}
  void visit(size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
    size_t seen = largest.load();
    while (e - b > seen && !largest.compare_exchange_weak(seen, e - b)) {
    }
  }
  void expect_each_once(const char* what) const {
    for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << what << " index " << i;
  }
};

TEST(ThreadPool, DynamicPiecesCoverEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5})
    for (size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, size_t{1001}}) {
      for (size_t grain : {size_t{0}, size_t{1}, size_t{3}, size_t{64}, size_t{5000}}) {
        ThreadPool pool(threads);
        Coverage c(n);
        pool.parallel_for_dynamic(n, grain, [&](size_t b, size_t e, int t) {
          ASSERT_LT(t, pool.size());
          c.visit(b, e);
        });
        c.expect_each_once("dynamic");
        // A grain of 0 is taken as 1; a single thread or a single index runs as one call.
        if (threads > 1 && n > 1) {
          EXPECT_LE(c.largest.load(), std::max<size_t>(grain, 1));
        }
      }
    }
}

// Under a Spin the threads wait for the next job spinning, not sleeping: thousands of tiny jobs
// (decode's pattern) still cover every index once, and the pool runs on and shuts down after the
// Spin is gone, while its threads may still be spinning.
TEST(ThreadPool, TinyJobsUnderASpinCoverEveryIndexOnce) {
  for (int threads : {2, 4}) {
    ThreadPool pool(threads);
    {
      const ThreadPool::Spin spin(pool, true);
      for (int round = 0; round < 2000; ++round) {
        const size_t n = 1 + static_cast<size_t>(round) % 9;
        Coverage c(n);
        if (round % 2)
          pool.parallel_for(n, [&](size_t lo, size_t hi, int) { c.visit(lo, hi); });
        else
          pool.parallel_for_dynamic(n, 1, [&](size_t lo, size_t hi, int) { c.visit(lo, hi); });
        c.expect_each_once("under a spin");
      }
    }
    Coverage after(5);
    pool.parallel_for(5, [&](size_t lo, size_t hi, int) { after.visit(lo, hi); });
    after.expect_each_once("after the spin");
  }
}

TEST(ThreadPool, ContiguousAndDynamicJobsAlternateOnOnePool) {
  ThreadPool pool(3);
  for (int round = 0; round < 50; ++round) {
    const size_t n = 10 + static_cast<size_t>(round) * 7;
    Coverage a(n), b(n);
    pool.parallel_for(n, [&](size_t lo, size_t hi, int) { a.visit(lo, hi); });
    pool.parallel_for_dynamic(n, 4, [&](size_t lo, size_t hi, int) { b.visit(lo, hi); });
    a.expect_each_once("contiguous");
    b.expect_each_once("dynamic");
    EXPECT_LE(a.largest.load(), (n + 2) / 3);
  }
}

TEST(ThreadPool, InterruptCheckRunsBeforeEachJobOnTheCallingThreadOnly) {
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> checks{0}, elsewhere{0};
    int jobs_run = 0;
    {
      InterruptScope scope([&] {
        if (std::this_thread::get_id() != caller) elsewhere.fetch_add(1);
        if (checks.fetch_add(1) >= 2) throw std::runtime_error("interrupted");
      });
      auto job = [&] {
        pool.parallel_for(64, [](size_t, size_t, int) {});
        ++jobs_run;
      };
      job();
      job();
      EXPECT_THROW(job(), std::runtime_error);  // the third check on throws, before its job
      EXPECT_EQ(jobs_run, 2);
      {
        InterruptScope inner([] {});  // nested: replaces the outer check while it lives
        job();
      }
      EXPECT_THROW(pool.parallel_for_dynamic(8, 1, [](size_t, size_t, int) {}), std::runtime_error);
    }
    EXPECT_EQ(checks.load(), 4) << threads;
    EXPECT_EQ(elsewhere.load(), 0) << threads;
    // Out of scope: no check; the pool still runs jobs after the throws.
    Coverage c(100);
    pool.parallel_for(100, [&](size_t b, size_t e, int) { c.visit(b, e); });
    c.expect_each_once("after interrupts");
    EXPECT_EQ(checks.load(), 4);
  }
}

}  // namespace
}  // namespace ss
