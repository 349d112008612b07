/* test_ensemble.c - the lane engine against the scalar driver.
 *
 * Model (stiff for large k2): y0' = k2 y1^2 - k1 y0, y1' = -y0', written as
 * tapes by hand with its analytic Jacobian.  Members with random k1, k2
 * (over four decades each) and initial states run through
 * nk_ensemble_run_bdf and, one by one, through nk_integrator_run with the
 * same options: outputs and statuses must agree bit for bit.  Also: invalid
 * starts, a step budget that stops members, the monitor interrupting the
 * run, and argument errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_check.h"
#include "nk_ensemble.h"
#include "nk_integrator.h"
#include "nk_linsol.h"
#include "nk_model.h"

/* rhs: slots p0=k1, p1=k2, y0 (2), y1 (3), t (4); results from 5 */
static const int rhs_code[] = {
    NK_OP_MUL, 0, 2, 0, /* 5: k1 y0 */
    NK_OP_MUL, 3, 3, 0, /* 6: y1^2 */
    NK_OP_MUL, 1, 6, 0, /* 7: k2 y1^2 */
    NK_OP_SUB, 7, 5, 0, /* 8: y0' */
    NK_OP_NEG, 8, 0, 0, /* 9: y1' */
};
static const int rhs_out[] = {8, 9};
/* jac: const 2 (0), k1 (1), k2 (2), y0 (3), y1 (4), t (5); results from 6 */
static const double jac_consts[] = {2.0};
static const int jac_code[] = {
    NK_OP_NEG, 1, 0, 0, /* 6: -k1 */
    NK_OP_MUL, 2, 4, 0, /* 7: k2 y1 */
    NK_OP_MUL, 0, 7, 0, /* 8: 2 k2 y1 */
    NK_OP_NEG, 8, 0, 0, /* 9: -2 k2 y1 */
};
static const int jac_out[] = {6, 1, 8, 9}; /* CSC: (0,0) (1,0) (0,1) (1,1) */
static const int colptr[] = {0, 2, 4};
static const int rowind[] = {0, 1, 0, 1};

static nk_model the_model(void) {
  nk_model m;
  memset(&m, 0, sizeof m);
  m.n_y = 2;
  m.n_p = 2;
  nk_tape r = {0, NULL, 2, 2, 5, rhs_code, 2, rhs_out, 0, NULL};
  nk_tape j = {1, jac_consts, 2, 2, 4, jac_code, 4, jac_out, 0, NULL};
  m.rhs = r;
  m.jac = j;
  m.nnz = 4;
  m.colptr = colptr;
  m.rowind = rowind;
  return m;
}

#define NEVAL 7
static const double t_eval[NEVAL] = {0.0, 1e-3, 0.1, 0.5, 2.0, 7.0, 10.0};
static const double abs_tol[2] = {1e-10, 1e-10};

/* One member through the scalar driver; y (NEVAL x 2) NaN past the failure. */
static nk_status scalar_member(const nk_model *m, const double *p, const double *y0,
                               const nk_ensemble_opts *o, double *y, nk_stats *counts) {
  nk_integrator *it = NULL;
  nk_linsol *ls = NULL;
  double rw[16], jw[16], jv[4], t_out[NEVAL];
  nk_model_ctx ctx;
  nk_ode ode;
  memset(&ctx, 0, sizeof ctx);
  for (int k = 0; k < NEVAL * 2; ++k) y[k] = NAN;
  CHECK(nk_integrator_create(NK_METHOD_BDF, 2, &it) == NK_SUCCESS, "create");
  CHECK(nk_linsol_dense_create(2, &ls) == NK_SUCCESS, "dense");
  CHECK(nk_model_ctx_init(&ctx, m, p, rw, jw, jv) == NK_SUCCESS, "ctx");
  nk_model_ode(&ctx, &ode);
  nk_integrator_set_tolerances(it, o->rtol, o->atol);
  nk_integrator_set_max_steps(it, o->max_steps);
  nk_integrator_set_h0(it, o->h0);
  nk_integrator_set_hmax(it, o->hmax);
  nk_integrator_set_max_order(it, o->max_order);
  nk_integrator_set_nonnegative(it, o->nonnegative);
  nk_status st = nk_integrator_init(it, &ode, ls, o->t0, y0, o->t_end);
  long k_done = 0;
  const int inited = st == NK_SUCCESS;
  if (st == NK_SUCCESS) st = nk_integrator_run(it, o->t_eval, o->n_eval, t_out, y, 0, &k_done);
  for (long k = k_done; k < NEVAL; ++k) y[2 * k] = y[2 * k + 1] = NAN;
  memset(counts, 0, sizeof *counts);
  if (inited) nk_integrator_get_stats(it, counts);
  nk_integrator_free(&it);
  nk_linsol_free(&ls);
  return st;
}

