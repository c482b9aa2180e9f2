#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/atomic_file.h"
#include "base/error.h"
#include "eval/perplexity.h"
#include "format/gguf.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "runtime/runtime.h"

namespace ss::train {

namespace {
constexpr char kOptimMagic[8] = {'S', 'S', 'O', 'P', 'T', 'I', 'M', '1'};

template <class T>
void put(std::string& s, const T& v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(std::ifstream& in, const std::string& path) {
  T v{};
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  require(static_cast<bool>(in), path, "truncated optimiser state");
  return v;
}
}  // namespace

double validation_loss(const ParamLayout& l, const std::vector<float>& params,
                       const std::vector<int>& val_ids, int ctx, int bos_id, int windows,
                       ThreadPool& pool) {
  if (val_ids.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  Model m = model_view(l, params.data());
  Runtime rt(m, pool, ctx);
  return perplexity(rt, val_ids, ctx, bos_id, windows).nll_mean;
}

double flops_per_token(const ParamLayout& l, int ctx) {
  const ModelConfig& c = l.config;
  const double d = c.dim, matrices = c.n_layers * (2.0 * d * c.q_dim() + 2.0 * d * c.kv_dim() +
                                                   3.0 * d * c.hidden_dim) +
                                     d * c.vocab_size;
  return 6.0 * matrices + c.n_layers * 12.0 * c.q_dim() * (ctx + 1) / 2.0;
}

void save_checkpoint(const TrainState& s, const Vocab& vocab, const std::string& path,
                     const TrainOptions& opt) {
  std::vector<std::pair<std::string, GgufValue>> extra{
      {"sinkscope.train.step", GgufValue::of_u32(static_cast<uint32_t>(s.step))},
      {"sinkscope.train.tokens", GgufValue::of_string(std::to_string(s.tokens))},
      {"sinkscope.train.seed", GgufValue::of_string(std::to_string(opt.seed))}};
  for (const auto& [k, v] : opt.meta)
    extra.emplace_back("sinkscope.train." + k, GgufValue::of_string(v));
  write_llama_gguf(model_view(s.layout, s.params.data()), vocab, path, DType::F32, opt.name, extra);
  std::string blob(kOptimMagic, sizeof kOptimMagic);
  put(blob, s.step);
  put(blob, s.tokens);
  put(blob, s.opt.t);
  put(blob, static_cast<uint64_t>(s.opt.m.size()));
  blob.append(reinterpret_cast<const char*>(s.opt.m.data()), s.opt.m.size() * sizeof(float));
  blob.append(reinterpret_cast<const char*>(s.opt.v.data()), s.opt.v.size() * sizeof(float));
  write_file_atomic(path + ".optim", blob);
}

TrainState load_checkpoint(const std::string& path) {
  Model m = load_model(path);
  TrainState s;
  s.layout = layout_of(m);
  s.params = params_of(m, s.layout);
  GgufFile g(path);
  s.step = g.get_int("sinkscope.train.step", 0);
  const std::string optim = path + ".optim";
  std::ifstream in(optim, std::ios::binary);
  if (!in) return s;  // weights only: moments start from zero
  char magic[8];
  in.read(magic, 8);
  require(in && std::memcmp(magic, kOptimMagic, 8) == 0, optim, "not a sinkscope optimiser file");
  s.step = get<int64_t>(in, optim);
  s.tokens = get<int64_t>(in, optim);
  s.opt.t = get<int64_t>(in, optim);
  const auto n = get<uint64_t>(in, optim);
  require(n == 0 || n == s.layout.total, optim, "does not match the checkpoint's parameters");
  s.opt.m.resize(n);
  s.opt.v.resize(n);
  in.read(reinterpret_cast<char*>(s.opt.m.data()), static_cast<std::streamsize>(n * sizeof(float)));
  in.read(reinterpret_cast<char*>(s.opt.v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  require(static_cast<bool>(in), optim, "truncated optimiser state");
  return s;
}

double train(TrainState& s, const Corpus& corpus, const WindowOptions& win, const Vocab& vocab,
             const TrainOptions& opt, ThreadPool& pool, const StepCallback& on_step) {
  namespace fs = std::filesystem;
  const std::string dir = opt.out_dir;
  fs::create_directories(dir + "/checkpoints");
  const int ctx = win.ctx;
  std::vector<int> val_ids;
  if (!corpus.val_text.empty()) {
    write_file_atomic(dir + "/val.txt", corpus.val_text);
    val_ids = SpmTokenizer(vocab).encode(corpus.val_text, true);
  }
  const std::string csv_path = dir + "/train.csv";
  const bool fresh = s.step == 0 || !fs::exists(csv_path);
  std::ofstream csv(csv_path, fresh ? std::ios::trunc : std::ios::app);
  require(static_cast<bool>(csv), csv_path, "cannot write");
  if (fresh) csv << "step,lr,loss,grad_norm,tokens,tokens_per_s,val_loss\n";

  Network net(s.layout, pool);
  std::vector<float> grads(s.layout.total);
  const int64_t warmup = opt.warmup >= 0 ? opt.warmup : std::max<int64_t>(1, opt.steps / 20);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t run_tokens = 0;
  double val = std::numeric_limits<double>::quiet_NaN();
  while (s.step < opt.steps) {
    const Batch b = make_batch(corpus, win, opt.batch, opt.seed, s.step);
    std::fill(grads.begin(), grads.end(), 0.0f);
    const double loss = net.step(s.params.data(), grads.data(), b);
    const double gnorm = clip_grad_norm(grads.data(), grads.size(), opt.clip);
    const double lr =
        lr_at(s.step, warmup, opt.steps, opt.lr, opt.lr * opt.min_lr_ratio, opt.schedule);
    s.opt.update(s.layout, s.params.data(), grads.data(), static_cast<float>(lr),
                 static_cast<float>(opt.wd));
    ++s.step;
    int64_t n = 0;
    for (float w : b.weight) n += w > 0;
    s.tokens += n;
    run_tokens += static_cast<int64_t>(b.tokens.size());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = run_tokens / std::max(secs, 1e-9);

    const bool ckpt = opt.checkpoint_every > 0 && s.step % opt.checkpoint_every == 0;
    const bool last = s.step == opt.steps;
    const bool eval = last || ckpt || (opt.eval_every > 0 && s.step % opt.eval_every == 0);
    double v = std::numeric_limits<double>::quiet_NaN();
    if (eval)
      v = val =
          validation_loss(s.layout, s.params, val_ids, ctx, win.bos_id, opt.val_windows, pool);
    char line[256];
    std::snprintf(line, sizeof line, "%lld,%.6g,%.6f,%.6f,%lld,%.1f,",
                  static_cast<long long>(s.step), lr, loss, gnorm, static_cast<long long>(s.tokens),
                  tps);
    csv << line;
    if (eval && !std::isnan(v)) csv << std::to_string(v);
    csv << "\n";
    csv.flush();
    if (ckpt) {
      char name[64];
      std::snprintf(name, sizeof name, "/checkpoints/step-%06lld.gguf",
                    static_cast<long long>(s.step));
      save_checkpoint(s, vocab, dir + name, opt);
    }
    if (on_step) on_step(s.step, loss, tps);
  }
  save_checkpoint(s, vocab, dir + "/model.gguf", opt);
  return val;
}

}  // namespace ss::train
