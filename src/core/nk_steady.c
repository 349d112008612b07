/* nk_steady.c - damped Newton for steady states (see nk_steady.h). */
#include "nk_steady.h"

#include <math.h>
#include <string.h>

#include "nk_lstsq.h"

/* F(y) into f.  Returns max|F| (NaN when an entry is not finite); *full gets
 * max|f| of the unreduced right-hand side (NaN likewise). */
static double steady_residual(const nk_ode *ode, const nk_steady_system *s, const double *y,
                              double *f, double *full) {
  const int n = ode->n;
  double m = 0.0;
  ode->rhs(0.0, y, f, ode->user);
  for (int i = 0; i < n; ++i) {
    const double a = fabs(f[i]);
    if (!isfinite(a)) { m = NAN; break; }
    if (a > m) m = a;
  }
  *full = m;
  for (int r = 0; r < s->n_dep; ++r) {
    const double *row = s->L + (size_t)r * (size_t)n;
    double acc = 0.0;
    for (int j = 0; j < n; ++j) acc += row[j] * y[j];
    f[s->dep[r]] = acc - s->totals[r];
  }
  for (int r = 0; r < s->n_fixed; ++r) f[s->fixed[r]] = y[s->fixed[r]] - s->yfix[s->fixed[r]];
  m = 0.0;
  for (int i = 0; i < n; ++i) {
    const double a = fabs(f[i]);
    if (!isfinite(a)) return NAN;
    if (a > m) m = a;
  }
  return m;
}

/* Solve J x = b in place: J (column-major) is overwritten by its LU with
 * partial pivoting, the row swaps applied to whole rows as LAPACK's getrf
 * does, so b takes all of them before the unit-L solve.  Returns 1 at an
 * exactly zero pivot (where LAPACK's gesv reports a singular matrix). */
static int steady_lu_solve(int n, double *J, int *piv, double *b) {
  for (int k = 0; k < n; ++k) {
    int p = k;
    double a = fabs(J[k + (size_t)k * n]);
    for (int i = k + 1; i < n; ++i) {
      const double v = fabs(J[i + (size_t)k * n]);
      if (v > a) { a = v; p = i; }
    }
    piv[k] = p;
    if (a == 0.0) return 1;
    if (p != k)
      for (int j = 0; j < n; ++j) {
        const double t = J[k + (size_t)j * n];
        J[k + (size_t)j * n] = J[p + (size_t)j * n];
        J[p + (size_t)j * n] = t;
      }
    const double d = J[k + (size_t)k * n];
    for (int i = k + 1; i < n; ++i) J[i + (size_t)k * n] /= d;
    for (int j = k + 1; j < n; ++j) {
      const double t = J[k + (size_t)j * n];
      if (t == 0.0) continue;
      double *cj = J + (size_t)j * n;
      const double *ck = J + (size_t)k * n;
      for (int i = k + 1; i < n; ++i) cj[i] -= ck[i] * t;
    }
  }
  for (int k = 0; k < n; ++k)
    if (piv[k] != k) {
      const double t = b[k];
      b[k] = b[piv[k]];
      b[piv[k]] = t;
    }
  for (int k = 0; k < n; ++k)
    for (int i = k + 1; i < n; ++i) b[i] -= J[i + (size_t)k * n] * b[k];
  for (int k = n - 1; k >= 0; --k) {
    b[k] /= J[k + (size_t)k * n];
    for (int i = 0; i < k; ++i) b[i] -= J[i + (size_t)k * n] * b[k];
  }
  return 0;
}

/* The reduced Jacobian at y into J (column-major): dependent rows the laws,
 * held rows the identity.  Returns 0 when an entry is not finite. */
static int steady_jacobian(const nk_ode *ode, const nk_steady_system *s, const double *y,
                           double *J) {
  const int n = ode->n;
  ode->jac(0.0, y, NULL, J, ode->user);
  for (int r = 0; r < s->n_dep; ++r)
    for (int j = 0; j < n; ++j) J[s->dep[r] + (size_t)j * n] = s->L[(size_t)r * n + j];
  for (int r = 0; r < s->n_fixed; ++r) {
    const int i = s->fixed[r];
    for (int j = 0; j < n; ++j) J[i + (size_t)j * n] = 0.0;
    J[i + (size_t)i * n] = 1.0;
  }
  for (size_t k = 0; k < (size_t)n * n; ++k)
    if (!isfinite(J[k])) return 0;
  return 1;
}

