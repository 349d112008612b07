/* test_steady.c - nk_steady_newton: linear systems (one step, random
 * matrices that need pivoting), a conservation law and a held species,
 * a nonlinear system, singular Jacobians (least-squares steps) and bad
 * arguments; nk_steady_point with and without a presimulation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_check.h"
#include "nk_linsol.h"
#include "nk_steady.h"

/* f = A y + c, A column-major */
typedef struct { int n; const double *A, *c; } affine;
static int affine_rhs(double t, const double *y, double *f, void *u) {
  const affine *a = (const affine *)u;
  for (int i = 0; i < a->n; ++i) {
    f[i] = a->c[i];
    for (int j = 0; j < a->n; ++j) f[i] += a->A[i + j * a->n] * y[j];
  }
  return 0;
}
static int affine_jac(double t, const double *y, const double *fy, double *J, void *u) {
  const affine *a = (const affine *)u;
  for (int k = 0; k < a->n * a->n; ++k) J[k] = a->A[k];
  return 0;
}

static nk_steady_system plain(double tol, int max_iter) {
  nk_steady_system s = {0, NULL, NULL, NULL, 0, NULL, NULL, tol, 1e-9, max_iter};
  return s;
}

/* Newton solves an affine system in one step: compare with A y* = -c. */
static void test_affine(int n) {
  double *A = malloc(sizeof(double) * n * n), *c = malloc(sizeof(double) * n),
         *y = calloc(n, sizeof(double)), *w = malloc(sizeof(double) * NK_STEADY_WORK(n));
  int *piv = malloc(sizeof(int) * n);
  for (int k = 0; k < n * n; ++k) A[k] = 2.0 * urand() - 1.0; /* pivoting needed */
  for (int i = 0; i < n; ++i) c[i] = urand();
  affine a = {n, A, c};
  nk_ode ode = {n, affine_rhs, affine_jac, NULL, 0, NULL, NULL, &a};
  nk_steady_system s = plain(1e-10, 20);
  int it = -1, ok = -1;
  CHECK(nk_steady_newton(&ode, &s, y, w, piv, &it, &ok) == NK_SUCCESS, "n=%d", n);
  double res = 0.0;
  for (int i = 0; i < n; ++i) {
    double f = c[i];
    for (int j = 0; j < n; ++j) f += A[i + j * n] * y[j];
    res = fmax(res, fabs(f));
  }
  CHECK(ok == 1 && res <= 1e-10, "n=%d: converged %d, residual %g", n, ok, res);
  CHECK(it == 1, "n=%d: one Newton step for an affine system, took %d", n, it);
  free(A); free(c); free(y); free(w); free(piv);
}

/* A <-> B (kf = 2, kb = 1) with A + B = 2 conserved, S held, P = ks S / kd. */
static int abp_rhs(double t, const double *y, double *f, void *u) {
  const double v1 = 2.0 * y[0] - 1.0 * y[1];
  f[0] = -v1;
  f[1] = v1;
  f[2] = 0.0;
  f[3] = 0.5 * y[2] - 0.25 * y[3];
  return 0;
}
static int abp_jac(double t, const double *y, const double *fy, double *J, void *u) {
  for (int k = 0; k < 16; ++k) J[k] = 0.0;
  J[0 + 0 * 4] = -2.0; J[0 + 1 * 4] = 1.0;
  J[1 + 0 * 4] = 2.0;  J[1 + 1 * 4] = -1.0;
  J[3 + 2 * 4] = 0.5;  J[3 + 3 * 4] = -0.25;
  return 0;
}

static void test_laws_and_held() {
  nk_ode ode = {4, abp_rhs, abp_jac, NULL, 0, NULL, NULL, NULL};
  const int dep[1] = {0}, fixed[1] = {2};
  const double L[4] = {1.0, 1.0, 0.0, 0.0}, totals[1] = {2.0};
  const double yfix[4] = {0.0, 0.0, 3.0, 0.0};
  nk_steady_system s = {1, dep, L, totals, 1, fixed, yfix, 1e-12, 1e-9, 50};
  double y[4] = {2.0, 0.0, 3.0, 0.0}, w[NK_STEADY_WORK(4)];
  int piv[4], it, ok;
  CHECK(nk_steady_newton(&ode, &s, y, w, piv, &it, &ok) == NK_SUCCESS, "laws");
  CHECK(ok && fabs(y[0] - 2.0 / 3.0) < 1e-12 && fabs(y[1] - 4.0 / 3.0) < 1e-12, "A %g B %g",
        y[0], y[1]);
  CHECK(y[2] == 3.0 && fabs(y[3] - 6.0) < 1e-12, "S %g P %g", y[2], y[3]);
}

