#include "analysis/symmetric_eigen.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ss {

namespace {

// A = Q T Qᵀ with T tridiagonal (diagonal d, off-diagonal e[i] = T[i+1][i]): reflections
// H = I − 2vvᵀ zero each column below its subdiagonal in turn. q receives Q, row-major.
void tridiagonalize(std::vector<double>& a, int n, std::vector<double>& d, std::vector<double>& e,
                    std::vector<double>& q) {
  const size_t N = n;
  auto at = [&](int i, int j) -> double& { return a[static_cast<size_t>(i) * N + j]; };
  q.assign(N * N, 0.0);
  for (size_t i = 0; i < N; ++i) q[i * N + i] = 1.0;
  std::vector<double> v(N), p(N);
  for (int k = 0; k + 2 < n; ++k) {
    double norm2 = 0;
    for (int i = k + 1; i < n; ++i) norm2 += at(i, k) * at(i, k);
    const double x0 = at(k + 1, k);
    if (norm2 == x0 * x0) continue;  // nothing below the subdiagonal to zero
    // alpha takes the sign opposite to x0, so that v0 = x0 − alpha does not cancel.
    const double alpha = x0 >= 0 ? -std::sqrt(norm2) : std::sqrt(norm2);
    double vnorm2 = 0;
    for (int i = k + 1; i < n; ++i) {
      v[i] = i == k + 1 ? x0 - alpha : at(i, k);
      vnorm2 += v[i] * v[i];
    }
    const double inv = 1.0 / std::sqrt(vnorm2);
    for (int i = k + 1; i < n; ++i) v[i] *= inv;
    // H A H = A − 2v qᵀ − 2q vᵀ on the trailing block, with p = A v and q = p − (vᵀp) v.
    double vp = 0;
    for (int i = k + 1; i < n; ++i) {
      double s = 0;
      for (int j = k + 1; j < n; ++j) s += at(i, j) * v[j];
      p[i] = s;
      vp += v[i] * s;
    }
    for (int i = k + 1; i < n; ++i) p[i] -= vp * v[i];
    for (int i = k + 1; i < n; ++i)
      for (int j = k + 1; j < n; ++j) at(i, j) -= 2.0 * (v[i] * p[j] + p[i] * v[j]);
    at(k + 1, k) = at(k, k + 1) = alpha;
    for (int i = k + 2; i < n; ++i) at(i, k) = at(k, i) = 0.0;
    // Q ← Q H.
    for (size_t r = 0; r < N; ++r) {
      double s = 0;
      for (int j = k + 1; j < n; ++j) s += q[r * N + j] * v[j];
      for (int j = k + 1; j < n; ++j) q[r * N + j] -= 2.0 * s * v[j];
    }
  }
  d.resize(N);
  e.assign(N, 0.0);
  for (int i = 0; i < n; ++i) d[i] = at(i, i);
  for (int i = 0; i + 1 < n; ++i) e[i] = at(i + 1, i);
}

// One implicit QR step with a Wilkinson shift on the unreduced block lo..hi of T: a rotation of
// rows/columns (k, k+1) for each k chases the bulge down; z ← z G accumulates them (z's column j
// is then T's eigenvector j in A's basis).
void qr_step(std::vector<double>& d, std::vector<double>& e, int lo, int hi, std::vector<double>& z,
             int n) {
  const double delta = (d[hi - 1] - d[hi]) / 2;
  const double b = e[hi - 1];
  const double root = std::hypot(delta, b);
  const double mu = d[hi] - b * b / (delta + (delta >= 0 ? root : -root));
  double x = d[lo] - mu, bulge = e[lo];
  for (int k = lo; k < hi; ++k) {
    const double r = std::hypot(x, bulge);
    const double c = r == 0 ? 1.0 : x / r, s = r == 0 ? 0.0 : -bulge / r;
    if (k > lo) e[k - 1] = r;
    const double a0 = d[k], b0 = e[k], c0 = d[k + 1];
    d[k] = c * c * a0 - 2 * c * s * b0 + s * s * c0;
    d[k + 1] = s * s * a0 + 2 * c * s * b0 + c * c * c0;
    e[k] = c * s * (a0 - c0) + (c * c - s * s) * b0;
    if (k + 1 < hi) {
      x = e[k];
      bulge = -s * e[k + 1];
      e[k + 1] *= c;
    }
    for (int r2 = 0; r2 < n; ++r2) {
      double* row = z.data() + static_cast<size_t>(r2) * n;
      const double zk = row[k], zk1 = row[k + 1];
      row[k] = c * zk - s * zk1;
      row[k + 1] = s * zk + c * zk1;
    }
  }
}

}  // namespace

SymmetricEigen symmetric_eigen(std::vector<double> a, int n) {
  const size_t N = n;
  if (a.size() != N * N) throw std::invalid_argument("symmetric_eigen: a is not n × n");
  for (size_t i = 0; i < N; ++i)  // the lower triangle is the matrix
    for (size_t j = i + 1; j < N; ++j) a[i * N + j] = a[j * N + i];
  std::vector<double> d, e, z;
  tridiagonalize(a, n, d, e, z);

  const long max_steps = 30L * std::max(n, 1);
  long steps = 0;
  for (int hi = n - 1; hi > 0;) {
    // Negligible off-diagonals split T; the trailing 1 × 1 blocks are converged eigenvalues.
    for (int i = 0; i < hi; ++i)
      if (std::abs(e[i]) <= DBL_EPSILON * (std::abs(d[i]) + std::abs(d[i + 1])) ||
          std::abs(e[i]) < DBL_MIN)
        e[i] = 0.0;
    if (e[hi - 1] == 0.0) {
      --hi;
      continue;
    }
    int lo = hi - 1;
    while (lo > 0 && e[lo - 1] != 0.0) --lo;
    if (++steps > max_steps) throw std::runtime_error("symmetric_eigen: QR did not converge");
    qr_step(d, e, lo, hi, z, n);
  }

  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return d[x] < d[y]; });
  SymmetricEigen out;
  out.n = n;
  out.values.resize(N);
  out.vectors.resize(N * N);
  for (size_t j = 0; j < N; ++j) {
    out.values[j] = d[order[j]];
    for (size_t i = 0; i < N; ++i) out.vectors[j * N + i] = z[i * N + order[j]];
  }
  return out;
}

std::vector<int> order_by_magnitude(const std::vector<double>& values) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    const double ax = std::abs(values[x]), ay = std::abs(values[y]);
    return ax != ay ? ax > ay : values[x] > values[y];
  });
  return order;
}

}  // namespace ss
