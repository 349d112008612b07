/* nk_ensemble.c - the lane scheduler of nk_ensemble.h.
 *
 * Each lane holds one member: its BDF integrator (driven request by
 * request through nk_bdf_advance), its dense solver (Jacobian and LU are
 * per lane: they are rare) and its output cursor.  The scheduler advances
 * every lane to its next request, then serves the more common request kind
 * for all lanes that asked for it in one lane-interleaved kernel: a tape
 * evaluation for f(t, y), or a forward/back substitution with the lanes'
 * LU factors (copied lane-interleaved after each refactorisation).  Lanes
 * asking for the same kind soon run in step, so batches stay full.  The
 * driver logic between steps (outputs at t_eval, the step budget) is the
 * one of nk_integrator_run.
 *
 * Measured and not kept: handing each attempt's whole Newton iteration to
 * the scheduler (residual, update and norm lane-interleaved, only the
 * convergence test per lane) was bit-identical but 12% slower on the HIRES
 * ensemble (114 against 102 us per member, bench/ensemble.py's problem on
 * one thread): the per-attempt copies in and out and the per-lane test
 * loop cost more than the per-iterate gathers and requests they replace.
 * Also measured and not kept: the whole step vectorised across the lanes
 * (every lane's history, weights, iterate and increment kept
 * lane-interleaved all the time, the engine run in rounds -- one tape pass,
 * the setups, one substitution, then the conclusions, begins and
 * predictions of the lanes that got there -- each vector operation of
 * nk_bdf.c a masked kernel over all lanes, each lane's own order and
 * coefficients; nk_bdf.c split into the scalar pieces between them).  Also
 * bit-identical, with 7.9 of 8 lanes in each tape pass and 8.0 in each
 * substitution, but 1.35-1.5x slower (155-171 against 106-132 us per HIRES
 * member, interleaved runs): per round each kernel runs over all 8 lanes
 * while only the lanes in that phase (about 5) need it, every operation
 * needs a select beside it, and the scalar loops it replaces were already
 * vectorised over the 8 states.
 */
#include "nk_ensemble.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_bdf.h"
#include "nk_lanes.h"
#include "nk_linsol.h"

#define W NK_LANES

typedef struct lane {
  nk_bdf *bdf;
  nk_linsol *ls;
  nk_model_ctx ctx; /* the member's scalar evaluation context */
  nk_ode ode;
  double *rhs_work, *jac_work, *jac_vals;
  long member;      /* -1: idle */
  long k_done;      /* output rows written */
  long steps;       /* accepted steps */
  int done;         /* t_end reached */
  int waiting;      /* pending nk_bdf_need (RHS or SOLVE), 0 none */
  int inited;       /* nk_bdf_init succeeded: its counters are the member's */
  nk_bdf_request rq;
  long nfact;       /* factorisation count of the copied LU (-1 none) */
  const long *counter; /* the solver's factorisation count */
  int *perm;        /* b[perm[i]] is row i after the solver's row swaps */
} lane;

struct nk_ensemble {
  const nk_model *m;
  int n;
  lane lanes[W];
  double *rhs_w; /* lane-interleaved rhs tape work */
  double *lu;    /* factors, entry (i, j) of lane l at ((i + j*n)*W + l) */
  double *b;     /* right-hand sides b[i*W + l] */
  /* the run in progress */
  const nk_ensemble_opts *o;
  long members, next;
  const double *P, *Y0;
  double *y_out;
  int *status;
  long *stats;   /* NK_ENSEMBLE_NSTATS per member, or NULL */
  double dir;
  long steps_to_monitor; /* accepted steps (all lanes) until the next monitor call */
  int stop;      /* the monitor asked to stop */
};

