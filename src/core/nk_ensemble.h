/* nk_ensemble.h - many members of one compiled model, integrated in lanes.
 *
 * An ensemble engine for one thread: it keeps NK_LANES members in flight,
 * each with its own BDF integrator and dense linear solver, and evaluates
 * their right-hand sides (nk_tape_eval_lanes) and Newton solves together,
 * lane-interleaved, so the interpretation and loop overheads are paid once
 * per NK_LANES members and the arithmetic vectorises.  Each member is
 * driven by nk_bdf_advance exactly as nk_bdf_step drives it, and the
 * batched kernels are bit-identical to the scalar ones, so a member's
 * result is bit-identical to nk_integrator_run with the same options:
 * independent of the lane it ran in and of the other members.
 * Members are refilled into lanes as others finish.
 */
#ifndef NK_ENSEMBLE_H
#define NK_ENSEMBLE_H

#include "nk_integrator.h"
#include "nk_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_ensemble nk_ensemble;

typedef struct nk_ensemble_opts {
  double t0, t_end;     /* finite, t_end != t0 */
  const double *t_eval; /* n_eval >= 1 output times, monotone from t0 to t_end */
  long n_eval;
  double rtol;
  const double *atol;   /* length n_y */
  long max_steps;       /* accepted steps per member (> 0) */
  double h0, hmax;      /* 0: automatic / unlimited */
  int max_order;        /* 1..5 */
  int nonnegative;      /* reject steps with y_i < -atol_i */
  nk_monitor_fn monitor; /* may be NULL; nonzero return stops the run */
  void *monitor_user;
  long monitor_every;   /* accepted steps (all lanes) between monitor calls */
} nk_ensemble_opts;

/* Counters kept per member (stats_out rows), in this order: accepted steps,
 * rhs evaluations, Jacobian evaluations, LU factorisations, steps rejected
 * by the error test, rhs evaluations that gave non-finite values: the
 * nk_stats fields nsteps, nfev, njev, ndecomp, nreject, nrhsfail. */
#define NK_ENSEMBLE_NSTATS 6

/* An engine for model m (borrowed; must outlive the engine). */
nk_status nk_ensemble_create(const nk_model *m, nk_ensemble **out);
void nk_ensemble_free(nk_ensemble **p); /* accepts NULL, sets *p = NULL */

/* Integrate `members` members with BDF and the dense direct solver.
 * Member i has parameters P + i*n_p and initial state Y0 + i*n_y; its
 * outputs at t_eval go to y_out + i*n_eval*n_y (row k at + k*n_y), only the
 * rows it reached (the others are not written); status[i] is what
 * nk_integrator_run would return for it (NK_SUCCESS, the error that stopped
 * it, or NK_ERR_ARGUMENT when its start was invalid, e.g. non-finite y0).
 * stats_out (may be NULL): NK_ENSEMBLE_NSTATS counters per member, row i at
 * stats_out + i*NK_ENSEMBLE_NSTATS, what nk_integrator_get_stats reports
 * after the member's run (zeros for a member whose start was invalid or
 * that never started).
 * Returns NK_SUCCESS; NK_INTERRUPTED when the monitor asked to stop (the
 * unfinished members then have status NK_INTERRUPTED); NK_ERR_ARGUMENT for
 * invalid arguments (nothing is run). */
nk_status nk_ensemble_run_bdf(nk_ensemble *e, const nk_ensemble_opts *o,
                              long members, const double *P, const double *Y0,
                              double *y_out, int *status, long *stats_out);

#ifdef __cplusplus
}
#endif
#endif
