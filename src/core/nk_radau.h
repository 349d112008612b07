/* nk_radau.h - Radau IIA of order 5 (three stages) with step-size control and
 * dense output, after Hairer & Wanner, Solving ODEs II, Sec. IV.8.
 *
 * Typed opaque handle; the caller owns it (create/free).  ode and linear
 * solver passed to init are borrowed and must outlive the integration.
 */
#ifndef NK_RADAU_H
#define NK_RADAU_H

#include "nk_linsol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_radau nk_radau;

nk_status nk_radau_create(int n, nk_radau **out);
void nk_radau_free(nk_radau **p); /* accepts NULL, sets *p = NULL */

/* rtol scalar > 0; atol array of length n (copied), each >= 0. */
nk_status nk_radau_set_tolerances(nk_radau *s, double rtol, const double *atol);
nk_status nk_radau_get_tolerances(const nk_radau *s, double *rtol, double *atol);
nk_status nk_radau_set_h0(nk_radau *s, double h0); /* 0: automatic (default) */
nk_status nk_radau_get_h0(const nk_radau *s, double *h0);
nk_status nk_radau_set_hmax(nk_radau *s, double hmax); /* 0: unlimited */
nk_status nk_radau_get_hmax(const nk_radau *s, double *hmax);
/* Non-negativity constraint: a step whose solution has a component below
 * -atol_i is rejected and retried with h / 2.  Off by default. */
nk_status nk_radau_set_nonnegative(nk_radau *s, int on);
nk_status nk_radau_get_nonnegative(const nk_radau *s, int *on);

/* Start (or restart) at (t0, y0).  Steps never pass tstop (may be < t0 for
 * backward integration).  Resets the counters. */
nk_status nk_radau_init(nk_radau *s, const nk_ode *ode, nk_linsol *ls, double t0,
                      const double *y0, double tstop);
nk_status nk_radau_set_tstop(nk_radau *s, double tstop);

/* Take one accepted step.  *t_new receives the new time.  Returns
 * NK_SUCCESS, NK_TSTOP_REACHED (the step ended exactly at tstop), or an
 * error status; on error the state stays at the last accepted step. */
nk_status nk_radau_step(nk_radau *s, double *t_new);

/* Dense output: y(t) from the interpolating polynomial of the last step,
 * valid for t between the previous and the current time (extrapolates
 * outside). */
nk_status nk_radau_dense(const nk_radau *s, double t, double *y);
nk_status nk_radau_get_state(const nk_radau *s, double *t, double *y);
nk_status nk_radau_get_stats(const nk_radau *s, nk_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
