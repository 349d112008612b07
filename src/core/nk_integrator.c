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
  long steps;     /* accepted steps since init: max_steps bounds this */
  nk_monitor_fn monitor;
  void *monitor_user;
  long monitor_every;
  double t_end;
  double dir;     /* +1 forward, -1 backward */
  int done;       /* t_end reached */
  int initialised;
  double *ytmp;   /* n, scratch */
  /* root finding */
  int n_roots;
  nk_root_fn gfn;
  void *guser;
  double *glo;    /* g at t_lo */
  double *ghi;    /* g at the end of the searched interval */
  double *gtmp;   /* n_roots scratch (trial points) */
  double *yroot;  /* n: state at a trial root time */
  int *sgn;       /* last nonzero sign of each g (0: none yet) */
  int *fired;     /* result of the last root */
  double t_lo;    /* roots are searched in (t_lo, t] */
  double t_root;
  int root_pending; /* a root was located; outputs up to it, then report */
  int resume;       /* run() returns at a root inside the current step */
  int row_pending;  /* every-step mode: the step end is not yet a row */
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
  free((*p)->glo);
  free((*p)->gtmp);
  free((*p)->ghi);
  free((*p)->yroot);
  free((*p)->sgn);
  free((*p)->fired);
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

nk_status nk_integrator_set_nonnegative(nk_integrator *it, int on) {
  if (!it) return NK_ERR_ARGUMENT;
  return it->method == NK_METHOD_BDF ? nk_bdf_set_nonnegative(it->bdf, on)
                                     : nk_radau_set_nonnegative(it->radau, on);
}

nk_status nk_integrator_set_monitor(nk_integrator *it, nk_monitor_fn fn,
                                    void *user, long every) {
  if (!it || every <= 0) return NK_ERR_ARGUMENT;
  it->monitor = fn;
  it->monitor_user = user;
  it->monitor_every = every;
  return NK_SUCCESS;
}

nk_status nk_integrator_set_roots(nk_integrator *it, int n_roots, nk_root_fn g,
                                  void *user) {
  if (!it || n_roots < 0 || (n_roots > 0 && !g)) return NK_ERR_ARGUMENT;
  free(it->glo); free(it->gtmp); free(it->ghi); free(it->yroot);
  free(it->sgn); free(it->fired);
  it->glo = it->gtmp = it->ghi = it->yroot = NULL;
  it->sgn = it->fired = NULL;
  it->n_roots = 0;
  it->gfn = NULL;
  it->initialised = 0;
  if (n_roots == 0) return NK_SUCCESS;
  it->glo = (double *)calloc((size_t)n_roots, sizeof(double));
  it->gtmp = (double *)calloc((size_t)n_roots, sizeof(double));
  it->ghi = (double *)calloc((size_t)n_roots, sizeof(double));
  it->yroot = (double *)calloc((size_t)it->n, sizeof(double));
  it->sgn = (int *)calloc((size_t)n_roots, sizeof(int));
  it->fired = (int *)calloc((size_t)n_roots, sizeof(int));
  if (!it->glo || !it->gtmp || !it->ghi || !it->yroot || !it->sgn || !it->fired) {
    nk_integrator_set_roots(it, 0, NULL, NULL);
    return NK_ERR_MEMORY;
  }
  it->n_roots = n_roots;
  it->gfn = g;
  it->guser = user;
  return NK_SUCCESS;
}

nk_status nk_integrator_get_root_info(const nk_integrator *it, double *t_root,
                                      int *fired) {
  if (!it || !t_root) return NK_ERR_ARGUMENT;
  *t_root = it->t_root;
  if (fired && it->n_roots)
    memcpy(fired, it->fired, (size_t)it->n_roots * sizeof(int));
  return NK_SUCCESS;
}

static int sign_of(double v) { return v > 0.0 ? 1 : (v < 0.0 ? -1 : 0); }

