/* nk_bdf.h - variable-order (1-5), variable-step BDF for stiff ODEs.
 *
 * Typed opaque handle; the caller owns it (create/free).  ode and linear
 * solver passed to init are borrowed and must outlive the integration.
 */
#ifndef NK_BDF_H
#define NK_BDF_H

#include "nk_linsol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_bdf nk_bdf;

nk_status nk_bdf_create(int n, nk_bdf **out);
void nk_bdf_free(nk_bdf **p); /* accepts NULL, sets *p = NULL */

/* rtol scalar > 0; atol array of length n (copied), each >= 0. */
nk_status nk_bdf_set_tolerances(nk_bdf *s, double rtol, const double *atol);
nk_status nk_bdf_get_tolerances(const nk_bdf *s, double *rtol, double *atol);
nk_status nk_bdf_set_max_order(nk_bdf *s, int q); /* 1..5, default 5 */
nk_status nk_bdf_get_max_order(const nk_bdf *s, int *q);
nk_status nk_bdf_set_h0(nk_bdf *s, double h0); /* 0: automatic (default) */
nk_status nk_bdf_get_h0(const nk_bdf *s, double *h0);
nk_status nk_bdf_set_hmax(nk_bdf *s, double hmax); /* 0: unlimited */
nk_status nk_bdf_get_hmax(const nk_bdf *s, double *hmax);
/* Non-negativity constraint (concentrations): a step whose solution has a
 * component below -atol_i is rejected and retried with h / 4, as CVODE's
 * inequality constraints do.  Off by default. */
nk_status nk_bdf_set_nonnegative(nk_bdf *s, int on);
nk_status nk_bdf_get_nonnegative(const nk_bdf *s, int *on);

/* Start (or restart) at (t0, y0).  Steps never pass tstop (may be < t0 for
 * backward integration).  Resets the counters. */
nk_status nk_bdf_init(nk_bdf *s, const nk_ode *ode, nk_linsol *ls, double t0,
                      const double *y0, double tstop);
nk_status nk_bdf_set_tstop(nk_bdf *s, double tstop);

/* Take one accepted step.  *t_new receives the new time.  Returns
 * NK_SUCCESS, NK_TSTOP_REACHED (the step ended exactly at tstop), or an
 * error status; on error the state stays at the last accepted step. */
nk_status nk_bdf_step(nk_bdf *s, double *t_new);

/* The same step by request (reverse communication, as DASPK and ARKODE's
 * MRI interfaces offer it): nk_bdf_advance runs the step until it needs f
 * or a linear solve from the caller, describes it in *req and returns
 * NK_BDF_NEED_RHS (evaluate f(req->t, req->y) into req->f, store the rhs
 * return code in req->rc) or NK_BDF_NEED_SOLVE (overwrite req->b with the
 * solution by the linear solver given to init, its status in req->status),
 * then is called again with the same req.  NK_BDF_STEP_DONE ends the step:
 * req->status is what nk_bdf_step would return.  The Jacobian and the
 * factorisation are still done inside, by the linear solver given to init.
 * nk_bdf_step is this loop with the ode's rhs and that solver's solve, so
 * a caller that evaluates the same functions gets bit-identical steps; an
 * ensemble engine uses it to batch many members' evaluations. */
typedef enum {
  NK_BDF_NEED_RHS = 1,
  NK_BDF_NEED_SOLVE = 2,
  NK_BDF_STEP_DONE = 3
} nk_bdf_need;

typedef struct nk_bdf_request {
  double t;         /* RHS: time */
  const double *y;  /* RHS: state (length n, owned by the integrator) */
  double *f;        /* RHS: output, length n */
  int rc;           /* RHS: the rhs return code (0 ok, >0 recoverable, <0 fatal) */
  double *b;        /* SOLVE: right-hand side in, solution out, length n */
  nk_status status; /* SOLVE: solver status in; STEP_DONE: the step's status */
} nk_bdf_request;

nk_bdf_need nk_bdf_advance(nk_bdf *s, nk_bdf_request *req);

/* Dense output: y(t) from the interpolating polynomial of the last step,
 * valid for t between the previous and the current time (extrapolates
 * outside). */
nk_status nk_bdf_dense(const nk_bdf *s, double t, double *y);
nk_status nk_bdf_get_state(const nk_bdf *s, double *t, double *y);
nk_status nk_bdf_get_stats(const nk_bdf *s, nk_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
