// Finite-difference checks of every backward kernel of the training pass and of a whole model.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "base/error.h"
#include "model/load_model.h"
#include "model/model_export.h"
#include "ops/basic.h"
#include "ops/gemm_acc.h"
#include "runtime/runtime.h"
#include "test_util.h"
#include "tokenizer/vocab.h"
#include "train/grad_ops.h"
#include "train/network.h"

namespace ss::train {
namespace {

using test::randn;

double dotd(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// ‖numeric − analytic‖ / ‖analytic‖ over coordinates `which` of x (all when empty), with central
// differences of a loss computed in double.
double grad_error(std::vector<float>& x, const std::vector<float>& analytic,
                  const std::function<double()>& loss, float eps = 1e-3f,
                  std::vector<size_t> which = {}) {
  if (which.empty())
    for (size_t i = 0; i < x.size(); ++i) which.push_back(i);
  double num2 = 0, den2 = 0;
  for (size_t i : which) {
    const float keep = x[i];
    x[i] = keep + eps;
    const double lp = loss();
    x[i] = keep - eps;
    const double lm = loss();
    x[i] = keep;
    const double g = (lp - lm) / (2.0 * eps);
    num2 += (g - analytic[i]) * (g - analytic[i]);
    den2 += static_cast<double>(analytic[i]) * analytic[i];
  }
  return std::sqrt(num2 / std::max(den2, 1e-30));
}

TEST(TrainGrad, LinearMatchesReferenceAndGradient) {
  ThreadPool pool(2);
  const size_t n = 5, in = 37, out = 11;
  auto x = randn(n * in, 1), w = randn(out * in, 2), r = randn(n * out, 3);
  std::vector<float> y(n * out), yr(n * out);
  linear_fwd(y.data(), x.data(), w.data(), n, in, out, pool);
  linear_fwd_ref(yr.data(), x.data(), w.data(), n, in, out);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], yr[i], 1e-5);
  std::vector<float> dx(n * in), dw(out * in), dxr(n * in), dwr(out * in);
  linear_bwd(dx.data(), dw.data(), r.data(), x.data(), w.data(), n, in, out, pool);
  linear_bwd_ref(dxr.data(), dwr.data(), r.data(), x.data(), w.data(), n, in, out);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], dxr[i], 1e-4);
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw[i], dwr[i], 1e-4);
  auto loss = [&] {
    linear_fwd(y.data(), x.data(), w.data(), n, in, out, pool);
    return dotd(y, r);
  };
  EXPECT_LT(grad_error(x, dx, loss), 1e-3);
  EXPECT_LT(grad_error(w, dw, loss), 1e-3);
}

// The backward GEMM is bit-identical to its scalar reference for every partial tile (rows past a
// multiple of 4, vectors past a multiple of 4, columns past a multiple of the vector width), with
// A read directly or transposed, and for any thread count.
TEST(TrainGrad, GemmAccumulateBitIdenticalToReference) {
  for (size_t m : {1u, 5u, 37u, 70u})
    for (size_t nc : {1u, 15u, 16u, 67u, 130u})
      for (bool at : {false, true}) {
        const size_t k = 29;
        auto a = randn(m * k, 11), b = randn(k * nc, 12), c0 = randn(m * nc, 13);
        const size_t a_m = at ? 1 : k, a_k = at ? m : 1;
        std::vector<float> c = c0, cr = c0;
        ThreadPool pool(at ? 3 : 1);
        gemm_accumulate({a.data(), a_m, a_k, b.data(), nc, c.data(), nc, m, nc, k}, pool);
        gemm_accumulate_reference({a.data(), a_m, a_k, b.data(), nc, cr.data(), nc, m, nc, k});
        ASSERT_EQ(c, cr) << m << "x" << nc << (at ? " transposed" : "");
        // And it is a product: compare one element with a double sum.
        double s = c0[m * nc - 1];
        for (size_t i = 0; i < k; ++i)
          s += static_cast<double>(a[(m - 1) * a_m + i * a_k]) * b[i * nc + nc - 1];
        EXPECT_NEAR(c[m * nc - 1], s, 1e-4);
      }
}

