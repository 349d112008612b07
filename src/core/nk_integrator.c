/* nk_integrator.c - the driver shared by every method.
 *
 * It owns one stepper (BDF or Radau IIA), advances it step by step towards
 * t_end (the stepper's tstop, so no step ever passes it), and writes output
 * rows either at requested times by dense output or at every accepted step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_bdf.h"
#include "nk_integrator.h"
#include "nk_radau.h"

struct nk_integrator {
  nk_method method;
  int n;
  nk_bdf *bdf;
  nk_radau *radau;
  long max_steps;
  nk_monitor_fn monitor;
  void *monitor_user;
  long monitor_every;
  double t_end;
  double dir;     /* +1 forward, -1 backward */
  int done;       /* t_end reached */
  int initialised;
  double *ytmp;   /* n, scratch */
};

/* Dispatch helpers: one switch per stepper operation. */
static nk_status stepper_step(nk_integrator *it, double *t) {
  return it->method == NK_METHOD_BDF ? nk_bdf_step(it->bdf, t)
                                     : nk_radau_step(it->radau, t);
}

static nk_status stepper_dense(const nk_integrator *it, double t, double *y) {
  return it->method == NK_METHOD_BDF ? nk_bdf_dense(it->bdf, t, y)
                                     : nk_radau_dense(it->radau, t, y);
}

static nk_status stepper_state(const nk_integrator *it, double *t, double *y) {
  return it->method == NK_METHOD_BDF ? nk_bdf_get_state(it->bdf, t, y)
                                     : nk_radau_get_state(it->radau, t, y);
}

nk_status nk_integrator_create(nk_method method, int n, nk_integrator **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  if (n <= 0 || (method != NK_METHOD_BDF && method != NK_METHOD_RADAU5))
    return NK_ERR_ARGUMENT;
  nk_integrator *it = (nk_integrator *)calloc(1, sizeof(*it));
  if (!it) return NK_ERR_MEMORY;
  it->method = method;
  it->n = n;
  it->max_steps = 500000;
  it->monitor_every = 1000;
  it->ytmp = (double *)calloc((size_t)n, sizeof(double));
  if (!it->ytmp) {
    free(it);
    return NK_ERR_MEMORY;
  }
  nk_status st = method == NK_METHOD_BDF ? nk_bdf_create(n, &it->bdf)
                                         : nk_radau_create(n, &it->radau);
  if (st != NK_SUCCESS) {
    nk_integrator_free(&it);
    return st;
  }
  *out = it;
  return NK_SUCCESS;
}

void nk_integrator_free(nk_integrator **p) {
  if (!p || !*p) return;
  nk_bdf_free(&(*p)->bdf);
  nk_radau_free(&(*p)->radau);
  free((*p)->ytmp);
  free(*p);
  *p = NULL;
}

nk_status nk_integrator_get_method(const nk_integrator *it, nk_method *m) {
  if (!it || !m) return NK_ERR_ARGUMENT;
  *m = it->method;
  return NK_SUCCESS;
}

nk_status nk_integrator_set_tolerances(nk_integrator *it, double rtol,
                                       const double *atol) {
  if (!it) return NK_ERR_ARGUMENT;
  return it->method == NK_METHOD_BDF
             ? nk_bdf_set_tolerances(it->bdf, rtol, atol)
             : nk_radau_set_tolerances(it->radau, rtol, atol);
}

nk_status nk_integrator_set_max_steps(nk_integrator *it, long max_steps) {
  if (!it || max_steps <= 0) return NK_ERR_ARGUMENT;
  it->max_steps = max_steps;
  return NK_SUCCESS;
}

nk_status nk_integrator_get_max_steps(const nk_integrator *it, long *max_steps) {
  if (!it || !max_steps) return NK_ERR_ARGUMENT;
  *max_steps = it->max_steps;
  return NK_SUCCESS;
}

nk_status nk_integrator_set_h0(nk_integrator *it, double h0) {
  if (!it) return NK_ERR_ARGUMENT;
  return it->method == NK_METHOD_BDF ? nk_bdf_set_h0(it->bdf, h0)
                                     : nk_radau_set_h0(it->radau, h0);
}

nk_status nk_integrator_set_hmax(nk_integrator *it, double hmax) {
  if (!it) return NK_ERR_ARGUMENT;
  return it->method == NK_METHOD_BDF ? nk_bdf_set_hmax(it->bdf, hmax)
                                     : nk_radau_set_hmax(it->radau, hmax);
}

