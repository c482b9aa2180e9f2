#pragma once
// Eigenvalues and eigenvectors of a real symmetric matrix in double: Householder reduction to
// tridiagonal form, then implicit QR steps with Wilkinson shifts (Golub and Van Loan §8.3), the
// orthogonal transforms accumulated. Self-written so that the FFN quadratic form
// (analysis/ffn_quadratic.h) needs no LAPACK; O(n³), meant for n up to a few thousand.
#include <cstddef>
#include <vector>

namespace ss {

struct SymmetricEigen {
  int n = 0;
  std::vector<double> values;   // ascending, as numpy.linalg.eigh
  std::vector<double> vectors;  // eigenvector j (unit length) at [j * n, (j + 1) * n)
  const double* vector(int j) const { return vectors.data() + static_cast<size_t>(j) * n; }
};

// a: n × n, row-major; only its lower triangle is read (the matrix is taken as symmetric).
// std::runtime_error if the QR iteration does not converge (it does for finite input).
SymmetricEigen symmetric_eigen(std::vector<double> a, int n);

// Indices of the eigenvalues ordered by |λ| descending (ties: the larger λ, then the lower index).
std::vector<int> order_by_magnitude(const std::vector<double>& values);

}  // namespace ss
