#include "experiments/sweep_cost.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "model/load_model.h"
#include "prune/drop_layers.h"
#include "prune/export_pruned.h"
#include "prune/remove_heads.h"
#include "runtime/runtime.h"

namespace ss {

namespace fs = std::filesystem;

namespace {

constexpr int kPrompt = 16;  // decode's prompt, as bench/e2e's

// A fixed pseudo-random sequence, BOS first (speed does not depend on the ids).
std::vector<int> timing_ids(const ModelConfig& c, int n) {
  std::vector<int> t(static_cast<size_t>(n));
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    t[i] = c.vocab_size > 3 ? 3 + static_cast<int>(x % static_cast<uint64_t>(c.vocab_size - 3)) : 0;
  }
  t[0] = std::min(1, c.vocab_size - 1);
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace

// A model's two runtimes, warmed up (buffers sized, weight pages mapped).
struct CostMeter::Timing {
  Runtime prefill, decode;
  std::vector<int> ids;
  int ctx, steps;
  Timing(const Model& m, ThreadPool& pool, int ctx_, int steps_, const std::vector<bool>& skip)
      : prefill(m, pool, ctx_),
        decode(m, pool, kPrompt + steps_),
        ids(timing_ids(m.config, std::max(ctx_, kPrompt + steps_))),
        ctx(ctx_),
        steps(steps_) {
    prefill.set_skipped_layers(skip);
    decode.set_skipped_layers(skip);
    time_prefill();
    time_decode();
  }
  // Seconds of `times` prefills (decode runs) in a row.
  double time_prefill(int times = 1) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < times; ++k)
      prefill.forward({ids.data(), static_cast<size_t>(ctx)}, 0, Logits::Last);
    return seconds_since(t0);
  }
  double time_decode(int times = 1) {
    double s = 0;
    for (int k = 0; k < times; ++k) {
      decode.forward({ids.data(), static_cast<size_t>(kPrompt)}, 0, Logits::Last);
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = kPrompt; i < kPrompt + steps; ++i) decode.forward({&ids[i], 1}, i, Logits::Last);
      s += seconds_since(t0);
    }
    return s;
  }
};

double gguf_parameter_count(const Model& model) {
  double n = 0;
  for (const GgufTensorInfo& t : model_gguf_tensors(model)) {
    double e = 1;
    for (int64_t d : t.ne) e *= static_cast<double>(d);
    n += e;
  }
  return n;
}

std::map<std::string, std::map<std::string, double>> parse_llama_bench_json(
    const std::string& text, const std::string& what) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) throw InputError(what, "printed no JSON array (is it llama-bench?)");
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& t : j) {
    if (!t.is_object() || !t.contains("model_filename") || !t["model_filename"].is_string() ||
        !t.contains("n_prompt") || !t["n_prompt"].is_number_integer() || !t.contains("n_gen") ||
        !t["n_gen"].is_number_integer() || !t.contains("avg_ts") || !t["avg_ts"].is_number())
      throw InputError(what, "a test lacks model_filename, n_prompt, n_gen or avg_ts");
    out[t["model_filename"].get<std::string>()][t["n_gen"].get<int>() == 0 ? "pp" : "tg"] =
        t["avg_ts"].get<double>();
  }
  return out;
}

CostMeter::CostMeter(const Model& dense, ThreadPool& pool, const CostOptions& opt)
    : dense_(dense), pool_(pool), opt_(opt) {
  ensure_output_dir(opt_.work_dir);
  dense_file_ = (fs::path(opt_.work_dir) / "dense.gguf").string();
}

CostMeter::~CostMeter() {
  std::error_code ec;
  fs::remove(dense_file_, ec);
}

