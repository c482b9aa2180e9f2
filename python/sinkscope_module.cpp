// The Python module `sinkscope`: a thin pybind11 layer over the library (docs/python.md). Every
// computation runs with the GIL released; activations are written by the runtime's observers
// straight into numpy arrays allocated before the run (one copy, out of buffers the runtime
// reuses), logits likewise.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/text_file.h"
#include "base/thread_pool.h"
#include "eval/perplexity.h"
#include "eval/perplexity_conventions.h"
#include "eval/windows.h"
#include "model/load_model.h"
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

// Ctrl-C during a long call: at most every 100 ms (at a layer's end), take the GIL and let Python
// run its signal handlers; KeyboardInterrupt then unwinds the computation.
class InterruptCheck : public ss::Observer {
 public:
  void on_resid_post(int, int, int, const float*) override {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Writes the hooks asked for into their arrays: rows pos0.. of [n_tokens][width] per (hook,
// layer), and the attention rows of chosen heads into [T][T] matrices (zero above the diagonal).
class Collector : public ss::Observer {
 public:
  Collector(int n_layers, int n_heads, int n_tokens)
      : n_heads_(n_heads),
        n_tokens_(n_tokens),
        dest_(static_cast<size_t>(kHooks) * n_layers),
        pattern_(static_cast<size_t>(n_layers) * n_heads, nullptr) {}
  void want(Hook hook, int layer, float* out, size_t width) { slot(hook, layer) = {out, width}; }
  void want_pattern(int layer, int head, float* out) {
    pattern_[static_cast<size_t>(layer) * n_heads_ + head] = out;
  }

  bool wants_pattern(int layer) const override {
    auto first = pattern_.begin() + static_cast<long>(layer) * n_heads_;
    return std::any_of(first, first + n_heads_, [](float* p) { return p != nullptr; });
  }
  void on_pattern(int layer, int head, int pos, std::span<const float> row) override {
    float* out = pattern_[static_cast<size_t>(layer) * n_heads_ + head];
    if (out)
      std::copy_n(row.data(), std::min<size_t>(row.size(), n_tokens_),
                  out + static_cast<size_t>(pos) * n_tokens_);
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
      logits = py::array_t<float>(std::vector<py::ssize_t>{n, c.vocab_size});
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
        py::array_t<float> a(shape);
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
      py::array_t<float> a(std::vector<py::ssize_t>{k, n, n});
      std::fill_n(a.mutable_data(), a.size(), 0.0f);
      for (size_t i = 0; i < heads.size(); ++i)
        collect.want_pattern(l, heads[i], a.mutable_data() + i * n * n);
      out[py::str(ss::hook_name(Hook::Pattern, l))] = a;
      collecting = true;
    }

    ss::HeadMask mask(c);
    for (auto [l, h] : ablate) {
      check_head("ablate", l, h);
      mask.set(l, h, ss::HeadAction::Zero);
    }

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

    InterruptCheck interrupt;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      ss::Runtime rt(model_, *pool_, n);  // a cache for these tokens only, as `forward` has
      if (mask.any()) rt.set_head_mask(&mask);
      if (collecting) rt.add_observer(&collect);
      if (patcher.any()) rt.set_patcher(&patcher);
      rt.add_observer(&interrupt);
      rt.forward_hidden(ids, 0);
      if (want_logits) rt.logits(0, static_cast<size_t>(n), logits.mutable_data());
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
    ss::HeadMask mask(c);
    for (auto [l, h] : ablate) {
      check_head("ablate", l, h);
      mask.set(l, h, ss::HeadAction::Zero);
    }
    const ss::WindowPlan plan{ctx, stride, chunks, scoring};

    InterruptCheck interrupt;
    ss::PerplexityResult r;
    std::vector<int> ids;
    {
      py::gil_scoped_release release;
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
      rt.add_observer(&interrupt);
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
    ss::HeadMask mask(c);
    for (auto [l, h] : ablate) {
      check_head("ablate", l, h);
      mask.set(l, h, ss::HeadAction::Zero);
    }
    InterruptCheck interrupt;
    std::string text;
    {
      py::gil_scoped_release release;
      std::vector<int> ids = tok.encode(prompt, tok.add_bos());
      if (ids.empty()) bad("prompt", "no tokens (and no BOS to start from)");
      if (static_cast<int>(ids.size()) >= c.max_seq_len)
        bad("prompt", std::to_string(ids.size()) + " tokens fill the context of " +
                          std::to_string(c.max_seq_len));
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t need = static_cast<int64_t>(ids.size()) + n_new;
      ss::Runtime rt(model_, *pool_, static_cast<int>(std::min<int64_t>(need, c.max_seq_len)));
      if (mask.any()) rt.set_head_mask(&mask);
      rt.add_observer(&interrupt);
      ss::Sampler sampler(temperature, top_p, seed);
      ss::generate(rt, ids, n_new, sampler, {tok.bos_id(), tok.eos_id()},
                   [&](int prev, int next) { text += tok.decode_token(prev, next); });
    }
    return utf8_text(text);
  }

 private:
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
           "The text `sinkscope generate` writes after the prompt");

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