nk_status nk_ensemble_create(const nk_model *m, nk_ensemble **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  if (!m || m->n_y <= 0) return NK_ERR_ARGUMENT;
  nk_ensemble *e = (nk_ensemble *)calloc(1, sizeof(*e));
  if (!e) return NK_ERR_MEMORY;
  const int n = m->n_y;
  e->m = m;
  e->n = n;
  const size_t nn = (size_t)n * (size_t)n;
  e->rhs_w = (double *)calloc(nk_tape_work_size(&m->rhs) * W + 1, sizeof(double));
  e->lu = (double *)calloc(nn * W, sizeof(double));
  e->b = (double *)calloc((size_t)n * W, sizeof(double));
  nk_status st = (e->rhs_w && e->lu && e->b) ? NK_SUCCESS : NK_ERR_MEMORY;
  for (int l = 0; l < W && st == NK_SUCCESS; ++l) {
    lane *L = &e->lanes[l];
    L->member = -1;
    st = nk_bdf_create(n, &L->bdf);
    if (st == NK_SUCCESS) st = nk_linsol_dense_create(n, &L->ls);
    if (st != NK_SUCCESS) break;
    L->counter = nk_linsol_dense_counter(L->ls);
    L->rhs_work = (double *)calloc(nk_tape_work_size(&m->rhs) + 1, sizeof(double));
    L->jac_work = (double *)calloc(nk_tape_work_size(&m->jac) + 1, sizeof(double));
    L->jac_vals = (double *)calloc((size_t)m->nnz + 1, sizeof(double));
    L->perm = (int *)calloc((size_t)n, sizeof(int));
    if (!L->rhs_work || !L->jac_work || !L->jac_vals || !L->perm) st = NK_ERR_MEMORY;
  }
  /* idle lanes solve with the identity, keeping their arithmetic finite */
  for (int i = 0; i < n && st == NK_SUCCESS; ++i)
    for (int l = 0; l < W; ++l) e->lu[((size_t)i + (size_t)i * n) * W + l] = 1.0;
  if (st != NK_SUCCESS) {
    nk_ensemble_free(&e);
    return st;
  }
  *out = e;
  return NK_SUCCESS;
}

void nk_ensemble_free(nk_ensemble **p) {
  if (!p || !*p) return;
  nk_ensemble *e = *p;
  for (int l = 0; l < W; ++l) {
    lane *L = &e->lanes[l];
    nk_bdf_free(&L->bdf);
    nk_linsol_free(&L->ls);
    free(L->rhs_work);
    free(L->jac_work);
    free(L->jac_vals);
    free(L->perm);
  }
  free(e->rhs_w);
  free(e->lu);
  free(e->b);
  free(e);
  *p = NULL;
}

/* ---- driver (nk_integrator_run's logic, per lane) ----------------------- */

static void lane_finish(nk_ensemble *e, lane *L, nk_status st) {
  e->status[L->member] = (int)st;
  nk_stats c;
  if (e->stats && L->inited && nk_bdf_get_stats(L->bdf, &c) == NK_SUCCESS) {
    long *row = e->stats + (size_t)L->member * NK_ENSEMBLE_NSTATS;
    row[0] = c.nsteps;
    row[1] = c.nfev;
    row[2] = c.njev;
    row[3] = c.ndecomp;
    row[4] = c.nreject;
    row[5] = c.nrhsfail;
  }
  L->member = -1;
  L->waiting = 0;
}

/* Output rows up to the current time: the state itself at t == tn, else
 * the dense output of the last step. */
static nk_status lane_emit(nk_ensemble *e, lane *L) {
  const nk_ensemble_opts *o = e->o;
  const int n = e->n;
  double tcur = 0.0;
  nk_status st = nk_bdf_get_state(L->bdf, &tcur, NULL);
  if (st != NK_SUCCESS) return st;
  double *rows = e->y_out + (size_t)L->member * (size_t)o->n_eval * n;
  while (L->k_done < o->n_eval && (o->t_eval[L->k_done] - tcur) * e->dir <= 0.0) {
    const long k = L->k_done;
    double *row = rows + (size_t)k * n;
    double tc;
    st = o->t_eval[k] == tcur ? nk_bdf_get_state(L->bdf, &tc, row)
                              : nk_bdf_dense(L->bdf, o->t_eval[k], row);
    if (st != NK_SUCCESS) return st;
    L->k_done = k + 1;
  }
  return NK_SUCCESS;
}

/* Between steps: outputs, completion and the step budget.  Returns 1 when
 * the member is finished (its status set), 0 to take another step. */
static int lane_between(nk_ensemble *e, lane *L) {
  nk_status st = lane_emit(e, L);
  if (st != NK_SUCCESS) {
    lane_finish(e, L, st);
    return 1;
  }
  if (L->k_done >= e->o->n_eval || L->done) {
    lane_finish(e, L, NK_SUCCESS);
    return 1;
  }
  if (L->steps >= e->o->max_steps) {
    lane_finish(e, L, NK_TOO_MUCH_WORK);
    return 1;
  }
  return 0;
}