TEST(TrainGrad, RmsNorm) {
  const size_t n = 3, d = 24;
  auto x = randn(n * d, 4), w = randn(d, 5, 0.3f), r = randn(n * d, 6);
  for (float& v : w) v += 1.0f;
  std::vector<float> y(n * d), rs(n);
  auto loss = [&] {
    rmsnorm_fwd(y.data(), rs.data(), x.data(), w.data(), n, d, 1e-5f);
    return dotd(y, r);
  };
  loss();
  // Same output as the inference kernel.
  std::vector<float> yi(d);
  rmsnorm(yi.data(), x.data() + d, w.data(), d, 1e-5f);
  for (size_t i = 0; i < d; ++i) EXPECT_NEAR(yi[i], y[d + i], 1e-6);
  std::vector<float> dx(n * d), dw(d);
  rmsnorm_bwd(dx.data(), dw.data(), r.data(), x.data(), rs.data(), w.data(), n, d);
  EXPECT_LT(grad_error(x, dx, loss), 2e-3);
  EXPECT_LT(grad_error(w, dw, loss), 2e-3);
}

TEST(TrainGrad, RopeMatchesInferenceAndInverts) {
  const int hd = 16, heads = 3;
  RopeTable t(64, hd, 10000.0f);
  auto v = randn(heads * hd, 7);
  auto a = v, b = v;
  rope_apply(a.data(), heads, 37, t, false);
  for (int h = 0; h < heads; ++h) rope_adjacent(b.data() + h * hd, hd, 37, 10000.0f);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  rope_apply(a.data(), heads, 37, t, true);  // the transpose of a rotation is its inverse
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(a[i], v[i], 1e-5);
}

TEST(TrainGrad, SwiGlu) {
  const size_t n = 40;
  auto g = randn(n, 8, 2.0f), u = randn(n, 9), r = randn(n, 10);
  std::vector<float> h(n), dg(n), du(n);
  auto loss = [&] {
    swiglu_fwd(h.data(), g.data(), u.data(), n);
    return dotd(h, r);
  };
  swiglu_bwd(dg.data(), du.data(), r.data(), g.data(), u.data(), n);
  EXPECT_LT(grad_error(g, dg, loss), 1e-3);
  EXPECT_LT(grad_error(u, du, loss), 1e-3);
}

TEST(TrainGrad, AttentionMatchesReferenceAndGradient) {
  ThreadPool pool(2);
  const AttnShape s{2, 7, 4, 2, 8};
  const size_t nq = 2 * 7 * 4 * 8, nk = 2 * 7 * 2 * 8;
  auto q = randn(nq, 11), k = randn(nk, 12), v = randn(nk, 13), r = randn(nq, 14);
  std::vector<float> z(nq), p(2 * 4 * 7 * 7), zr(nq), pr(p.size());
  attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, pool);
  attention_fwd_ref(zr.data(), pr.data(), q.data(), k.data(), v.data(), s);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(z[i], zr[i], 1e-5);
  std::vector<float> dq(nq), dk(nk), dv(nk);
  attention_bwd(dq.data(), dk.data(), dv.data(), r.data(), p.data(), q.data(), k.data(), v.data(),
                s, pool);
  auto loss = [&] {
    attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, pool);
    return dotd(z, r);
  };
  EXPECT_LT(grad_error(q, dq, loss), 2e-3);
  EXPECT_LT(grad_error(k, dk, loss), 2e-3);
  EXPECT_LT(grad_error(v, dv, loss), 2e-3);
}

