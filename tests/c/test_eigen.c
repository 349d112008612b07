/* test_eigen.c - nk_eigvals on matrices with known eigenvalues: diagonal
 * and triangular, similarity transforms of known spectra (real and complex
 * pairs), companion matrices, cyclic permutations (the standard shifts
 * stall there: exceptional shifts), a Jordan block, a badly scaled matrix
 * (balancing), and non-finite input and bad arguments; then
 * nk_steady_spectrum on a free subspace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_check.h"
#include "nk_eigen.h"
#include "nk_steady.h"

/* Largest distance from each expected eigenvalue to its nearest unused
 * computed one (greedy matching). */
static double spectrum_error(int n, const double *wr, const double *wi, const double *er,
                             const double *ei) {
  int *used = calloc((size_t)n, sizeof(int));
  double worst = 0.0;
  for (int k = 0; k < n; ++k) {
    int best = -1;
    double d = INFINITY;
    for (int j = 0; j < n; ++j) {
      if (used[j]) continue;
      const double dj = hypot(wr[j] - er[k], wi[j] - ei[k]);
      if (dj < d) { d = dj; best = j; }
    }
    if (best >= 0) used[best] = 1;
    worst = fmax(worst, d);
  }
  free(used);
  return worst;
}

static double check_spectrum(int n, const double *a, const double *er, const double *ei,
                             const char *what) {
  double *m = malloc(sizeof(double) * (size_t)n * n), *wr = malloc(sizeof(double) * n),
         *wi = malloc(sizeof(double) * n), *w = malloc(sizeof(double) * NK_EIGEN_WORK(n));
  memcpy(m, a, sizeof(double) * (size_t)n * n);
  const nk_status st = nk_eigvals(n, m, wr, wi, w);
  CHECK(st == NK_SUCCESS, "%s: status %d", what, (int)st);
  for (int k = 0; k < n; ++k)
    if (wi[k] != 0.0) { /* a conjugate pair, positive imaginary part first */
      CHECK(k + 1 < n && wi[k] > 0.0 && wi[k + 1] == -wi[k] && wr[k + 1] == wr[k],
            "%s: pair at %d", what, k);
      ++k;
    }
  const double err = spectrum_error(n, wr, wi, er, ei);
  free(m); free(wr); free(wi); free(w);
  return err;
}

/* Q diag-blocks Q^T with Q a random orthogonal matrix (product of
 * reflectors): eigenvalues er + i ei, real ones as 1 x 1 blocks, pairs as
 * [[a, b], [-b, a]] (eigenvalues a +- i b), plus a random strictly upper
 * part of size `upper` (non-normal, the eigenvalues unchanged). */
static void similar(int n, const double *er, const double *ei, double upper, double *a) {
  double *t = calloc((size_t)n * n, sizeof(double)), *v = malloc(sizeof(double) * n);
  for (int k = 0; k < n; ++k) {
    if (ei[k] != 0.0) {
      t[k + k * n] = t[k + 1 + (k + 1) * n] = er[k];
      t[k + (k + 1) * n] = ei[k];
      t[k + 1 + k * n] = -ei[k];
      for (int j = k + 2; j < n; ++j) t[k + j * n] = t[k + 1 + j * n] = upper * (urand() - 0.5);
      ++k;
    } else {
      t[k + k * n] = er[k];
      for (int j = k + 1; j < n; ++j) t[k + j * n] = upper * (urand() - 0.5);
    }
  }
  memcpy(a, t, sizeof(double) * (size_t)n * n);
  for (int r = 0; r < 3; ++r) { /* a <- H a H, H = I - 2 v v^T / v^T v */
    double vv = 0.0;
    for (int i = 0; i < n; ++i) { v[i] = urand() - 0.5; vv += v[i] * v[i]; }
    for (int j = 0; j < n; ++j) { /* left */
      double d = 0.0;
      for (int i = 0; i < n; ++i) d += v[i] * a[i + j * n];
      for (int i = 0; i < n; ++i) a[i + j * n] -= 2.0 * d / vv * v[i];
    }
    for (int i = 0; i < n; ++i) { /* right */
      double d = 0.0;
      for (int j = 0; j < n; ++j) d += a[i + j * n] * v[j];
      for (int j = 0; j < n; ++j) a[i + j * n] -= 2.0 * d / vv * v[j];
    }
  }
  free(t); free(v);
}

