/* nk_steady.h - Newton's method for a steady state f(y) = 0 of an nk_ode.
 *
 * The system is reduced as neurokin.analysis does it: for each conservation
 * law r the row dep[r] of f is replaced by L[r,:] y - totals[r], and for
 * each held (constant) species the row fixed[r] by y - yfix.  Damped Newton
 * with backtracking on max|F| (Armijo factor 1e-4, halving down to 1e-4),
 * converged when max|F| <= tol, the full max|f| <= tol and the step is
 * below step_tol |y| + tol in every component; three steps in a row damped
 * below 0.01 stop it as not converging (left to presimulation).
 */
#ifndef NK_STEADY_H
#define NK_STEADY_H

#include "nk_ode.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_steady_system {
  int n_dep;            /* conservation laws */
  const int *dep;       /* their rows of f, n_dep entries in [0, n) */
  const double *L;      /* n_dep x n, row-major */
  const double *totals; /* n_dep */
  int n_fixed;          /* held species */
  const int *fixed;     /* their rows, in [0, n) */
  const double *yfix;   /* length n: the held values (read at fixed rows) */
  double tol;           /* residual tolerance, > 0 */
  double step_tol;      /* relative step tolerance */
  int max_iter;         /* >= 0 */
} nk_steady_system;

/* Workspace doubles nk_steady_newton needs for n states (caller-owned). */
#define NK_STEADY_WORK(n) (4 * (size_t)(n) + (size_t)(n) * (size_t)(n))

/* Iterate from y (overwritten by the last iterate).  work: NK_STEADY_WORK(n)
 * doubles, piv: n ints.  *iters: Newton iterations taken (one less when the
 * start of an iteration is found converged); *converged: 1 or 0.  Returns
 * NK_SUCCESS (converged or not), NK_SINGULAR_MATRIX at an exactly zero
 * pivot (y is then the iterate whose Jacobian was singular), or
 * NK_ERR_ARGUMENT.  ode->jac (dense, column-major) is required. */
nk_status nk_steady_newton(const nk_ode *ode, const nk_steady_system *sys, double *y,
                           double *work, int *piv, int *iters, int *converged);

#ifdef __cplusplus
}
#endif

#endif
