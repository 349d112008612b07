/* nk_steady_point.c - the steady-state search of neurokin.analysis in C:
 * Newton, its stability check, the presimulation (see nk_steady.h).  The
 * Python search calls this first and finishes in Python only what C defers
 * (a failed QR iteration, models with events); a steady-state ensemble runs
 * it for a whole chunk of members with the GIL released. */
#include "nk_steady.h"

#include <math.h>
#include <string.h>

#include "nk_eigen.h"
#include "nk_integrator.h"
#include "nk_target.h"

void nk_steady_totals(int n, int n_dep, const double *L, const double *y, double *totals) {
  for (int r = 0; r < n_dep; ++r) {
    const double *row = L + (size_t)r * (size_t)n;
    double acc = 0.0;
    for (int j = 0; j < n; ++j) acc += row[j] * y[j];
    totals[r] = acc;
  }
}

/* C = M B for column-major M (rows x inner) and B (inner x cols), column by
 * column as axpys down contiguous columns of M (a zero entry of B skipped),
 * vectorised for the widest registers at hand: the same IEEE operations on
 * every target. */
NK_MULTIVERSION static void steady_matmul(int rows, int inner, int cols, const double *M,
                                          const double *B, double *C) {
  for (int c = 0; c < cols; ++c) {
    double *out = C + (size_t)c * rows;
    const double *b = B + (size_t)c * inner;
    for (int i = 0; i < rows; ++i) out[i] = 0.0;
    for (int j = 0; j < inner; ++j) {
      const double bj = b[j];
      if (bj == 0.0) continue;
      const double *col = M + (size_t)j * rows;
      for (int i = 0; i < rows; ++i) out[i] += col[i] * bj;
    }
  }
}

/* A = Q^T (J Q) (m x m; T = J Q, n x m; J's storage is reused for Q^T, so
 * both products run down contiguous columns). */