static void test_similar(int n, double upper) {
  double *er = malloc(sizeof(double) * n), *ei = malloc(sizeof(double) * n),
         *a = malloc(sizeof(double) * (size_t)n * n);
  for (int k = 0; k < n; ++k) {
    er[k] = 4.0 * urand() - 2.0;
    ei[k] = 0.0;
    if (k + 1 < n && urand() < 0.4) { /* a complex pair */
      er[k + 1] = er[k];
      ei[k] = 0.1 + urand();
      ei[k + 1] = -ei[k];
      ++k;
    }
  }
  similar(n, er, ei, upper, a);
  const double err = check_spectrum(n, a, er, ei, "similar");
  CHECK(err <= 1e-11, "n=%d upper=%g: error %g", n, upper, err);
  free(er); free(ei); free(a);
}

static void test_special(void) {
  /* triangular: the diagonal, exactly */
  double t[9] = {3.0, 0.0, 0.0, 1.0, -2.0, 0.0, 5.0, 7.0, 0.5};
  const double te[3] = {3.0, -2.0, 0.5}, z3[3] = {0, 0, 0};
  CHECK(check_spectrum(3, t, te, z3, "triangular") == 0.0, "triangular");
  /* rotation: +-i */
  const double rot[4] = {0.0, -1.0, 1.0, 0.0}, rr[2] = {0.0, 0.0}, ri[2] = {1.0, -1.0};
  CHECK(check_spectrum(2, rot, rr, ri, "rotation") <= 1e-15, "rotation");
  /* companion matrix of (x-1)(x-2)(x-3)(x-4) = x^4 - 10x^3 + 35x^2 - 50x + 24 */
  double c[16] = {0};
  const double coef[4] = {-24.0, 50.0, -35.0, 10.0};
  for (int i = 1; i < 4; ++i) c[i + (i - 1) * 4] = 1.0;
  for (int i = 0; i < 4; ++i) c[i + 3 * 4] = coef[i];
  const double ce[4] = {1, 2, 3, 4}, z4[4] = {0, 0, 0, 0};
  CHECK(check_spectrum(4, c, ce, z4, "companion") <= 1e-10, "companion");
  /* cyclic permutations: the n-th roots of unity */
  for (int n = 2; n <= 12; ++n) {
    double *p = calloc((size_t)n * n, sizeof(double)), er[12], ei[12];
    for (int i = 0; i < n; ++i) p[(i + 1) % n + i * n] = 1.0;
    for (int k = 0; k < n; ++k) {
      er[k] = cos(2.0 * 3.14159265358979323846 * k / n);
      ei[k] = sin(2.0 * 3.14159265358979323846 * k / n);
    }
    const double err = check_spectrum(n, p, er, ei, "cycle");
    CHECK(err <= 1e-12, "cycle n=%d: error %g", n, err);
    free(p);
  }
  /* a Jordan block: -2 (n-fold); perturbations of size eps^(1/n) are expected */
  double j[25] = {0}, je[5], z5[5] = {0};
  for (int i = 0; i < 5; ++i) {
    j[i + i * 5] = -2.0;
    je[i] = -2.0;
    if (i < 4) j[i + (i + 1) * 5] = 1.0;
  }
  CHECK(check_spectrum(5, j, je, z5, "jordan") <= 1e-2, "jordan");
  /* badly scaled: D A D^-1 with D = diag(1, 1e4, 1e8), eigenvalues of A */
  double b[9];
  const double be[3] = {-1.0, -3.0, -7.0};
  similar(3, be, z3, 1.0, b);
  const double d[3] = {1.0, 1e4, 1e8};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) b[i + k * 3] *= d[i] / d[k];
  const double err = check_spectrum(3, b, be, z3, "scaled");
  CHECK(err <= 1e-9, "scaled: error %g", err);
  /* zero matrix */
  double zero[9] = {0};
  CHECK(check_spectrum(3, zero, z3, z3, "zero") == 0.0, "zero");
}

/* Kronecker sums B (x) I + I (x) B (eigenvalues b_i + b_j: every one with
 * i != j twice) and the same again with a 2 x 2 block: clusters of equal
 * eigenvalues, which hold subdiagonals at the rounding level of the block
 * (the case the relaxed deflation test is for).  Compared with the
 * eigenvalues of B computed here too. */
