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

/* ---- a whole search without presimulation (nk_steady_point.c) ---------- */

/* The stability check's subspace: the columns of Q (n x m, column-major,
 * orthonormal), the directions the conservation laws and held species leave
 * free; Q NULL means the whole space (m = n). */
typedef struct nk_steady_point_opts {
  int n_dep;            /* conservation laws: rows dep of L (n_dep x n, row-major) */
  const int *dep;
  const double *L;
  int n_fixed;          /* held species */
  const int *fixed;
  double tol;           /* > 0; the residual tolerance is tol max(1, max|y0|) */
  double step_tol;
  int max_iter;
  int nonneg;           /* a reaction model: no state below -tol at a solution */
  const double *Q;
  int m;
} nk_steady_point_opts;

typedef struct nk_steady_point_result {
  int singular;   /* Newton met a singular Jacobian; nothing below is set */
  int iters;      /* Newton iterations */
  int converged;  /* Newton converged to an acceptable point */
  int spectrum;   /* NK_SUCCESS, NK_NONFINITE (Jacobian), NK_CONV_FAILURE (QR) */
  int stable;     /* spectrum NK_SUCCESS and every eigenvalue's real part < 0 */
  double residual; /* max|f(y)| at the last iterate (NaN when f has a NaN) */
} nk_steady_point_result;

/* Workspace doubles of nk_steady_point and nk_steady_spectrum. */
#define NK_STEADY_POINT_WORK(n) (8 * (size_t)(n) + 3 * (size_t)(n) * (size_t)(n))

/* Totals L y of the conservation laws (row r: sum over j of L[r, j] y[j], in
 * order j = 0..n-1): the one definition the C and Python searches share. */
void nk_steady_totals(int n, int n_dep, const double *L, const double *y, double *totals);

/* Eigenvalues wr + i wi (m of them; n when Q is NULL) of Q^T J(y) Q, J the
 * dense Jacobian at y.  Returns NK_SUCCESS, NK_NONFINITE (J not finite;
 * wr, wi NaN), NK_CONV_FAILURE or NK_ERR_ARGUMENT. */
nk_status nk_steady_spectrum(const nk_ode *ode, const double *y, const double *Q, int m,
                             double *work, double *wr, double *wi);

/* What neurokin.analysis.steady_state does before any presimulation: the
 * totals and the tolerance from y0, Newton from y0 (into y), the
 * acceptance and stability of its point and the residual there.  wr, wi: m
 * (or n) doubles, the spectrum; work: NK_STEADY_POINT_WORK(n) doubles,
 * iwork: n ints.  Returns NK_SUCCESS (see res) or NK_ERR_ARGUMENT. */
nk_status nk_steady_point(const nk_ode *ode, const nk_steady_point_opts *o, const double *y0,
                          double *y, double *wr, double *wi, double *work, int *iwork,
                          nk_steady_point_result *res);

#ifdef __cplusplus
}
#endif

#endif