/* f = 1 - y^2 from y = 3: quadratic convergence to 1 */
static int sq_rhs(double t, const double *y, double *f, void *u) { f[0] = 1.0 - y[0] * y[0]; return 0; }
static int sq_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = -2.0 * y[0];
  return 0;
}

static void test_nonlinear_and_singular() {
  nk_ode ode = {1, sq_rhs, sq_jac, NULL, 0, NULL, NULL, NULL};
  nk_steady_system s = plain(1e-12, 50);
  double y = 3.0, w[NK_STEADY_WORK(1)];
  int piv[1], it, ok;
  CHECK(nk_steady_newton(&ode, &s, &y, w, piv, &it, &ok) == NK_SUCCESS && ok, "sqrt");
  CHECK(fabs(y - 1.0) < 1e-12 && it >= 4 && it <= 8, "y %g after %d", y, it);
  y = 0.0; /* J = 0 at the start: the least-squares step is 0, no descent */
  CHECK(nk_steady_newton(&ode, &s, &y, w, piv, &it, &ok) == NK_SUCCESS && !ok && y == 0.0,
        "singular: converged %d, y %g", ok, y);
  s.max_iter = 0; /* no iteration: only the start is judged */
  y = 1.0;
  CHECK(nk_steady_newton(&ode, &s, &y, w, piv, &it, &ok) == NK_SUCCESS && ok && it == 0, "at");
}

/* nk_steady_point: x' = x (1 - x).  From 0.8 Newton finds the stable root
 * 1; from 1e-9 it finds the unstable root 0, and the presimulation (BDF)
 * carries the state to 1; without an integrator that point is deferred. */
static int logistic_rhs(double t, const double *y, double *f, void *u) {
  f[0] = y[0] * (1.0 - y[0]);
  return 0;
}
static int logistic_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = 1.0 - 2.0 * y[0];
  return 0;
}

static void test_point_and_presimulation(void) {
  nk_ode ode = {1, logistic_rhs, logistic_jac, NULL, 0, NULL, NULL, NULL};
  nk_integrator *it = NULL;
  nk_linsol *ls = NULL;
  CHECK(nk_integrator_create(NK_METHOD_BDF, 1, &it) == NK_SUCCESS, "integrator");
  CHECK(nk_linsol_dense_create(1, &ls) == NK_SUCCESS, "linsol");
  const double atol[1] = {1e-14};
  nk_steady_point_opts o;
  memset(&o, 0, sizeof o);
  o.tol = 1e-9;
  o.step_tol = 1e-9;
  o.max_iter = 50;
  o.nonneg = 1;
  o.presimulate = 1;
  o.presim = it;
  o.ls = ls;
  o.t_presim = 1e6;
  o.rtol = 1e-8;
  o.atol = atol;
  double y, wr[1], wi[1], w[NK_STEADY_POINT_WORK(1)];
  int iw[1];
  nk_steady_point_result r;
  const double near = 0.8, tiny = 1e-9;
  CHECK(nk_steady_point(&ode, &o, &near, &y, wr, wi, w, iw, &r) == NK_SUCCESS, "from 0.8");
  CHECK(!r.deferred && !r.presimulated && r.converged && r.stable && fabs(y - 1.0) < 1e-9 &&
            fabs(wr[0] + 1.0) < 1e-9 && r.residual <= 1e-9,
        "from 0.8: y %g, eigenvalue %g", y, wr[0]);
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_SUCCESS, "from 1e-9");
  CHECK(!r.deferred && r.presimulated && r.converged && r.stable && fabs(y - 1.0) < 1e-9,
        "from 1e-9: presimulated %d, y %g", r.presimulated, y);
  o.presimulate = 0; /* Newton's unstable point is the answer */
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_SUCCESS, "no presim");
  CHECK(!r.deferred && r.converged && !r.stable && fabs(y) < 1e-12 && wr[0] > 0.0,
        "no presimulation: y %g, eigenvalue %g", y, wr[0]);
  o.presimulate = 1;
  o.presim = NULL; /* presimulation needed, none in C */
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_SUCCESS, "deferred");
  CHECK(r.deferred && r.newton_point && r.converged && fabs(y) < 1e-12, "deferred: y %g", y);
  o.presim = it; /* settling first: from 1e-9, 40 time units reach x near 1 */
  o.t_settle = 40.0;
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_SUCCESS, "settle");
  CHECK(!r.deferred && !r.presimulated && r.converged && r.stable && fabs(y - 1.0) < 1e-9,
        "settle: presimulated %d, y %g", r.presimulated, y);
  o.presim = NULL;
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_ERR_ARGUMENT,
        "settling without an integrator");
  o.t_settle = 0.0;
  o.tol = 0.0;
  CHECK(nk_steady_point(&ode, &o, &tiny, &y, wr, wi, w, iw, &r) == NK_ERR_ARGUMENT, "tol 0");
  nk_integrator_free(&it);
  nk_linsol_free(&ls);
}

