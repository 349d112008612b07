/* nk_steady_point.c - one steady-state search without presimulation, and
 * its stability check, all in C (see nk_steady.h).  The Python search
 * (neurokin.analysis.steady_state) calls this first and goes on in Python
 * only when a presimulation is needed; a steady-state ensemble runs it for
 * a whole chunk of members with the GIL released. */
#include "nk_steady.h"

#include <math.h>
#include <string.h>

#include "nk_eigen.h"

void nk_steady_totals(int n, int n_dep, const double *L, const double *y, double *totals) {
  for (int r = 0; r < n_dep; ++r) {
    const double *row = L + (size_t)r * (size_t)n;
    double acc = 0.0;
    for (int j = 0; j < n; ++j) acc += row[j] * y[j];
    totals[r] = acc;
  }
}

nk_status nk_steady_spectrum(const nk_ode *ode, const double *y, const double *Q, int m,
                             double *work, double *wr, double *wi) {
  if (!ode || !ode->jac || !y || !work || ode->n < 1) return NK_ERR_ARGUMENT;
  const int n = ode->n;
  if (!Q) m = n;
  if (m < 0 || m > n || (m > 0 && (!wr || !wi))) return NK_ERR_ARGUMENT;
  const size_t nn = (size_t)n * (size_t)n;
  double *J = work, *T = work + nn, *A = work + 2 * nn, *ew = work + 3 * nn;
  if (ode->jac(0.0, y, NULL, J, ode->user) < 0) return NK_JAC_FAIL;
  int finite = 1;
  for (size_t k = 0; k < nn; ++k) finite &= isfinite(J[k]) != 0;
  if (!finite) {
    for (int k = 0; k < m; ++k) wr[k] = wi[k] = NAN;
    return NK_NONFINITE;
  }
  if (m == 0) return NK_SUCCESS;
  if (!Q) return nk_eigvals(n, J, wr, wi, ew);
  /* A = Q^T (J Q): m x m, column-major */
  for (int c = 0; c < m; ++c) {
    double *t = T + (size_t)c * n;
    const double *q = Q + (size_t)c * n;
    for (int i = 0; i < n; ++i) t[i] = 0.0;
    for (int j = 0; j < n; ++j) {
      const double qj = q[j];
      if (qj == 0.0) continue;
      const double *col = J + (size_t)j * n;
      for (int i = 0; i < n; ++i) t[i] += col[i] * qj;
    }
  }
  for (int c = 0; c < m; ++c)
    for (int r = 0; r < m; ++r) {
      const double *q = Q + (size_t)r * n, *t = T + (size_t)c * n;
      double acc = 0.0;
      for (int i = 0; i < n; ++i) acc += q[i] * t[i];
      A[r + (size_t)c * m] = acc;
    }
  return nk_eigvals(m, A, wr, wi, ew);
}

/* max|f(y)| as numpy's max(abs(f)) gives it: NaN when an entry is NaN. */
static double steady_rhs_norm(const nk_ode *ode, const double *y, double *f) {
  ode->rhs(0.0, y, f, ode->user);
  double mx = 0.0;
  for (int i = 0; i < ode->n; ++i) {
    const double a = fabs(f[i]);
    if (isnan(a)) return NAN;
    if (a > mx) mx = a;
  }
  return mx;
}

nk_status nk_steady_point(const nk_ode *ode, const nk_steady_point_opts *o, const double *y0,
                          double *y, double *wr, double *wi, double *work, int *iwork,
                          nk_steady_point_result *res) {
  if (!ode || !o || !y0 || !y || !work || !iwork || !res || ode->n < 1) return NK_ERR_ARGUMENT;
  if (o->n_dep < 0 || o->n_dep > ode->n || (o->n_dep && !o->L)) return NK_ERR_ARGUMENT;
  const int n = ode->n;
  memset(res, 0, sizeof(*res));
  double *totals = work, *newton_work = work + n;
  double scale = 1.0; /* the tolerance scale of analysis.steady_state */
  for (int i = 0; i < n; ++i) scale = fmax(scale, fabs(y0[i]));
  nk_steady_totals(n, o->n_dep, o->L, y0, totals);
  nk_steady_system sys;
  sys.n_dep = o->n_dep;
  sys.dep = o->dep;
  sys.L = o->L;
  sys.totals = totals;
  sys.n_fixed = o->n_fixed;
  sys.fixed = o->fixed;
  sys.yfix = y0;
  sys.tol = o->tol * scale;
  sys.step_tol = o->step_tol;
  sys.max_iter = o->max_iter;
  memcpy(y, y0, (size_t)n * sizeof(double));
  int ok = 0;
  nk_status st = nk_steady_newton(ode, &sys, y, newton_work, iwork, &res->iters, &ok);
  if (st == NK_SINGULAR_MATRIX) {
    res->singular = 1;
    return NK_SUCCESS;
  }
  if (st != NK_SUCCESS) return st;
  if (ok && o->nonneg)
    for (int i = 0; i < n; ++i)
      if (!(y[i] >= -sys.tol)) ok = 0;
  res->converged = ok;
  st = nk_steady_spectrum(ode, y, o->Q, o->m, newton_work, wr, wi);
  if (st == NK_ERR_ARGUMENT) return st;
  res->spectrum = (int)st;
  res->stable = st == NK_SUCCESS;
  const int m = o->Q ? o->m : n;
  for (int k = 0; k < m && res->stable; ++k)
    res->stable = wr[k] < 0.0 && isfinite(wr[k]) && isfinite(wi[k]);
  res->residual = steady_rhs_norm(ode, y, newton_work);
  return NK_SUCCESS;
}
