/* test_lstsq.c - nk_lstsq: full-rank systems (the solution), rank-deficient
 * ones built as products of thin random factors (the least-squares
 * solution of smallest norm: orthogonal to the null space, normal
 * equations satisfied), zero columns, the zero matrix, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_check.h"
#include "nk_lstsq.h"

/* a = U V^T, U, V n x k (rank k) */
static void low_rank(int n, int k, double *a) {
  double *u = malloc(sizeof(double) * n * (k + 1)), *v = malloc(sizeof(double) * n * (k + 1));
  for (int i = 0; i < n * k; ++i) { u[i] = urand() - 0.5; v[i] = urand() - 0.5; }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int r = 0; r < k; ++r) s += u[i + r * n] * v[j + r * n];
      a[i + j * n] = s;
    }
  free(u); free(v);
}

static void check_min_norm(int n, int k) {
  double *a = malloc(sizeof(double) * n * n), *m = malloc(sizeof(double) * n * n),
         *b = malloc(sizeof(double) * n), *x = malloc(sizeof(double) * n),
         *w = malloc(sizeof(double) * NK_LSTSQ_WORK(n)), *res = malloc(sizeof(double) * n);
  int *jp = malloc(sizeof(int) * n), rank = -1;
  if (k < n) low_rank(n, k, a);
  else for (int i = 0; i < n * n; ++i) a[i] = urand() - 0.5;
  for (int i = 0; i < n; ++i) b[i] = urand() - 0.5;
  memcpy(m, a, sizeof(double) * n * n);
  memcpy(x, b, sizeof(double) * n);
  CHECK(nk_lstsq(n, m, x, w, jp, &rank) == NK_SUCCESS, "n=%d k=%d", n, k);
  CHECK(rank == k, "n=%d: rank %d, want %d", n, rank, k);
  double scale = 0.0;
  for (int i = 0; i < n; ++i) {
    res[i] = -b[i];
    for (int j = 0; j < n; ++j) res[i] += a[i + j * n] * x[j];
    scale = fmax(scale, fabs(b[i]));
  }
  /* least squares: the normal equations A^T (A x - b) = 0 */
  double ne = 0.0;
  for (int j = 0; j < n; ++j) {
    double s = 0.0;
    for (int i = 0; i < n; ++i) s += a[i + j * n] * res[i];
    ne = fmax(ne, fabs(s));
  }
  CHECK(ne <= 1e-10 * (1.0 + scale) * n, "n=%d k=%d: normal equations %g", n, k, ne);
  if (k < n) { /* smallest norm: x orthogonal to the null space of A.  A null
                  vector: z - pinv(A) A z, pinv(A) A z being nk_lstsq's
                  solution for the right-hand side A z */
    double xx = 0.0;
    for (int i = 0; i < n; ++i) xx += x[i] * x[i];
    for (int t = 0; t < 5; ++t) {
      double *z = malloc(sizeof(double) * n), *az = malloc(sizeof(double) * n);
      for (int i = 0; i < n; ++i) z[i] = urand() - 0.5;
      for (int i = 0; i < n; ++i) {
        az[i] = 0.0;
        for (int j = 0; j < n; ++j) az[i] += a[i + j * n] * z[j];
      }
      memcpy(m, a, sizeof(double) * n * n);
      CHECK(nk_lstsq(n, m, az, w, jp, NULL) == NK_SUCCESS, "projection");
      double dot = 0.0; /* z - az: a null vector */
      for (int i = 0; i < n; ++i) dot += x[i] * (z[i] - az[i]);
      CHECK(fabs(dot) <= 1e-9 * (1.0 + sqrt(xx)) * n, "n=%d k=%d: x . null = %g", n, k, dot);
      free(z); free(az);
    }
  }
  free(a); free(m); free(b); free(x); free(w); free(res); free(jp);
}

static void test_special(void) {
  double z[9] = {0}, b[3] = {1.0, 2.0, 3.0}, w[NK_LSTSQ_WORK(3)];
  int jp[3], rank = -1;
  CHECK(nk_lstsq(3, z, b, w, jp, &rank) == NK_SUCCESS && rank == 0, "zero matrix");
  CHECK(b[0] == 0.0 && b[1] == 0.0 && b[2] == 0.0, "zero matrix: x = 0");
  /* diag(2, 0, 4): x = (b0/2, 0, b2/4) */
  double d[9] = {2.0, 0, 0, 0, 0.0, 0, 0, 0, 4.0}, c[3] = {1.0, 5.0, 2.0};
  CHECK(nk_lstsq(3, d, c, w, jp, &rank) == NK_SUCCESS && rank == 2, "diagonal");
  CHECK(fabs(c[0] - 0.5) < 1e-15 && c[1] == 0.0 && fabs(c[2] - 0.5) < 1e-15, "diagonal: %g %g %g",
        c[0], c[1], c[2]);
  double nan_m[1] = {NAN}, one[1] = {1.0}, w1[NK_LSTSQ_WORK(1)];
  int jp1[1];
  CHECK(nk_lstsq(1, nan_m, one, w1, jp1, NULL) == NK_NONFINITE, "NaN");
  CHECK(nk_lstsq(-1, nan_m, one, w1, jp1, NULL) == NK_ERR_ARGUMENT, "n < 0");
  CHECK(nk_lstsq(0, NULL, NULL, NULL, NULL, NULL) == NK_SUCCESS, "n = 0");
}

int main(void) {
  for (int n = 1; n <= 30; n += (n < 8 ? 1 : 11))
    for (int k = 0; k <= n; ++k)
      if (k == 0 || k == n || k == n / 2 || k == n - 1) check_min_norm(n, k);
  test_special();
  printf("test_lstsq: %s (%d failures, %d checks)\n", failures ? "FAILED" : "ok", failures,
         checks);
  return failures != 0;
}
