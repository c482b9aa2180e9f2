#include "train/grad_ops.h"

#include <algorithm>
#include <cmath>

#include "ops/dot.h"
#include "ops/gemm_acc.h"
#include "ops/matmul.h"

namespace ss::train {

namespace {
// a[i] += s · b[i]; element-wise, so the compiler vectorises it without reordering any sum.
inline void axpy(float* a, float s, const float* b, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] += s * b[i];
}

// A view of a row-major f32 matrix as a weight tensor, so the training pass runs on the same
// register-tiled GEMM (ops/matmul) as inference.
Tensor f32_matrix(const float* data, size_t rows, size_t cols) {
  Tensor t;
  t.type = DType::F32;
  t.ne = {static_cast<int64_t>(cols), static_cast<int64_t>(rows)};
  t.data = reinterpret_cast<const uint8_t*>(data);
  return t;
}

}  // namespace

// ---- linear ----
// The forward is Y = X · Wᵀ on ops/matmul's kernel (inference's own GEMM); the backward's two
// products have the shared dimension down the rows of B and run on gemm_accumulate. Both fix
// each output's order of operations, so results do not depend on the thread count.

void linear_fwd(float* y, const float* x, const float* w, size_t n, size_t in, size_t out,
                ThreadPool& pool) {
  matmul(f32_matrix(w, out, in), x, n, y, pool);
}

void linear_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, size_t n,
                size_t in, size_t out, ThreadPool& pool) {
  // dx[t][i] += Σ_o dy[t][o] · w[o][i]
  if (dx) gemm_accumulate({dy, out, 1, w, in, dx, in, n, in, out}, pool);
  // dw[o][i] += Σ_t dy[t][o] · x[t][i]
  gemm_accumulate({dy, 1, out, x, in, dw, in, out, in, n}, pool);
}

void linear_fwd_ref(float* y, const float* x, const float* w, size_t n, size_t in, size_t out) {
  for (size_t t = 0; t < n; ++t)
    for (size_t o = 0; o < out; ++o) {
      double s = 0;
      for (size_t i = 0; i < in; ++i) s += static_cast<double>(x[t * in + i]) * w[o * in + i];
      y[t * out + o] = static_cast<float>(s);
    }
}

void linear_bwd_ref(float* dx, float* dw, const float* dy, const float* x, const float* w, size_t n,
                    size_t in, size_t out) {
  for (size_t t = 0; t < n; ++t)
    for (size_t o = 0; o < out; ++o)
      for (size_t i = 0; i < in; ++i) {
        if (dx) dx[t * in + i] += dy[t * out + o] * w[o * in + i];
        dw[o * in + i] += dy[t * out + o] * x[t * in + i];
      }
}

// ---- RMSNorm ----

void rmsnorm_fwd(float* y, float* r, const float* x, const float* w, size_t n, size_t d,
                 float eps) {
  for (size_t t = 0; t < n; ++t) {
    const float* xt = x + t * d;
    double ss = 0;
    for (size_t i = 0; i < d; ++i) ss += static_cast<double>(xt[i]) * xt[i];
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
    r[t] = static_cast<float>(rs);
    for (size_t i = 0; i < d; ++i) y[t * d + i] = static_cast<float>(w[i] * (rs * xt[i]));
  }
}

void rmsnorm_bwd(float* dx, float* dw, const float* dy, const float* x, const float* r,
                 const float* w, size_t n, size_t d) {
  for (size_t t = 0; t < n; ++t) {
    const float* xt = x + t * d;
    const float* g = dy + t * d;
    const double rs = r[t];
    double m = 0;  // mean(x ⊙ w ⊙ dy)
    for (size_t i = 0; i < d; ++i) m += static_cast<double>(xt[i]) * w[i] * g[i];
    m /= static_cast<double>(d);
    const double c = rs * rs * rs * m;
    for (size_t i = 0; i < d; ++i) {
      dx[t * d + i] += static_cast<float>(rs * w[i] * g[i] - c * xt[i]);
      dw[i] += static_cast<float>(g[i] * xt[i] * rs);
    }
  }
}

// ---- RoPE ----

