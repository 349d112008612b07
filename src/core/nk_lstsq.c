/* nk_lstsq.c - minimum-norm least squares (see nk_lstsq.h).
 *
 *   A P = Q [R11 R12; 0 R22]   Householder QR with column pivoting (the
 *                              column of largest remaining norm first);
 *   R22 dropped (rank r);
 *   [R11 R12] = [T 0] Z        Householder reflectors from the right, one
 *                              per row k < r, acting on columns k and r..n-1;
 *   x = P Z^T [T^-1 (Q^T b)_1:r; 0].
 */
#include "nk_lstsq.h"

#include <float.h>
#include <math.h>

#include "nk_householder.h"

#define A_(i, j) a[(size_t)(i) + (size_t)(j) * (size_t)n]

/* Column-pivoted QR of a in place (R on and above the diagonal, the
 * reflectors' v below it), Q^T applied to b as it goes. */
static void lstsq_qrcp(int n, double *a, double *b, double *cnorm, int *jpvt) {
  for (int j = 0; j < n; ++j) jpvt[j] = j;
  for (int k = 0; k < n; ++k) {
    int p = k;
    double best = -1.0;
    for (int j = k; j < n; ++j) { /* remaining column norms, recomputed */
      double s = 0.0;
      for (int i = k; i < n; ++i) s += A_(i, j) * A_(i, j);
      cnorm[j] = s;
      if (s > best) { best = s; p = j; }
    }
    if (p != k) {
      for (int i = 0; i < n; ++i) {
        const double t = A_(i, k);
        A_(i, k) = A_(i, p);
        A_(i, p) = t;
      }
      const int t = jpvt[k];
      jpvt[k] = jpvt[p];
      jpvt[p] = t;
    }
    double beta;
    double *v = &A_(k, k);
    const double tau = nk_reflector(n - k, v, &beta);
    if (tau != 0.0) {
      for (int j = k + 1; j < n; ++j) {
        double d = 0.0;
        for (int i = 0; i < n - k; ++i) d += v[i] * A_(k + i, j);
        d *= tau;
        for (int i = 0; i < n - k; ++i) A_(k + i, j) -= d * v[i];
      }
      double d = 0.0;
      for (int i = 0; i < n - k; ++i) d += v[i] * b[k + i];
      d *= tau;
      for (int i = 0; i < n - k; ++i) b[k + i] -= d * v[i];
    }
    A_(k, k) = beta; /* (v's stored part lies below the diagonal) */
  }
}

nk_status nk_lstsq(int n, double *a, double *b, double *work, int *jpvt, int *rank) {
  if (n < 0 || (n > 0 && (!a || !b || !work || !jpvt))) return NK_ERR_ARGUMENT;
  for (size_t k = 0; k < (size_t)n * (size_t)n; ++k)
    if (!isfinite(a[k])) return NK_NONFINITE;
  for (int i = 0; i < n; ++i)
    if (!isfinite(b[i])) return NK_NONFINITE;
  if (rank) *rank = 0;
  if (n == 0) return NK_SUCCESS;
  double *cnorm = work, *row = work + n;
  lstsq_qrcp(n, a, b, cnorm, jpvt);
  const double tol = n * DBL_EPSILON * fabs(A_(0, 0));
  int r = 0;
  while (r < n && fabs(A_(r, r)) > tol) ++r;
  if (rank) *rank = r;
  /* [R11 R12] -> [T 0] from the right: row k's reflector on columns k and
   * r..n-1, applied to the rows above; its v (without v0 = 1) is kept in
   * row k's columns r..n-1, tau in cnorm[k] */
  for (int k = r - 1; k >= 0 && r < n; --k) {
    const int m = n - r + 1;
    row[0] = A_(k, k);
    for (int j = r; j < n; ++j) row[1 + j - r] = A_(k, j);
    double beta;
    const double tau = nk_reflector(m, row, &beta);
    cnorm[k] = tau;
    A_(k, k) = beta;
    for (int j = r; j < n; ++j) A_(k, j) = row[1 + j - r];
    if (tau == 0.0) continue;
    for (int i = 0; i < k; ++i) {
      double d = A_(i, k);
      for (int j = r; j < n; ++j) d += A_(i, j) * row[1 + j - r];
      d *= tau;
      A_(i, k) -= d;
      for (int j = r; j < n; ++j) A_(i, j) -= d * row[1 + j - r];
    }
  }
  /* y = [T^-1 c; 0] */
  for (int k = r - 1; k >= 0; --k) {
    double s = b[k];
    for (int j = k + 1; j < r; ++j) s -= A_(k, j) * b[j];
    b[k] = s / A_(k, k);
  }
  for (int j = r; j < n; ++j) b[j] = 0.0;
  /* x~ = Z^T y = H_{r-1} ... H_0 y, then x = P x~ */
  for (int k = 0; k < r && r < n; ++k) {
    const double tau = cnorm[k];
    if (tau == 0.0) continue;
    double d = b[k];
    for (int j = r; j < n; ++j) d += A_(k, j) * b[j];
    d *= tau;
    b[k] -= d;
    for (int j = r; j < n; ++j) b[j] -= d * A_(k, j);
  }
  for (int k = 0; k < n; ++k) row[jpvt[k]] = b[k];
  for (int k = 0; k < n; ++k) b[k] = row[k];
  return NK_SUCCESS;
}
