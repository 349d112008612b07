/* nk_ode.h - the ODE problem seen by the integrators: callbacks and counters.
 *
 * Callback contract (as CVODE's): return 0 on success, > 0 for a recoverable
 * failure (the integrator shrinks the step and retries: e.g. a value left the
 * domain of a rate law), < 0 to abort the integration.
 */
#ifndef NK_ODE_H
#define NK_ODE_H

#include "nk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ydot = f(t, y).  y and ydot have length n and never alias. */
typedef int (*nk_rhs_fn)(double t, const double *y, double *ydot, void *user);

/* Dense Jacobian J[i + j*n] = d f_i / d y_j (column-major), written in full.
 * fy = f(t, y) is passed for callers that can reuse it. */
typedef int (*nk_jac_fn)(double t, const double *y, const double *fy, double *J,
                         void *user);

/* Sparse Jacobian in compressed sparse column form: the pattern (colptr of
 * length n+1, rowind of length nnz) is fixed when the problem is built; the
 * callback writes the nnz values in pattern order. */
typedef int (*nk_jac_csc_fn)(double t, const double *y, const double *fy,
                             double *values, void *user);

typedef struct nk_ode {
  int n;                 /* number of states */
  nk_rhs_fn rhs;         /* required */
  nk_jac_fn jac;         /* optional: NULL means finite differences */
  nk_jac_csc_fn jac_csc; /* optional: values for the sparse pattern below */
  int nnz;               /* sparse pattern (borrowed), used when jac_csc set */
  const int *colptr;
  const int *rowind;
  void *user;            /* passed to every callback */
} nk_ode;

/* Counters with fixed meanings, filled by every integrator. */
typedef struct nk_stats {
  long nsteps;    /* accepted steps */
  long nreject;   /* steps rejected by the local error test */
  long nfev;      /* right-hand side evaluations (finite-difference ones too) */
  long njev;      /* Jacobian evaluations */
  long ndecomp;   /* LU factorisations */
  long nsolve;    /* linear solves (one per Newton iteration) */
  long nnewton;   /* Newton iterations */
  long nconvfail; /* Newton convergence failures */
  long nerrfail;  /* error-test failures (same as nreject) */
  long nrhsfail;  /* rhs evaluations that failed recoverably (rc > 0: for a
                     compiled model, non-finite values) or gave NaN/Inf */
  int order;      /* order of the last step (BDF; 5 for Radau IIA) */
  double hlast;   /* last step size taken */
} nk_stats;

#ifdef __cplusplus
}
#endif
#endif