RopeTable::RopeTable(int max_pos, int hd, float theta) : head_dim(hd) {
  const size_t half = static_cast<size_t>(hd / 2);
  cos.resize(static_cast<size_t>(max_pos) * half);
  sin.resize(cos.size());
  for (int p = 0; p < max_pos; ++p)
    for (size_t i = 0; i < half; ++i) {
      // Same angle as rope_adjacent(): pos · theta^(−2i/head_dim), in double.
      const double freq = std::pow(static_cast<double>(theta),
                                   -static_cast<double>(2 * i) / static_cast<double>(hd));
      const double a = p * freq;
      cos[p * half + i] = static_cast<float>(std::cos(a));
      sin[p * half + i] = static_cast<float>(std::sin(a));
    }
}

void rope_apply(float* v, int n_heads, int pos, const RopeTable& t, bool inverse) {
  const size_t half = static_cast<size_t>(t.head_dim / 2);
  const float* c = t.cos.data() + pos * half;
  const float* s = t.sin.data() + pos * half;
  const float sign = inverse ? -1.0f : 1.0f;
  for (int h = 0; h < n_heads; ++h) {
    float* x = v + static_cast<size_t>(h) * t.head_dim;
    for (size_t i = 0; i < half; ++i) {
      const float a = x[2 * i], b = x[2 * i + 1], si = sign * s[i];
      x[2 * i] = a * c[i] - b * si;
      x[2 * i + 1] = a * si + b * c[i];
    }
  }
}

// ---- SwiGLU ----

void swiglu_fwd(float* h, const float* g, const float* u, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float sg = 1.0f / (1.0f + std::exp(-g[i]));
    h[i] = g[i] * sg * u[i];
  }
}

void swiglu_bwd(float* dg, float* du, const float* dh, const float* g, const float* u, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float sg = 1.0f / (1.0f + std::exp(-g[i]));
    const float silu = g[i] * sg;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));  // silu'(g)
  }
}

// ---- attention ----

namespace {
size_t qk_row(const AttnShape& s, int b, int t, int heads) {
  return (static_cast<size_t>(b) * s.seq + t) * heads;
}

// The sink column's logit for query vector qi of head h (KV head g); −∞ where there is none.
float sink_logit_of(const AttnVariant& var, const float* qi, int h, int g, size_t hd, float scale) {
  switch (var.kind) {
    case AttentionKind::Softmax1:
      return 0.0f;
    case AttentionKind::SinkLogit:
      return var.sink_logit[h];
    case AttentionKind::SinkKv:
      return dot(qi, var.sink_k + static_cast<size_t>(g) * hd, hd) * scale;
    default:
      return -INFINITY;
  }
}

bool has_sink(const AttnVariant& var) {
  return var.kind == AttentionKind::Softmax1 || var.kind == AttentionKind::SinkLogit ||
         var.kind == AttentionKind::SinkKv;
}
}  // namespace

void attention_fwd(float* z, float* p, const float* q, const float* k, const float* v,
                   const AttnShape& s, ThreadPool& pool, const AttnVariant& var, float* p_sink) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = s.n_heads / s.n_kv;
  const bool sigmoid = var.kind == AttentionKind::Sigmoid, sink = has_sink(var);
  pool.parallel_for(static_cast<size_t>(s.batch) * s.n_heads, [&](size_t j0, size_t j1, int) {
    for (size_t job = j0; job < j1; ++job) {
      const int b = static_cast<int>(job) / s.n_heads, h = static_cast<int>(job) % s.n_heads;
      const int g = h / group;
      for (int i = 0; i < s.seq; ++i) {
        const size_t row_index = (static_cast<size_t>(b) * s.n_heads + h) * s.seq + i;
        float* row = p + row_index * s.seq;
        const float* qi = q + (qk_row(s, b, i, s.n_heads) + h) * hd;
        float* zi = z + (qk_row(s, b, i, s.n_heads) + h) * hd;
        float mx = -INFINITY;
        for (int j = 0; j <= i; ++j) {
          row[j] = dot(qi, k + (qk_row(s, b, j, s.n_kv) + g) * hd, hd) * scale;
          mx = std::max(mx, row[j]);
        }
        std::fill(zi, zi + hd, 0.0f);
        if (sigmoid) {  // σ(score), no normalisation
          for (int j = 0; j <= i; ++j) {
            row[j] = 1.0f / (1.0f + std::exp(-row[j]));
            axpy(zi, row[j], v + (qk_row(s, b, j, s.n_kv) + g) * hd, hd);
          }
          continue;
        }
        // The sink column (softmax1, sink-logit, sink-kv) joins the max and the sum.
        const float sl = sink ? sink_logit_of(var, qi, h, g, hd, scale) : -INFINITY;
        if (sink) mx = std::max(mx, sl);
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (row[j] = std::exp(row[j] - mx));
        const float es = sink ? std::exp(sl - mx) : 0.0f;
        if (sink) sum += es;
        const float inv = static_cast<float>(1.0 / sum);
        for (int j = 0; j <= i; ++j) {
          row[j] *= inv;
          axpy(zi, row[j], v + (qk_row(s, b, j, s.n_kv) + g) * hd, hd);
        }
        if (!sink) continue;
        const float ps = es * inv;
        p_sink[row_index] = ps;
        if (var.kind == AttentionKind::SinkKv)
          axpy(zi, ps, var.sink_v + static_cast<size_t>(g) * hd, hd);
      }
    }
  });
}

