// The Python module `sinkscope`: a thin pybind11 layer over the library (docs/python.md). Every
// computation runs with the GIL released; activations are written by the runtime's observers
// straight into numpy arrays allocated before the run (one copy, out of buffers the runtime
// reuses), logits likewise.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/statistics.h"
#include "array_pool.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "base/sha256.h"
#include "base/text_file.h"
#include "base/thread_pool.h"
#include "eval/mc_eval.h"
#include "eval/perplexity.h"
#include "eval/perplexity_conventions.h"
#include "eval/windows.h"
#include "experiments/analyze.h"
#include "experiments/sweep.h"
#include "model/load_model.h"
#include "prune/layer_criteria.h"
#include "report/analysis_json.h"
#include "report/mc_json.h"
#include "report/sweep_files.h"
#include "runtime/generate.h"
#include "runtime/head_mask.h"
#include "runtime/hooks.h"
#include "runtime/runtime.h"
#include "runtime/sampler.h"

namespace py = pybind11;

namespace {

using ss::Hook;
constexpr int kHooks = 6;  // the entries of ss::hook_points()

// A bad argument: ValueError("<argument>: <what is wrong>"), the library's one-line form.
[[noreturn]] void bad(const std::string& arg, const std::string& what) {
  throw py::value_error(arg + ": " + what);
}

// The library's InputError for an argument the binding passes on, renamed from its CLI option
// ("--ctx: ...") to the keyword argument ("ctx: ...").
[[noreturn]] void rethrow_as_argument(const ss::InputError& e) {
  std::string msg = e.what();
  if (msg.rfind("--", 0) == 0) msg.erase(0, 2);
  throw py::value_error(msg);
}

// Python text of bytes that may end inside a UTF-8 sequence (one token of a longer character).
py::str utf8_text(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// Ctrl-C during a long call: while it lives, every job the library hands to its thread pool, and
// every few thousand steps of tokenizing, first checks (base/interrupt.h), at most every 100 ms,
// whether a signal came in: it takes the GIL, lets Python run its signal handlers, and a
// KeyboardInterrupt they raise unwinds the computation.
ss::InterruptScope interruptible() {
  return ss::InterruptScope([last = std::chrono::steady_clock::now()]() mutable {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(100)) return;
    last = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  });
}

// A warning for text files that were not valid UTF-8, as the commands print one.
void warn_invalid_utf8(const std::string& path, size_t bytes) {
  if (bytes == 0) return;
  const std::string msg =
      path + ": " + std::to_string(bytes) + " bytes of invalid UTF-8 replaced by U+FFFD";
  if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 1) != 0) throw py::error_already_set();
}

// os.fspath of a str or os.PathLike naming a file; ValueError(arg) for anything else.
std::string file_path(const py::handle& p, const std::string& arg) {
  if (!py::isinstance<py::str>(p) && !py::isinstance(p, py::module_::import("os").attr("PathLike")))
    bad(arg, "must be a file path (str or os.PathLike)");
  return py::str(py::module_::import("os").attr("fspath")(p)).cast<std::string>();
}

// A JSON value as Python objects (dict, list, int, float, str, bool, None).
py::object from_json(const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::boolean:
      return py::bool_(j.get<bool>());
    case T::number_integer:
      return py::int_(j.get<int64_t>());
    case T::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case T::number_float:
      return py::float_(j.get<double>());
    case T::string:
      return utf8_text(j.get<std::string>());
    case T::array: {
      py::list l;
      for (const auto& v : j) l.append(from_json(v));
      return l;
    }
    case T::object: {
      py::dict d;
      for (const auto& [k, v] : j.items()) d[py::str(k)] = from_json(v);
      return d;
    }
    default:
      return py::none();
  }
}

// One column of JSON rows as a numpy array: bool, int64, float64 (null: NaN) or str.
py::array json_column(const nlohmann::json& rows, const std::string& key) {
  using T = nlohmann::json::value_t;
  bool all_bool = true, all_int = true, all_num = true;
  for (const auto& r : rows) {
    const auto& v = r.at(key);
    all_bool = all_bool && v.is_boolean();
    all_int = all_int && v.is_number_integer();
    all_num = all_num && (v.is_number() || v.is_null());
  }
  const auto n = static_cast<py::ssize_t>(rows.size());
  if (n > 0 && all_bool) {
    py::array_t<bool> a(n);
    for (py::ssize_t i = 0; i < n; ++i) a.mutable_data()[i] = rows[i].at(key).get<bool>();
    return a;
  }
  if (n > 0 && all_int) {
    py::array_t<int64_t> a(n);
    for (py::ssize_t i = 0; i < n; ++i) a.mutable_data()[i] = rows[i].at(key).get<int64_t>();
    return a;
  }
  if (all_num) {
    py::array_t<double> a(n);
    for (py::ssize_t i = 0; i < n; ++i) {
      const auto& v = rows[i].at(key);
      a.mutable_data()[i] = v.type() == T::null ? std::nan("") : v.get<double>();
    }
    return a;
  }
  py::list l;
  for (const auto& r : rows) l.append(from_json(r.at(key)));
  return py::module_::import("numpy").attr("array")(l);
}

// A table: a pandas DataFrame when pandas can be imported, else a dict of numpy arrays (column
// name -> one value per row), in column order either way.
py::object table(const py::dict& columns) {
  py::module_ pandas;
  try {
    pandas = py::module_::import("pandas");
  } catch (const py::error_already_set& e) {
    if (!e.matches(PyExc_ImportError)) throw;
    return columns;
  }
  return pandas.attr("DataFrame")(columns);
}

py::object json_table(const nlohmann::json& rows, const std::vector<std::string>& columns) {
  py::dict d;
  for (const std::string& c : columns) d[py::str(c)] = json_column(rows, c);
  return table(d);
}

// Writes the hooks asked for into their arrays: rows pos0.. of [n_tokens][width] per (hook,
// layer), and the attention rows of chosen heads into [T][T] matrices (zero above the diagonal).
class Collector : public ss::Observer {
 public:
  Collector(int n_layers, int n_heads, int n_tokens)
      : n_heads_(n_heads),
        n_tokens_(n_tokens),
        dest_(static_cast<size_t>(kHooks) * n_layers),
        pattern_(static_cast<size_t>(n_layers) * n_heads, nullptr),
        rows_seen_(pattern_.size()) {}
  void want(Hook hook, int layer, float* out, size_t width) { slot(hook, layer) = {out, width}; }
  // out: [n_tokens][n_tokens], uninitialised; each row is written whole (zeros above the
  // diagonal) as it arrives, so the array is written once; zero_missing_rows() clears any row
  // that never came.
  void want_pattern(int layer, int head, float* out) {
    const size_t i = static_cast<size_t>(layer) * n_heads_ + head;
    pattern_[i] = out;
    rows_seen_[i].assign(static_cast<size_t>(n_tokens_), 0);
  }