std::map<std::string, double> CostMeter::measure(const HeadMask& mask,
                                                 const std::vector<std::pair<int, int>>& heads,
                                                 const std::vector<int>& layers) {
  const ModelConfig& c = dense_.config;
  // The dense model as `export` writes it, timed from that file like every point.
  if (!dense_timing_) {
    export_pruned_gguf(dense_, opt_.tokenizer, HeadMask(c), dense_file_, "dense", false);
    dense_model_ = std::make_unique<Model>(load_model(dense_file_));
    dense_model_->bf16_activations = dense_.bf16_activations;
    dense_model_->int8_activations = dense_.int8_activations;
    dense_timing_ =
        std::make_unique<Timing>(*dense_model_, pool_, opt_.ctx, opt_.decode, std::vector<bool>{});
    // Repetitions per sample, from the dense model's time (fastest of 3), so that a sample of a
    // small model lasts at least min_sample_s; the same counts for every point.
    double pre = 1e30, dec = 1e30;
    for (int k = 0; k < 3; ++k)
      pre = std::min(pre, dense_timing_->time_prefill()),
      dec = std::min(dec, dense_timing_->time_decode());
    prefill_times_ = std::max(1, static_cast<int>(std::ceil(opt_.min_sample_s / pre)));
    decode_times_ = std::max(1, static_cast<int>(std::ceil(opt_.min_sample_s / dec)));
  }

  const std::string file = (fs::path(opt_.work_dir) / "point.gguf").string();
  bool physical = false;
  std::vector<bool> skip;  // layers that could not leave the file are skipped by the runtime
  if (!layers.empty()) {
    physical =
        static_cast<int>(layers.size()) < c.n_layers && layer_drop_problem(c, layers).empty();
    if (physical) {
      export_dropped_layers_gguf(dense_, opt_.tokenizer, layers, file);
    } else {
      export_pruned_gguf(dense_, opt_.tokenizer, HeadMask(c), file, "dense", false);
      skip.assign(c.n_layers, false);
      for (int l : layers) skip[l] = true;
    }
  } else {
    // Per-layer head counts run in sinkscope; llama-bench needs one count for every layer.
    physical = !heads.empty() && !head_removal_problem(c, heads) &&
               (opt_.llama_bench.empty() || removal_keeps_one_head_count(c, heads));
    export_pruned_gguf(dense_, opt_.tokenizer, mask, file, "sweep point", physical);
  }

  std::map<std::string, double> cost;
  {
    Model m = load_model(file);
    m.bf16_activations = dense_.bf16_activations;
    m.int8_activations = dense_.int8_activations;
    cost["cost.physical"] = physical ? 1 : 0;
    cost["cost.params"] = gguf_parameter_count(m);
    cost["cost.file_bytes"] = static_cast<double>(fs::file_size(file));
    Timing t(m, pool_, opt_.ctx, opt_.decode, skip);
    Timing& d = *dense_timing_;
    std::vector<double> pre, dec, pre_ratio, dec_ratio;
    for (int r = 0; r < opt_.reps; ++r) {
      // Alternating order: ABBA ..., so neither model always runs second.
      double a, b;
      const int np = prefill_times_, nd = decode_times_;
      if (r % 2 == 0) {
        a = d.time_prefill(np), b = t.time_prefill(np);
      } else {
        b = t.time_prefill(np), a = d.time_prefill(np);
      }
      pre.push_back(b), pre_ratio.push_back(a / b);
      if (r % 2 == 0) {
        a = d.time_decode(nd), b = t.time_decode(nd);
      } else {
        b = t.time_decode(nd), a = d.time_decode(nd);
      }
      dec.push_back(b), dec_ratio.push_back(a / b);
    }
    cost["cost.prefill_tok_s"] = static_cast<double>(opt_.ctx) * prefill_times_ / median(pre);
    cost["cost.decode_tok_s"] = static_cast<double>(opt_.decode) * decode_times_ / median(dec);
    cost["cost.prefill_speedup"] = median(pre_ratio);
    cost["cost.decode_speedup"] = median(dec_ratio);
  }

  if (!opt_.llama_bench.empty() && skip.empty()) {
    const std::string cmd = shell_quote(opt_.llama_bench) + " -m " + shell_quote(dense_file_) +
                            " -m " + shell_quote(file) + " -p " + std::to_string(opt_.ctx) +
                            " -n " + std::to_string(opt_.decode) + " -t " +
                            std::to_string(pool_.size()) + " -r " + std::to_string(opt_.reps) +
                            " -o json 2>/dev/null";
    std::string text;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw InputError("--llama-bench", "cannot run " + opt_.llama_bench);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
    const int status = pclose(p);
    if (status != 0)
      throw InputError("--llama-bench", opt_.llama_bench + " failed (status " +
                                            std::to_string(status) + ") on " + file);
    auto ts = parse_llama_bench_json(text, "--llama-bench");
    const auto& dn = ts[dense_file_];
    const auto& pt = ts[file];
    if (!dn.count("pp") || !dn.count("tg") || !pt.count("pp") || !pt.count("tg"))
      throw InputError("--llama-bench", "printed no pp and tg tests for both files");
    cost["llama.prefill_tok_s"] = pt.at("pp");
    cost["llama.decode_tok_s"] = pt.at("tg");
    cost["llama.prefill_speedup"] = pt.at("pp") / dn.at("pp");
    cost["llama.decode_speedup"] = pt.at("tg") / dn.at("tg");
  }
  std::error_code ec;
  fs::remove(file, ec);
  return cost;
}

}  // namespace ss