/* g at time t from the dense output of the current step (or the state). */
static nk_status g_at(nk_integrator *it, double t, double tcur, double *g) {
  nk_status st;
  if (t == tcur) {
    double tc;
    st = stepper_state(it, &tc, it->yroot);
  } else {
    st = stepper_dense(it, t, it->yroot);
  }
  if (st != NK_SUCCESS) return st;
  return it->gfn(t, it->yroot, g, it->guser) == 0 ? NK_SUCCESS : NK_RHS_FAIL;
}

/* Look for crossings in (t_lo, tb], tb within the current step (tb <= tcur
 * in the direction of integration).  Each crossing component is bracketed
 * and located by the Illinois variant of regula falsi (Dowell & Jarratt
 * 1971), keeping the right end on the new sign; the earliest wins.  On
 * return t_lo = the root (found) or tb, and glo/sgn describe g there. */
static nk_status root_search(nk_integrator *it, double tb, double tcur,
                             int *found) {
  const double dir = it->dir;
  const int m = it->n_roots;
  double t_best = tb;
  nk_status st;
  *found = 0;
  st = g_at(it, tb, tcur, it->ghi);
  if (st != NK_SUCCESS) return st;
  for (int i = 0; i < m; ++i) {
    const int shi = sign_of(it->ghi[i]);
    if (it->sgn[i] == 0 || shi == 0 || shi == it->sgn[i]) continue;
    /* bracket [a, b]: g_i has the old sign at a, the new one at b */
    double a = it->t_lo, b = tb, ga = it->glo[i], gb = it->ghi[i];
    if (sign_of(ga) != it->sgn[i]) ga = it->sgn[i] * 1e-300; /* zero at a */
    const double ttol = 100.0 * 2.220446049250313e-16 * (fabs(tb) + fabs(tb - it->t_lo));
    int side = 0;
    for (int iter = 0; iter < 200 && fabs(b - a) > ttol; ++iter) {
      double tm = b - gb * (b - a) / (gb - ga);
      /* keep the trial strictly inside, away from the ends */
      const double lo = fmin(a, b), hi = fmax(a, b);
      if (!(tm > lo + 0.5 * ttol) || !(tm < hi - 0.5 * ttol)) tm = 0.5 * (a + b);
      st = g_at(it, tm, tcur, it->gtmp);
      if (st != NK_SUCCESS) return st;
      const double gm = it->gtmp[i];
      if (sign_of(gm) == shi) {
        b = tm; gb = gm;
        if (side == 1) ga *= 0.5; /* Illinois: halve the stale end */
        side = 1;
      } else {
        a = tm; ga = (gm == 0.0) ? it->sgn[i] * 1e-300 : gm;
        if (side == -1) gb *= 0.5;
        side = -1;
      }
    }
    if ((b - t_best) * dir < 0.0) t_best = b;
    *found = 1;
  }
  if (*found) {
    st = g_at(it, t_best, tcur, it->glo);
    if (st != NK_SUCCESS) return st;
    for (int i = 0; i < m; ++i) {
      const int s = sign_of(it->glo[i]);
      it->fired[i] = (s != 0 && it->sgn[i] != 0 && s != it->sgn[i]) ? s : 0;
      if (s != 0) it->sgn[i] = s;
    }
    it->t_root = t_best;
    it->t_lo = t_best;
  } else {
    memcpy(it->glo, it->ghi, (size_t)m * sizeof(double));
    for (int i = 0; i < m; ++i)
      if (sign_of(it->glo[i]) != 0) it->sgn[i] = sign_of(it->glo[i]);
    it->t_lo = tb;
  }
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
  it->steps = 0;
  it->root_pending = it->resume = it->row_pending = 0;
  it->t_lo = it->t_root = t0;
  if (it->n_roots > 0) {
    if (it->gfn(t0, y0, it->glo, it->guser) != 0) return NK_RHS_FAIL;
    for (int i = 0; i < it->n_roots; ++i) {
      it->sgn[i] = sign_of(it->glo[i]);
      it->fired[i] = 0;
    }
  }
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

/* Write output rows up to time `limit` (t_eval mode). */
static nk_status emit_until(nk_integrator *it, double limit, double tcur,
                            const double *t_eval, long n_eval, double *t_out,
                            double *y_out, long *k_done) {
  const int n = it->n;
  while (*k_done < n_eval && (t_eval[*k_done] - limit) * it->dir <= 0.0) {
    const long k = *k_done;
    double *row = y_out + (size_t)k * n;
    double tc = 0.0;
    nk_status st = (t_eval[k] == tcur) ? stepper_state(it, &tc, row)
                                       : stepper_dense(it, t_eval[k], row);
    if (st != NK_SUCCESS) return st;
    t_out[k] = t_eval[k];
    *k_done = k + 1;
  }
  return NK_SUCCESS;
}

nk_status nk_integrator_run(nk_integrator *it, const double *t_eval,
                            long n_eval, double *t_out, double *y_out,
                            long cap, long *k_done) {
  if (!it || !t_out || !y_out || !k_done || *k_done < 0) return NK_ERR_ARGUMENT;
  if (!it->initialised) return NK_NOT_INITIALISED;
  const int n = it->n;
  double tcur = 0.0;
  nk_status st;
  if (t_eval)
    for (long k = *k_done; k < n_eval; ++k)
      if ((t_eval[k] - it->t_end) * it->dir > 0.0) return NK_ERR_ARGUMENT;

  for (;;) {
    st = stepper_state(it, &tcur, it->ytmp);
    if (st != NK_SUCCESS) return st;
    if (it->root_pending) {
      /* report the root: outputs up to it first */
      if (t_eval) {
        st = emit_until(it, it->t_root, tcur, t_eval, n_eval, t_out, y_out, k_done);
        if (st != NK_SUCCESS) return st;
      } else {
        if (*k_done >= cap) return NK_OUTPUT_FULL;
        double *row = y_out + (size_t)(*k_done) * n;
        st = it->t_root == tcur ? stepper_state(it, &tcur, row)
                                : stepper_dense(it, it->t_root, row);
        if (st != NK_SUCCESS) return st;
        t_out[*k_done] = it->t_root;
        ++*k_done;
        if (it->t_root == tcur) it->row_pending = 0;
      }
      it->root_pending = 0;
      it->resume = 1;
      return NK_ROOT_FOUND;
    }
    if (it->resume) {
      /* continue after a root inside the current step: rest of the step */
      it->resume = 0;
      if (it->n_roots > 0 && (tcur - it->t_lo) * it->dir > 0.0) {
        int found = 0;
        st = root_search(it, tcur, tcur, &found);
        if (st != NK_SUCCESS) return st;
        if (found) { it->root_pending = 1; continue; }
      }
    }
    if (t_eval) {
      st = emit_until(it, tcur, tcur, t_eval, n_eval, t_out, y_out, k_done);
      if (st != NK_SUCCESS) return st;
      if (*k_done >= n_eval) return NK_SUCCESS;
    } else if (it->row_pending) {
      if (*k_done >= cap) return NK_OUTPUT_FULL;
      t_out[*k_done] = tcur;
      memcpy(y_out + (size_t)(*k_done) * n, it->ytmp, (size_t)n * sizeof(double));
      ++*k_done;
      it->row_pending = 0;
    }
    if (it->done) return NK_SUCCESS;
    st = driver_step(it, &it->steps, &tcur);
    if (st != NK_SUCCESS) return st;
    it->row_pending = 1;
    if (it->n_roots > 0) {
      int found = 0;
      st = root_search(it, tcur, tcur, &found);
      if (st != NK_SUCCESS) return st;
      if (found) it->root_pending = 1;
    }
  }
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
