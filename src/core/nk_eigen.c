/* nk_eigen.c - eigenvalues of a real matrix (see nk_eigen.h).
 *
 * Three stages, after Golub & Van Loan, Matrix Computations (4th ed.):
 *   1. balancing: a diagonal similarity by powers of 2 (exact in floating
 *      point) that brings each row and column to comparable norms
 *      (Parlett & Reinsch 1969), so that the QR iteration's rounding errors,
 *      of the order of eps times the norm, are small for every eigenvalue;
 *   2. reduction to upper Hessenberg form by Householder reflectors
 *      (Alg. 7.4.2);
 *   3. the Francis implicit double-shift QR iteration (Alg. 7.5.1) with
 *      deflation at negligible subdiagonal entries (Alg. 7.5.2), exceptional
 *      shifts after 10 and 20 steps without deflation.
 * No orthogonal factors are accumulated (eigenvalues only), so a QR step
 * only updates the active diagonal block.
 */
#include "nk_eigen.h"

#include <float.h>
#include <math.h>

#include "nk_householder.h"
#include "nk_target.h"

#define A_(i, j) a[(size_t)(i) + (size_t)(j) * (size_t)n]

/* Diagonal similarity D^-1 A D with D a power of 2 per index: scale index i
 * while its column and row off-diagonal 1-norms differ by more than a factor
 * of 4 and the scaling shrinks their sum by at least 5%. */
static void eig_balance(int n, double *a) {
  for (int sweep = 0, changed = 1; changed && sweep < 100; ++sweep) {
    changed = 0;
    for (int i = 0; i < n; ++i) {
      double c = 0.0, r = 0.0;
      for (int j = 0; j < n; ++j) {
        if (j == i) continue;
        c += fabs(A_(j, i));
        r += fabs(A_(i, j));
      }
      if (c == 0.0 || r == 0.0) continue;
      const double sum = c + r;
      double f = 1.0;
      while (c < 0.5 * r) { /* c f^2 approaches r */
        c *= 4.0;
        f *= 2.0;
      }
      while (c >= 2.0 * r) {
        c *= 0.25;
        f *= 0.5;
      }
      if ((c + r) / f >= 0.95 * sum) continue;
      changed = 1;
      const double g = 1.0 / f; /* exact: f is a power of 2 */
      for (int j = 0; j < n; ++j) A_(i, j) *= g;
      for (int j = 0; j < n; ++j) A_(j, i) *= f;
    }
  }
}

/* x . y with four partial sums (independent additions: the loop runs at
 * the adder's throughput rather than its latency). */
NK_INLINE double eig_dot(int m, const double *x, const double *y) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < m; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

/* A <- P A P, P = I - tau v v^T acting on indices k+1..n-1, column by column
 * (k = 0..n-3): upper Hessenberg form.  v: n doubles, w: n doubles. */
NK_MULTIVERSION static void eig_hessenberg(int n, double *a, double *v, double *w) {
  for (int k = 0; k + 2 < n; ++k) {
    const int m = n - k - 1;
    for (int i = 0; i < m; ++i) v[i] = A_(k + 1 + i, k);
    double beta;
    const double tau = nk_reflector(m, v, &beta);
    if (tau == 0.0) continue;
    /* column k: (beta, 0, ..., 0) below the diagonal */
    A_(k + 1, k) = beta;
    for (int i = 1; i < m; ++i) A_(k + 1 + i, k) = 0.0;
    /* left: rows k+1..n-1 of columns k+1..n-1 */
    for (int j = k + 1; j < n; ++j) {
      double *col = &A_(k + 1, j);
      const double d = tau * eig_dot(m, v, col);
      for (int i = 0; i < m; ++i) col[i] -= d * v[i];
    }
    /* right: columns k+1..n-1 of every row, w = A v accumulated by columns */
    for (int i = 0; i < n; ++i) w[i] = 0.0;
    for (int j = 0; j < m; ++j) {
      const double vj = v[j];
      for (int i = 0; i < n; ++i) w[i] += A_(i, k + 1 + j) * vj;
    }
    for (int j = 0; j < m; ++j) {
      const double tv = tau * v[j];
      for (int i = 0; i < n; ++i) A_(i, k + 1 + j) -= w[i] * tv;
    }
  }
}