/* Initialise member i in lane l (as _drive + nk_integrator_init do).
 * Returns 1 when it needs steps, 0 when it finished at once. */
static int lane_start(nk_ensemble *e, int l, long i) {
  const nk_ensemble_opts *o = e->o;
  const nk_model *m = e->m;
  lane *L = &e->lanes[l];
  const double *p = m->n_p > 0 ? e->P + (size_t)i * m->n_p : NULL;
  L->member = i;
  L->k_done = 0;
  L->steps = 0;
  L->done = 0;
  L->waiting = 0;
  L->inited = 0;
  L->nfact = -1;
  nk_status st = nk_model_ctx_init(&L->ctx, m, p, L->rhs_work,
                                   L->jac_work, L->jac_vals);
  if (st == NK_SUCCESS) {
    nk_model_ode(&L->ctx, &L->ode);
    nk_tape_bind_lane(&m->rhs, p, l, e->rhs_w);
    st = nk_bdf_set_tolerances(L->bdf, o->rtol, o->atol);
  }
  if (st == NK_SUCCESS) st = nk_bdf_set_h0(L->bdf, o->h0);
  if (st == NK_SUCCESS) st = nk_bdf_set_hmax(L->bdf, o->hmax);
  if (st == NK_SUCCESS) st = nk_bdf_set_max_order(L->bdf, o->max_order);
  if (st == NK_SUCCESS) st = nk_bdf_set_nonnegative(L->bdf, o->nonnegative);
  if (st == NK_SUCCESS)
    st = nk_bdf_init(L->bdf, &L->ode, L->ls, o->t0, e->Y0 + (size_t)i * e->n, o->t_end);
  if (st != NK_SUCCESS) {
    lane_finish(e, L, st);
    return 0;
  }
  L->inited = 1;
  return !lane_between(e, L);
}

/* Give lane l the next member that needs steps; 0 when none is left. */
static int lane_refill(nk_ensemble *e, int l) {
  while (e->next < e->members && !e->stop)
    if (lane_start(e, l, e->next++)) return 1;
  return 0;
}

/* Run lane l until it waits for a request (or has nothing left to do). */
static void lane_run(nk_ensemble *e, int l) {
  lane *L = &e->lanes[l];
  const nk_ensemble_opts *o = e->o;
  while (L->member >= 0 && !L->waiting && !e->stop) {
    const nk_bdf_need need = nk_bdf_advance(L->bdf, &L->rq);
    if (need != NK_BDF_STEP_DONE) {
      L->waiting = (int)need;
      return;
    }
    const nk_status st = L->rq.status;
    int finished;
    if (st < 0) {
      lane_finish(e, L, st);
      finished = 1;
    } else {
      L->steps++;
      if (st == NK_TSTOP_REACHED) L->done = 1;
      finished = lane_between(e, L);
      double t = 0.0;
      if (o->monitor && --e->steps_to_monitor == 0 &&
          (e->steps_to_monitor = o->monitor_every) > 0 &&
          nk_bdf_get_state(L->bdf, &t, NULL) == NK_SUCCESS &&
          o->monitor(t, o->monitor_user) != 0)
        e->stop = 1;
    }
    if (finished && !lane_refill(e, l)) return;
  }
}

/* ---- batched kernels ------------------------------------------------------ */

/* Which lanes' outputs are all finite (as nk_model_rhs checks): x - x is
 * +0 for finite x and NaN otherwise, so the lane's sum of them is 0
 * exactly when every output is finite. */
static void rhs_finite(const nk_tape *tp, int n, const double *w, int *finite) {
  double sum[W];
#ifdef NK_HAVE_VECTORS
  for (int h = 0; h < W; h += NK_VW) {
    nk_vd acc = nk_vsplat(0.0);
    for (int i = 0; i < n; ++i) {
      const nk_vd v = nk_vload(w + (size_t)tp->out[i] * W + h);
      acc += v - v;
    }
    nk_vstore(sum + h, acc);
  }
#else
  for (int l = 0; l < W; ++l) sum[l] = 0.0;
  for (int i = 0; i < n; ++i) {
    const double *v = w + (size_t)tp->out[i] * W;
    for (int l = 0; l < W; ++l) sum[l] += v[l] - v[l];
  }
#endif
  for (int l = 0; l < W; ++l) finite[l] = sum[l] == 0.0;
}