  bool wants_pattern(int layer) const override {
    auto first = pattern_.begin() + static_cast<long>(layer) * n_heads_;
    return std::any_of(first, first + n_heads_, [](float* p) { return p != nullptr; });
  }
  // Rows of one head come from one thread (Runtime::attention), so rows_seen_[i] needs no lock.
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override {
    const size_t i = static_cast<size_t>(layer) * n_heads_ + head;
    float* out = pattern_[i];
    if (!out || pos < 0 || pos >= n_tokens_) return;
    float* dst = out + static_cast<size_t>(pos) * n_tokens_;
    const size_t k = std::min<size_t>(row.size(), n_tokens_);
    std::copy_n(row.data(), k, dst);
    std::fill(dst + k, dst + n_tokens_, 0.0f);
    rows_seen_[i][static_cast<size_t>(pos)] = 1;
  }
  void zero_missing_rows() {
    for (size_t i = 0; i < pattern_.size(); ++i)
      if (pattern_[i])
        for (int pos = 0; pos < n_tokens_; ++pos)
          if (!rows_seen_[i][static_cast<size_t>(pos)])
            std::fill_n(pattern_[i] + static_cast<size_t>(pos) * n_tokens_, n_tokens_, 0.0f);
  }
  void on_resid_pre(int l, int pos0, int n, const float* x) override {
    copy(Hook::ResidPre, l, pos0, n, x);
  }
  void on_values(int l, int pos0, int n, const float* v) override {
    copy(Hook::Values, l, pos0, n, v);
  }
  void on_z(int l, int pos0, int n, const float* z) override { copy(Hook::Z, l, pos0, n, z); }
  void on_mlp_post(int l, int pos0, int n, const float* h) override {
    copy(Hook::MlpPost, l, pos0, n, h);
  }
  void on_resid_post(int l, int pos0, int n, const float* x) override {
    copy(Hook::ResidPost, l, pos0, n, x);
  }

 private:
  struct Dest {
    float* out = nullptr;
    size_t width = 0;
  };
  Dest& slot(Hook hook, int layer) {
    return dest_[static_cast<size_t>(layer) * kHooks + static_cast<int>(hook)];
  }
  void copy(Hook hook, int layer, int pos0, int n, const float* x) {
    const Dest& d = slot(hook, layer);
    if (d.out) std::copy_n(x, static_cast<size_t>(n) * d.width, d.out + pos0 * d.width);
  }
  int n_heads_, n_tokens_;
  std::vector<Dest> dest_;
  std::vector<float*> pattern_;
  std::vector<std::vector<char>> rows_seen_;  // per pattern asked: which rows arrived
};

// Replaces hook activations by the rows of the arrays given (activation patching).
class ArrayPatcher : public ss::Patcher {
 public:
  explicit ArrayPatcher(int n_layers) : src_(static_cast<size_t>(kHooks) * n_layers) {}
  void set(Hook hook, int layer, const float* data, size_t width) {
    src_[static_cast<size_t>(layer) * kHooks + static_cast<int>(hook)] = {data, width};
    any_ = true;
  }
  bool any() const { return any_; }
  void patch(Hook hook, int layer, int pos0, int n, float* x) override {
    const Src& s = src_[static_cast<size_t>(layer) * kHooks + static_cast<int>(hook)];
    if (s.data) std::copy_n(s.data + pos0 * s.width, static_cast<size_t>(n) * s.width, x);
  }

 private:
  struct Src {
    const float* data = nullptr;
    size_t width = 0;
  };
  std::vector<Src> src_;
  bool any_ = false;
};

class PyTokenizer {
 public:
  explicit PyTokenizer(std::shared_ptr<const ss::Tokenizer> t) : t_(std::move(t)) {}

  std::vector<int> encode(const std::string& text, std::optional<bool> bos) const {
    const bool add_bos = bos.value_or(t_->add_bos());
    py::gil_scoped_release release;
    const ss::InterruptScope interrupt = interruptible();
    return t_->encode(text, add_bos);
  }
  py::str decode(const std::vector<int>& ids) const {
    std::string out;
    int prev = -1;
    for (int id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= t_->vocab_size())
        bad("ids", "token id " + std::to_string(id) + " is outside the vocabulary of " +
                       std::to_string(t_->vocab_size()));
      out += t_->decode_token(prev, id);
      prev = id;
    }
    return utf8_text(out);
  }
  const ss::Tokenizer& get() const { return *t_; }

 private:
  std::shared_ptr<const ss::Tokenizer> t_;
};

// The shape of one hook's array for n tokens: TransformerLens's less the batch axis. Its rows are
// what the runtime delivers per token.
std::vector<py::ssize_t> hook_shape(Hook hook, const ss::ModelConfig& c, int n) {
  switch (hook) {
    case Hook::ResidPre:
    case Hook::ResidPost:
      return {n, c.dim};
    case Hook::Values:
      return {n, c.n_kv_heads, c.head_dim};
    case Hook::Z:
      return {n, c.n_heads, c.head_dim};
    case Hook::MlpPost:
      return {n, c.hidden_dim};
    case Hook::Pattern:
      break;
  }
  return {};  // patterns are not recorded per token: [heads asked, query, key] per layer
}

// A float32 hyper-parameter as the decimal it was written as (1e-05, not 9.99999974e-06).
double decimal(float v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.7g", static_cast<double>(v));
  return std::strtod(s, nullptr);
}

size_t row_width(const std::vector<py::ssize_t>& shape) {
  size_t w = 1;
  for (size_t i = 1; i < shape.size(); ++i) w *= static_cast<size_t>(shape[i]);
  return w;
}