void attention_bwd(float* dq, float* dk, float* dv, const float* dz, const float* p, const float* q,
                   const float* k, const float* v, const AttnShape& s, ThreadPool& pool,
                   const AttnVariant& var, const float* p_sink, const AttnVariantGrads& grads) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = s.n_heads / s.n_kv;
  const bool sigmoid = var.kind == AttentionKind::Sigmoid, sink = has_sink(var);
  const bool kv = var.kind == AttentionKind::SinkKv, logit = var.kind == AttentionKind::SinkLogit;
  // The variant's parameters are shared by every sequence: each job adds into its sequence's
  // slot, and the slots are summed in order afterwards.
  const size_t kv_dim = static_cast<size_t>(s.n_kv) * hd;
  std::vector<float> d_logit(logit ? static_cast<size_t>(s.batch) * s.n_heads : 0);
  std::vector<float> d_sk(kv ? s.batch * kv_dim : 0), d_sv(d_sk.size());
  // One job per (sequence, KV head): the query heads sharing dk/dv run in order in one thread.
  pool.parallel_for(static_cast<size_t>(s.batch) * s.n_kv, [&](size_t j0, size_t j1, int) {
    std::vector<float> ds(static_cast<size_t>(s.seq));
    for (size_t job = j0; job < j1; ++job) {
      const int b = static_cast<int>(job) / s.n_kv, g = static_cast<int>(job) % s.n_kv;
      const size_t kv_off = static_cast<size_t>(b) * kv_dim + static_cast<size_t>(g) * hd;
      for (int h = g * group; h < (g + 1) * group; ++h)
        for (int i = 0; i < s.seq; ++i) {
          const size_t row_index = (static_cast<size_t>(b) * s.n_heads + h) * s.seq + i;
          const float* row = p + row_index * s.seq;
          const size_t qi = (qk_row(s, b, i, s.n_heads) + h) * hd;
          double sum = 0;
          for (int j = 0; j <= i; ++j) {
            const size_t kj = (qk_row(s, b, j, s.n_kv) + g) * hd;
            ds[j] = dot(dz + qi, v + kj, hd);  // dP_ij
            sum += static_cast<double>(row[j]) * ds[j];
            axpy(dv + kj, row[j], dz + qi, hd);
          }
          if (sigmoid) {  // dScore = dP · σ'(score) = dP · σ(1 − σ)
            for (int j = 0; j <= i; ++j) {
              const size_t kj = (qk_row(s, b, j, s.n_kv) + g) * hd;
              const float d = ds[j] * row[j] * (1.0f - row[j]) * scale;
              axpy(dq + qi, d, k + kj, hd);
              axpy(dk + kj, d, q + qi, hd);
            }
            continue;
          }
          float ps = 0, dps = 0;  // the sink column's probability and dP
          if (sink) {
            ps = p_sink[row_index];
            if (kv) {
              dps = dot(dz + qi, var.sink_v + static_cast<size_t>(g) * hd, hd);
              sum += static_cast<double>(ps) * dps;
              axpy(d_sv.data() + kv_off, ps, dz + qi, hd);
            }
          }
          const float fs = static_cast<float>(sum);
          for (int j = 0; j <= i; ++j) {
            const size_t kj = (qk_row(s, b, j, s.n_kv) + g) * hd;
            const float d = row[j] * (ds[j] - fs) * scale;  // dScore_ij
            axpy(dq + qi, d, k + kj, hd);
            axpy(dk + kj, d, q + qi, hd);
          }
          if (!sink) continue;
          const float d_sink = ps * (dps - fs);  // ∂loss/∂(the sink column's logit)
          if (logit) d_logit[static_cast<size_t>(b) * s.n_heads + h] += d_sink;
          if (kv) {
            axpy(dq + qi, d_sink * scale, var.sink_k + static_cast<size_t>(g) * hd, hd);
            axpy(d_sk.data() + kv_off, d_sink * scale, q + qi, hd);
          }
        }
    }
  });
  for (int b = 0; b < s.batch; ++b) {
    if (logit)
      for (int h = 0; h < s.n_heads; ++h)
        grads.sink_logit[h] += d_logit[static_cast<size_t>(b) * s.n_heads + h];
    if (kv) {
      axpy(grads.sink_k, 1.0f, d_sk.data() + b * kv_dim, kv_dim);
      axpy(grads.sink_v, 1.0f, d_sv.data() + b * kv_dim, kv_dim);
    }
  }
}

