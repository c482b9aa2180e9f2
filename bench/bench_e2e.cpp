// End-to-end forward-pass benchmarks of one model file, used by bench/e2e. Registered only when
// SINKSCOPE_BENCH_MODEL names a model (GGUF, or llama2.c .bin); each times exactly what a command
// does per window, without loading or tokenizing:
//
//   e2e/prefill/plain  forward over a window of ctx tokens, logits of the last token only
//                      (what llama-bench's pp test does)
//   e2e/prefill/stats  the same with SinkStatsObserver and MassiveObserver attached, statistics
//                      of the window finished                     (analyze --no-nll)
//   e2e/prefill/mask   the same with 4 heads zeroed
//   e2e/prefill/nocheck  plain without the runtime's finite check (Runtime::set_finite_check),
//                      whose cost is plain / nocheck (issue 21: at most 1% of prefill)
//   e2e/prefill/nll    forward_nll: logits and loss at every position (perplexity)
//   e2e/prefill/nll+stats  the same with all statistics           (analyze)
//   e2e/prefill/compare  one window through the model twice (two runtimes), KL and top-1 at every
//                      position (compare A against B; issue 16: at most 1.1x two nll passes)
//   e2e/decode/*       16 prompt tokens, then N single-token steps, greedy; only the steps timed
//   e2e/*/other        plain prefill and decode of a second model, SINKSCOPE_BENCH_MODEL_B (e.g. a
//                      pruned export of the first), interleaved with the others at random, so
//                      other / plain is a speed-up measured in the same run
//
// SINKSCOPE_BENCH_CTX (default "512,2048") and SINKSCOPE_BENCH_DECODE (default 64) set the sizes;
// SINKSCOPE_BENCH_THREADS the threads; SINKSCOPE_BENCH_BF16_ACTIVATIONS (set) loads the model as
// --bf16-activations does, SINKSCOPE_BENCH_INT8_ACTIVATIONS as --int8-activations does. Token ids
// are a fixed pseudo-random sequence (speed does not depend on them). Run with
// --benchmark_repetitions=3 and compare medians. Counters: tok/s (wall clock) and tok/s_cpu (per
// main-thread CPU-second: see Timer).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/head_stats.h"
#include "analysis/massive.h"
#include "base/thread_pool.h"
#include "eval/compare.h"
#include "model/load_model.h"
#include "runtime/head_mask.h"
#include "runtime/runtime.h"

namespace {

const char* model_path() {
  return std::getenv("SINKSCOPE_BENCH_MODEL");
}

const char* model_b_path() {
  return std::getenv("SINKSCOPE_BENCH_MODEL_B");
}

ss::ThreadPool& e2e_pool() {
  static ss::ThreadPool p([] {
    const char* s = std::getenv("SINKSCOPE_BENCH_THREADS");
    return s ? std::atoi(s) : 0;
  }());
  return p;
}

std::vector<int> token_ids(const ss::ModelConfig& c, int n) {
  std::vector<int> t(static_cast<size_t>(n));
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    t[i] = 3 + static_cast<int>(x % static_cast<uint64_t>(c.vocab_size - 3));
  }
  t[0] = 1;  // BOS
  return t;
}

// Loaded once; a short forward pass maps every weight page and sizes the per-thread buffers.
std::unique_ptr<ss::Model> load_warm(const char* path) {
  auto p = std::make_unique<ss::Model>(ss::load_model(path));
  p->bf16_activations = std::getenv("SINKSCOPE_BENCH_BF16_ACTIVATIONS") != nullptr;
  p->int8_activations = std::getenv("SINKSCOPE_BENCH_INT8_ACTIVATIONS") != nullptr;
  ss::Runtime rt(*p, e2e_pool(), 8);
  rt.forward(token_ids(p->config, 8), 0, ss::Logits::Last);
  return p;
}

const ss::Model& model() {
  static const std::unique_ptr<ss::Model> m = load_warm(model_path());
  return *m;
}

// The second model (variant "other").
const ss::Model& model_b() {
  static const std::unique_ptr<ss::Model> m = load_warm(model_b_path());
  return *m;
}

// Heads (l, l mod H) of layers 0, 1, L/2 and L-1: bench/e2e passes the same list to --ablate.
ss::HeadMask ablation(const ss::ModelConfig& c) {
  ss::HeadMask mask(c);
  for (int l : {0, 1, c.n_layers / 2, c.n_layers - 1})
    mask.set(std::min(l, c.n_layers - 1), std::min(l, c.n_layers - 1) % c.n_heads,
             ss::HeadAction::Zero);
  return mask;
}

enum class Variant { Plain, Stats, Mask, Nll, NllStats, NoCheck, Other };

// Wall-clock and main-thread CPU time of a timed region. The main thread runs a share of every
// parallel_for and all the serial code, and the pool blocks (never spins) while idle, so its CPU
// time is close to the wall time the region would take with the cores to itself: on a shared
// machine tok/s_cpu estimates the uncontended rate, tok/s is what the run got.
struct Timer {
  std::chrono::steady_clock::time_point wall0 = std::chrono::steady_clock::now();
  double cpu0 = thread_cpu();
  static double thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  double wall() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  }
  double cpu() const { return thread_cpu() - cpu0; }
};

