/* nk_integrator.h - one driver over every method: output at requested
 * times by dense output, or at every step; step budget; interruption.
 *
 * The binding talks only to this layer.  An nk_integrator owns its method's
 * stepper; ode and linear solver passed to init are borrowed.
 */
#ifndef NK_INTEGRATOR_H
#define NK_INTEGRATOR_H

#include "nk_linsol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { NK_METHOD_BDF = 0, NK_METHOD_RADAU5 = 1 } nk_method;

typedef struct nk_integrator nk_integrator;

/* Root function for event location: g (length n_roots) at (t, y); same
 * return contract as the right-hand side. */
typedef int (*nk_root_fn)(double t, const double *y, double *g, void *user);

/* Called every `monitor_every` accepted steps with the current time; a
 * nonzero return stops the run with NK_INTERRUPTED (the state is kept). */
typedef int (*nk_monitor_fn)(double t, void *user);

nk_status nk_integrator_create(nk_method method, int n, nk_integrator **out);
void nk_integrator_free(nk_integrator **p); /* accepts NULL */

nk_status nk_integrator_get_method(const nk_integrator *it, nk_method *m);
nk_status nk_integrator_set_tolerances(nk_integrator *it, double rtol,
                                       const double *atol);
/* Budget of accepted steps per integration (from init on, over however
 * many run calls it takes); NK_TOO_MUCH_WORK when spent. */
nk_status nk_integrator_set_max_steps(nk_integrator *it, long max_steps);
nk_status nk_integrator_get_max_steps(const nk_integrator *it, long *max_steps);
nk_status nk_integrator_set_h0(nk_integrator *it, double h0);
nk_status nk_integrator_set_hmax(nk_integrator *it, double hmax);
nk_status nk_integrator_set_max_order(nk_integrator *it, int q); /* BDF only */
/* y_i >= -atol_i on every accepted step (concentrations); see nk_bdf.h. */
nk_status nk_integrator_set_nonnegative(nk_integrator *it, int on);
nk_status nk_integrator_set_monitor(nk_integrator *it, nk_monitor_fn fn,
                                    void *user, long every);

/* Root finding (call before init; n_roots = 0 switches it off).  After each
 * step the driver looks for sign changes of g between the previous and the
 * new time, locates the earliest by the Illinois method on the dense output
 * (to 100 eps (|t| + |h|)), writes the outputs up to it and returns
 * NK_ROOT_FOUND.  A zero of g is not a crossing: a crossing needs the sign
 * to differ from the last nonzero sign.  Calling run again continues from
 * the root within the same step. */
nk_status nk_integrator_set_roots(nk_integrator *it, int n_roots, nk_root_fn g,
                                  void *user);
/* After NK_ROOT_FOUND: the root time and, per root function, +1 (crossed
 * upwards), -1 (downwards) or 0.  fired has length n_roots. */
nk_status nk_integrator_get_root_info(const nk_integrator *it, double *t_root,
                                      int *fired);

/* Start at (t0, y0) for an integration that ends exactly at t_end. */
nk_status nk_integrator_init(nk_integrator *it, const nk_ode *ode,
                             nk_linsol *ls, double t0, const double *y0,
                             double t_end);

/* Advance and write output rows.
 *
 * With t_eval (n_eval increasing times, or decreasing for backward runs,
 * all within [t0, t_end]): rows *k_done .. n_eval-1 of t_out/y_out are
 * filled by dense output (t_out[k] = t_eval[k], y_out + k*n); cap is
 * ignored.  Without t_eval (NULL): each accepted step appends its (t, y)
 * (the initial point is the caller's business) until cap rows are written,
 * then NK_OUTPUT_FULL is returned and a later call continues.
 *
 * *k_done is the count of rows written so far (in/out).  Returns
 * NK_SUCCESS when t_end is reached and all rows are written, NK_ROOT_FOUND
 * at a root (every-step mode appends the root as a row), otherwise the
 * failure status, with every row computed before the failure written. */
nk_status nk_integrator_run(nk_integrator *it, const double *t_eval,
                            long n_eval, double *t_out, double *y_out,
                            long cap, long *k_done);

nk_status nk_integrator_get_state(const nk_integrator *it, double *t,
                                  double *y);
nk_status nk_integrator_dense(const nk_integrator *it, double t, double *y);
nk_status nk_integrator_get_stats(const nk_integrator *it, nk_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