void attention_fwd_ref(float* z, float* p, const float* q, const float* k, const float* v,
                       const AttnShape& s, const AttnVariant& var, float* p_sink) {
  const size_t hd = static_cast<size_t>(s.head_dim);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const int group = s.n_heads / s.n_kv;
  const bool sigmoid = var.kind == AttentionKind::Sigmoid, sink = has_sink(var);
  for (int b = 0; b < s.batch; ++b)
    for (int h = 0; h < s.n_heads; ++h)
      for (int i = 0; i < s.seq; ++i) {
        const int g = h / group;
        const float* qi = q + (qk_row(s, b, i, s.n_heads) + h) * hd;
        std::vector<double> sc(static_cast<size_t>(i + 1));
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= i; ++j) {
          sc[j] = dot_f64(qi, k + (qk_row(s, b, j, s.n_kv) + g) * hd, hd) * scale;
          mx = std::max(mx, sc[j]);
        }
        double sl = -INFINITY;  // the sink column's logit, in double
        if (var.kind == AttentionKind::Softmax1) sl = 0;
        if (var.kind == AttentionKind::SinkLogit) sl = var.sink_logit[h];
        if (var.kind == AttentionKind::SinkKv)
          sl = dot_f64(qi, var.sink_k + static_cast<size_t>(g) * hd, hd) * scale;
        double es = 0;
        if (sigmoid) {
          for (auto& x : sc) x = 1.0 / (1.0 + std::exp(-x));
          sum = 1;  // not normalised
        } else {
          mx = std::max(mx, sl);
          for (auto& x : sc) sum += (x = std::exp(x - mx));
          if (sink) sum += es = std::exp(sl - mx);
        }
        const size_t row_index = (static_cast<size_t>(b) * s.n_heads + h) * s.seq + i;
        float* row = p + row_index * s.seq;
        for (size_t d = 0; d < hd; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc += sc[j] / sum * v[(qk_row(s, b, j, s.n_kv) + g) * hd + d];
          if (var.kind == AttentionKind::SinkKv)
            acc += es / sum * var.sink_v[static_cast<size_t>(g) * hd + d];
          z[(qk_row(s, b, i, s.n_heads) + h) * hd + d] = static_cast<float>(acc);
        }
        for (int j = 0; j <= i; ++j) row[j] = static_cast<float>(sc[j] / sum);
        if (sink) p_sink[row_index] = static_cast<float>(es / sum);
      }
}

// ---- loss ----

double cross_entropy(float* dlogits, const float* logits, const int* targets, const float* weight,
                     size_t n, size_t vocab, double norm, ThreadPool& pool) {
  std::vector<double> nll(n, 0.0);
  pool.parallel_for(n, [&](size_t t0, size_t t1, int) {
    for (size_t t = t0; t < t1; ++t) {
      const float* l = logits + t * vocab;
      float* d = dlogits + t * vocab;
      if (weight[t] == 0.0f) {
        std::fill(d, d + vocab, 0.0f);
        continue;
      }
      const float mx = *std::max_element(l, l + vocab);
      double sum = 0;
      for (size_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(l[i] - mx));
      nll[t] = std::log(sum) - (l[targets[t]] - mx);
      const double c = weight[t] / norm;
      for (size_t i = 0; i < vocab; ++i)
        d[i] = static_cast<float>(std::exp(static_cast<double>(l[i] - mx)) / sum * c);
      d[targets[t]] -= static_cast<float>(c);
    }
  });
  double total = 0;
  for (double x : nll) total += x;
  return total;
}

}  // namespace ss::train