static int steady_check(const nk_ode *ode, const nk_steady_system *s) {
  if (!ode || !s || !ode->rhs || !ode->jac || ode->n < 1 || s->max_iter < 0 ||
      !(s->tol > 0.0) || s->n_dep < 0 || s->n_fixed < 0)
    return 0;
  if ((s->n_dep && (!s->dep || !s->L || !s->totals)) || (s->n_fixed && (!s->fixed || !s->yfix)))
    return 0;
  for (int r = 0; r < s->n_dep; ++r)
    if (s->dep[r] < 0 || s->dep[r] >= ode->n) return 0;
  for (int r = 0; r < s->n_fixed; ++r)
    if (s->fixed[r] < 0 || s->fixed[r] >= ode->n) return 0;
  return 1;
}

nk_status nk_steady_newton(const nk_ode *ode, const nk_steady_system *s, double *y,
                           double *work, int *piv, int *iters, int *converged) {
  if (!steady_check(ode, s) || !y || !work || !piv || !iters || !converged)
    return NK_ERR_ARGUMENT;
  const int n = ode->n;
  double *f = work, *ft = work + n, *yt = work + 2 * (size_t)n, *dy = work + 3 * (size_t)n;
  double *J = work + 4 * (size_t)n;
  double full, full_t;
  double fn = steady_residual(ode, s, y, f, &full);
  int stalls = 0;
  *converged = 0;
  *iters = 0;
  for (int it = 1; it <= s->max_iter; ++it) {
    *iters = it;
    if (!isfinite(fn)) return NK_SUCCESS;
    if (!steady_jacobian(ode, s, y, J)) return NK_SUCCESS;
    for (int i = 0; i < n; ++i) dy[i] = -f[i];
    if (steady_lu_solve(n, J, piv, dy)) {
      /* singular: the least-squares step of smallest norm, as numpy's
       * lstsq gives the Python iteration (J again: the LU overwrote it) */
      steady_jacobian(ode, s, y, J);
      for (int i = 0; i < n; ++i) dy[i] = -f[i];
      if (nk_lstsq(n, J, dy, ft, piv, NULL) != NK_SUCCESS) return NK_SUCCESS; /* ft, yt: 2n */
    }
    int small = 1;
    for (int i = 0; i < n; ++i) {
      if (!isfinite(dy[i])) return NK_SUCCESS;
      if (!(fabs(dy[i]) <= s->step_tol * fabs(y[i]) + s->tol)) small = 0;
    }
    if (small && fn <= s->tol && full <= s->tol) {
      *iters = it - 1;
      *converged = 1;
      return NK_SUCCESS;
    }
    /* backtracking: halve until max|F| decreases enough (or is within tol) */
    double lam = 1.0, fnt = NAN;
    int descent = 0;
    while (lam > 1e-4) {
      for (int i = 0; i < n; ++i) yt[i] = y[i] + lam * dy[i];
      fnt = steady_residual(ode, s, yt, ft, &full_t);
      if (isfinite(fnt) && (fnt < (1 - 1e-4 * lam) * fn || fnt <= s->tol)) {
        descent = 1;
        break;
      }
      lam *= 0.5;
    }
    if (!descent) return NK_SUCCESS;
    stalls = lam < 0.01 ? stalls + 1 : 0;
    memcpy(y, yt, (size_t)n * sizeof(double));
    if (stalls >= 3) return NK_SUCCESS; /* crawling: leave it to presimulation */
    memcpy(f, ft, (size_t)n * sizeof(double));
    fn = fnt;
    full = full_t;
  }
  *iters = s->max_iter;
  *converged = fn <= s->tol && full <= s->tol;
  return NK_SUCCESS;
}