// Every attention variant's forward against its double reference (z, probabilities, the sink
// column's probability), and its backward, the sink parameters' included, against central
// differences; the sink parameters' gradients do not depend on the thread count.
TEST(TrainGrad, AttentionVariantsMatchReferenceAndGradient) {
  const AttnShape s{2, 7, 4, 2, 8};
  const size_t nq = 2 * 7 * 4 * 8, nk = 2 * 7 * 2 * 8, np = 2 * 4 * 7 * 7, ns = 2 * 4 * 7;
  for (AttentionKind kind : {AttentionKind::Softmax1, AttentionKind::Sigmoid,
                             AttentionKind::SinkLogit, AttentionKind::SinkKv}) {
    SCOPED_TRACE(static_cast<int>(kind));
    ThreadPool pool(2);
    auto q = randn(nq, 11), k = randn(nk, 12), v = randn(nk, 13), r = randn(nq, 14);
    auto sink_logit = randn(4, 15), sink_k = randn(2 * 8, 16), sink_v = randn(2 * 8, 17);
    AttnVariant var{kind, sink_logit.data(), sink_k.data(), sink_v.data()};
    std::vector<float> z(nq), p(np), ps(ns, -1.0f), zr(nq), pr(np), psr(ns, -1.0f);
    attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, pool, var, ps.data());
    attention_fwd_ref(zr.data(), pr.data(), q.data(), k.data(), v.data(), s, var, psr.data());
    for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(z[i], zr[i], 1e-5) << i;
    for (int row = 0; row < 2 * 4 * 7; ++row)
      for (int j = 0; j <= row % 7; ++j)
        ASSERT_NEAR(p[row * 7 + j], pr[row * 7 + j], 1e-6) << row << "," << j;
    const bool sink = kind != AttentionKind::Sigmoid;
    for (size_t i = 0; i < ns; ++i) {
      if (sink) {
        ASSERT_NEAR(ps[i], psr[i], 1e-6) << i;
        ASSERT_GT(ps[i], 0.0f);  // a real share, not the untouched -1
      } else {
        ASSERT_EQ(ps[i], -1.0f);
      }
    }
    std::vector<float> dq(nq), dk(nk), dv(nk), dsl(4), dsk(16), dsv(16);
    AttnVariantGrads grads{dsl.data(), dsk.data(), dsv.data()};
    attention_bwd(dq.data(), dk.data(), dv.data(), r.data(), p.data(), q.data(), k.data(), v.data(),
                  s, pool, var, ps.data(), grads);
    auto loss = [&] {
      attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, pool, var, ps.data());
      return dotd(z, r);
    };
    EXPECT_LT(grad_error(q, dq, loss), 2e-3);
    EXPECT_LT(grad_error(k, dk, loss), 2e-3);
    EXPECT_LT(grad_error(v, dv, loss), 2e-3);
    if (kind == AttentionKind::SinkLogit) {
      EXPECT_LT(grad_error(sink_logit, dsl, loss), 2e-3);
    }
    if (kind == AttentionKind::SinkKv) {
      EXPECT_LT(grad_error(sink_k, dsk, loss), 2e-3);
      EXPECT_LT(grad_error(sink_v, dsv, loss), 2e-3);
    }
    // Parameters the variant does not have get nothing.
    if (kind != AttentionKind::SinkLogit) {
      EXPECT_EQ(dsl, std::vector<float>(4, 0.0f));
    }
    if (kind != AttentionKind::SinkKv) {
      EXPECT_EQ(dsk, std::vector<float>(16, 0.0f));
    }
    // The same bits on one thread and on three.
    for (int threads : {1, 3}) {
      ThreadPool other(threads);
      std::vector<float> dq2(nq), dk2(nk), dv2(nk), dsl2(4), dsk2(16), dsv2(16);
      attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, other, var, ps.data());
      attention_bwd(dq2.data(), dk2.data(), dv2.data(), r.data(), p.data(), q.data(), k.data(),
                    v.data(), s, other, var, ps.data(), {dsl2.data(), dsk2.data(), dsv2.data()});
      EXPECT_EQ(dq2, dq) << threads;
      EXPECT_EQ(dk2, dk) << threads;
      EXPECT_EQ(dsl2, dsl) << threads;
      EXPECT_EQ(dsk2, dsk) << threads;
      EXPECT_EQ(dsv2, dsv) << threads;
    }
  }
}

