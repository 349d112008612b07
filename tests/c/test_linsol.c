/* test_linsol.c - dense LU: residuals on random matrices (real and complex),
 * singular detection, finite-difference Jacobian accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nk_linsol.h"
#include "nk_check.h"



/* the linear solver reads J through the ode's jac callback */
typedef struct { int n; const double *J; } jac_user;
static int const_jac(double t, const double *y, const double *fy, double *J, void *u) {
  const jac_user *ju = (const jac_user *)u;
  for (int k = 0; k < ju->n * ju->n; ++k) J[k] = ju->J[k];
  return 0;
}
static int dummy_rhs(double t, const double *y, double *f, void *u) { return 0; }

static void test_real_and_complex(int n) {
  double *J = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n),
         *x = malloc(sizeof(double) * n), *xi = malloc(sizeof(double) * n),
         *bi = malloc(sizeof(double) * n), *y = calloc(n, sizeof(double));
  for (int i = 0; i < n * n; ++i) J[i] = 2.0 * urand() - 1.0;
  jac_user ju = {n, J};
  nk_ode ode = {n, dummy_rhs, const_jac, NULL, 0, NULL, NULL, &ju};
  nk_linsol *ls = NULL;
  CHECK(nk_linsol_dense_create(n, &ls) == NK_SUCCESS, "create");
  long nfev = 0;
  CHECK(ls->ops->jac(ls, &ode, 0.0, y, y, NULL, &nfev) == NK_SUCCESS, "jac");
  const double c = 0.7 * n; /* c*I - J diagonally dominant-ish but not trivially */
  CHECK(ls->ops->setup(ls, c) == NK_SUCCESS, "setup");
  for (int i = 0; i < n; ++i) b[i] = x[i] = urand();
  ls->ops->solve(ls, x);
  double res = 0.0;
  for (int i = 0; i < n; ++i) {
    double s = c * x[i];
    for (int j = 0; j < n; ++j) s -= J[i + j * n] * x[j];
    res = fmax(res, fabs(s - b[i]));
  }
  CHECK(res < 1e-12 * n, "real residual %g (n=%d)", res, n);
  const double cr = 0.3 * n, ci = 0.9 * n;
  CHECK(ls->ops->setup_complex(ls, cr, ci) == NK_SUCCESS, "setup complex");
  for (int i = 0; i < n; ++i) { b[i] = x[i] = urand(); bi[i] = xi[i] = urand(); }
  ls->ops->solve_complex(ls, x, xi);
  double resc = 0.0;
  for (int i = 0; i < n; ++i) {
    /* ((cr + i ci) I - J)(x + i xi) */
    double sr = cr * x[i] - ci * xi[i], si = cr * xi[i] + ci * x[i];
    for (int j = 0; j < n; ++j) { sr -= J[i + j * n] * x[j]; si -= J[i + j * n] * xi[j]; }
    resc = fmax(resc, fmax(fabs(sr - b[i]), fabs(si - bi[i])));
  }
  CHECK(resc < 1e-12 * n, "complex residual %g (n=%d)", resc, n);
  nk_linsol_free(&ls);
  CHECK(ls == NULL, "free sets NULL");
  free(J); free(b); free(x); free(xi); free(bi); free(y);
}

static void test_singular(void) {
  const int n = 3;
  double J[9] = {1, 2, 3, 2, 4, 6, 0, 0, 1}; /* c*I - J singular at c=0 */
  double y[3] = {0};
  jac_user ju = {n, J};
  nk_ode ode = {n, dummy_rhs, const_jac, NULL, 0, NULL, NULL, &ju};
  nk_linsol *ls = NULL;
  nk_linsol_dense_create(n, &ls);
  ls->ops->jac(ls, &ode, 0.0, y, y, NULL, NULL);
  CHECK(ls->ops->setup(ls, 0.0) == NK_SINGULAR_MATRIX, "singular detected");
  CHECK(ls->ops->setup_complex(ls, 0.0, 0.0) == NK_SINGULAR_MATRIX, "complex singular");
  nk_linsol_free(&ls);
  nk_linsol_free(&ls); /* second free is a no-op */
  CHECK(nk_linsol_dense_create(0, &ls) == NK_ERR_ARGUMENT, "n=0 rejected");
  CHECK(nk_linsol_dense_create(2000000, &ls) == NK_TOO_LARGE, "absurd size refused");
}

static int rober(double t, const double *y, double *f, void *u) {
  f[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
  f[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
  f[2] = 3e7 * y[1] * y[1];
  return 0;
}

static void test_fd_jacobian(void) {
  double y[3] = {0.9, 2e-5, 0.1}, fy[3], J[9], work[6];
  double ewt[3] = {1e6, 1e10, 1e6};
  nk_ode ode = {3, rober, NULL, NULL, 0, NULL, NULL, NULL};
  rober(0, y, fy, NULL);
  long nfev = 0;
  CHECK(nk_fd_jacobian(&ode, 0.0, y, fy, ewt, J, work, &nfev) == NK_SUCCESS, "fd");
  CHECK(nfev == 3, "one rhs per column (%ld)", nfev);
  double exact[9] = {-0.04, 0.04, 0.0,
                     1e4 * y[2], -1e4 * y[2] - 6e7 * y[1], 6e7 * y[1],
                     1e4 * y[1], -1e4 * y[1], 0.0};
  for (int k = 0; k < 9; ++k)
    CHECK(fabs(J[k] - exact[k]) <= 1e-5 * fabs(exact[k]) + 1e-6, "J[%d]=%g vs %g", k,
          J[k], exact[k]);
}

int main(void) {
  int sizes[] = {1, 2, 3, 8, 20, 57};
  for (int k = 0; k < 6; ++k)
    for (int rep = 0; rep < 20; ++rep) test_real_and_complex(sizes[k]);
  test_singular();
  test_fd_jacobian();
  printf("test_linsol: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures != 0;
}