/* f(t, y) for every lane waiting for it: one lane-interleaved tape pass.
 * Lanes not asking keep their old inputs (their outputs are ignored). */
static void serve_rhs(nk_ensemble *e) {
  const nk_tape *tp = &e->m->rhs;
  const int n = e->n;
  const size_t off_y = (size_t)tp->n_const + tp->n_p;
  double *w = e->rhs_w;
  for (int l = 0; l < W; ++l) {
    const lane *L = &e->lanes[l];
    if (L->waiting != NK_BDF_NEED_RHS) continue;
    for (int i = 0; i < n; ++i) w[(off_y + i) * W + l] = L->rq.y[i];
    w[(off_y + n) * W + l] = L->rq.t;
  }
  nk_tape_eval_lanes(tp, w);
  int finite[W];
  rhs_finite(tp, n, w, finite);
  for (int l = 0; l < W; ++l) {
    lane *L = &e->lanes[l];
    if (L->waiting != NK_BDF_NEED_RHS) continue;
    double *f = L->rq.f;
    for (int i = 0; i < n; ++i) f[i] = w[(size_t)tp->out[i] * W + l];
    L->rq.rc = finite[l] ? 0 : 1;
    L->waiting = 0;
  }
}

/* Copy lane l's dense LU factors into the lane-interleaved matrices, and
 * compose the solver's row swaps (piv[k] <-> k, k = 0..n-1 in turn) into one
 * gather permutation. */
static void copy_factors(nk_ensemble *e, int l) {
  lane *L = &e->lanes[l];
  const double *lu;
  const int *piv;
  const int n = e->n;
  nk_linsol_dense_factors(L->ls, &lu, &piv, &L->nfact);
  for (size_t k = 0; k < (size_t)n * n; ++k) e->lu[k * W + l] = lu[k];
  for (int i = 0; i < n; ++i) L->perm[i] = i;
  for (int k = 0; k < n; ++k) {
    const int p = piv[k], t = L->perm[k];
    L->perm[k] = L->perm[p];
    L->perm[p] = t;
  }
}

/* Forward and back substitution with the lane-interleaved LU factors a for
 * all lanes (b lane-interleaved, already row-swapped): the loops of
 * dense_solve, whose skip of a zero multiplier becomes a select. */
NK_MULTIVERSION static void substitute(int n, const double *a, double *b) {
#ifdef NK_HAVE_VECTORS
  /* (b - c*bj masked to +0 where bj == 0: exactly the skip) */
  for (int j = 0; j < n; ++j) { /* forward: unit lower triangular */
    const double *col = a + (size_t)j * n * W;
    for (int h = 0; h < W; h += NK_VW) {
      const nk_vd bj = nk_vload(b + (size_t)j * W + h);
      const nk_vm nz = bj != 0.0;
      for (int i = j + 1; i < n; ++i) {
        double *bi = b + (size_t)i * W + h;
        nk_vstore(bi, nk_vload(bi) - nk_vmask(nz, nk_vload(col + (size_t)i * W + h) * bj));
      }
    }
  }
  for (int j = n - 1; j >= 0; --j) { /* backward: upper triangular */
    const double *col = a + (size_t)j * n * W;
    for (int h = 0; h < W; h += NK_VW) {
      const nk_vd bj = nk_vload(b + (size_t)j * W + h) / nk_vload(col + (size_t)j * W + h);
      nk_vstore(b + (size_t)j * W + h, bj);
      const nk_vm nz = bj != 0.0;
      for (int i = 0; i < j; ++i) {
        double *bi = b + (size_t)i * W + h;
        nk_vstore(bi, nk_vload(bi) - nk_vmask(nz, nk_vload(col + (size_t)i * W + h) * bj));
      }
    }
  }
#else
  for (int j = 0; j < n; ++j) {
    const double *col = a + (size_t)j * n * W;
    for (int l = 0; l < W; ++l) {
      const double bj = b[(size_t)j * W + l];
      if (bj == 0.0) continue;
      for (int i = j + 1; i < n; ++i) b[(size_t)i * W + l] -= col[(size_t)i * W + l] * bj;
    }
  }
  for (int j = n - 1; j >= 0; --j) {
    const double *col = a + (size_t)j * n * W;
    for (int l = 0; l < W; ++l) {
      b[(size_t)j * W + l] /= col[(size_t)j * W + l];
      const double bj = b[(size_t)j * W + l];
      if (bj == 0.0) continue;
      for (int i = 0; i < j; ++i) b[(size_t)i * W + l] -= col[(size_t)i * W + l] * bj;
    }
  }
#endif
}