// A learned sink logit of −∞ is plain softmax bit for bit, and the sink gets no probability.
TEST(TrainGrad, SinkLogitOfMinusInfinityIsSoftmax) {
  ThreadPool pool(2);
  const AttnShape s{2, 7, 4, 2, 8};
  const size_t nq = 2 * 7 * 4 * 8, nk = 2 * 7 * 2 * 8, np = 2 * 4 * 7 * 7;
  auto q = randn(nq, 21), k = randn(nk, 22), v = randn(nk, 23);
  std::vector<float> logits(4, -INFINITY), z(nq), p(np), zs(nq), psm(np), ps(2 * 4 * 7, -1.0f);
  attention_fwd(zs.data(), psm.data(), q.data(), k.data(), v.data(), s, pool);
  attention_fwd(z.data(), p.data(), q.data(), k.data(), v.data(), s, pool,
                {AttentionKind::SinkLogit, logits.data(), nullptr, nullptr}, ps.data());
  EXPECT_EQ(z, zs);
  EXPECT_EQ(p, psm);
  EXPECT_EQ(ps, std::vector<float>(ps.size(), 0.0f));
}

TEST(TrainGrad, CrossEntropy) {
  ThreadPool pool(2);
  const size_t n = 4, V = 13;
  auto logits = randn(n * V, 15, 2.0f);
  std::vector<int> tg{3, 0, 12, 7};
  std::vector<float> w{1, 1, 0, 1}, dl(n * V);
  cross_entropy(dl.data(), logits.data(), tg.data(), w.data(), n, V, 3.0, pool);
  std::vector<float> tmp(n * V);
  auto loss = [&] {
    return cross_entropy(tmp.data(), logits.data(), tg.data(), w.data(), n, V, 3.0, pool) / 3.0;
  };
  EXPECT_LT(grad_error(logits, dl, loss), 1e-3);
  for (size_t i = 2 * V; i < 3 * V; ++i) EXPECT_EQ(dl[i], 0.0f);  // weight 0: no gradient
}

ModelConfig tiny_config() {
  ModelConfig c;
  c.dim = 16;
  c.hidden_dim = 24;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.vocab_size = 19;
  c.max_seq_len = 8;
  return c;
}

Batch tiny_batch(const ModelConfig& c, int batch, int seq, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Batch b;
  b.batch = batch;
  b.seq = seq;
  for (int i = 0; i < batch * seq; ++i) {
    b.tokens.push_back(static_cast<int>(rng() % c.vocab_size));
    b.targets.push_back(static_cast<int>(rng() % c.vocab_size));
    b.weight.push_back(i % seq == seq - 1 && i / seq == 1 ? 0.0f : 1.0f);  // one padded position
  }
  return b;
}