std::string shape_text(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A fresh directory under the system's temporary folder, removed with its contents at the end;
// none when `skip`.
struct TempDir {
  std::string path;
  explicit TempDir(bool skip) {
    if (skip) return;
    std::string t = (std::filesystem::temp_directory_path() / "sinkscope-sweep-XXXXXX").string();
    if (!mkdtemp(t.data())) throw ss::InputError(t, std::strerror(errno));
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The typed result of `Model.analyze`: what `sinkscope analyze` writes, as Python objects. Built
// once from the library's AnalysisResult (report/analysis_json.h gives the same document the
// command writes to analysis.json and heads.json).
struct PyAnalysis {
  py::dict model;
  py::list stat_names;
  double eps = 0;
  int sink_tokens = 0;
  long tokens_processed = 0;
  py::list runs;
  py::object heads, layers, massive;
  py::list stability;
};

py::array_t<float> pattern_array(const ss::HeadPattern& p) {
  const auto n = static_cast<py::ssize_t>(p.rows.size());
  py::array_t<float> a(std::vector<py::ssize_t>{n, n});
  for (py::ssize_t q = 0; q < n; ++q) {
    const auto& row = p.rows[static_cast<size_t>(q)];
    float* out = a.mutable_data() + q * n;
    std::fill_n(out, n, 0.0f);
    std::copy_n(row.data(), std::min<size_t>(row.size(), static_cast<size_t>(n)), out);
  }
  return a;
}

std::shared_ptr<PyAnalysis> make_analysis(const ss::AnalysisResult& r) {
  const nlohmann::json doc = ss::to_json(r);
  auto a = std::make_shared<PyAnalysis>();
  a->model = from_json(doc["model"]);
  a->stat_names = from_json(doc["stat_names"]);
  a->eps = r.eps;
  a->sink_tokens = r.sink_tokens;
  a->tokens_processed = r.tokens_processed;
  a->stability = from_json(doc["stability"]);

  const std::vector<std::string> tables = {"heads", "layers", "massive", "strongest_sink_pattern",
                                           "dumps"};
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const nlohmann::json& run = doc["runs"][i];
    py::dict d;
    for (const auto& [k, v] : run.items())
      if (std::find(tables.begin(), tables.end(), k) == tables.end()) d[py::str(k)] = from_json(v);
    const ss::AnalysisRun& typed = r.runs[i];
    py::dict strongest;
    strongest["layer"] = typed.strongest_sink.layer;
    strongest["head"] = typed.strongest_sink.head;
    strongest["pattern"] = pattern_array(typed.strongest_sink);
    d["strongest_sink"] = strongest;
    py::dict dumps;
    for (const ss::HeadPattern& p : typed.dumps)
      dumps[py::make_tuple(p.layer, p.head)] = pattern_array(p);
    d["dumps"] = dumps;
    a->runs.append(d);
  }
  // heads.csv's, layers.csv's and massive.csv's rows and columns.
  const ss::AnalysisTables t = ss::analysis_tables(doc);
  a->heads = json_table(t.heads.rows, t.heads.columns);
  a->layers = json_table(t.layers.rows, t.layers.columns);
  a->massive = json_table(t.massive.rows, t.massive.columns);
  return a;
}

class PyModel {
 public:
  PyModel(const std::string& path, std::optional<int> threads, std::optional<std::string> tok) {
    if (threads && *threads < 1) bad("threads", "must be at least 1 (None: all cores)");
    py::gil_scoped_release release;
    model_ = ss::load_model(path);
    tok_ = std::make_shared<PyTokenizer>(
        ss::load_text_tokenizer(path, tok.value_or(""), model_.config.vocab_size));
    pool_ = std::make_unique<ss::ThreadPool>(threads.value_or(0));
  }

  py::dict config() const {
    const ss::ModelConfig& c = model_.config;
    py::dict d;
    d["arch"] = c.arch;
    d["d_model"] = c.dim;
    d["d_mlp"] = c.hidden_dim;
    d["n_layers"] = c.n_layers;
    d["n_heads"] = c.n_heads;
    d["n_kv_heads"] = c.n_kv_heads;
    if (!c.uniform_heads()) {  // a physically pruned model: n_heads, n_kv_heads are the largest
      d["n_heads_per_layer"] = c.layer_n_heads;
      d["n_kv_heads_per_layer"] = c.layer_n_kv_heads;
    }
    d["d_head"] = c.head_dim;
    d["d_vocab"] = c.vocab_size;
    d["n_ctx"] = c.max_seq_len;
    d["norm_eps"] = decimal(c.norm_eps);
    d["rope_theta"] = decimal(c.rope_theta);
    d["sliding_window"] = c.sliding_window;
    d["n_experts"] = c.n_experts;
    d["n_experts_used"] = c.n_experts_used;
    d["n_params"] = model_.n_params();
    return d;
  }
  const std::string& path() const { return model_.path; }
  std::shared_ptr<PyTokenizer> tokenizer() const { return tok_; }

  py::dict run(const std::vector<int>& ids, const std::vector<std::string>& cache,
               const std::vector<std::pair<int, int>>& patterns,
               const std::vector<std::pair<int, int>>& ablate, const py::dict& patch,
               bool want_logits) {
    const ss::ModelConfig& c = model_.config;
    const int n = static_cast<int>(ids.size());
    if (n == 0) bad("ids", "empty");
    if (n > c.max_seq_len)
      bad("ids", std::to_string(n) + " tokens, longer than the model's context of " +
                     std::to_string(c.max_seq_len));
    for (int id : ids)
      if (id < 0 || id >= c.vocab_size)
        bad("ids", "token id " + std::to_string(id) + " is outside the vocabulary of " +
                       std::to_string(c.vocab_size));

    py::dict out;
    py::array_t<float> logits;
    if (want_logits) {
      logits = sinkscope_python::ArrayPool::instance().floats({n, c.vocab_size});
      out["logits"] = logits;
    }

    // The hooks to record, each into its array.
    Collector collect(c.n_layers, c.n_heads, n);
    bool collecting = false;
    std::map<int, std::vector<int>> pattern_heads;  // layer -> heads, ascending
    auto add_pattern_head = [&](int l, int h) {
      std::vector<int>& heads = pattern_heads[l];
      if (std::find(heads.begin(), heads.end(), h) == heads.end()) heads.push_back(h);
    };
    for (const std::string& spec : cache) {
      for (const auto& [hook, l] : expand_hook_names(spec)) {
        if (hook == Hook::Pattern) {
          for (int h = 0; h < c.n_heads; ++h) add_pattern_head(l, h);
          continue;
        }
        const std::string name = ss::hook_name(hook, l);
        if (out.contains(name)) continue;
        const auto shape = hook_shape(hook, c, n);
        py::array_t<float> a = sinkscope_python::ArrayPool::instance().floats(shape);
        collect.want(hook, l, a.mutable_data(), row_width(shape));
        out[py::str(name)] = a;
        collecting = true;
      }
    }
    for (auto [l, h] : patterns) {
      check_head("patterns", l, h);
      add_pattern_head(l, h);
    }
    for (auto& [l, heads] : pattern_heads) {
      std::sort(heads.begin(), heads.end());
      const auto k = static_cast<py::ssize_t>(heads.size());
      py::array_t<float> a = sinkscope_python::ArrayPool::instance().floats({k, n, n});
      for (size_t i = 0; i < heads.size(); ++i)
        collect.want_pattern(l, heads[i], a.mutable_data() + i * n * n);
      out[py::str(ss::hook_name(Hook::Pattern, l))] = a;
      collecting = true;
    }

    const ss::HeadMask mask = ablation_mask(ablate);

    ArrayPatcher patcher(c.n_layers);
    std::vector<py::array_t<float>> kept;  // the patches' arrays, alive until the run ends
    for (const auto& [key, value] : patch) {
      if (!py::isinstance<py::str>(key)) bad("patch", "keys must be hook names");
      const std::string name = key.cast<std::string>();
      const auto [hook, l] = parse_hook("patch", name);
      if (hook == Hook::Pattern) bad("patch", name + ": attention patterns cannot be patched");
      if (hook == Hook::MlpPost && c.n_experts > 0)
        bad("patch", name + ": a mixture-of-experts model has no mlp.hook_post");
      if (!py::isinstance<py::array>(value))
        bad("patch", name + ": must be a numpy array of float32");
      const auto arr = py::reinterpret_borrow<py::array>(value);
      if (!arr.dtype().is(py::dtype::of<float>()))
        bad("patch",
            name + ": dtype " + py::str(arr.dtype()).cast<std::string>() + ", not float32");
      const auto shape = hook_shape(hook, c, n);
      if (!std::equal(shape.begin(), shape.end(), arr.shape(), arr.shape() + arr.ndim()))
        bad("patch",
            name + ": shape " +
                shape_text(std::vector<py::ssize_t>(arr.shape(), arr.shape() + arr.ndim())) +
                ", not " + shape_text(shape));
      kept.push_back(py::array_t<float, py::array::c_style>::ensure(arr));  // copies if strided
      patcher.set(hook, l, kept.back().data(), row_width(shape));
    }

    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      const ss::InterruptScope interrupt = interruptible();
      ss::Runtime rt(model_, *pool_, n);  // a cache for these tokens only, as `forward` has
      if (mask.any()) rt.set_head_mask(&mask);
      if (collecting) rt.add_observer(&collect);
      if (patcher.any()) rt.set_patcher(&patcher);
      rt.forward_hidden(ids, 0);
      if (want_logits) rt.logits(0, static_cast<size_t>(n), logits.mutable_data());
      collect.zero_missing_rows();
    }
    return out;
  }

  // What `sinkscope perplexity --json` prints, for text (str) or a file (os.PathLike).
  py::dict perplexity(const py::object& source, int ctx, int chunks, int stride,
                      const std::string& scoring_name,
                      const std::vector<std::pair<int, int>>& ablate) {
    const ss::ModelConfig& c = model_.config;
    const ss::Tokenizer& tok = tok_->get();
    std::string text;
    if (py::isinstance<py::str>(source))
      text = source.cast<std::string>();
    else if (py::isinstance(source, py::module_::import("os").attr("PathLike")))
      text = ss::read_text(py::str(py::module_::import("os").attr("fspath")(source))).text;
    else
      bad("text_or_file", "must be a str (the text) or an os.PathLike (a file)");
    ss::Scoring scoring;
    try {
      scoring = ss::parse_scoring(scoring_name, "scoring");
    } catch (const ss::InputError& e) {
      rethrow_as_argument(e);
    }
    if (ctx < 0) bad("ctx", "must not be negative (0: the model's context)");
    if (chunks < 0) bad("chunks", "must not be negative (0: all)");
    ctx = ctx > 0 ? ctx : c.max_seq_len;
    const ss::HeadMask mask = ablation_mask(ablate);
    const ss::WindowPlan plan{ctx, stride, chunks, scoring};

    ss::PerplexityResult r;
    std::vector<int> ids;
    {
      py::gil_scoped_release release;
      const ss::InterruptScope interrupt = interruptible();
      ids = tok.encode(text, tok.add_bos());
      // (py::value_error is a C++ exception: thrown without the GIL, translated with it.)
      if (ids.size() < 2) bad("text_or_file", "too short to score any token");
      try {
        ss::plan_windows(ids.size(), plan);
      } catch (const ss::InputError& e) {
        rethrow_as_argument(e);
      }
      std::lock_guard<std::mutex> lock(mu_);
      ss::Runtime rt(model_, *pool_, ctx);
      if (mask.any()) rt.set_head_mask(&mask);
      r = ss::perplexity(rt, ids, plan, tok.add_bos() ? tok.bos_id() : -1);
    }
    const int64_t unscored = static_cast<int64_t>(ids.size()) - 1 - r.tokens_scored;
    py::dict d;
    d["nll_mean"] = r.nll_mean;
    d["ppl"] = r.ppl;
    d["tokens_scored"] = r.tokens_scored;
    d["windows"] = r.windows;
    d["ctx"] = ctx;
    d["stride"] = stride > 0 ? stride : ctx;
    d["scoring"] = ss::scoring_name(scoring);
    d["nll_sum"] = r.nll_sum;
    d["unscored_tokens"] = unscored;
    d["heads_ablated"] = mask.n_masked();
    // Per byte and per word only when the whole text after its first token was scored.
    for (const char* key :
         {"bytes", "words", "bits_per_byte", "byte_perplexity", "word_perplexity"})
      d[key] = py::none();
    if (unscored == 0) {
      const ss::TextPerplexities t = ss::text_perplexities(r.nll_sum, text);
      d["bytes"] = t.bytes;
      d["words"] = t.words;
      d["bits_per_byte"] = t.bits_per_byte;
      d["byte_perplexity"] = t.byte_perplexity;
      d["word_perplexity"] = t.word_perplexity;
    }
    return d;
  }

  // The text `sinkscope generate` adds after the prompt (dense cache): greedy at temperature 0,
  // else nucleus sampling with the seed; stops at BOS, EOS or the model's context.
  py::str generate(const std::string& prompt, int n_new, float temperature, float top_p,
                   uint64_t seed, const std::vector<std::pair<int, int>>& ablate) {
    const ss::ModelConfig& c = model_.config;
    const ss::Tokenizer& tok = tok_->get();
    if (n_new < 0) bad("n", "must not be negative");
    if (temperature < 0) bad("temperature", "must not be negative");
    if (top_p < 0 || top_p > 1) bad("top_p", "must be between 0 and 1");
    const ss::HeadMask mask = ablation_mask(ablate);
    std::string text;
    {
      py::gil_scoped_release release;
      const ss::InterruptScope interrupt = interruptible();
      std::vector<int> ids = tok.encode(prompt, tok.add_bos());
      if (ids.empty()) bad("prompt", "no tokens (and no BOS to start from)");
      if (static_cast<int>(ids.size()) >= c.max_seq_len)
        bad("prompt", std::to_string(ids.size()) + " tokens fill the context of " +
                          std::to_string(c.max_seq_len));
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t need = static_cast<int64_t>(ids.size()) + n_new;
      ss::Runtime rt(model_, *pool_, static_cast<int>(std::min<int64_t>(need, c.max_seq_len)));
      if (mask.any()) rt.set_head_mask(&mask);
      ss::Sampler sampler(temperature, top_p, seed);
      ss::generate(rt, ids, n_new, sampler, {tok.bos_id(), tok.eos_id()},
                   [&](int prev, int next) { text += tok.decode_token(prev, next); });
    }
    return utf8_text(text);
  }

  // For bench/python_overhead.py: the C++ work of run(ids) (a runtime for these tokens, the
  // forward pass, every position's logits into one buffer), `repeats` times with no Python in
  // between; the seconds of each, by the steady clock.
  std::vector<double> forward_seconds(const std::vector<int>& ids, int repeats, bool want_logits) {
    const ss::ModelConfig& c = model_.config;
    const int n = static_cast<int>(ids.size());
    if (n == 0 || n > c.max_seq_len) bad("ids", "must hold 1 to n_ctx tokens");
    for (int id : ids)
      if (id < 0 || id >= c.vocab_size) bad("ids", "token id outside the vocabulary");
    if (repeats < 1) bad("repeats", "must be at least 1");
    std::vector<double> seconds;
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<float> logits(want_logits ? static_cast<size_t>(n) * c.vocab_size : 0);
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      {
        ss::Runtime rt(model_, *pool_, n);
        rt.forward_hidden(ids, 0);
        if (want_logits) rt.logits(0, static_cast<size_t>(n), logits.data());
      }
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return seconds;
  }

  // `sinkscope analyze` (dense cache) over texts (str) and files (os.PathLike), tokenized without
  // BOS and concatenated, as the command does with its files.
  std::shared_ptr<PyAnalysis> analyze(const py::object& sources, const py::object& ctx_arg,
                                      int chunks, const py::object& bos_arg,
                                      const std::optional<std::string>& first_token,
                                      int sink_tokens, double eps,
                                      const std::vector<std::pair<int, int>>& dump, int dump_window,
                                      bool nll, const std::vector<std::pair<int, int>>& ablate) {
    const ss::Tokenizer& tok = tok_->get();
    const auto pathlike = py::module_::import("os").attr("PathLike");
    std::vector<py::object> items;
    if (py::isinstance<py::str>(sources) || py::isinstance(sources, pathlike)) {
      items.push_back(sources);
    } else if (py::isinstance<py::list>(sources) || py::isinstance<py::tuple>(sources)) {
      for (const auto& item : sources) items.push_back(py::reinterpret_borrow<py::object>(item));
    }
    if (items.empty())
      bad("file_or_texts",
          "must be a str (a text), an os.PathLike (a file) or a non-empty list of them");
    std::vector<std::string> texts;
    for (const py::object& item : items) {
      if (py::isinstance<py::str>(item)) {
        texts.push_back(item.cast<std::string>());
      } else if (py::isinstance(item, pathlike)) {
        const std::string path = file_path(item, "file_or_texts");
        ss::TextFile f = ss::read_text(path);
        warn_invalid_utf8(path, f.invalid_utf8);
        texts.push_back(std::move(f.text));
      } else {
        bad("file_or_texts", "each item must be a str (a text) or an os.PathLike (a file)");
      }
    }

    std::vector<int> contexts;
    if (py::isinstance<py::int_>(ctx_arg)) {
      contexts.push_back(ctx_arg.cast<int>());
    } else {
      try {
        contexts = ctx_arg.cast<std::vector<int>>();
      } catch (const py::cast_error&) {
        bad("ctx", "must be an int or a list of ints");
      }
    }
    if (contexts.empty()) bad("ctx", "no window length");
    std::sort(contexts.begin(), contexts.end());
    if (std::adjacent_find(contexts.begin(), contexts.end()) != contexts.end())
      bad("ctx", "lengths must be distinct");
    for (int c : contexts)
      if (c < 2 || c > (1 << 20)) bad("ctx", "each length must be in 2..1048576");
    if (chunks < 0) bad("chunks", "must not be negative");
    if (sink_tokens < 1) bad("sink_tokens", "must be at least 1");
    if (!(eps >= 0 && eps <= 1)) bad("eps", "must be between 0 and 1");
    if (dump_window < 1) bad("dump_window", "must be at least 1");

    ss::AnalyzeOptions opt;
    opt.contexts = contexts;
    opt.chunks = chunks;
    opt.stats = {sink_tokens, static_cast<float>(eps)};
    for (auto [l, h] : dump) check_head("dump", l, h);
    opt.dump_heads = dump;
    opt.dump_window = dump_window;
    opt.nll = nll;
    std::vector<py::object> modes;
    if (py::isinstance<py::list>(bos_arg) || py::isinstance<py::tuple>(bos_arg)) {
      for (const auto& b : bos_arg) modes.push_back(py::reinterpret_borrow<py::object>(b));
    } else {
      modes.push_back(bos_arg);
    }
    if (modes.empty()) bad("bos", "no first-token mode");
    for (const py::object& b : modes) {
      std::string name;
      if (py::isinstance<py::bool_>(b))
        name = b.cast<bool>() ? "on" : "off";
      else if (py::isinstance<py::str>(b))
        name = b.cast<std::string>();
      if (name != "on" && name != "off")
        bad("bos", "must be True, False, 'on', 'off' or a list of them");
      if (name == "on" && tok.bos_id() < 0)
        bad("bos", "the tokenizer has no BOS token: use bos=False");
      opt.modes.push_back({name, name == "on" ? tok.bos_id() : -1});
    }
    if (first_token) {
      const std::vector<int> ids = tok.encode(*first_token, false);
      if (ids.size() != 1)
        bad("first_token",
            "'" + *first_token + "' is " + std::to_string(ids.size()) + " tokens, not one");
      opt.modes.push_back({"first-token", ids[0]});
    }
    const ss::HeadMask mask = ablation_mask(ablate);
    opt.mask = &mask;

    ss::AnalysisResult r;
    {
      py::gil_scoped_release release;
      const ss::InterruptScope interrupt = interruptible();
      std::vector<int> text_ids;
      for (const std::string& t : texts) {
        const std::vector<int> ids = tok.encode(t, false);
        text_ids.insert(text_ids.end(), ids.begin(), ids.end());
      }
      std::lock_guard<std::mutex> lock(mu_);
      r = ss::analyze(model_, *pool_, text_ids, opt);
    }
    return make_analysis(r);
  }

  // One task of `sinkscope eval --json`: the dict it lists under "tasks".
  py::dict eval(const py::object& task_file, int limit, int ctx,
                const std::vector<std::pair<int, int>>& ablate) {
    const ss::ModelConfig& c = model_.config;
    const std::string path = file_path(task_file, "task_file");
    if (limit < 0) bad("limit", "must not be negative (0: all)");
    if (ctx < 0) bad("ctx", "must not be negative (0: the model's context)");
    ctx = ctx > 0 ? ctx : c.max_seq_len;
    if (ctx < 2) bad("ctx", "must be at least 2");
    if (ctx > c.max_seq_len) {
      const std::string msg = "ctx " + std::to_string(ctx) +
                              " exceeds the model's trained context of " +
                              std::to_string(c.max_seq_len);
      if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 1) != 0) throw py::error_already_set();
    }
    const ss::HeadMask mask = ablation_mask(ablate);
    ss::McTask task;
    ss::McResult r;
    {
      py::gil_scoped_release release;
      task = ss::read_mc_task(path, limit);
    }
    warn_invalid_utf8(path, task.invalid_utf8);
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      const ss::InterruptScope interrupt = interruptible();
      ss::Runtime rt(model_, *pool_, ctx);
      rt.set_head_mask(&mask);
      r = ss::evaluate_task(rt, tok_->get(), task);
    }
    if (r.truncated) {
      const std::string msg = path + ": " + std::to_string(r.truncated) + " of " +
                              std::to_string(r.n) + " items exceed the " + std::to_string(ctx) +
                              "-token context; the tokens after BOS were dropped";
      if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 1) != 0) throw py::error_already_set();
    }
    return from_json(ss::mc_result_json(r, task, path)).cast<py::dict>();
  }

  // `sinkscope prune`: the sweep's points as a table (sweep.csv's columns, then the heads or
  // layers pruned at each point). Without `out`, the sweep's files go to a temporary directory
  // that is removed afterwards; with it, they are the command's (a rerun resumes) but run.json.
  py::object prune_sweep(const py::object& calib_arg, const py::object& evals_arg,
                         const std::optional<std::vector<std::string>>& criteria_arg,
                         const std::vector<double>& ratios, int calib_ctx, int calib_chunks,
                         int eval_ctx, int eval_chunks, int limit, const std::string& mode,
                         const std::string& scope, const std::string& unit, uint64_t seed,
                         const py::object& out_arg) {
    const ss::Tokenizer& tok = tok_->get();
    if (unit != "head" && unit != "layer") bad("unit", "must be 'head' or 'layer'");
    if (mode != "zero" && mode != "mean") bad("mode", "must be 'zero' or 'mean'");
    const bool layers = unit == "layer";
    ss::SweepOptions opt;
    try {
      opt.scope = ss::parse_prune_scope(scope, "--scope");
    } catch (const ss::InputError& e) {
      rethrow_as_argument(e);
    }
    opt.criteria = criteria_arg ? *criteria_arg
                   : layers     ? ss::layer_criterion_names()
                                : std::vector<std::string>{"bos-sink", "weight-magnitude",
                                                           "activation-magnitude", "random"};
    for (const auto& c : opt.criteria)
      if (layers ? !ss::is_valid_layer_criterion(c) : !ss::is_valid_criterion(c))
        bad("criteria", "unknown " + std::string(layers ? "layer " : "") + "criterion '" + c + "'");
    for (double r : ratios)
      if (!(r >= 0 && r <= 1)) bad("ratios", "each ratio must be in [0, 1]");
    if (opt.criteria.empty()) bad("criteria", "nothing to sweep");
    if (ratios.empty()) bad("ratios", "nothing to sweep");
    if (calib_ctx < 2) bad("calib_ctx", "must be at least 2");
    if (calib_chunks < 1) bad("calib_chunks", "must be at least 1");
    if (eval_ctx < 2) bad("eval_ctx", "must be at least 2");
    if (eval_chunks < 0) bad("eval_chunks", "must not be negative (0: all)");
    if (limit < 0) bad("limit", "must not be negative (0: all)");
    const std::string calib = file_path(calib_arg, "calib");
    std::vector<std::pair<std::string, std::string>> evals;  // (kind, path)
    if (py::isinstance<py::str>(evals_arg) || !py::isinstance<py::sequence>(evals_arg))
      bad("evals", "must be a list of 'ppl:FILE' or 'mc:FILE' (or (kind, path) pairs)");
    for (const auto& e : evals_arg) {
      if (py::isinstance<py::str>(e)) {
        const std::string text = e.cast<std::string>();
        const size_t colon = text.find(':');
        if (colon == std::string::npos) bad("evals", "'" + text + "' is not ppl:FILE or mc:FILE");
        evals.emplace_back(text.substr(0, colon), text.substr(colon + 1));
      } else if (py::isinstance<py::tuple>(e) && py::len(e) == 2 &&
                 py::isinstance<py::str>(e[py::int_(0)])) {
        evals.emplace_back(e[py::int_(0)].cast<std::string>(), file_path(e[py::int_(1)], "evals"));
      } else {
        bad("evals", "each item must be 'ppl:FILE', 'mc:FILE' or a (kind, path) pair");
      }
      if (evals.back().first != "ppl" && evals.back().first != "mc")
        bad("evals", "unknown kind '" + evals.back().first + "' (ppl or mc)");
    }
    if (evals.empty()) bad("evals", "no evaluation");
    std::optional<std::string> out;
    if (!out_arg.is_none()) out = file_path(out_arg, "out");

    const int bos = tok.add_bos() ? tok.bos_id() : -1;
    opt.ratios = ratios;
    opt.layers = layers;
    opt.mode = mode == "mean" ? ss::HeadAction::Mean : ss::HeadAction::Zero;
    opt.eval_ctx = eval_ctx;
    ss::SweepResult result;
    {
      py::gil_scoped_release release;
      const ss::InterruptScope interrupt = interruptible();
      opt.calib = {tok.encode(ss::read_text(calib).text, false), calib_ctx, calib_chunks, bos,
                   seed};
      if (ss::make_windows(opt.calib.ids, calib_ctx, {"on", bos}, 1).empty())
        throw ss::InputError(calib, "shorter than one calibration window");
      std::vector<ss::SweepMetric> metrics;
      // What `prune` hashes to know a sweep's directory (read only when a directory is given).
      std::string setup;
      if (out)
        setup = ss::sha256_file(model_.path) + " calib " + ss::sha256_file(calib) + " " +
                std::to_string(calib_ctx) + "x" + std::to_string(calib_chunks) + " seed " +
                std::to_string(seed) + " mode " + mode + " scope " + scope +
                (layers ? " unit layer" : "") + " eval-ctx " + std::to_string(eval_ctx) + "x" +
                std::to_string(eval_chunks) + " limit " + std::to_string(limit);
      for (const auto& [kind, path] : evals) {
        const std::string name = kind + ":" + std::filesystem::path(path).stem().string();
        if (out) setup += " " + kind + ":" + path + " " + ss::sha256_file(path);
        if (kind == "ppl") {
          auto ids = std::make_shared<std::vector<int>>(
              tok.encode(ss::read_text(path).text, tok.add_bos()));
          metrics.push_back(
              {name, [ids, eval_ctx, eval_chunks, bos](ss::Runtime& rt) {
                 const ss::PerplexityResult r =
                     ss::perplexity(rt, *ids, eval_ctx, bos, eval_chunks);
                 return std::map<std::string, double>{{"ppl", r.ppl}, {"nll_mean", r.nll_mean}};
               }});
        } else {
          auto task = std::make_shared<ss::McTask>(ss::read_mc_task(path, limit));
          const ss::Tokenizer* t = &tok;
          metrics.push_back(
              {name, [task, t](ss::Runtime& rt) {
                 const ss::McResult r = ss::evaluate_task(rt, *t, *task);
                 if (r.is_cloze)
                   return std::map<std::string, double>{{"acc", r.acc}, {"ppl", r.ppl}};
                 return std::map<std::string, double>{{"acc", r.acc}, {"acc_norm", r.acc_norm}};
               }});
        }
      }
      opt.setup_key = setup;
      TempDir tmp(out.has_value());
      opt.out_dir = out ? *out : tmp.path;
      std::lock_guard<std::mutex> lock(mu_);
      result = ss::run_sweep(model_, *pool_, opt, metrics);
    }

    nlohmann::json rows = nlohmann::json::array();
    for (const ss::SweepPoint& p : result.points) rows.push_back(ss::to_json(p));
    py::dict cols;
    for (const std::string& c : result.columns()) cols[py::str(c)] = json_column(rows, c);
    py::array pruned = py::module_::import("numpy").attr("empty")(result.points.size(), "object");
    for (size_t i = 0; i < result.points.size(); ++i) {
      py::list l;
      if (layers)
        for (int layer : result.points[i].layers) l.append(layer);
      else
        for (auto [layer, head] : result.points[i].heads) l.append(py::make_tuple(layer, head));
      pruned[py::int_(i)] = l;
    }
    cols[layers ? "layers" : "heads"] = pruned;
    return table(cols);
  }

 private:
  ss::HeadMask ablation_mask(const std::vector<std::pair<int, int>>& ablate) const {
    ss::HeadMask mask(model_.config);
    for (auto [l, h] : ablate) {
      check_head("ablate", l, h);
      mask.set(l, h, ss::HeadAction::Zero);
    }
    return mask;
  }
  void check_head(const char* arg, int l, int h) const {
    const ss::ModelConfig& c = model_.config;
    if (l < 0 || l >= c.n_layers || h < 0 || h >= c.n_heads)
      bad(arg, "head (" + std::to_string(l) + ", " + std::to_string(h) +
                   ") is out of range: the model has " + std::to_string(c.n_layers) +
                   " layers of " + std::to_string(c.n_heads) + " heads");
  }
  std::pair<Hook, int> parse_hook(const char* arg, const std::string& name) const {
    std::pair<Hook, int> hl;
    try {
      hl = ss::parse_hook_name(name);
    } catch (const ss::InputError& e) {
      bad(arg, e.what());
    }
    if (hl.second >= model_.config.n_layers)
      bad(arg, name + ": layer " + std::to_string(hl.second) + " is out of range: the model has " +
                   std::to_string(model_.config.n_layers) + " layers");
    return hl;
  }
  // "blocks.*.<hook>" stands for the hook of every layer.
  std::vector<std::pair<Hook, int>> expand_hook_names(const std::string& spec) const {
    const ss::ModelConfig& c = model_.config;
    std::vector<std::pair<Hook, int>> out;
    const std::string star = "blocks.*.";
    if (spec.rfind(star, 0) == 0) {
      const auto [hook, _] = parse_hook("cache", "blocks.0." + spec.substr(star.size()));
      for (int l = 0; l < c.n_layers; ++l) out.emplace_back(hook, l);
    } else {
      out.push_back(parse_hook("cache", spec));
    }
    if (out[0].first == Hook::MlpPost && c.n_experts > 0)
      bad("cache", spec + ": a mixture-of-experts model has no mlp.hook_post");
    return out;
  }

  ss::Model model_;
  std::shared_ptr<PyTokenizer> tok_;
  std::unique_ptr<ss::ThreadPool> pool_;
  // One computation at a time per model: the pool runs one parallel_for at a time.
  std::mutex mu_;
};

}  // namespace

