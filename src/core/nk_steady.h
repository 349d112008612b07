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

#include "nk_integrator.h"
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

/* Iterate from y (overwritten by the last iterate).  At an exactly zero
 * pivot of the LU (a singular Jacobian) the step is the least-squares one
 * of smallest norm (nk_lstsq).  work: NK_STEADY_WORK(n) doubles, piv: n
 * ints.  *iters: Newton iterations taken (one less when the start of an
 * iteration is found converged); *converged: 1 or 0.  Returns NK_SUCCESS
 * (converged or not) or NK_ERR_ARGUMENT.  ode->jac (dense, column-major)
 * is required. */
nk_status nk_steady_newton(const nk_ode *ode, const nk_steady_system *sys, double *y,
                           double *work, int *piv, int *iters, int *converged);

/* ---- the whole search (nk_steady_point.c) -------------------------------- */

/* What neurokin.analysis.steady_state does, in C:
 *   1. the totals of the conservation laws and the tolerance tol max(1,
 *      max|y0|) from y0; with t_settle > 0, an integration over [0,
 *      t_settle] from y0 (the start then being where it ends); Newton from
 *      the start;
 *   2. its point accepted (converged, no state below -tol in a reaction
 *      model) and stable: the answer;
 *   3. else, with presimulation, integrate over horizons 1, 10, 100, ... up
 *      to t_presim from where the last one ended (the first from the start;
 *      a reaction model's state clipped at 0 first) and try Newton (with
 *      the totals and held values of y0) after each, until a point is
 *      accepted and stable or a run fails; if none is, Newton's point from
 *      the start if it was accepted, else the last state reached.
 * The stability check takes the eigenvalues of the Jacobian on the free
 * subspace: the columns of Q (n x m, column-major, orthonormal), or the
 * whole space (Q NULL, m = n). */
typedef struct nk_steady_point_opts {
  int n_dep;            /* conservation laws: rows dep of L (n_dep x n, row-major) */
  const int *dep;
  const double *L;
  int n_fixed;          /* held species */
  const int *fixed;
  double tol;           /* > 0; the residual tolerance is tol max(1, max|y0|) */
  double step_tol;
  int max_iter;
  int nonneg;           /* a reaction model: states >= -tol at a solution, and
                           the presimulation keeps them >= -atol */
  const double *Q;
  int m;
  /* presimulation */
  int presimulate;      /* 0: Newton's point is the answer, accepted or not */
  double t_settle;      /* >= 0; > 0 needs presim */
  nk_integrator *presim; /* NULL: a point that needs one is deferred */
  nk_linsol *ls;
  double t_presim, rtol;
  const double *atol;   /* n */
  nk_monitor_fn monitor; /* may be NULL; a nonzero return interrupts */
  void *monitor_user;
} nk_steady_point_opts;

typedef struct nk_steady_point_result {
  int deferred;   /* the search needs what C does not do (a failed QR
                     iteration; a presimulation without opts.presim) */
  int newton_point; /* deferred with Newton's point from the start in y,
                       iters and converged */
  int presimulated; /* the answer came from a presimulation */
  int iters;      /* Newton iterations of the answer */
  int converged;  /* the answer is an accepted Newton point */
  int spectrum;   /* at the answer: NK_SUCCESS, NK_NONFINITE (Jacobian) */
  int stable;     /* every eigenvalue there finite with real part < 0 */
  double residual; /* max|f(y)| at the answer (NaN when f has a NaN) */
} nk_steady_point_result;

/* Workspace doubles of nk_steady_point and nk_steady_spectrum. */
#define NK_STEADY_POINT_WORK(n) (16 * (size_t)(n) + 3 * (size_t)(n) * (size_t)(n) + 2)

/* Totals L y of the conservation laws (row r: sum over j of L[r, j] y[j], in
 * order j = 0..n-1): the one definition the C and Python searches share. */
void nk_steady_totals(int n, int n_dep, const double *L, const double *y, double *totals);

/* Eigenvalues wr + i wi (m of them; n when Q is NULL) of Q^T J(y) Q, J the
 * dense Jacobian at y.  Returns NK_SUCCESS, NK_NONFINITE (J not finite;
 * wr, wi NaN), NK_CONV_FAILURE, NK_JAC_FAIL or NK_ERR_ARGUMENT. */
nk_status nk_steady_spectrum(const nk_ode *ode, const double *y, const double *Q, int m,
                             double *work, double *wr, double *wi);

/* The search from y0; the answer in y, its spectrum in wr, wi (m, or n,
 * doubles).  work: NK_STEADY_POINT_WORK(n) doubles, iwork: n ints.  Returns
 * NK_SUCCESS (see res), NK_INTERRUPTED (the monitor stopped a
 * presimulation) or NK_ERR_ARGUMENT. */
nk_status nk_steady_point(const nk_ode *ode, const nk_steady_point_opts *o, const double *y0,
                          double *y, double *wr, double *wi, double *work, int *iwork,
                          nk_steady_point_result *res);

#ifdef __cplusplus
}
#endif

#endif