static int same(double a, double b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void compare(const nk_model *m, nk_ensemble *e, const nk_ensemble_opts *o,
                    long members, const double *P, const double *Y0, const char *what) {
  double *y = (double *)malloc((size_t)members * NEVAL * 2 * sizeof(double));
  int *status = (int *)malloc((size_t)members * sizeof(int));
  long *counts = (long *)malloc((size_t)members * NK_ENSEMBLE_NSTATS * sizeof(long));
  for (long k = 0; k < members * NEVAL * 2; ++k) y[k] = NAN;
  CHECK(nk_ensemble_run_bdf(e, o, members, P, Y0, y, status, counts) == NK_SUCCESS,
        "%s: run", what);
  long bad = 0, failed = 0, bad_counts = 0;
  for (long i = 0; i < members; ++i) {
    double ref[NEVAL * 2];
    nk_stats c;
    nk_status rs = scalar_member(m, P + 2 * i, Y0 + 2 * i, o, ref, &c);
    int ok = rs == (nk_status)status[i];
    for (int k = 0; k < NEVAL * 2; ++k) ok &= same(ref[k], y[i * NEVAL * 2 + k]);
    bad += !ok;
    const long *row = counts + i * NK_ENSEMBLE_NSTATS;
    bad_counts += row[0] != c.nsteps || row[1] != c.nfev || row[2] != c.njev ||
                  row[3] != c.ndecomp || row[4] != c.nreject || row[5] != c.nrhsfail;
    failed += status[i] != NK_SUCCESS;
  }
  CHECK(bad == 0, "%s: %ld of %ld members differ from the scalar driver", what, bad, members);
  CHECK(bad_counts == 0, "%s: %ld of %ld members' counters differ from the scalar driver's",
        what, bad_counts, members);
  printf("%s: %ld members, %ld not successful, all bit-identical: %s\n", what, members,
         failed, bad ? "no" : "yes");
  free(y);
  free(status);
  free(counts);
}

static int stop_after = 0, monitor_calls = 0;
static int stopping_monitor(double t, void *user) {
  (void)t;
  (void)user;
  return ++monitor_calls >= stop_after;
}

int main(void) {
  nk_model m = the_model();
  CHECK(nk_model_check(&m) == NK_SUCCESS, "model");
  nk_ensemble *e = NULL;
  CHECK(nk_ensemble_create(&m, &e) == NK_SUCCESS && e, "create");

  enum { M = 3 * NK_LANES + 5 };
  double P[2 * M], Y0[2 * M];
  for (int i = 0; i < M; ++i) {
    P[2 * i] = pow(10.0, 4.0 * urand() - 2.0);
    P[2 * i + 1] = pow(10.0, 4.0 * urand());
    Y0[2 * i] = urand();
    Y0[2 * i + 1] = urand();
  }
  nk_ensemble_opts o;
  memset(&o, 0, sizeof o);
  o.t0 = 0.0;
  o.t_end = 10.0;
  o.t_eval = t_eval;
  o.n_eval = NEVAL;
  o.rtol = 1e-7;
  o.atol = abs_tol;
  o.max_steps = 500000;
  o.max_order = 5;
  compare(&m, e, &o, M, P, Y0, "default options");

  o.max_order = 2;
  o.hmax = 0.7;
  o.h0 = 1e-5;
  o.nonnegative = 1;
  compare(&m, e, &o, M, P, Y0, "max_order 2, hmax, h0, nonnegative");

  o.max_order = 5;
  o.hmax = o.h0 = 0.0;
  o.nonnegative = 0;
  o.max_steps = 250; /* the stiff members run out of steps */
  compare(&m, e, &o, M, P, Y0, "max_steps 250");

  /* invalid starts among valid ones: non-finite y0 */
  o.max_steps = 500000;
  double Yb[2 * M];
  memcpy(Yb, Y0, sizeof Yb);
  Yb[2 * 3] = NAN;
  Yb[2 * 10 + 1] = INFINITY;
  compare(&m, e, &o, M, P, Yb, "non-finite initial states");

  /* the monitor stops the run: unfinished members say so */
  {
    double y[2 * M * NEVAL];
    int status[M];
    o.monitor = stopping_monitor;
    o.monitor_every = 10;
    stop_after = 3;
    nk_status st = nk_ensemble_run_bdf(e, &o, M, P, Y0, y, status, NULL);
    CHECK(st == NK_INTERRUPTED, "interrupted: %d", st);
    int interrupted = 0;
    for (int i = 0; i < M; ++i) interrupted += status[i] == NK_INTERRUPTED;
    CHECK(interrupted >= M - NK_LANES, "%d members marked interrupted", interrupted);
    CHECK(status[M - 1] == NK_INTERRUPTED, "the last member never ran");
    o.monitor = NULL;
  }

  /* argument errors: nothing runs */
  {
    double y[2 * NEVAL];
    int status[1];
    nk_ensemble_opts bad = o;
    bad.t_end = 5.0; /* t_eval beyond t_end */
    CHECK(nk_ensemble_run_bdf(e, &bad, 1, P, Y0, y, status, NULL) == NK_ERR_ARGUMENT, "t_eval");
    bad = o;
    bad.n_eval = 0;
    CHECK(nk_ensemble_run_bdf(e, &bad, 1, P, Y0, y, status, NULL) == NK_ERR_ARGUMENT, "n_eval");
    CHECK(nk_ensemble_run_bdf(e, &o, 1, P, NULL, y, status, NULL) == NK_ERR_ARGUMENT, "Y0");
    CHECK(nk_ensemble_run_bdf(NULL, &o, 1, P, Y0, y, status, NULL) == NK_ERR_ARGUMENT, "NULL");
    CHECK(nk_ensemble_run_bdf(e, &o, 0, P, Y0, y, status, NULL) == NK_SUCCESS, "no members");
    nk_ensemble *e2 = e;
    CHECK(nk_ensemble_create(NULL, &e2) == NK_ERR_ARGUMENT && e2 == NULL, "create(NULL)");
  }
  nk_ensemble_free(&e);
  nk_ensemble_free(&e); /* idempotent */
  if (failures) {
    fprintf(stderr, "test_ensemble: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("test_ensemble: %d checks passed\n", checks);
  return 0;
}