static void steady_project(int n, int m, double *J, const double *Q, double *T, double *A) {
  steady_matmul(n, n, m, J, Q, T);
  double *QT = J;
  for (int r = 0; r < m; ++r)
    for (int i = 0; i < n; ++i) QT[r + (size_t)i * m] = Q[i + (size_t)r * n];
  steady_matmul(m, n, m, QT, T, A);
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
  steady_project(n, m, J, Q, T, A);
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

/* The stability of y: the spectrum into wr, wi; returns 1 stable, 0 not,
 * -1 when the QR iteration failed (the caller defers). */
static int steady_stable(const nk_ode *ode, const nk_steady_point_opts *o, const double *y,
                         double *work, double *wr, double *wi, int *status) {
  const nk_status st = nk_steady_spectrum(ode, y, o->Q, o->m, work, wr, wi);
  *status = (int)st;
  if (st == NK_CONV_FAILURE || st == NK_JAC_FAIL || st == NK_ERR_ARGUMENT) return -1;
  if (st != NK_SUCCESS) return 0;
  const int m = o->Q ? o->m : ode->n;
  for (int k = 0; k < m; ++k)
    if (!(wr[k] < 0.0 && isfinite(wr[k]) && isfinite(wi[k]))) return 0;
  return 1;
}

/* Newton from start (y0's totals and held values in sys) into y; ok: the
 * point is accepted.  Returns 0, or -1 for bad arguments. */
static int steady_newton_accept(const nk_ode *ode, const nk_steady_point_opts *o,
                                const nk_steady_system *sys, const double *start, double *y,
                                double *work, int *iwork, int *iters, int *ok) {
  const int n = ode->n;
  memcpy(y, start, (size_t)n * sizeof(double));
  *ok = 0;
  const nk_status st = nk_steady_newton(ode, sys, y, work, iwork, iters, ok);
  if (st != NK_SUCCESS) return -1;
  if (*ok && o->nonneg)
    for (int i = 0; i < n; ++i)
      if (!(y[i] >= -sys->tol)) *ok = 0;
  return 0;
}

/* One presimulation run over [0, horizon] from yin, as Simulator.simulate
 * runs it with t_eval [0, horizon]; the last output row into yend (yin when
 * the start failed, as simulate returns it).  Returns 1 when the run
 * reached horizon, 0 when it failed, 2 when it wrote no row (yend
 * untouched), -1 to defer (a status simulate raises on), -2 when
 * interrupted. */
static int steady_presim_run(const nk_ode *ode, const nk_steady_point_opts *o,
                             const double *yin, double horizon, double *t_out, double *y_out,
                             double *yend) {
  const int n = ode->n;
  nk_integrator *it = o->presim;
  nk_method method;
  if (nk_integrator_get_method(it, &method) != NK_SUCCESS) return -1;
  if (nk_integrator_set_tolerances(it, o->rtol, o->atol) != NK_SUCCESS ||
      nk_integrator_set_max_steps(it, 500000) != NK_SUCCESS ||
      nk_integrator_set_h0(it, 0.0) != NK_SUCCESS || nk_integrator_set_hmax(it, 0.0) != NK_SUCCESS ||
      (method == NK_METHOD_BDF && nk_integrator_set_max_order(it, 5) != NK_SUCCESS) ||
      nk_integrator_set_monitor(it, o->monitor, o->monitor_user, 500) != NK_SUCCESS ||
      nk_integrator_set_roots(it, 0, NULL, NULL) != NK_SUCCESS ||
      nk_integrator_set_nonnegative(it, o->nonneg) != NK_SUCCESS)
    return -1;
  nk_status st = nk_integrator_init(it, ode, o->ls, 0.0, yin, horizon);
  if (st == NK_RHS_FAIL || st == NK_NONFINITE || st == NK_JAC_FAIL) {
    memcpy(yend, yin, (size_t)n * sizeof(double));
    return 0;
  }
  if (st == NK_INTERRUPTED) return -2;
  if (st < 0) return -1;
  const double t_eval[2] = {0.0, horizon};
  long k_done = 0;
  st = nk_integrator_run(it, t_eval, 2, t_out, y_out, 0, &k_done);
  if (st == NK_ERR_ARGUMENT || st == NK_ERR_MEMORY || st == NK_NOT_INITIALISED) return -1;
  if (st == NK_INTERRUPTED) return -2;
  if (k_done == 0) return 2;
  memcpy(yend, y_out + (size_t)(k_done - 1) * n, (size_t)n * sizeof(double));
  return st == NK_SUCCESS;
}

/* Hand Newton's point from y0 (first) over to the caller's search. */
static nk_status steady_defer(int n, const double *first, int iters0, int ok0, double *y,
                              nk_steady_point_result *res) {
  memcpy(y, first, (size_t)n * sizeof(double));
  res->iters = iters0;
  res->converged = ok0;
  res->presimulated = 0;
  res->deferred = 1;
  res->newton_point = 1;
  return NK_SUCCESS;
}

nk_status nk_steady_point(const nk_ode *ode, const nk_steady_point_opts *o, const double *y0,
                          double *y, double *wr, double *wi, double *work, int *iwork,
                          nk_steady_point_result *res) {
  if (!ode || !o || !y0 || !y || !work || !iwork || !res || ode->n < 1) return NK_ERR_ARGUMENT;
  if (o->n_dep < 0 || o->n_dep > ode->n || (o->n_dep && !o->L)) return NK_ERR_ARGUMENT;
  if (o->presim && (!o->atol || !(o->rtol > 0.0))) return NK_ERR_ARGUMENT;
  const int n = ode->n;
  memset(res, 0, sizeof(*res));
  double *totals = work, *first = work + n, *ycur = work + 2 * (size_t)n,
         *yin = work + 3 * (size_t)n, *t_out = work + 4 * (size_t)n,
         *y_out = t_out + 2, *start = y_out + 2 * (size_t)n, *scratch = start + n;
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
  /* settling first: Newton then starts where the trajectory is at t_settle */
  memcpy(start, y0, (size_t)n * sizeof(double));
  if (o->t_settle > 0.0) {
    if (!o->presim) return NK_ERR_ARGUMENT;
    for (int i = 0; i < n; ++i) yin[i] = o->nonneg ? fmax(y0[i], 0.0) : y0[i];
    const int run = steady_presim_run(ode, o, yin, o->t_settle, t_out, y_out, start);
    if (run == -2) return NK_INTERRUPTED;
    if (run == -1) { /* no Newton point to hand over */
      res->deferred = 1;
      return NK_SUCCESS;
    }
  }
  int iters0 = 0, ok0 = 0, spec = 0;
  if (steady_newton_accept(ode, o, &sys, start, first, scratch, iwork, &iters0, &ok0) < 0)
    return NK_ERR_ARGUMENT;
  int stable = 0;
  if (ok0 || !o->presimulate) {
    stable = steady_stable(ode, o, first, scratch, wr, wi, &spec);
    if (stable < 0) return steady_defer(n, first, iters0, ok0, y, res);
  }
  int ok = ok0, iters = iters0;
  memcpy(y, first, (size_t)n * sizeof(double));
  if (!(ok0 && stable) && o->presimulate) {
    /* an unstable or missing root: look where the trajectory goes */
    if (!o->presim) return steady_defer(n, first, iters0, ok0, y, res);
    ok = 0;
    memcpy(ycur, start, (size_t)n * sizeof(double));
    for (double horizon = 1.0; horizon <= o->t_presim; horizon *= 10.0) {
      for (int i = 0; i < n; ++i) yin[i] = o->nonneg ? fmax(ycur[i], 0.0) : ycur[i];
      const int run = steady_presim_run(ode, o, yin, horizon, t_out, y_out, ycur);
      if (run == -2) return NK_INTERRUPTED;
      if (run < 0) return steady_defer(n, first, iters0, ok0, y, res);
      if (run == 2) break;
      if (steady_newton_accept(ode, o, &sys, ycur, y, scratch, iwork, &iters, &ok) < 0)
        return NK_ERR_ARGUMENT;
      if (ok) {
        const int sn = steady_stable(ode, o, y, scratch, wr, wi, &spec);
        if (sn < 0) return steady_defer(n, first, iters0, ok0, y, res);
        ok = sn;
      }
      if (ok || run == 0) break;
    }
    res->presimulated = 1;
    if (ok) { /* found: its spectrum is the last one computed */
      stable = 1;
    } else {
      if (ok0) { /* Newton's point after all */
        memcpy(y, first, (size_t)n * sizeof(double));
        iters = iters0;
        ok = 1;
        res->presimulated = 0;
      } else {
        memcpy(y, ycur, (size_t)n * sizeof(double));
      }
      stable = steady_stable(ode, o, y, scratch, wr, wi, &spec);
      if (stable < 0) return steady_defer(n, first, iters0, ok0, y, res);
    }
  }
  res->iters = iters;
  res->converged = ok;
  res->spectrum = spec;
  res->stable = stable == 1;
  res->residual = steady_rhs_norm(ode, y, scratch);
  return NK_SUCCESS;
}