static void test_clusters(void) {
  for (int rep = 0; rep < 20; ++rep) {
    const int k = 3 + rep % 4, n = k * k;
    double b[36], *a = calloc((size_t)n * n, sizeof(double)), er[36], ei[36];
    double *wantr = malloc(sizeof(double) * n), *wanti = malloc(sizeof(double) * n);
    for (int i = 0; i < k * k; ++i) b[i] = 2.0 * urand() - 1.0;
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j)
        for (int r = 0; r < k; ++r) {
          a[(i * k + r) + (size_t)(j * k + r) * n] += b[i + j * k]; /* B (x) I */
          a[(r * k + i) + (size_t)(r * k + j) * n] += b[i + j * k]; /* I (x) B */
        }
    double bw[NK_EIGEN_WORK(6)], bc[36];
    memcpy(bc, b, sizeof(double) * k * k);
    CHECK(nk_eigvals(k, bc, er, ei, bw) == NK_SUCCESS, "B");
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        wantr[i * k + j] = er[i] + er[j];
        wanti[i * k + j] = ei[i] + ei[j];
      }
    const double err = check_spectrum(n, a, wantr, wanti, "kronecker sum");
    CHECK(err <= 1e-9, "kronecker sum k=%d: error %g", k, err);
    free(a); free(wantr); free(wanti);
  }
}

static void test_bad_input(void) {
  double a[4] = {1.0, NAN, 0.0, 1.0}, wr[2] = {7, 7}, wi[2] = {7, 7}, w[NK_EIGEN_WORK(2)];
  CHECK(nk_eigvals(2, a, wr, wi, w) == NK_NONFINITE && wr[0] == 7.0, "NaN");
  a[1] = INFINITY;
  CHECK(nk_eigvals(2, a, wr, wi, w) == NK_NONFINITE, "inf");
  CHECK(nk_eigvals(0, NULL, NULL, NULL, NULL) == NK_SUCCESS, "n = 0");
  CHECK(nk_eigvals(-1, a, wr, wi, w) == NK_ERR_ARGUMENT, "n < 0");
  CHECK(nk_eigvals(2, a, NULL, wi, w) == NK_ERR_ARGUMENT, "no wr");
}

/* nk_steady_spectrum: f = A y with A = [[-1, 1, 0], [1, -1, 0], [0, 0, -3]]
 * (y0 + y1 conserved): on the free subspace spanned by (1, -1, 0)/sqrt 2 and
 * (0, 0, 1) the eigenvalues are -2 and -3 (the conserved direction's 0 is
 * left out). */
static const double LAW_A[9] = {-1.0, 1.0, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0, -3.0};
static int law_rhs(double t, const double *y, double *f, void *u) {
  for (int i = 0; i < 3; ++i) {
    f[i] = 0.0;
    for (int j = 0; j < 3; ++j) f[i] += LAW_A[i + 3 * j] * y[j];
  }
  return 0;
}
static int law_jac(double t, const double *y, const double *fy, double *J, void *u) {
  memcpy(J, LAW_A, sizeof LAW_A);
  return 0;
}

static void test_spectrum(void) {
  nk_ode ode = {3, law_rhs, law_jac, NULL, 0, NULL, NULL, NULL};
  const double s = 1.0 / sqrt(2.0);
  const double Q[6] = {s, -s, 0.0, 0.0, 0.0, 1.0};
  const double y[3] = {1.0, 2.0, 3.0};
  double w[NK_STEADY_POINT_WORK(3)], wr[3], wi[3];
  CHECK(nk_steady_spectrum(&ode, y, Q, 2, w, wr, wi) == NK_SUCCESS, "spectrum");
  const double e[2] = {-2.0, -3.0}, z[2] = {0.0, 0.0};
  CHECK(spectrum_error(2, wr, wi, e, z) <= 1e-14, "free subspace: %g %g", wr[0], wr[1]);
  CHECK(nk_steady_spectrum(&ode, y, NULL, 0, w, wr, wi) == NK_SUCCESS, "whole space");
  const double e3[3] = {0.0, -2.0, -3.0}, z3[3] = {0, 0, 0};
  CHECK(spectrum_error(3, wr, wi, e3, z3) <= 1e-14, "whole space");
  CHECK(nk_steady_spectrum(&ode, y, Q, 0, w, wr, wi) == NK_SUCCESS, "empty subspace");
  CHECK(nk_steady_spectrum(&ode, y, Q, 4, w, wr, wi) == NK_ERR_ARGUMENT, "m > n");
}

int main(void) {
  for (int n = 1; n <= 40; n += (n < 10 ? 1 : 10))
    for (int rep = 0; rep < 5; ++rep) {
      test_similar(n, 0.0);
      test_similar(n, 1.0);
    }
  test_special();
  test_clusters();
  test_bad_input();
  test_spectrum();
  printf("test_eigen: %s (%d failures, %d checks)\n", failures ? "FAILED" : "ok", failures,
         checks);
  return failures != 0;
}