/* Eigenvalues of [[p, q], [r, s]]: (p + s)/2 +- sqrt(((p - s)/2)^2 + q r),
 * the real pair formed without cancellation (the smaller root from the
 * product), scaled against overflow. */
static void eig_2x2(double p, double q, double r, double s, double *wr1, double *wi1,
                    double *wr2, double *wi2) {
  double sc = fmax(fmax(fabs(p), fabs(q)), fmax(fabs(r), fabs(s)));
  if (sc == 0.0) {
    *wr1 = *wr2 = *wi1 = *wi2 = 0.0;
    return;
  }
  p /= sc;
  q /= sc;
  r /= sc;
  s /= sc;
  const double h = 0.5 * (p - s);
  const double disc = h * h + q * r;
  if (disc >= 0.0) {
    const double z = h + copysign(sqrt(disc), h);
    *wr1 = (s + z) * sc;
    *wr2 = (z != 0.0 ? s - (q * r) / z : s) * sc;
    *wi1 = *wi2 = 0.0;
  } else {
    *wr1 = *wr2 = (s + h) * sc;
    *wi1 = sqrt(-disc) * sc;
    *wi2 = -*wi1;
  }
}

/* One Francis double-shift step on the unreduced block lo..hi (hi - lo >= 2)
 * with shifts the roots of x^2 - sum x + prod. */
static void eig_francis_step(int n, double *a, int lo, int hi, double sum, double prod) {
  double u[3], beta;
  /* first column of (H - s1 I)(H - s2 I), three nonzeros */
  const double h00 = A_(lo, lo), h10 = A_(lo + 1, lo);
  u[0] = h00 * h00 + A_(lo, lo + 1) * h10 - sum * h00 + prod;
  u[1] = h10 * (h00 + A_(lo + 1, lo + 1) - sum);
  u[2] = h10 * A_(lo + 2, lo + 1);
  for (int k = lo; k + 2 <= hi; ++k) { /* chase the bulge down */
    const double tau = nk_reflector(3, u, &beta);
    int j0 = k;
    if (k > lo) { /* column k-1: the bulge becomes (beta, 0, 0) */
      A_(k, k - 1) = beta;
      A_(k + 1, k - 1) = 0.0;
      A_(k + 2, k - 1) = 0.0;
    } else {
      j0 = lo;
    }
    if (tau != 0.0) {
      const double v1 = u[1], v2 = u[2];
      for (int j = j0; j <= hi; ++j) {
        const double d = tau * (A_(k, j) + v1 * A_(k + 1, j) + v2 * A_(k + 2, j));
        A_(k, j) -= d;
        A_(k + 1, j) -= d * v1;
        A_(k + 2, j) -= d * v2;
      }
      const int i1 = k + 3 < hi ? k + 3 : hi;
      for (int i = lo; i <= i1; ++i) {
        const double d = tau * (A_(i, k) + v1 * A_(i, k + 1) + v2 * A_(i, k + 2));
        A_(i, k) -= d;
        A_(i, k + 1) -= d * v1;
        A_(i, k + 2) -= d * v2;
      }
    }
    u[0] = A_(k + 1, k);
    u[1] = A_(k + 2, k);
    u[2] = k + 3 <= hi ? A_(k + 3, k) : 0.0;
  }
  /* the last reflector is 2 x 2: rows hi-1, hi */
  const double tau = nk_reflector(2, u, &beta);
  A_(hi - 1, hi - 2) = beta;
  A_(hi, hi - 2) = 0.0;
  if (tau == 0.0) return;
  const double v1 = u[1];
  for (int j = hi - 1; j <= hi; ++j) {
    const double d = tau * (A_(hi - 1, j) + v1 * A_(hi, j));
    A_(hi - 1, j) -= d;
    A_(hi, j) -= d * v1;
  }
  for (int i = lo; i <= hi; ++i) {
    const double d = tau * (A_(i, hi - 1) + v1 * A_(i, hi));
    A_(i, hi - 1) -= d;
    A_(i, hi) -= d * v1;
  }
}