nk_status nk_integrator_set_max_order(nk_integrator *it, int q) {
  if (!it) return NK_ERR_ARGUMENT;
  if (it->method != NK_METHOD_BDF) return NK_ERR_ARGUMENT;
  return nk_bdf_set_max_order(it->bdf, q);
}

nk_status nk_integrator_set_monitor(nk_integrator *it, nk_monitor_fn fn,
                                    void *user, long every) {
  if (!it || every <= 0) return NK_ERR_ARGUMENT;
  it->monitor = fn;
  it->monitor_user = user;
  it->monitor_every = every;
  return NK_SUCCESS;
}

nk_status nk_integrator_init(nk_integrator *it, const nk_ode *ode,
                             nk_linsol *ls, double t0, const double *y0,
                             double t_end) {
  if (!it || !ode || !ls || !y0 || ode->n != it->n || ls->n != it->n)
    return NK_ERR_ARGUMENT;
  if (!isfinite(t0) || !isfinite(t_end) || t_end == t0) return NK_ERR_ARGUMENT;
  it->initialised = 0;
  nk_status st = it->method == NK_METHOD_BDF
                     ? nk_bdf_init(it->bdf, ode, ls, t0, y0, t_end)
                     : nk_radau_init(it->radau, ode, ls, t0, y0, t_end);
  if (st != NK_SUCCESS) return st;
  it->t_end = t_end;
  it->dir = t_end > t0 ? 1.0 : -1.0;
  it->done = 0;
  it->initialised = 1;
  return NK_SUCCESS;
}

/* One accepted step with the budget and monitor applied. */
static nk_status driver_step(nk_integrator *it, long *steps, double *t) {
  if (*steps >= it->max_steps) return NK_TOO_MUCH_WORK;
  nk_status st = stepper_step(it, t);
  if (st < 0) return st;
  ++*steps;
  if (st == NK_TSTOP_REACHED) it->done = 1;
  if (it->monitor && *steps % it->monitor_every == 0 &&
      it->monitor(*t, it->monitor_user) != 0)
    return NK_INTERRUPTED;
  return NK_SUCCESS;
}

nk_status nk_integrator_run(nk_integrator *it, const double *t_eval,
                            long n_eval, double *t_out, double *y_out,
                            long cap, long *k_done) {
  if (!it || !t_out || !y_out || !k_done || *k_done < 0) return NK_ERR_ARGUMENT;
  if (!it->initialised) return NK_NOT_INITIALISED;
  const int n = it->n;
  long steps = 0;
  double t = 0.0;
  nk_status st = stepper_state(it, &t, it->ytmp);
  if (st != NK_SUCCESS) return st;

  if (t_eval) {
    for (long k = *k_done; k < n_eval; ++k) {
      const double target = t_eval[k];
      if ((target - it->t_end) * it->dir > 0.0) return NK_ERR_ARGUMENT;
      /* step until the current time reaches or passes the target */
      while ((t - target) * it->dir < 0.0 && !it->done) {
        st = driver_step(it, &steps, &t);
        if (st != NK_SUCCESS) return st;
      }
      double *row = y_out + (size_t)k * n;
      double tc = 0.0;
      st = stepper_state(it, &tc, row);
      if (st != NK_SUCCESS) return st;
      if (target != tc) {
        st = stepper_dense(it, target, row);
        if (st != NK_SUCCESS) return st;
      }
      t_out[k] = target;
      *k_done = k + 1;
    }
    return NK_SUCCESS;
  }

  while (!it->done) {
    if (*k_done >= cap) return NK_OUTPUT_FULL;
    st = driver_step(it, &steps, &t);
    if (st != NK_SUCCESS) return st;
    double tc = 0.0;
    stepper_state(it, &tc, y_out + (size_t)(*k_done) * n);
    t_out[*k_done] = tc;
    ++*k_done;
  }
  return NK_SUCCESS;
}

nk_status nk_integrator_get_state(const nk_integrator *it, double *t, double *y) {
  if (!it || !t || !y) return NK_ERR_ARGUMENT;
  if (!it->initialised) return NK_NOT_INITIALISED;
  return stepper_state(it, t, y);
}

nk_status nk_integrator_dense(const nk_integrator *it, double t, double *y) {
  if (!it || !y) return NK_ERR_ARGUMENT;
  if (!it->initialised) return NK_NOT_INITIALISED;
  return stepper_dense(it, t, y);
}

nk_status nk_integrator_get_stats(const nk_integrator *it, nk_stats *stats) {
  if (!it || !stats) return NK_ERR_ARGUMENT;
  return it->method == NK_METHOD_BDF ? nk_bdf_get_stats(it->bdf, stats)
                                     : nk_radau_get_stats(it->radau, stats);
}