PYBIND11_MODULE(sinkscope, m) {
  m.doc() = "sinkscope: attention-sink research on GGUF models, with numpy arrays out";
  m.attr("__version__") = SINKSCOPE_VERSION;
  // The library's bad-input error ("<file or argument>: <what is wrong>"), a ValueError.
  py::register_exception<ss::InputError>(m, "InputError", PyExc_ValueError);
  py::list hooks;
  for (const ss::HookPoint& p : ss::hook_points()) hooks.append(p.name);
  m.attr("HOOKS") = hooks;

  py::class_<PyTokenizer, std::shared_ptr<PyTokenizer>>(m, "Tokenizer")
      .def("encode", &PyTokenizer::encode, py::arg("text"), py::arg("bos") = py::none(),
           "Token ids of text; bos=None adds BOS where the tokenizer asks for it")
      .def("decode", &PyTokenizer::decode, py::arg("ids"), "The text of a sequence of ids")
      .def_property_readonly("bos_id", [](const PyTokenizer& t) { return t.get().bos_id(); })
      .def_property_readonly("eos_id", [](const PyTokenizer& t) { return t.get().eos_id(); })
      .def_property_readonly("add_bos", [](const PyTokenizer& t) { return t.get().add_bos(); })
      .def_property_readonly("vocab_size",
                             [](const PyTokenizer& t) { return t.get().vocab_size(); });

  py::class_<PyModel>(m, "Model")
      .def_property_readonly("config", &PyModel::config)
      .def_property_readonly("path", &PyModel::path)
      .def_property_readonly("tokenizer", &PyModel::tokenizer)
      .def("run", &PyModel::run, py::arg("ids"), py::kw_only(),
           py::arg("cache") = std::vector<std::string>{},
           py::arg("patterns") = std::vector<std::pair<int, int>>{},
           py::arg("ablate") = std::vector<std::pair<int, int>>{}, py::arg("patch") = py::dict(),
           py::arg("logits") = true,
           "One forward pass from position 0: a dict of numpy arrays, 'logits' [pos, vocab] and "
           "the hooks asked for by name")
      .def("perplexity", &PyModel::perplexity, py::arg("text_or_file"), py::kw_only(),
           py::arg("ctx") = 0, py::arg("chunks") = 0, py::arg("stride") = 0,
           py::arg("scoring") = "all", py::arg("ablate") = std::vector<std::pair<int, int>>{},
           "What `sinkscope perplexity --json` reports, for a str of text or a file path")
      .def("generate", &PyModel::generate, py::arg("prompt"), py::kw_only(), py::arg("n") = 128,
           py::arg("temperature") = 0.0f, py::arg("top_p") = 0.9f, py::arg("seed") = 42,
           py::arg("ablate") = std::vector<std::pair<int, int>>{},
           "The text `sinkscope generate` writes after the prompt")
      .def("analyze", &PyModel::analyze, py::arg("file_or_texts"), py::kw_only(),
           py::arg("ctx") = 256, py::arg("chunks") = 0, py::arg("bos") = true,
           py::arg("first_token") = py::none(), py::arg("sink_tokens") = 4, py::arg("eps") = 0.3,
           py::arg("dump") = std::vector<std::pair<int, int>>{}, py::arg("dump_window") = 64,
           py::arg("nll") = true, py::arg("ablate") = std::vector<std::pair<int, int>>{},
           "`sinkscope analyze`'s per-head sink statistics of texts (str) or files "
           "(os.PathLike): an Analysis")
      .def("_forward_seconds", &PyModel::forward_seconds, py::arg("ids"), py::arg("repeats") = 1,
           py::arg("logits") = true,
           "Benchmarks only: seconds of the C++ work of run(ids), each of `repeats` calls")
      .def("eval", &PyModel::eval, py::arg("task_file"), py::kw_only(), py::arg("limit") = 0,
           py::arg("ctx") = 0, py::arg("ablate") = std::vector<std::pair<int, int>>{},
           "What `sinkscope eval --json` reports for one task file");

  py::class_<PyAnalysis, std::shared_ptr<PyAnalysis>>(m, "Analysis")
      .def_readonly("model", &PyAnalysis::model)
      .def_readonly("stat_names", &PyAnalysis::stat_names)
      .def_readonly("eps", &PyAnalysis::eps)
      .def_readonly("sink_tokens", &PyAnalysis::sink_tokens)
      .def_readonly("tokens_processed", &PyAnalysis::tokens_processed)
      .def_readonly("runs", &PyAnalysis::runs)
      .def_readonly("heads", &PyAnalysis::heads)
      .def_readonly("layers", &PyAnalysis::layers)
      .def_readonly("massive", &PyAnalysis::massive)
      .def_readonly("stability", &PyAnalysis::stability)
      .def("__repr__", [](const PyAnalysis& a) {
        std::string s = "<sinkscope.Analysis of " + a.model["arch"].cast<std::string>() + ":";
        for (const auto& r : a.runs)
          s += " ctx " + py::str(r["ctx"]).cast<std::string>() + " bos " +
               r["bos"].cast<std::string>() + " (" + py::str(r["windows"]).cast<std::string>() +
               " windows),";
        s.back() = '>';
        return s;
      });

  m.def(
      "prune_sweep",
      [](PyModel& model, const py::object& calib, const py::object& evals,
         const std::optional<std::vector<std::string>>& criteria, const std::vector<double>& ratios,
         int calib_ctx, int calib_chunks, int eval_ctx, int eval_chunks, int limit,
         const std::string& mode, const std::string& scope, const std::string& unit, uint64_t seed,
         const py::object& out) {
        return model.prune_sweep(calib, evals, criteria, ratios, calib_ctx, calib_chunks, eval_ctx,
                                 eval_chunks, limit, mode, scope, unit, seed, out);
      },
      py::arg("model"), py::kw_only(), py::arg("calib"), py::arg("evals"),
      py::arg("criteria") = py::none(),
      py::arg("ratios") = std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.5},
      py::arg("calib_ctx") = 256, py::arg("calib_chunks") = 4, py::arg("eval_ctx") = 256,
      py::arg("eval_chunks") = 8, py::arg("limit") = 200, py::arg("mode") = "zero",
      py::arg("scope") = "global", py::arg("unit") = "head", py::arg("seed") = 0,
      py::arg("out") = py::none(),
      "`sinkscope prune`'s sweep of criteria x ratios: a table of sweep.csv's columns and the "
      "heads (or layers) pruned at each point");

  m.def(
      "load",
      [](const py::object& path, std::optional<int> threads, std::optional<std::string> tok) {
        const auto p = py::module_::import("os").attr("fspath")(path).cast<std::string>();
        return std::make_unique<PyModel>(p, threads, tok);
      },
      py::arg("path"), py::kw_only(), py::arg("threads") = py::none(),
      py::arg("tokenizer") = py::none(),
      "Load a model (GGUF, llama2.c checkpoint or Hugging Face folder) and its tokenizer");
}