/* The QR iteration on the Hessenberg matrix a: deflate from the bottom. */
static nk_status eig_hqr(int n, double *a, double *wr, double *wi) {
  double anorm = 0.0; /* 1-norm of the Hessenberg part, for zero diagonals */
  for (int j = 0; j < n; ++j) {
    double c = 0.0;
    for (int i = 0; i <= (j + 1 < n ? j + 1 : n - 1); ++i) c += fabs(A_(i, j));
    anorm = fmax(anorm, c);
  }
  const int itmax = 30 * (n > 10 ? n : 10);
  int hi = n - 1, its = 0;
  while (hi >= 0) {
    int lo = hi;
    for (; lo > 0; --lo) { /* negligible subdiagonal: |h| <= eps (|h-| + |h+|) */
      double s = fabs(A_(lo - 1, lo - 1)) + fabs(A_(lo, lo));
      /* Without a deflation for 10 steps, a multiple of eps |H| instead of
       * the local scale, doubled every 10 steps up to 2^10 eps |H| (a
       * perturbation of the order of the rounding errors of the QR steps
       * themselves, so still backward stable): a cluster of equal
       * eigenvalues can hold its subdiagonal at the rounding level of the
       * whole block, above eps (|h-| + |h+|), where the shifts cycle for
       * ever (seen on multisite2's Jacobians, ../shared/data/networks). */
      if (s == 0.0) s = anorm;
      if (its >= 10) s = fmax(s, ldexp(anorm, its < 110 ? its / 10 - 1 : 10));
      if (fabs(A_(lo, lo - 1)) <= DBL_EPSILON * s) {
        A_(lo, lo - 1) = 0.0;
        break;
      }
    }
    if (lo == hi) { /* a 1 x 1 block */
      wr[hi] = A_(hi, hi);
      wi[hi] = 0.0;
      --hi;
      its = 0;
      continue;
    }
    if (lo == hi - 1) { /* a 2 x 2 block */
      eig_2x2(A_(hi - 1, hi - 1), A_(hi - 1, hi), A_(hi, hi - 1), A_(hi, hi), &wr[hi - 1],
              &wi[hi - 1], &wr[hi], &wi[hi]);
      if (wi[hi] > 0.0) { /* positive imaginary part first */
        wi[hi - 1] = wi[hi];
        wi[hi] = -wi[hi - 1];
      }
      hi -= 2;
      its = 0;
      continue;
    }
    if (its >= itmax) return NK_CONV_FAILURE;
    ++its;
    double sum, prod;
    if (its % 10 == 0) {
      /* exceptional shift (as LAPACK's dlahqr): breaks cycles of the
       * standard shifts, e.g. on permutation-like blocks */
      const double w = fabs(A_(hi, hi - 1)) + fabs(A_(hi - 1, hi - 2));
      const double c = A_(hi, hi) + 0.75 * w;
      sum = 2.0 * c;
      prod = c * c + 0.4375 * w * w;
    } else { /* the eigenvalues of the trailing 2 x 2 block */
      sum = A_(hi - 1, hi - 1) + A_(hi, hi);
      prod = A_(hi - 1, hi - 1) * A_(hi, hi) - A_(hi - 1, hi) * A_(hi, hi - 1);
    }
    eig_francis_step(n, a, lo, hi, sum, prod);
  }
  return NK_SUCCESS;
}

nk_status nk_eigvals(int n, double *a, double *wr, double *wi, double *work) {
  if (n < 0 || (n > 0 && (!a || !wr || !wi || !work))) return NK_ERR_ARGUMENT;
  for (size_t k = 0; k < (size_t)n * (size_t)n; ++k)
    if (!isfinite(a[k])) return NK_NONFINITE;
  if (n == 0) return NK_SUCCESS;
  eig_balance(n, a);
  eig_hessenberg(n, a, work, work + n);
  return eig_hqr(n, a, wr, wi);
}
