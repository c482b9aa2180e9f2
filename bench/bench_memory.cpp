// The machine's memory bandwidth, the physical limit of decode (every weight read once per
// token): a STREAM-style triad, a[i] = b[i] + s * c[i], and a read-only sum, which is what decode
// does to its weights. Arrays of 256 MiB each, far beyond any L3, split between the threads as the
// runtime splits rows; the first touch is by the same threads, so each slice sits where it is
// read.
//
//   SINKSCOPE_BENCH_THREADS=2 build/release/bench/sinkscope_bench --benchmark_filter=memory/
//
// Counter GB/s (10^9 bytes per second of wall clock), counted as STREAM counts: the triad moves
// 12 bytes per float element (two read, one written; the write's cache-line fill is not counted),
// the sum 4.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/thread_pool.h"

namespace {

constexpr size_t kElems = size_t{64} << 20;  // 256 MiB of f32 per array

ss::ThreadPool& memory_pool() {
  const char* s = std::getenv("SINKSCOPE_BENCH_THREADS");
  static ss::ThreadPool p(s ? std::atoi(s) : 0);
  return p;
}

struct Arrays {
  std::vector<float> a, b, c;
  Arrays() : a(kElems), b(kElems), c(kElems) {
    memory_pool().parallel_for(kElems, [&](size_t i0, size_t i1, int) {
      for (size_t i = i0; i < i1; ++i) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
      }
    });
  }
};

Arrays& arrays() {
  static Arrays s;
  return s;
}

void BM_Triad(benchmark::State& state) {
  Arrays& m = arrays();
  const float s = 3.0f;
  for (auto _ : state) {
    memory_pool().parallel_for(kElems, [&](size_t i0, size_t i1, int) {
      float* __restrict a = m.a.data();
      const float* __restrict b = m.b.data();
      const float* __restrict c = m.c.data();
      for (size_t i = i0; i < i1; ++i) a[i] = b[i] + s * c[i];
    });
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(12.0 * kElems / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Read(benchmark::State& state) {
  Arrays& m = arrays();
  std::vector<float> partial(static_cast<size_t>(memory_pool().size()) * 16);
  for (auto _ : state) {
    memory_pool().parallel_for(kElems, [&](size_t i0, size_t i1, int thread) {
      // Eight independent 4-float sums, 128 bytes a step, so the adds never wait on each other.
      // (Eight float sums written as scalars became two 4-deep chains of vector adds, and held
      // one thread to about 25 GB/s, below what decode itself reads.)
      using Floats4 = float __attribute__((vector_size(16)));
      Floats4 s[8] = {};
      const float* b = m.b.data();
      size_t i = i0;
      for (; i + 32 <= i1; i += 32)
        for (int k = 0; k < 8; ++k) {
          Floats4 v;
          std::memcpy(&v, b + i + 4 * k, sizeof v);
          s[k] += v;
        }
      float total = 0;
      for (; i < i1; ++i) total += b[i];
      for (const Floats4& v : s) total += v[0] + v[1] + v[2] + v[3];
      partial[static_cast<size_t>(thread) * 16] = total;
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(4.0 * kElems / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Triad)->Name("memory/triad")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Read)->Name("memory/read")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