// init_params(l, init_seed) plus N(0, 0.3) noise: larger weights than the 0.02 init, so every
// path carries a visible gradient and a visible difference.
std::vector<float> perturbed_params(const ParamLayout& l, uint64_t init_seed, uint64_t noise_seed) {
  auto p = init_params(l, init_seed);
  std::mt19937_64 rng(noise_seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  for (float& x : p) x += nd(rng);
  return p;
}

// Up to 24 coordinates of every parameter tensor of the model of c against central differences
// of the loss on a batch of 2 × 8 (one position padded).
void expect_gradients_of_every_tensor(const ModelConfig& c, bool tied, const std::string& label) {
  ThreadPool pool(2);
  ParamLayout l = make_layout(c, tied);
  auto p = perturbed_params(l, 3, 4);
  Network net(l, pool);
  Batch b = tiny_batch(c, 2, 8, 5);
  std::vector<float> g(l.total, 0.0f);
  net.step(p.data(), g.data(), b);
  auto loss = [&] { return net.step(p.data(), nullptr, b); };
  for (const ParamTensor& t : l.tensors) {
    std::vector<size_t> which;
    for (size_t i = 0; i < t.size; i += std::max<size_t>(1, t.size / 24))
      which.push_back(t.offset + i);
    const double err = grad_error(p, g, loss, 1e-2f, which);
    EXPECT_LT(err, 1e-2) << t.name << " " << label;
  }
}

// The training forward of the model of c on one window of 16 gives the inference runtime's
// logits within 1e-5.
void expect_forward_matches_runtime(const ModelConfig& c, const std::string& label) {
  ThreadPool pool(2);
  ParamLayout l = make_layout(c, false);
  auto p = perturbed_params(l, 6, 7);
  Network net(l, pool);
  Batch b = tiny_batch(c, 1, 16, 8);
  net.step(p.data(), nullptr, b);
  Model m = model_view(l, p.data());
  Runtime rt(m, pool);
  auto ref = rt.forward(b.tokens, 0, Logits::All);
  ASSERT_EQ(ref.size(), net.logits().size());
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(net.logits()[i], ref[i], 1e-5) << i << " " << label;
}

// Every parameter tensor of a tied and an untied GQA model, against central differences.
TEST(TrainGrad, WholeModel) {
  for (bool tied : {true, false})
    expect_gradients_of_every_tensor(tiny_config(), tied, tied ? "tied" : "untied");
}

// Every tensor of a model of each attention variant, its sink parameters included.
TEST(TrainGrad, WholeModelOfEveryAttentionVariant) {
  for (AttentionKind kind : {AttentionKind::Softmax1, AttentionKind::Sigmoid,
                             AttentionKind::SinkLogit, AttentionKind::SinkKv}) {
    ModelConfig c = tiny_config();
    c.attention = kind;
    const std::string label = std::to_string(static_cast<int>(kind));
    expect_gradients_of_every_tensor(c, true, label);
    int sink_tensors = 0;
    for (const ParamTensor& t : make_layout(c, true).tensors)
      sink_tensors += t.name.find("attn_sink") != std::string::npos;
    const int want = kind == AttentionKind::SinkLogit ? 2 : kind == AttentionKind::SinkKv ? 4 : 0;
    EXPECT_EQ(sink_tensors, want) << label;
  }
}

// The training forward of each attention variant gives the inference runtime's logits.
TEST(TrainGrad, ForwardOfEveryAttentionVariantMatchesRuntime) {
  for (AttentionKind kind : {AttentionKind::Softmax1, AttentionKind::Sigmoid,
                             AttentionKind::SinkLogit, AttentionKind::SinkKv}) {
    ModelConfig c = tiny_config();
    c.max_seq_len = 16;
    c.attention = kind;
    expect_forward_matches_runtime(c, std::to_string(static_cast<int>(kind)));
  }
}

// The training forward gives the inference runtime's logits.
TEST(TrainGrad, ForwardMatchesRuntime) {
  ModelConfig c = tiny_config();
  c.max_seq_len = 16;
  expect_forward_matches_runtime(c, "softmax");
}

// The block options of train --norm and --positional, each alone and Post-LN with learned
// positions together.
struct BlockOptions {
  NormPlacement norm;
  PositionKind positional;
};
constexpr BlockOptions kBlockOptions[] = {{NormPlacement::Post, PositionKind::Rope},
                                          {NormPlacement::Pre, PositionKind::Learned},
                                          {NormPlacement::Pre, PositionKind::None},
                                          {NormPlacement::Post, PositionKind::Learned}};
std::string name_of(const BlockOptions& o) {
  return std::string(norm_placement_name(o.norm)) + "/" + position_kind_name(o.positional);
}

// Every tensor of a model of each block option, position_embd included, against central
// differences.
TEST(TrainGrad, WholeModelOfEveryBlockOption) {
  for (const BlockOptions& opt : kBlockOptions) {
    ModelConfig c = tiny_config();
    c.norm_placement = opt.norm;
    c.positional = opt.positional;
    EXPECT_EQ(make_layout(c, false).position != kNoParam, opt.positional == PositionKind::Learned);
    expect_gradients_of_every_tensor(c, false, name_of(opt));
  }
}

// NoPE: without positions, attention sees its keys as a set, so in one layer (where each key and
// value comes from its token alone) swapping two earlier tokens leaves the last position's logits
// as they are; rotary and learned positions change them.
TEST(TrainGrad, NoPositionsSeeThePrefixAsASet) {
  for (PositionKind kind : {PositionKind::None, PositionKind::Rope, PositionKind::Learned}) {
    ThreadPool pool(2);
    ModelConfig c = tiny_config();
    c.n_layers = 1;
    c.positional = kind;
    ParamLayout l = make_layout(c, false);
    auto p = perturbed_params(l, 6, 7);
    Network net(l, pool);
    Batch b = tiny_batch(c, 1, 8, 8);
    b.tokens[1] = 3, b.tokens[4] = 11;
    net.step(p.data(), nullptr, b);
    const std::vector<float> before = net.logits();
    std::swap(b.tokens[1], b.tokens[4]);
    net.step(p.data(), nullptr, b);
    const size_t V = c.vocab_size, last = 7 * V;
    double diff = 0;
    for (size_t i = 0; i < V; ++i)
      diff = std::max(diff, std::fabs(double{net.logits()[last + i]} - before[last + i]));
    if (kind == PositionKind::None)
      EXPECT_LT(diff, 1e-5);
    else
      EXPECT_GT(diff, 1e-3) << position_kind_name(kind);
  }
}

// Inference support: the model of each block option, exported to GGUF and loaded again, gives
// the training forward's logits through the runtime (within 1e-5 of the largest logit).
TEST(TrainGrad, ForwardOfEveryBlockOptionMatchesRuntimeFromGguf) {
  const Vocab vocab = load_llama2c_vocab(test::tok_bin());
  for (const BlockOptions& opt : kBlockOptions) {
    ThreadPool pool(2);
    ModelConfig c = tiny_config();
    c.max_seq_len = 16;
    c.vocab_size = static_cast<int>(vocab.size());
    c.norm_placement = opt.norm;
    c.positional = opt.positional;
    ParamLayout l = make_layout(c, true);
    auto p = perturbed_params(l, 6, 7);
    Network net(l, pool);
    Batch b = tiny_batch(c, 1, 16, 8);
    net.step(p.data(), nullptr, b);
    const std::string path = test::temp_dir() + "/block.gguf";
    write_llama_gguf(model_view(l, p.data()), vocab, path);
    const Model m = load_model(path);
    EXPECT_EQ(m.config.norm_placement, opt.norm);
    EXPECT_EQ(m.config.positional, opt.positional);
    EXPECT_EQ(m.config.rotated_dims(), opt.positional == PositionKind::Rope ? c.head_dim : 0);
    Runtime rt(m, pool);
    auto ref = rt.forward(b.tokens, 0, Logits::All);
    ASSERT_EQ(ref.size(), net.logits().size());
    float scale = 0;
    for (float v : ref) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(net.logits()[i], ref[i], 1e-5 * scale) << i << " " << name_of(opt);
    // And the loaded weights train on: params_of reads them back bit for bit.
    EXPECT_EQ(params_of(m, layout_of(m)), p) << name_of(opt);
  }
}

// A file whose keys or tensors contradict each other is refused with one line.
TEST(TrainGrad, BlockOptionKeysAreChecked) {
  const Vocab vocab = load_llama2c_vocab(test::tok_bin());
  ModelConfig c = tiny_config();
  c.vocab_size = static_cast<int>(vocab.size());
  ParamLayout l = make_layout(c, true);
  auto p = init_params(l, 6);
  auto refused = [&](const char* key, const char* value) {
    const std::string path = test::temp_dir() + "/bad.gguf";
    write_llama_gguf(model_view(l, p.data()), vocab, path, DType::F32, "",
                     {{key, GgufValue::of_string(value)}});
    try {
      load_model(path);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_NE(refused("sinkscope.norm", "middle")
                .find("sinkscope.norm 'middle' is neither pre nor "
                      "post"),
            std::string::npos);
  EXPECT_NE(refused("sinkscope.positional", "alibi")
                .find("sinkscope.positional 'alibi' is none "
                      "of rope, none, learned"),
            std::string::npos);
  EXPECT_NE(refused("sinkscope.positional", "learned").find("position_embd.weight"),
            std::string::npos);
}

}  // namespace
}  // namespace ss::train
