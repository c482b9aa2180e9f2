// Google Benchmark suites for the kernels: matmul per weight dtype and shape, a peak-FMA loop (so
// GEMM efficiency can be stated as a fraction of what this CPU does), attention, norms, rope.
//
//   build/release/sinkscope_bench --benchmark_filter='matmul/F32'
//   SINKSCOPE_BENCH_THREADS=2 build/release/sinkscope_bench --benchmark_filter='peak_fma|attention'
//
// Threads: SINKSCOPE_BENCH_THREADS (default: all cores), one ThreadPool for every benchmark.
// Multi-threaded benchmarks use wall-clock time (UseRealTime); single-threaded ones Google
// Benchmark's default, CPU time of the thread. Counters: GFLOPS (10^9 floating point operations
// per second, a multiply-add counted as 2), GB/s (weight bytes read per second); matmul_eff adds
// GFLOPS_per_core (per CPU-second) and pct_of_peak, that as a percentage of peak_fma/*/1thread.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if SINKSCOPE_BENCH_CBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own; not in every cblas.h
#endif

#include "analysis/head_stats.h"
#include "base/dtype.h"
#include "base/thread_pool.h"
#include "model/synth.h"
#include "ops/basic.h"
#include "ops/dequant.h"
#include "ops/dot.h"
#include "ops/matmul.h"
#include "ops/matmul_bf16.h"
#include "ops/simd/isa.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"
#include "train/grad_ops.h"

namespace {

// The SIMD variant every figure ran on, in the benchmark's context (SINKSCOPE_ISA chooses).
const bool kVariantNoted = [] {
  try {
    benchmark::AddCustomContext("sinkscope_simd", ss::isa_name(ss::active_isa()));
  } catch (const std::exception& e) {
    benchmark::AddCustomContext("sinkscope_simd", e.what());
  }
  return true;
}();

int bench_threads() {
  const char* s = std::getenv("SINKSCOPE_BENCH_THREADS");
  return s ? std::atoi(s) : 0;
}

ss::ThreadPool& pool() {
  static ss::ThreadPool p(bench_threads());
  return p;
}

std::vector<float> random_floats(size_t n, float sd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Peak FMA: independent chains of a = a * m + c, enough of them to cover FMA latency × units on
// current x86 cores (Zen 4: 4 cycles × 2 pipes; Intel: 4 × 2). Values converge to c / (1 - m)
// and stay normal.

constexpr int kChains = 12;
constexpr long kFmaIters = 1L << 22;

#if defined(__x86_64__)
// (Compiled for AVX-512 / AVX2 whatever the build's -march; run only where the CPU has them.)
__attribute__((noinline, target("avx512f"))) float fma_loop_512(long iters) {
  __m512 a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(k));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  }
  __m512 s = a[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, a[k]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

__attribute__((noinline, target("avx2,fma"))) float fma_loop_256(long iters) {
  __m256 a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(k));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  }
  __m256 s = a[0];
  for (int k = 1; k < kChains; ++k) s = _mm256_add_ps(s, a[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}
#endif

float fma_loop_scalar(long iters) {
  float a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = 1.0f + 0.01f * static_cast<float>(k);
  for (long i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k) a[k] = std::fma(a[k], 0.999999f, 1e-6f);
  float r = 0;
  for (float v : a) r += v;
  return r;
}

using FmaLoop = float (*)(long);

// Runs the loop on every pool thread at once; returns the FLOPs done.
double run_fma(FmaLoop loop, int lanes, bool all_threads) {
  const int n = all_threads ? pool().size() : 1;
  std::vector<float> sink(static_cast<size_t>(n));
  if (all_threads)
    pool().parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) sink[i] = loop(kFmaIters);
    });
  else
    sink[0] = loop(kFmaIters);
  benchmark::DoNotOptimize(sink.data());
  return 2.0 * lanes * kChains * static_cast<double>(kFmaIters) * n;
}

struct FmaKind {
  const char* name;
  FmaLoop loop;
  int lanes;
};

