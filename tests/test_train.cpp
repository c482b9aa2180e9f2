// Training loop: memorisation, schedule, batches, determinism across threads and resume, reload.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "eval/perplexity.h"
#include "format/gguf.h"
#include "model/attention_kind.h"
#include "model/load_model.h"
#include "runtime/runtime.h"
#include "test_util.h"
#include "train/trainer.h"

namespace ss::train {
namespace {

ModelConfig small_config(int vocab, int ctx) {
  ModelConfig c;
  c.dim = 32;
  c.hidden_dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = vocab;
  c.max_seq_len = ctx;
  return c;
}

// A random sequence seen over and over is learnt by heart: loss falls to ~0.
TEST(Train, MemorisesASequence) {
  ThreadPool pool(2);
  ParamLayout l = make_layout(small_config(23, 24), true);
  auto p = init_params(l, 1);
  std::mt19937_64 rng(2);
  std::vector<int> seq(25);
  for (int& t : seq) t = static_cast<int>(rng() % 23);
  Batch b;
  b.batch = 1;
  b.seq = 24;
  b.tokens.assign(seq.begin(), seq.end() - 1);
  b.targets.assign(seq.begin() + 1, seq.end());
  b.weight.assign(24, 1.0f);
  Network net(l, pool);
  AdamW opt;
  std::vector<float> g(l.total);
  double first = 0, loss = 0;
  for (int s = 0; s < 200; ++s) {
    std::fill(g.begin(), g.end(), 0.0f);
    loss = net.step(p.data(), g.data(), b);
    if (s == 0) first = loss;
    clip_grad_norm(g.data(), g.size(), 1.0);
    opt.update(l, p.data(), g.data(), static_cast<float>(lr_at(s, 10, 200, 1e-2, 1e-3)), 0.0f);
  }
  EXPECT_NEAR(first, std::log(23.0), 0.1);  // uniform at init
  EXPECT_LT(loss, 0.02);
}

TEST(Train, Schedule) {
  EXPECT_DOUBLE_EQ(lr_at(0, 10, 100, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(lr_at(9, 10, 100, 1.0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(10, 10, 100, 1.0, 0.1), 1.0);
  EXPECT_NEAR(lr_at(55, 10, 100, 1.0, 0.1), 0.55, 1e-12);  // cosine midpoint
  EXPECT_DOUBLE_EQ(lr_at(100, 10, 100, 1.0, 0.1), 0.1);
  // The other schedules: the same warm-up, then their own fall from 1.0 to 0.1 over steps 10..100.
  for (LrSchedule s : {LrSchedule::Linear, LrSchedule::Constant, LrSchedule::Wsd}) {
    EXPECT_DOUBLE_EQ(lr_at(0, 10, 100, 1.0, 0.1, s), 0.1);
    EXPECT_DOUBLE_EQ(lr_at(10, 10, 100, 1.0, 0.1, s), 1.0);
  }
  EXPECT_NEAR(lr_at(55, 10, 100, 1.0, 0.1, LrSchedule::Linear), 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(lr_at(100, 10, 100, 1.0, 0.1, LrSchedule::Linear), 0.1);
  EXPECT_DOUBLE_EQ(lr_at(99, 10, 100, 1.0, 0.1, LrSchedule::Constant), 1.0);
  // wsd: the peak until 80% of the 90 steps after warm-up (step 82), then linear to 0.1.
  EXPECT_DOUBLE_EQ(lr_at(82, 10, 100, 1.0, 0.1, LrSchedule::Wsd), 1.0);
  EXPECT_NEAR(lr_at(91, 10, 100, 1.0, 0.1, LrSchedule::Wsd), 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(lr_at(100, 10, 100, 1.0, 0.1, LrSchedule::Wsd), 0.1);
  EXPECT_EQ(parse_lr_schedule("wsd", "--lr-schedule"), LrSchedule::Wsd);
  EXPECT_THROW(parse_lr_schedule("cyclic", "--lr-schedule"), InputError);
  std::vector<float> g{3, 4};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g.data(), 2, 1.0), 5.0);
  EXPECT_FLOAT_EQ(g[0], 0.6f);
  EXPECT_FLOAT_EQ(g[1], 0.8f);
}

// AdamW's first step moves every weight by lr (sign of its gradient) plus decay on matrices only.
TEST(Train, AdamWFirstStep) {
  ParamLayout l = make_layout(small_config(5, 4), true);
  std::vector<float> p(l.total, 0.5f), g(l.total, -2.0f);
  AdamW opt;
  opt.update(l, p.data(), g.data(), 0.1f, 0.5f);
  EXPECT_NEAR(p[l.embd], 0.5f * (1 - 0.05f) + 0.1f, 1e-6);  // decayed
  EXPECT_NEAR(p[l.output_norm], 0.5f + 0.1f, 1e-6);         // norms are not
}

std::string corpus_file() {
  static const std::string path = [] {
    const std::string dir = test::temp_dir();
    std::ifstream in(test::shared("data/text/tinystories-valid-sample.txt"));
    std::string text(std::istreambuf_iterator<char>(in), {});
    std::ofstream(dir + "/c.txt") << text.substr(0, 40000);
    return dir + "/c.txt";
  }();
  return path;
}

// Training text is the file as perplexity reads it: CR LF and blank lines kept, paragraphs (the
// document form) and the packed stream both decode to the text itself.
TEST(Train, CorpusKeepsTheTextVerbatim) {
  const std::string dir = test::temp_dir();
  const std::string text =
      "\r\nFirst line\r\nof one paragraph.\r\n\r\n\r\nSecond  one\r\n   \r\nThird.\n\nLast";
  std::ofstream(dir + "/crlf.txt", std::ios::binary) << text;
  SpmTokenizer tok(load_llama2c_vocab(test::tok_bin()));
  Corpus c = load_corpus({dir + "/crlf.txt"}, tok, 0.0);
  ASSERT_EQ(c.docs.size(), 4u);
  // Each piece is tokenized with the dummy-prefix space, which decodes as a leading space.
  auto strip = [](std::string s) { return s.substr(s[0] == ' ' ? 1 : 0); };
  EXPECT_EQ(strip(tok.decode(c.docs[0])), "\r\nFirst line\r\nof one paragraph.\r\n\r\n\r\n");
  EXPECT_EQ(strip(tok.decode(c.docs[1])), "Second  one\r\n   \r\n");
  EXPECT_EQ(strip(tok.decode(c.docs[2])), "Third.\n\n");
  EXPECT_EQ(strip(tok.decode(c.docs[3])), "Last");
  EXPECT_EQ(strip(tok.decode(c.stream)), text);
}

TEST(Train, Batches) {
  SpmTokenizer tok(load_llama2c_vocab(test::tok_bin()));
  Corpus c = load_corpus({corpus_file()}, tok, 0.1);
  EXPECT_GT(c.docs.size(), 20u);
  EXPECT_FALSE(c.val_text.empty());
  WindowOptions w;
  w.ctx = 32;
  w.bos_id = tok.bos_id();
  w.pad_id = tok.eos_id();
  Batch b = make_batch(c, w, 3, 7, 0);
  EXPECT_EQ(b.seq, 32);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(b.tokens[r * 32], tok.bos_id());
    for (int t = 0; t + 1 < 32; ++t) EXPECT_EQ(b.targets[r * 32 + t], b.tokens[r * 32 + t + 1]);
  }
  for (float x : b.weight) EXPECT_EQ(x, 1.0f);
  // The same (seed, step) gives the same batch; another step another.
  EXPECT_EQ(make_batch(c, w, 3, 7, 0).tokens, b.tokens);
  EXPECT_NE(make_batch(c, w, 3, 7, 1).tokens, b.tokens);
  // Documents: one paragraph per row, padding masked, never BOS with --bos none.
  w.packed = false;
  w.bos = false;
  w.ctx = 256;
  Batch d = make_batch(c, w, 4, 7, 3);
  int masked = 0;
  for (int r = 0; r < 4; ++r) {
    EXPECT_NE(d.tokens[r * 256], tok.bos_id());
    bool pad = false;
    for (int t = 0; t < 256; ++t) {
      if (d.weight[r * 256 + t] == 0)
        pad = true, ++masked;
      else
        EXPECT_FALSE(pad) << "padding only after the text";
    }
  }
  EXPECT_GT(masked, 0);
  // Variable context: lengths drawn in [min, ctx].
  w.min_ctx = 8;
  w.ctx = 16;
  for (int s = 0; s < 20; ++s) {
    const int len = make_batch(c, w, 1, 7, s).seq;
    EXPECT_GE(len, 8);
    EXPECT_LE(len, 16);
  }
}

struct TrainRun {
  std::vector<float> params;
  double val;
  std::string dir;
};

TrainRun run_training(int threads, int64_t steps, const std::string& resume_dir = "",
                      AttentionKind kind = AttentionKind::Softmax) {
  SpmTokenizer tok(load_llama2c_vocab(test::tok_bin()));
  Corpus c = load_corpus({corpus_file()}, tok, 0.1);
  WindowOptions w;
  w.ctx = 32;
  w.bos_id = tok.bos_id();
  TrainOptions o;
  o.steps = steps;
  o.batch = 2;
  o.lr = 3e-3;
  o.warmup = 2;
  o.checkpoint_every = 2;
  o.val_windows = 4;
  o.out_dir = resume_dir.empty() ? test::temp_dir() : resume_dir;
  ThreadPool pool(threads);
  TrainState s;
  if (!resume_dir.empty()) {
    s = load_checkpoint(resume_dir + "/checkpoints/step-000002.gguf");
  } else {
    ModelConfig c = small_config(512, 32);
    c.attention = kind;
    s.layout = make_layout(c, true);
    s.params = init_params(s.layout, o.seed);
  }
  const double val = train(s, c, w, tok.vocab(), o, pool);
  return {s.params, val, o.out_dir};
}

TEST(Train, DeterministicAcrossThreadsAndResume) {
  TrainRun a = run_training(1, 4), b = run_training(2, 4);
  EXPECT_EQ(a.params, b.params);  // bit-identical
  EXPECT_EQ(a.val, b.val);
  // Resume from step 2 of a: same weights as the uninterrupted run.
  TrainRun r = run_training(2, 4, a.dir);
  EXPECT_EQ(r.params, a.params);
}

// Each attention variant: bit-identical across thread counts and through a resume from a
// checkpoint (its sink parameters and their moments in .optim), and the saved model, reloaded
// with its variant, gives the logged validation loss.
TEST(Train, EveryAttentionVariantIsDeterministicResumesAndReloads) {
  for (AttentionKind kind : {AttentionKind::Softmax1, AttentionKind::Sigmoid,
                             AttentionKind::SinkLogit, AttentionKind::SinkKv}) {
    SCOPED_TRACE(static_cast<int>(kind));
    TrainRun a = run_training(1, 4, "", kind), b = run_training(2, 4, "", kind);
    EXPECT_EQ(a.params, b.params);
    EXPECT_EQ(a.val, b.val);
    TrainRun r = run_training(2, 4, a.dir, kind);
    EXPECT_EQ(r.params, a.params);
    Model m = load_model(a.dir + "/model.gguf");
    EXPECT_EQ(m.config.attention, kind);
    EXPECT_EQ(GgufFile(a.dir + "/model.gguf").get_string("sinkscope.attention"),
              attention_kind_name(kind));
    SpmTokenizer tok = load_tokenizer(a.dir + "/model.gguf", "");
    std::ifstream in(a.dir + "/val.txt");
    std::string val(std::istreambuf_iterator<char>(in), {});
    ThreadPool pool(2);
    Runtime rt(m, pool, 32);
    EXPECT_EQ(perplexity(rt, tok.encode(val, true), 32, tok.bos_id(), 4).nll_mean, a.val);
  }
  // The sink parameters learn: sink-logit's logits leave their initial 0.
  TrainRun s = run_training(2, 4, "", AttentionKind::SinkLogit);
  const Model m = load_model(s.dir + "/model.gguf");
  double moved = 0;
  for (int h = 0; h < m.config.n_heads; ++h) moved += std::fabs(m.layers[0].attn_sinks.f32()[h]);
  EXPECT_GT(moved, 1e-4);
}

// train --attention: recorded in the checkpoint, printed by info; --resume keeps the variant and
// refuses another; an unknown name is a one-line error.
TEST(Train, CliAttentionVariant) {
  const std::string dir = test::temp_dir();
  const std::string base = "train --data " + corpus_file() + " --tokenizer " + test::tok_bin() +
                           " --dim 32 --layers 1 --heads 2 --ctx 32 --batch 2 --threads 2 --quiet";
  auto r = test::run_cli(base + " -o " + dir +
                         " --steps 2 --checkpoint-every 1 --attention sink-kv --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["attention"], "sink-kv");
  const std::string ckpt = dir + "/checkpoints/step-000001.gguf";
  EXPECT_EQ(GgufFile(ckpt).get_string("sinkscope.train.attention"), "sink-kv");
  r = test::run_cli("info -m " + ckpt);
  EXPECT_NE(r.out.find("attention     sink-kv (sinkscope.attention)"), std::string::npos) << r.out;
  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 3 --resume " + ckpt +
                    " --attention softmax1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(ckpt + ": was trained with --attention sink-kv, not softmax1"),
            std::string::npos)
      << r.err;
  const std::string resumed = test::temp_dir();
  r = test::run_cli(base + " -o " + resumed + " --steps 3 --resume " + ckpt);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_model(resumed + "/model.gguf").config.attention, AttentionKind::SinkKv);
  r = test::run_cli(base + " -o " + dir + " --steps 1 --attention cosine");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--attention: unknown attention variant 'cosine'"), std::string::npos)
      << r.err;
}

// The one line of a failed command (exit code 2), warnings left out.
std::string one_line_error(const test::CliResult& r) {
  std::string err = r.err;
  for (size_t w; (w = err.find("sinkscope: warning:")) != std::string::npos;)
    err.erase(w, err.find('\n', w) + 1 - w);
  EXPECT_EQ(r.code, 2) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  return err;
}

// train --norm and --positional: listed in --help as the study script parses them, recorded in
// the model (sinkscope.norm, sinkscope.positional), printed by info; --resume keeps them and
// refuses others; bad names, --positions without rotary positions and positions beyond a learned
// table are one-line errors.
TEST(Train, CliNormAndPositional) {
  auto r = test::run_cli("train --help");
  EXPECT_NE(r.out.find("--norm TEXT:{pre,post}=pre"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--positional TEXT:{rope,none,learned}=rope"), std::string::npos) << r.out;
  const std::string base = "train --data " + corpus_file() + " --tokenizer " + test::tok_bin() +
                           " --dim 32 --layers 1 --heads 2 --ctx 32 --batch 2 --threads 2 --quiet";
  const std::string dir = test::temp_dir();
  r = test::run_cli(base + " -o " + dir +
                    " --steps 2 --checkpoint-every 1 --norm post --positional learned --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["norm"], "post");
  EXPECT_EQ(j["positional"], "learned");
  EXPECT_TRUE(std::isfinite(j["val_loss"].get<double>()));
  const std::string ckpt = dir + "/checkpoints/step-000001.gguf";
  GgufFile g(ckpt);
  EXPECT_EQ(g.get_string("sinkscope.norm"), "post");
  EXPECT_EQ(g.get_string("sinkscope.positional"), "learned");
  r = test::run_cli("info -m " + ckpt);
  EXPECT_NE(r.out.find("norms         post (Post-LN: after each residual sum, sinkscope.norm)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("positions     learned (position_embd.weight, sinkscope.positional)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rope_style    none"), std::string::npos) << r.out;

  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 3 --resume " + ckpt +
                    " --norm pre");
  EXPECT_NE(one_line_error(r).find(ckpt + ": was trained with --norm post, not pre"),
            std::string::npos);
  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 3 --resume " + ckpt +
                    " --positional none");
  EXPECT_NE(one_line_error(r).find(ckpt + ": was trained with --positional learned, not none"),
            std::string::npos);
  const std::string resumed = test::temp_dir();
  r = test::run_cli(base + " -o " + resumed + " --steps 3 --resume " + ckpt);
  ASSERT_EQ(r.code, 0) << r.err;
  const Model m = load_model(resumed + "/model.gguf");
  EXPECT_EQ(m.config.norm_placement, NormPlacement::Post);
  EXPECT_EQ(m.config.positional, PositionKind::Learned);

  // Beyond the 32 rows of position_embd: the runtime's one line.
  r = test::run_cli("perplexity -m " + ckpt + " -f " + dir + "/val.txt --ctx 48 --chunks 1");
  EXPECT_NE(one_line_error(r).find("position 32 is beyond the 32 learned positions of "
                                   "position_embd.weight"),
            std::string::npos);
  // --positions needs rotary positions.
  const std::string nope = test::temp_dir();
  r = test::run_cli(base + " -o " + nope + " --steps 1 --positional none");
  ASSERT_EQ(r.code, 0) << r.err;
  r = test::run_cli("info -m " + nope + "/model.gguf");
  EXPECT_NE(r.out.find("positions     none (NoPE: the causal mask only, sinkscope.positional)"),
            std::string::npos)
      << r.out;
  for (const std::string& model : {nope + "/model.gguf", ckpt}) {
    r = test::run_cli("stream -m " + model + " -f " + dir +
                      "/val.txt --policy sink:4+window:12 --positions cache --tokens 40 -o " +
                      test::temp_dir() + " --quiet");
    EXPECT_NE(one_line_error(r).find("--positions: the model has no rotary positions to choose "
                                     "(sinkscope.positional "),
              std::string::npos);
  }
  // Bad names.
  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 1 --norm middle");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--norm"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 1 --positional alibi");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--positional"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// train --rope-theta: the trainer's rotary base is the one the model records
// (llama.rope.freq_base), so the logged validation loss is what `perplexity` computes from the
// file, and it differs from the default base's; --resume keeps the base and refuses another; 0 is a
// one-line error.
TEST(Train, CliRopeTheta) {
  const std::string base = "train --data " + corpus_file() + " --tokenizer " + test::tok_bin() +
                           " --dim 32 --layers 1 --heads 2 --ctx 32 --batch 2 --threads 2 --quiet";
  double val[2];
  std::string wide;
  for (int i = 0; i < 2; ++i) {
    const std::string dir = test::temp_dir();
    auto r = test::run_cli(base + " -o " + dir + " --steps 3 --checkpoint-every 2 --json" +
                           (i ? " --rope-theta 500000" : ""));
    ASSERT_EQ(r.code, 0) << r.err;
    val[i] = nlohmann::json::parse(r.out)["val_loss"].get<double>();
    EXPECT_EQ(load_model(dir + "/model.gguf").config.rope_theta, i ? 500000.0f : 10000.0f);
    r = test::run_cli("perplexity -m " + dir + "/model.gguf -f " + dir +
                      "/val.txt --ctx 32 --chunks 16 --json --quiet");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NEAR(nlohmann::json::parse(r.out)["nll_mean"].get<double>(), val[i], 1e-12);
    if (i) wide = dir;
  }
  EXPECT_NE(val[0], val[1]);
  const std::string ckpt = wide + "/checkpoints/step-000002.gguf";
  auto r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 3 --resume " + ckpt +
                         " --rope-theta 10000");
  EXPECT_NE(one_line_error(r).find(ckpt + ": was trained with --rope-theta 500000, not 10000"),
            std::string::npos);
  const std::string resumed = test::temp_dir();
  r = test::run_cli(base + " -o " + resumed + " --steps 3 --resume " + ckpt);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_model(resumed + "/model.gguf").config.rope_theta, 500000.0f);
  r = test::run_cli(base + " -o " + test::temp_dir() +
                    " --steps 1 --positional none --rope-theta 1e6");
  EXPECT_NE(one_line_error(r).find("--rope-theta: needs --positional rope"), std::string::npos);
  r = test::run_cli(base + " -o " + test::temp_dir() + " --steps 1 --rope-theta 0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--rope-theta"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// The saved model, reloaded, gives the logged validation loss through `perplexity`.
TEST(Train, ReloadGivesSameValidationLoss) {
  TrainRun a = run_training(2, 4);
  ASSERT_TRUE(std::isfinite(a.val));
  Model m = load_model(a.dir + "/model.gguf");
  SpmTokenizer tok = load_tokenizer(a.dir + "/model.gguf", "");
  std::ifstream in(a.dir + "/val.txt");
  std::string val(std::istreambuf_iterator<char>(in), {});
  ThreadPool pool(2);
  Runtime rt(m, pool, 32);
  const double nll = perplexity(rt, tok.encode(val, true), 32, tok.bos_id(), 4).nll_mean;
  EXPECT_EQ(nll, a.val);
  // And the CLI prints it.
  auto cli = test::run_cli("perplexity -m " + a.dir + "/model.gguf -f " + a.dir +
                           "/val.txt --ctx 32 --chunks 4 --json --quiet");
  ASSERT_EQ(cli.code, 0) << cli.err;
  EXPECT_NEAR(nlohmann::json::parse(cli.out)["nll_mean"].get<double>(), a.val, 1e-12);
}

TEST(Train, CliErrors) {
  auto r = test::run_cli("train --data /nonexistent.txt --tokenizer " + test::tok_bin() + " -o " +
                         test::temp_dir() + " --steps 1 --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.txt"), std::string::npos) << r.err;
  const std::string empty = test::temp_dir() + "/empty.txt";
  std::ofstream(empty) << "\n\n";
  r = test::run_cli("train --data " + empty + " --tokenizer " + test::tok_bin() + " -o " +
                    test::temp_dir() + " --steps 1 --quiet");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(empty), std::string::npos) << r.err;
  r = test::run_cli("train --data " + corpus_file() + " --tokenizer " + test::tok_bin() + " -o " +
                    test::temp_dir() + " --bos sometimes --quiet");
  EXPECT_NE(r.code, 0);
  r = test::run_cli("train --data " + corpus_file() + " --tokenizer " + test::tok_bin() + " -o " +
                    test::temp_dir() + " --lr-schedule cyclic --quiet");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--lr-schedule"), std::string::npos) << r.err;
}

TEST(Train, CliTrainsAndCheckpointsLoad) {
  const std::string dir = test::temp_dir();
  auto r = test::run_cli("train --data " + corpus_file() + " --tokenizer " + test::tok_bin() +
                         " -o " + dir + " --dim 32 --layers 1 --heads 2 --ctx 32 --steps 4 " +
                         "--batch 2 --checkpoint-every 2 --packing document --bos none " +
                         "--lr 0.002 --warmup 1 --lr-schedule constant --threads 2 --quiet --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["steps"], 4);
  r = test::run_cli("info -m " + dir + "/checkpoints/step-000002.gguf");
  EXPECT_EQ(r.code, 0) << r.err;
  std::ifstream csv(dir + "/train.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) {
    // step,lr,...: a constant schedule keeps the peak after the one warm-up step
    if (lines++ > 0) {
      EXPECT_EQ(line.substr(line.find(',') + 1, 6), "0.002,") << line;
    }
  }
  EXPECT_EQ(lines, 5);  // header + 4 steps
}

}  // namespace
}  // namespace ss::train