/* b <- (c I - J)^{-1} b for every lane waiting for a solve: the row swaps
 * per lane, then the substitutions for all lanes at once. */
static void serve_solve(nk_ensemble *e) {
  const int n = e->n;
  double *b = e->b;
  for (int l = 0; l < W; ++l) {
    lane *L = &e->lanes[l];
    if (L->waiting != NK_BDF_NEED_SOLVE) continue;
    if (*L->counter != L->nfact) copy_factors(e, l);
    const double *src = L->rq.b;
    const int *perm = L->perm;
    for (int i = 0; i < n; ++i) b[(size_t)i * W + l] = src[perm[i]];
  }
  substitute(n, e->lu, b);
  for (int l = 0; l < W; ++l) {
    lane *L = &e->lanes[l];
    if (L->waiting != NK_BDF_NEED_SOLVE) continue;
    double *dst = L->rq.b;
    for (int i = 0; i < n; ++i) dst[i] = b[(size_t)i * W + l];
    L->rq.status = NK_SUCCESS; /* as dense_solve */
    L->waiting = 0;
  }
}

/* ---- run ------------------------------------------------------------------ */

static int opts_valid(const nk_ensemble_opts *o) {
  if (!o || !isfinite(o->t0) || !isfinite(o->t_end) || o->t_end == o->t0) return 0;
  if (!o->t_eval || o->n_eval < 1 || !o->atol || o->max_steps <= 0) return 0;
  if (o->monitor && o->monitor_every <= 0) return 0;
  const double dir = o->t_end > o->t0 ? 1.0 : -1.0;
  for (long k = 0; k < o->n_eval; ++k)
    if (!((o->t_eval[k] - o->t_end) * dir <= 0.0)) return 0; /* as nk_integrator_run */
  return 1;
}

nk_status nk_ensemble_run_bdf(nk_ensemble *e, const nk_ensemble_opts *o,
                              long members, const double *P, const double *Y0,
                              double *y_out, int *status, long *stats_out) {
  if (!e || members < 0 || !opts_valid(o)) return NK_ERR_ARGUMENT;
  if (members == 0) return NK_SUCCESS;
  if (!Y0 || !y_out || !status || (e->m->n_p > 0 && !P)) return NK_ERR_ARGUMENT;
  e->o = o;
  e->members = members;
  e->next = 0;
  e->P = P;
  e->Y0 = Y0;
  e->y_out = y_out;
  e->status = status;
  e->stats = stats_out;
  if (stats_out) memset(stats_out, 0, (size_t)members * NK_ENSEMBLE_NSTATS * sizeof(long));
  e->dir = o->t_end > o->t0 ? 1.0 : -1.0;
  e->steps_to_monitor = o->monitor ? o->monitor_every : 0;
  e->stop = 0;
  for (int l = 0; l < W; ++l) {
    e->lanes[l].member = -1;
    if (lane_refill(e, l)) lane_run(e, l);
  }
  while (!e->stop) {
    int nrhs = 0, nsolve = 0;
    for (int l = 0; l < W; ++l) {
      nrhs += e->lanes[l].waiting == NK_BDF_NEED_RHS;
      nsolve += e->lanes[l].waiting == NK_BDF_NEED_SOLVE;
    }
    if (nrhs + nsolve == 0) break;
    if (nrhs >= nsolve)
      serve_rhs(e);
    else
      serve_solve(e);
    for (int l = 0; l < W && !e->stop; ++l)
      if (!e->lanes[l].waiting) lane_run(e, l);
  }
  if (!e->stop) return NK_SUCCESS;
  /* Interrupted: members in flight or never started are reported as such. */
  for (int l = 0; l < W; ++l)
    if (e->lanes[l].member >= 0) lane_finish(e, &e->lanes[l], NK_INTERRUPTED);
  for (long i = e->next; i < members; ++i) status[i] = NK_INTERRUPTED;
  return NK_INTERRUPTED;
}