std::vector<FmaKind> fma_kinds() {
  std::vector<FmaKind> k;
#if defined(__x86_64__)
  if (ss::isa_supported(ss::Isa::Avx512)) k.push_back({"avx512", fma_loop_512, 16});
  if (ss::isa_supported(ss::Isa::Avx2)) k.push_back({"avx2", fma_loop_256, 8});
#endif
  k.push_back({"scalar", fma_loop_scalar, 1});
  return k;
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The FMA peak of one core (GFLOP per CPU-second of the calling thread, best vector width, best of
// 3), measured once per process. Rates per CPU-second do not drop when other processes share the
// cores, unlike rates per wall-clock second.
double core_peak_gflops() {
  static const double peak = [] {
    double best = 0;
    for (const FmaKind& k : fma_kinds())
      for (int rep = 0; rep < 3; ++rep) {
        const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        const double flops = run_fma(k.loop, k.lanes, false);
        best = std::max(best, flops / (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e9);
      }
    return best;
  }();
  return peak;
}

void BM_PeakFma(benchmark::State& state, FmaKind kind, bool all_threads) {
  double flops = 0;
  for (auto _ : state) flops = run_fma(kind.loop, kind.lanes, all_threads);
  state.counters["threads"] = all_threads ? pool().size() : 1;
  state.counters["GFLOPS"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---------------------------------------------------------------------------------------------
// matmul: one weight matrix per (dtype, rows, cols), made once and shared by the token counts.

struct Weights {
  std::vector<uint8_t> bytes;
  ss::Tensor t;
};

const Weights& weights(ss::DType type, int rows, int cols) {
  static std::map<std::tuple<uint32_t, int, int>, std::unique_ptr<Weights>> cache;
  auto& slot = cache[{static_cast<uint32_t>(type), rows, cols}];
  if (!slot) {
    auto w = std::make_unique<Weights>();
    const size_t rb = ss::dtype_row_bytes(type, static_cast<size_t>(cols));
    w->bytes.resize(rb * static_cast<size_t>(rows));
    const std::vector<float> v = random_floats(static_cast<size_t>(rows) * cols,
                                               1.0f / std::sqrt(static_cast<float>(cols)), 7);
    for (int r = 0; r < rows; ++r)
      ss::quantize_row(type, v.data() + static_cast<size_t>(r) * cols, w->bytes.data() + r * rb,
                       static_cast<size_t>(cols));
    w->t = ss::Tensor{"w", type, {cols, rows}, w->bytes.data()};
    slot = std::move(w);
  }
  return *slot;
}

void BM_Matmul(benchmark::State& state, ss::DType type, int rows, int cols) {
  const size_t n = static_cast<size_t>(state.range(0));
  const Weights* w = nullptr;
  try {
    w = &weights(type, rows, cols);
  } catch (const std::exception& e) {
    state.SkipWithError(("cannot make " + ss::dtype_name(type) + " weights: " + e.what()).c_str());
    for (auto _ : state) {
    }
    return;
  }
  const std::vector<float> x = random_floats(n * cols, 1.0f, 11);
  std::vector<float> y(n * rows);
  for (auto _ : state) {
    ss::matmul(w->t, x.data(), n, y.data(), pool());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * rows * cols * static_cast<double>(n);
  state.counters["GFLOPS"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w->bytes.size()) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// Decode's matmul: one to a few tokens against a weight matrix far larger than any L3 (32768 ×
// 2048: 71 MB of Q8_0, 268 MB of F32), so every weight comes from memory once per call, as in a
// model's decode. GB/s is the weight bytes read per wall-clock second, to set beside memory/read.
void BM_MatmulDecode(benchmark::State& state, ss::DType type, bool all_threads) {
  static ss::ThreadPool one_thread(1);
  ss::ThreadPool& p = all_threads ? pool() : one_thread;
  constexpr int kRows = 32768, kCols = 2048;
  const size_t n = static_cast<size_t>(state.range(0));
  const Weights& w = weights(type, kRows, kCols);
  const std::vector<float> x = random_floats(n * kCols, 1.0f, 11);
  std::vector<float> y(n * kRows);
  for (auto _ : state) {
    ss::matmul(w.t, x.data(), n, y.data(), p);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w.bytes.size()) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// Adds pct_fma_peak to F32 GEMMs: done as a second benchmark family so the peak is measured
// before any matmul and the ratio is computed from the same run's figures.
// GEMM efficiency: the f32 matmul's FLOPs per CPU-second of the whole process (all pool threads;
// the pool blocks rather than spins when idle) as a percentage of one core's measured FMA peak,
// which is what the kernel reaches of the machine when it has the cores to itself.
// GFLOPS is per wall-clock second.
// GFLOPS (per wall-clock second), GFLOPS_per_core (per CPU-second of the process since cpu0) and
// pct_of_peak (that against peak) of a loop doing `flops` per iteration.
void efficiency_counters(benchmark::State& state, double flops, double cpu0, double peak) {
  const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  const double per_cpu_s = flops * static_cast<double>(state.iterations()) / cpu / 1e9;
  state.counters["GFLOPS"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOPS_per_core"] = per_cpu_s;
  state.counters["pct_of_peak"] = 100.0 * per_cpu_s / peak;
}

// bf16: BF16 weights with BF16-rounded activations (ops/matmul_bf16.h), against twice the f32
// FMA peak: vdpbf16ps does 32 multiply-adds per instruction at the FMA's rate (measured on Zen 5:
// 2.1x the FLOPs of the f32 FMA in the same dependency-free loop).
void BM_MatmulEfficiency(benchmark::State& state, int rows, int cols, bool all_threads, bool bf16) {
  static ss::ThreadPool one_thread(1);
  ss::ThreadPool& p = all_threads ? pool() : one_thread;
  const size_t n = static_cast<size_t>(state.range(0));
  if (bf16 && !ss::bf16_dot_supported()) {
    state.SkipWithError("the SIMD variant in use has no BF16 dot products");
    for (auto _ : state) {
    }
    return;
  }
  const double peak = core_peak_gflops() * (bf16 ? 2 : 1);
  const Weights& w = weights(bf16 ? ss::DType::BF16 : ss::DType::F32, rows, cols);
  const std::vector<float> x = random_floats(n * cols, 1.0f, 11);
  std::vector<float> y(n * rows);
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (auto _ : state) {
    if (bf16)
      ss::matmul_bf16(w.t, x.data(), n, y.data(), p);
    else
      ss::matmul(w.t, x.data(), n, y.data(), p);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  efficiency_counters(state, 2.0 * rows * cols * static_cast<double>(n), cpu0, peak);
  state.counters["core_peak"] = peak;
  state.counters["threads"] = p.size();
}

#if SINKSCOPE_BENCH_CBLAS
// The same products with OpenBLAS's sgemm (Y = X · Wᵀ, row-major), its threads set to the
// pool's: the baseline a BLAS would give. Its results depend on its blocking and thread count.
void BM_MatmulBlas(benchmark::State& state, int rows, int cols, bool all_threads) {
  const size_t n = static_cast<size_t>(state.range(0));
  openblas_set_num_threads(all_threads ? pool().size() : 1);
  const double peak = core_peak_gflops();
  const Weights& w = weights(ss::DType::F32, rows, cols);
  const std::vector<float> x = random_floats(n * cols, 1.0f, 11);
  std::vector<float> y(n * rows);
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), rows, cols, 1.0f,
                x.data(), cols, w.t.f32(), cols, 0.0f, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  efficiency_counters(state, 2.0 * rows * cols * static_cast<double>(n), cpu0, peak);
}
#endif

// Training linear layers (forward Y = X·Wᵀ, backward dX and dW) at the shapes of the default
// model, 2048 tokens per step; pct_of_peak as for matmul_eff. Part: 0 forward, 1 backward.
void BM_TrainLinear(benchmark::State& state, int out, int in, int part, bool all_threads) {
  static ss::ThreadPool one_thread(1);
  ss::ThreadPool& p = all_threads ? pool() : one_thread;
  const size_t n = 2048;
  const double peak = core_peak_gflops();
  const std::vector<float> x = random_floats(n * in, 1.0f, 21),
                           w = random_floats(out * in, 0.1f, 22),
                           dy = random_floats(n * out, 1.0f, 23);
  std::vector<float> y(n * out), dx(n * in), dw(out * in);
  const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (auto _ : state) {
    if (part == 0)
      ss::train::linear_fwd(y.data(), x.data(), w.data(), n, in, out, p);
    else
      ss::train::linear_bwd(dx.data(), dw.data(), dy.data(), x.data(), w.data(), n, in, out, p);
    benchmark::ClobberMemory();
  }
  efficiency_counters(state, (part == 0 ? 2.0 : 4.0) * out * in * static_cast<double>(n), cpu0,
                      peak);
  state.counters["threads"] = p.size();
}

// ---------------------------------------------------------------------------------------------
// Attention: a model whose residual stream is tiny (dim 64, FFN 64) but whose attention is
// Llama-1B-like (32 query heads, 8 KV heads, head_dim 64), so attention is ~95% of the work at
// long context. One layer; logits are not computed.

ss::ModelConfig attention_config(int max_ctx) {
  ss::ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 64;
  c.n_layers = 1;
  c.n_heads = 32;
  c.n_kv_heads = 8;
  c.head_dim = 64;
  c.vocab_size = 256;
  c.max_seq_len = max_ctx;
  c.rope_theta = 500000.0f;
  return c;
}

const ss::Model& attention_model() {
  static const ss::Model m = ss::make_random_model(attention_config(4096), 3);
  return m;
}

std::vector<int> some_tokens(int n) {
  std::vector<int> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[i] = (i * 37 + 1) % 256;
  return t;
}

double attention_flops(const ss::ModelConfig& c, double q0, double q1) {
  // Σ over query positions q0..q1-1 of (pos + 1) keys: QK dot and AV sum, 2 flops each per dim.
  const double keys = (q1 * (q1 + 1) - q0 * (q0 + 1)) / 2.0;
  return 4.0 * c.n_layers * c.n_heads * c.head_dim * keys;
}

enum class Extra { None, Stats, Mask };

void BM_AttentionPrefill(benchmark::State& state, Extra extra) {
  const int T = static_cast<int>(state.range(0));
  const ss::Model& m = attention_model();
  ss::Runtime rt(m, pool(), T);
  ss::SinkStatsObserver stats(m, {});
  ss::HeadMask mask(m.config);
  for (int h = 0; h < m.config.n_heads; h += 8) mask.set(0, h, ss::HeadAction::Zero);
  if (extra == Extra::Stats) rt.add_observer(&stats);
  if (extra == Extra::Mask) rt.set_head_mask(&mask);
  const std::vector<int> tokens = some_tokens(T);
  for (auto _ : state) {
    if (extra == Extra::Stats) stats.begin_window(T);
    rt.forward(tokens, 0, ss::Logits::None);
  }
  state.counters["GFLOPS"] = benchmark::Counter(attention_flops(m.config, 0, T) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tok/s"] = benchmark::Counter(T, benchmark::Counter::kIsIterationInvariantRate);
}

// One new token at position T-1 over a cache of T-1 keys (the cache slot is rewritten each time).
void BM_AttentionDecode(benchmark::State& state) {
  const int T = static_cast<int>(state.range(0));
  const ss::Model& m = attention_model();
  ss::Runtime rt(m, pool(), T);
  const std::vector<int> tokens = some_tokens(T);
  rt.forward({tokens.data(), tokens.size() - 1}, 0, ss::Logits::None);
  for (auto _ : state) rt.forward({tokens.data() + T - 1, 1}, T - 1, ss::Logits::None);
  state.counters["GFLOPS"] = benchmark::Counter(attention_flops(m.config, T - 1, T) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// ---------------------------------------------------------------------------------------------
// Element-wise kernels (single thread, as the runtime calls them).

void BM_RmsNorm(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = random_floats(n, 1.0f, 1), w = random_floats(n, 1.0f, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    ss::rmsnorm(out.data(), x.data(), w.data(), n, 1e-5f);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(3 * n * sizeof(float)));
}

void BM_Softmax(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x0 = random_floats(n, 3.0f, 1);
  std::vector<float> x(n);
  for (auto _ : state) {
    std::copy(x0.begin(), x0.end(), x.begin());
    ss::softmax(x.data(), n);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

// All heads of one token: 32 query + 8 key vectors of 64, as in the 1B shape.
void BM_Rope(benchmark::State& state) {
  const size_t hd = 64, heads = 40;
  std::vector<float> v = random_floats(hd * heads, 1.0f, 1);
  int pos = 0;
  for (auto _ : state) {
    for (size_t h = 0; h < heads; ++h) ss::rope_adjacent(v.data() + h * hd, hd, pos, 500000.0f);
    pos = (pos + 1) & 4095;
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(heads));
  state.SetLabel("items = head vectors of 64");
}

void BM_Swiglu(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<float> g = random_floats(n, 1.0f, 1);
  const std::vector<float> u = random_floats(n, 1.0f, 2), g0 = g;
  for (auto _ : state) {
    std::copy(g0.begin(), g0.end(), g.begin());
    ss::swiglu(g.data(), u.data(), n);
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

// The two dot kernels of the runtime: f32 SIMD (matmul rows) and f64 (attention scores).
template <bool F64>
void BM_Dot(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> a = random_floats(n, 1.0f, 1), b = random_floats(n, 1.0f, 2);
  for (auto _ : state) {
    if constexpr (F64)
      benchmark::DoNotOptimize(ss::dot_f64(a.data(), b.data(), n));
    else
      benchmark::DoNotOptimize(ss::dot(a.data(), b.data(), n));
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(n) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// ---------------------------------------------------------------------------------------------

std::vector<ss::DType> matmul_types() {
  std::vector<ss::DType> t{ss::DType::F32, ss::DType::F16, ss::DType::BF16, ss::DType::Q8_0};
  for (uint32_t id = 0; id < 64; ++id) {
    const auto d = static_cast<ss::DType>(id);
    if (ss::dtype_info(id) && ss::can_dequantize(d) && std::find(t.begin(), t.end(), d) == t.end())
      t.push_back(d);
  }
  return t;
}

int register_all() {
  for (const FmaKind& k : fma_kinds()) {
    // Per CPU-second of the thread: one core's peak even on a shared machine.
    benchmark::RegisterBenchmark((std::string("peak_fma/") + k.name + "/1thread").c_str(),
                                 BM_PeakFma, k, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("peak_fma/") + k.name + "/pool").c_str(), BM_PeakFma,
                                 k, true)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  // Rows x cols of the 1B shape: attn_q/attn_output, attn_k/v, ffn_gate/up, ffn_down.
  const std::pair<int, int> shapes[] = {{2048, 2048}, {512, 2048}, {8192, 2048}, {2048, 8192}};
  for (bool bf16 : {false, true})
    for (bool all : {false, true})
      for (auto [rows, cols] : shapes)
        benchmark::RegisterBenchmark(
            (std::string(bf16 ? "matmul_eff/BF16act/" : "matmul_eff/F32/") + std::to_string(rows) +
             "x" + std::to_string(cols) + (all ? "/pool" : "/1thread"))
                .c_str(),
            BM_MatmulEfficiency, rows, cols, all, bf16)
            ->ArgName("tokens")
            ->Arg(64)
            ->Arg(512)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
#if SINKSCOPE_BENCH_CBLAS
  for (bool all : {false, true})
    for (auto [rows, cols] : shapes)
      benchmark::RegisterBenchmark(("matmul_eff/openblas/" + std::to_string(rows) + "x" +
                                    std::to_string(cols) + (all ? "/pool" : "/1thread"))
                                       .c_str(),
                                   BM_MatmulBlas, rows, cols, all)
          ->ArgName("tokens")
          ->Arg(64)
          ->Arg(512)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
#endif
  // Default-model shapes (dim 192, FFN 512, vocab 2048): attn_q, ffn_gate, ffn_down, output.
  const std::pair<int, int> train_shapes[] = {{192, 192}, {512, 192}, {192, 512}, {2048, 192}};
  for (bool all : {false, true})
    for (int part : {0, 1})
      for (auto [out, in] : train_shapes)
        benchmark::RegisterBenchmark(
            ("train_linear/" + std::string(part ? "bwd/" : "fwd/") + std::to_string(out) + "x" +
             std::to_string(in) + (all ? "/pool" : "/1thread"))
                .c_str(),
            BM_TrainLinear, out, in, part, all)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
  for (ss::DType t : matmul_types())
    for (auto [rows, cols] : shapes)
      benchmark::RegisterBenchmark(
          ("matmul/" + ss::dtype_name(t) + "/" + std::to_string(rows) + "x" + std::to_string(cols))
              .c_str(),
          BM_Matmul, t, rows, cols)
          ->ArgName("tokens")
          ->Arg(1)
          ->Arg(64)
          ->Arg(512)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  for (ss::DType t : {ss::DType::F32, ss::DType::BF16, ss::DType::F16, ss::DType::Q8_0,
                      ss::DType::Q4_0, ss::DType::Q4_K, ss::DType::Q6_K})
    for (bool all : {false, true})
      benchmark::RegisterBenchmark(
          ("matmul_decode/" + ss::dtype_name(t) + (all ? "/pool" : "/1thread")).c_str(),
          BM_MatmulDecode, t, all)
          ->ArgName("tokens")
          ->Arg(1)
          ->Arg(4)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  const std::pair<const char*, Extra> extras[] = {
      {"plain", Extra::None}, {"stats", Extra::Stats}, {"mask", Extra::Mask}};
  for (auto [name, extra] : extras)
    benchmark::RegisterBenchmark((std::string("attention/prefill/") + name).c_str(),
                                 BM_AttentionPrefill, extra)
        ->ArgName("ctx")
        ->Arg(512)
        ->Arg(2048)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("attention/decode", BM_AttentionDecode)
      ->ArgName("ctx")
      ->Arg(512)
      ->Arg(2048)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("rmsnorm", BM_RmsNorm)->Arg(2048)->Arg(8192);
  benchmark::RegisterBenchmark("softmax", BM_Softmax)->Arg(2048)->Arg(128256);
  benchmark::RegisterBenchmark("rope/40heads_x64", BM_Rope);
  benchmark::RegisterBenchmark("swiglu", BM_Swiglu)->Arg(8192);
  benchmark::RegisterBenchmark("dot/f32", BM_Dot<false>)->Arg(64)->Arg(2048)->Arg(8192);
  benchmark::RegisterBenchmark("dot/f64", BM_Dot<true>)->Arg(64)->Arg(2048);
  return 0;
}

const int kernels_registered = register_all();

}  // namespace