void BM_Prefill(benchmark::State& state, Variant v) {
  const ss::Model& m = v == Variant::Other ? model_b() : model();
  const int ctx = static_cast<int>(state.range(0));
  ss::Runtime rt(m, e2e_pool(), ctx);
  ss::SinkStatsObserver stats(m, {});
  ss::MassiveObserver massive(m.config);
  const ss::HeadMask mask = ablation(m.config);
  const bool with_stats = v == Variant::Stats || v == Variant::NllStats;
  const std::vector<int> tokens = token_ids(m.config, ctx);
  // Untimed, before any observer: one window to size the runtime's buffers (their first use
  // faults in every page), as every window of a run after its first finds them; llama-bench
  // warms up the same way.
  rt.forward(tokens, 0, ss::Logits::None);
  if (with_stats) rt.add_observer(&stats), rt.add_observer(&massive);
  if (v == Variant::Mask) rt.set_head_mask(&mask);
  if (v == Variant::NoCheck) rt.set_finite_check(false);
  if (with_stats) {  // untimed: the observers' one-time set-up (W_O Gram matrices), as analyze
    stats.begin_window(8);  // pays it once per run, not per window
    rt.forward({tokens.data(), 8}, 0, ss::Logits::None);
  }
  double cpu = 0;
  for (auto _ : state) {
    const Timer t;
    if (with_stats) stats.begin_window(ctx), massive.begin_window(0, tokens);
    if (v == Variant::Nll || v == Variant::NllStats)
      benchmark::DoNotOptimize(rt.forward_nll(tokens, 0));
    else
      benchmark::DoNotOptimize(rt.forward(tokens, 0, ss::Logits::Last));
    if (with_stats) benchmark::DoNotOptimize(stats.finish_window());
    state.SetIterationTime(t.wall());
    cpu += t.cpu();
  }
  state.counters["tok/s"] = benchmark::Counter(ctx, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tok/s_cpu"] =
      static_cast<double>(ctx) * static_cast<double>(state.iterations()) / cpu;
}

// compare's work for one window: the same model as A and B (the cost does not depend on the
// weights), a runtime each.
void BM_Compare(benchmark::State& state) {
  const ss::Model& m = model();
  const int ctx = static_cast<int>(state.range(0));
  ss::Runtime a(m, e2e_pool(), ctx), b(m, e2e_pool(), ctx);
  const std::vector<int> tokens = token_ids(m.config, ctx);
  const ss::WindowPlan plan{ctx, 0, 0, ss::Scoring::All};
  ss::compare_models(a, b, tokens, plan, 1, e2e_pool());  // untimed: buffers, as in BM_Prefill
  double cpu = 0;
  for (auto _ : state) {
    const Timer t;
    benchmark::DoNotOptimize(ss::compare_models(a, b, tokens, plan, 1, e2e_pool()));
    state.SetIterationTime(t.wall());
    cpu += t.cpu();
  }
  state.counters["tok/s"] = benchmark::Counter(ctx, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tok/s_cpu"] =
      static_cast<double>(ctx) * static_cast<double>(state.iterations()) / cpu;
}

void BM_Decode(benchmark::State& state, Variant v) {
  const ss::Model& m = v == Variant::Other ? model_b() : model();
  const int prompt = 16, n = static_cast<int>(state.range(0));
  ss::Runtime rt(m, e2e_pool(), prompt + n);
  ss::SinkStatsObserver stats(m, {});
  const ss::HeadMask mask = ablation(m.config);
  if (v == Variant::Stats) rt.add_observer(&stats);
  if (v == Variant::Mask) rt.set_head_mask(&mask);
  std::vector<int> ids = token_ids(m.config, prompt);
  double cpu = 0;
  for (auto _ : state) {
    ids.resize(prompt);
    if (v == Variant::Stats) stats.begin_window(prompt + n);
    std::vector<float> logits = rt.forward(ids, 0, ss::Logits::Last);
    const Timer t;
    for (int i = 0; i < n; ++i) {
      ids.push_back(
          static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      logits = rt.forward({&ids.back(), 1}, static_cast<int>(ids.size()) - 1, ss::Logits::Last);
    }
    state.SetIterationTime(t.wall());
    cpu += t.cpu();
  }
  state.counters["tok/s"] = benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tok/s_cpu"] =
      static_cast<double>(n) * static_cast<double>(state.iterations()) / cpu;
}

std::vector<int> env_ints(const char* name, const char* fallback) {
  const char* s = std::getenv(name);
  std::stringstream in(s ? s : fallback);
  std::vector<int> out;
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  return out;
}

int register_e2e() {
  if (!model_path()) return 0;
  std::vector<std::pair<const char*, Variant>> variants = {
      {"plain", Variant::Plain}, {"stats", Variant::Stats},        {"mask", Variant::Mask},
      {"nll", Variant::Nll},     {"nll+stats", Variant::NllStats}, {"nocheck", Variant::NoCheck}};
  if (model_b_path()) variants.emplace_back("other", Variant::Other);
  for (int ctx : env_ints("SINKSCOPE_BENCH_CTX", "512,2048")) {
    for (auto [name, v] : variants)
      benchmark::RegisterBenchmark((std::string("e2e/prefill/") + name).c_str(), BM_Prefill, v)
          ->ArgName("ctx")
          ->Arg(ctx)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark("e2e/prefill/compare", BM_Compare)
        ->ArgName("ctx")
        ->Arg(ctx)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kSecond);
  }
  for (int n : env_ints("SINKSCOPE_BENCH_DECODE", "64"))
    for (auto [name, v] : variants)
      if (v != Variant::Nll && v != Variant::NllStats && v != Variant::NoCheck)
        benchmark::RegisterBenchmark((std::string("e2e/decode/") + name).c_str(), BM_Decode, v)
            ->ArgName("tokens")
            ->Arg(n)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kSecond);
  return 0;
}

const int e2e_registered = register_e2e();

}  // namespace