/* f = ((x - 1)^3, (y - 2)^3) from x = 1: the Jacobian diag(0, -3 (y-2)^2)
 * is singular at every iterate; the least-squares step of smallest norm
 * leaves x alone and is Newton's step in y, which converges. */
static int cubes_rhs(double t, const double *y, double *f, void *u) {
  f[0] = -pow(y[0] - 1.0, 3);
  f[1] = -pow(y[1] - 2.0, 3);
  return 0;
}
static int cubes_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = -3.0 * pow(y[0] - 1.0, 2);
  J[1] = J[2] = 0.0;
  J[3] = -3.0 * pow(y[1] - 2.0, 2);
  return 0;
}

static void test_singular_least_squares(void) {
  nk_ode ode = {2, cubes_rhs, cubes_jac, NULL, 0, NULL, NULL, NULL};
  nk_steady_system s = plain(1e-9, 50);
  double y[2] = {1.0, 0.5}, w[NK_STEADY_WORK(2)];
  int piv[2], it, ok;
  CHECK(nk_steady_newton(&ode, &s, y, w, piv, &it, &ok) == NK_SUCCESS && ok, "cubes");
  CHECK(y[0] == 1.0 && fabs(pow(y[1] - 2.0, 3)) <= 1e-9, "cubes: y %g %g after %d", y[0],
        y[1], it);
}

static void test_bad_arguments() {
  nk_ode ode = {1, sq_rhs, sq_jac, NULL, 0, NULL, NULL, NULL};
  double y = 3.0, w[NK_STEADY_WORK(1)];
  int piv[1], it, ok;
  nk_steady_system s = plain(0.0, 5);
  CHECK(nk_steady_newton(&ode, &s, &y, w, piv, &it, &ok) == NK_ERR_ARGUMENT, "tol 0");
  const int bad[1] = {1};
  const double L[1] = {1.0}, tot[1] = {1.0};
  nk_steady_system s2 = {1, bad, L, tot, 0, NULL, NULL, 1e-9, 1e-9, 5};
  CHECK(nk_steady_newton(&ode, &s2, &y, w, piv, &it, &ok) == NK_ERR_ARGUMENT, "row 1 of 1");
  nk_ode nojac = {1, sq_rhs, NULL, NULL, 0, NULL, NULL, NULL};
  s = plain(1e-9, 5);
  CHECK(nk_steady_newton(&nojac, &s, &y, w, piv, &it, &ok) == NK_ERR_ARGUMENT, "no jac");
  CHECK(nk_steady_newton(&ode, &s, NULL, w, piv, &it, &ok) == NK_ERR_ARGUMENT, "no y");
}

int main(void) {
  int sizes[] = {1, 2, 5, 17, 60};
  for (int k = 0; k < 5; ++k)
    for (int rep = 0; rep < 10; ++rep) test_affine(sizes[k]);
  test_laws_and_held();
  test_nonlinear_and_singular();
  test_bad_arguments();
  test_singular_least_squares();
  test_point_and_presimulation();
  printf("test_steady: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures != 0;
}
