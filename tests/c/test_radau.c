/* test_radau.c - unit tests of the Radau IIA (order 5) integrator.
 *
 * Analytic problems (decay, stiff linear 3x3), empirical convergence order
 * at fixed step, the stiff reference problems ROBER and HIRES against
 * stored reference solutions, and the failure paths (recoverable rhs
 * errors, NaN, tstop, backward integration).  Returns nonzero on failure.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nk_linsol.h"
#include "nk_radau.h"
#include "nk_radau_impl.h"
#include "nk_check.h"



/* ---------------------------------------------------------------- helpers */

typedef struct solver {
  nk_radau *r;
  nk_linsol *ls;
} solver;

static int solver_open(solver *sv, const nk_ode *ode, double t0, const double *y0,
                       double tend, double rtol, const double *atol) {
  sv->r = NULL;
  sv->ls = NULL;
  if (nk_radau_create(ode->n, &sv->r) != NK_SUCCESS) return -1;
  if (nk_linsol_dense_create(ode->n, &sv->ls) != NK_SUCCESS) return -1;
  if (nk_radau_set_tolerances(sv->r, rtol, atol) != NK_SUCCESS) return -1;
  if (nk_radau_init(sv->r, ode, sv->ls, t0, y0, tend) != NK_SUCCESS) return -1;
  return 0;
}

static void solver_close(solver *sv) {
  nk_radau_free(&sv->r);
  nk_linsol_free(&sv->ls);
}

/* Step until tstop; returns the final status (NK_TSTOP_REACHED on success). */
static nk_status run_to_end(nk_radau *r, long maxsteps) {
  double t;
  long k;
  for (k = 0; k < maxsteps; k++) {
    nk_status st = nk_radau_step(r, &t);
    if (st != NK_SUCCESS) return st;
  }
  return NK_TOO_MUCH_WORK;
}

static double digits_of(int n, const double *y, const double *ref) {
  double d = 1e300;
  int i;
  for (i = 0; i < n; i++) {
    double rel = fabs(y[i] - ref[i]) / fabs(ref[i]);
    double di = rel > 0 ? -log10(rel) : 16.0;
    if (di < d) d = di;
  }
  return d;
}

/* ------------------------------------------------------------- problems */

typedef struct decay_user {
  double k;
  long calls;
  long fail_at; /* return +1 once at this call number (0: never) */
  double nan_after; /* return NaN for t > nan_after */
} decay_user;

static int decay_rhs(double t, const double *y, double *f, void *u) {
  decay_user *d = (decay_user *)u;
  d->calls++;
  if (d->fail_at && d->calls == d->fail_at) return 1;
  if (t > d->nan_after) {
    f[0] = NAN;
    return 0;
  }
  f[0] = -d->k * y[0];
  return 0;
}

static int decay_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = -((decay_user *)u)->k;
  return 0;
}

static int abort_rhs(double t, const double *y, double *f, void *u) {
  f[0] = -y[0];
  return t > 0.3 ? -1 : 0;
}

/* y' = A y, A = V diag(lam) V^{-1} with V = [[1,1,0],[0,1,1],[1,0,1]]. */
typedef struct lin3 {
  double A[9]; /* column-major */
  double lam[3];
} lin3;

static const double V3[9] = {1, 0, 1, 1, 1, 0, 0, 1, 1}; /* column-major */
static const double VI3[9] = {0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5, -0.5, 0.5};

static void lin3_setup(lin3 *p, double l1, double l2, double l3) {
  int i, j, k;
  p->lam[0] = l1;
  p->lam[1] = l2;
  p->lam[2] = l3;
  for (i = 0; i < 3; i++)
    for (j = 0; j < 3; j++) {
      double s = 0;
      for (k = 0; k < 3; k++) s += V3[i + 3 * k] * p->lam[k] * VI3[k + 3 * j];
      p->A[i + 3 * j] = s;
    }
}

static void lin3_exact(const lin3 *p, double t, const double *y0, double *y) {
  double c[3];
  int i, k;
  for (k = 0; k < 3; k++)
    c[k] = (VI3[k] * y0[0] + VI3[k + 3] * y0[1] + VI3[k + 6] * y0[2]) * exp(p->lam[k] * t);
  for (i = 0; i < 3; i++) y[i] = V3[i] * c[0] + V3[i + 3] * c[1] + V3[i + 6] * c[2];
}

static int lin3_rhs(double t, const double *y, double *f, void *u) {
  const double *A = ((lin3 *)u)->A;
  int i;
  for (i = 0; i < 3; i++) f[i] = A[i] * y[0] + A[i + 3] * y[1] + A[i + 6] * y[2];
  return 0;
}

static int lin3_jac(double t, const double *y, const double *fy, double *J, void *u) {
  memcpy(J, ((lin3 *)u)->A, 9 * sizeof(double));
  return 0;
}

/* Nonstiff 2x2 damped rotation for the convergence test: y(t) known. */
static int rot_rhs(double t, const double *y, double *f, void *u) {
  f[0] = -0.5 * y[0] + 2.0 * y[1];
  f[1] = -2.0 * y[0] - 0.5 * y[1];
  return 0;
}
static int rot_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = -0.5;
  J[1] = -2.0;
  J[2] = 2.0;
  J[3] = -0.5;
  return 0;
}
static void rot_exact(double t, double *y) { /* y0 = (1, 0) */
  y[0] = exp(-0.5 * t) * cos(2.0 * t);
  y[1] = -exp(-0.5 * t) * sin(2.0 * t);
}

/* Robertson. */
static int rober_rhs(double t, const double *y, double *f, void *u) {
  const double k1 = 0.04, k2 = 3e7, k3 = 1e4;
  f[0] = -k1 * y[0] + k3 * y[1] * y[2];
  f[2] = k2 * y[1] * y[1];
  f[1] = -f[0] - f[2];
  return 0;
}
static int rober_jac(double t, const double *y, const double *fy, double *J, void *u) {
  const double k1 = 0.04, k2 = 3e7, k3 = 1e4;
  J[0] = -k1; J[1] = k1; J[2] = 0.0;
  J[3] = k3 * y[2]; J[4] = -2.0 * k2 * y[1] - k3 * y[2]; J[5] = 2.0 * k2 * y[1];
  J[6] = k3 * y[1]; J[7] = -k3 * y[1]; J[8] = 0.0;
  return 0;
}

/* HIRES (Schaefer 1975; Hairer & Wanner II), parameters from
 * ../shared/data/ivp/hires.json. */
static const double HK1 = 1.71, HK2 = 0.43, HK3 = 8.32, HK4 = 0.69, HK5 = 0.035,
                    HK6 = 8.32, HK7 = 280.0, HK8 = 0.69, HK9 = 0.69, HOKS = 0.0007;
static int hires_rhs(double t, const double *y, double *f, void *u) {
  double r = HK7 * y[5] * y[7];
  f[0] = HOKS - HK1 * y[0] + HK2 * y[1] + HK6 * y[2];
  f[1] = HK1 * y[0] - (HK2 + HK3) * y[1];
  f[2] = -(HK6 + HK1) * y[2] + HK2 * y[3] + HK5 * y[4];
  f[3] = HK3 * y[1] + HK1 * y[2] - (HK2 + HK4) * y[3];
  f[4] = -(HK5 + HK1) * y[4] + HK2 * y[5] + HK2 * y[6];
  f[5] = HK1 * y[4] - HK2 * y[5] - r + HK8 * y[3] + HK8 * y[6];
  f[6] = -(HK2 + HK8 + HK9) * y[6] + r;
  f[7] = (HK2 + HK8 + HK9) * y[6] - r;
  return 0;
}
static int hires_jac(double t, const double *y, const double *fy, double *J, void *u) {
#define JJ(i, j) J[(i) + 8 * (j)]
  memset(J, 0, 64 * sizeof(double));
  JJ(0, 0) = -HK1; JJ(0, 1) = HK2; JJ(0, 2) = HK6;
  JJ(1, 0) = HK1; JJ(1, 1) = -(HK2 + HK3);
  JJ(2, 2) = -(HK6 + HK1); JJ(2, 3) = HK2; JJ(2, 4) = HK5;
  JJ(3, 1) = HK3; JJ(3, 2) = HK1; JJ(3, 3) = -(HK2 + HK4);
  JJ(4, 4) = -(HK5 + HK1); JJ(4, 5) = HK2; JJ(4, 6) = HK2;
  JJ(5, 3) = HK8; JJ(5, 4) = HK1; JJ(5, 5) = -HK2 - HK7 * y[7]; JJ(5, 6) = HK8;
  JJ(5, 7) = -HK7 * y[5];
  JJ(6, 5) = HK7 * y[7]; JJ(6, 6) = -(HK2 + HK8 + HK9); JJ(6, 7) = HK7 * y[5];
  JJ(7, 5) = -HK7 * y[7]; JJ(7, 6) = HK2 + HK8 + HK9; JJ(7, 7) = -HK7 * y[5];
#undef JJ
  return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_lifecycle(void) {
  nk_radau *r = NULL;
  double rt, at[2] = {1e-9, 2e-9}, at2[2], h;
  nk_radau_free(NULL);
  nk_radau_free(&r);
  CHECK(r == NULL, "free(&NULL)");
  CHECK(nk_radau_create(0, &r) == NK_ERR_ARGUMENT, "n = 0 rejected");
  CHECK(nk_radau_create(2, &r) == NK_SUCCESS && r, "create");
  CHECK(nk_radau_set_tolerances(r, 1e-7, at) == NK_SUCCESS, "set tol");
  nk_radau_get_tolerances(r, &rt, at2);
  CHECK(rt == 1e-7 && at2[0] == 1e-9 && at2[1] == 2e-9, "get tol");
  CHECK(nk_radau_set_tolerances(r, -1.0, at) == NK_ERR_ARGUMENT, "bad rtol");
  nk_radau_set_h0(r, 1e-3);
  nk_radau_get_h0(r, &h);
  CHECK(h == 1e-3, "h0");
  nk_radau_set_hmax(r, 0.5);
  nk_radau_get_hmax(r, &h);
  CHECK(h == 0.5, "hmax");
  CHECK(nk_radau_step(r, &h) == NK_NOT_INITIALISED, "step before init");
  nk_radau_free(&r);
  CHECK(r == NULL, "free sets NULL");
}

/* y' = -k y at several tolerances, endpoint and dense output. */
static void test_decay(void) {
  const double rtols[4] = {1e-4, 1e-6, 1e-8, 1e-10};
  int it, use_fd;
  for (use_fd = 0; use_fd < 2; use_fd++)
    for (it = 0; it < 4; it++) {
      decay_user du = {2.0, 0, 0, 1e300};
      nk_ode ode = {1, decay_rhs, use_fd ? NULL : decay_jac, NULL, 0, NULL, NULL, &du};
      double y0 = 1.0, atol = 1e-12, rtol = rtols[it], t = 0, y, yd, maxe = 0, maxd = 0;
      solver sv;
      nk_status st = NK_SUCCESS;
      CHECK(solver_open(&sv, &ode, 0.0, &y0, 5.0, rtol, &atol) == 0, "open");
      while (st == NK_SUCCESS) {
        int j;
        st = nk_radau_step(sv.r, &t);
        if (st < 0) break;
        nk_radau_get_state(sv.r, NULL, &y);
        maxe = fmax(maxe, fabs(y - exp(-2.0 * t)) / (atol + rtol * exp(-2.0 * t)));
        for (j = 0; j <= 4; j++) { /* dense output across the last step */
          double tq = sv.r->told + 0.25 * j * (t - sv.r->told), ex = exp(-2.0 * tq);
          nk_radau_dense(sv.r, tq, &yd);
          maxd = fmax(maxd, fabs(yd - ex) / (atol + rtol * ex));
        }
      }
      CHECK(st == NK_TSTOP_REACHED && t == 5.0, "decay status %d t %g", st, t);
      CHECK(maxe < 5.0, "decay rtol %g fd %d: scaled error %g", rtol, use_fd, maxe);
      CHECK(maxd < 50.0, "decay rtol %g fd %d: dense scaled error %g", rtol, use_fd, maxd);
      solver_close(&sv);
    }
}

/* Stiff linear 3x3 (eigenvalues -1, -1e3, -1e6) against the exact solution. */
static void test_stiff_linear(void) {
  const double rtols[3] = {1e-5, 1e-7, 1e-9};
  int it;
  for (it = 0; it < 3; it++) {
    lin3 p;
    nk_ode ode = {3, lin3_rhs, lin3_jac, NULL, 0, NULL, NULL, &p};
    double y0[3] = {1.0, 2.0, -1.0}, atol[3], y[3], ye[3], t = 0, maxe = 0, rtol = rtols[it];
    solver sv;
    nk_status st = NK_SUCCESS;
    nk_stats stt;
    int i;
    lin3_setup(&p, -1.0, -1e3, -1e6);
    for (i = 0; i < 3; i++) atol[i] = rtol * 1e-3;
    CHECK(solver_open(&sv, &ode, 0.0, y0, 10.0, rtol, atol) == 0, "open");
    while (st == NK_SUCCESS) {
      st = nk_radau_step(sv.r, &t);
      if (st < 0) break;
      nk_radau_get_state(sv.r, NULL, y);
      lin3_exact(&p, t, y0, ye);
      for (i = 0; i < 3; i++) maxe = fmax(maxe, fabs(y[i] - ye[i]) / (atol[i] + rtol * fabs(ye[i])));
    }
    nk_radau_get_stats(sv.r, &stt);
    CHECK(st == NK_TSTOP_REACHED, "stiff linear status %d", st);
    /* RADAU5's tolerance transformation aims at global errors of the order
     * of rtol, not below it: allow a modest factor at tight tolerances. */
    CHECK(maxe < 20.0, "stiff linear rtol %g: scaled error %g", rtol, maxe);
    CHECK(stt.nsteps < 400, "stiff linear rtol %g: %ld steps", rtol, stt.nsteps);
    /* linear problem: Newton converges at once, so J is re-evaluated only
     * after failed steps */
    CHECK(stt.njev <= 1 + stt.nconvfail + stt.nreject, "stiff linear: njev %ld", stt.njev);
    printf("  stiff linear rtol %.0e: max scaled error %.2f, %ld steps, njev %ld, ndecomp %ld\n",
           rtol, maxe, stt.nsteps, stt.njev, stt.ndecomp);
    solver_close(&sv);
  }
}

/* Fixed step: halving h divides the endpoint error by ~2^5, the dense
 * output error by ~2^4 (stage order 3 + 1). */
static void test_convergence(void) {
  double e_end[4], e_dense[4];
  int k;
  for (k = 0; k < 4; k++) {
    double h = 0.2 / (1 << k), y0[2] = {1.0, 0.0}, atol[2] = {1e-14, 1e-14}, t = 0;
    double y[2], ye[2], md = 0;
    nk_ode ode = {2, rot_rhs, rot_jac, NULL, 0, NULL, NULL, NULL};
    solver sv;
    nk_status st = NK_SUCCESS;
    CHECK(solver_open(&sv, &ode, 0.0, y0, 2.0, 1e-12, atol) == 0, "open");
    nk_radau_set_h0(sv.r, h);
    nk_radau_set_fixed_step(sv.r, 1);
    nk_radau_init(sv.r, &ode, sv.ls, 0.0, y0, 2.0);
    while (st == NK_SUCCESS) {
      st = nk_radau_step(sv.r, &t);
      if (st < 0) break;
      {
        double tq = sv.r->told + 0.37 * (t - sv.r->told);
        nk_radau_dense(sv.r, tq, y);
        rot_exact(tq, ye);
        md = fmax(md, fmax(fabs(y[0] - ye[0]), fabs(y[1] - ye[1])));
      }
    }
    CHECK(st == NK_TSTOP_REACHED, "convergence status %d", st);
    nk_radau_get_state(sv.r, NULL, y);
    rot_exact(2.0, ye);
    e_end[k] = fmax(fabs(y[0] - ye[0]), fabs(y[1] - ye[1]));
    e_dense[k] = md;
    solver_close(&sv);
  }
  for (k = 1; k < 4; k++) {
    double p = log2(e_end[k - 1] / e_end[k]), q = log2(e_dense[k - 1] / e_dense[k]);
    printf("  convergence h=%.4g: endpoint err %.3e order %.2f; dense err %.3e order %.2f\n",
           0.2 / (1 << k), e_end[k], p, e_dense[k], q);
    CHECK(p > 4.6 && p < 5.6, "endpoint order %.2f", p);
    CHECK(q > 3.6, "dense order %.2f", q);
  }
}

typedef struct bench_row {
  double rtol, digits;
  nk_stats st;
} bench_row;

static double run_ref(const nk_ode *ode, const double *y0, double tend, double rtol,
                      double atol_factor, const double *ref, nk_stats *stt, double *cons) {
  double atol[8], y[8];
  int i, n = ode->n;
  solver sv;
  nk_status st;
  for (i = 0; i < n; i++) atol[i] = rtol * atol_factor;
  if (solver_open(&sv, ode, 0.0, y0, tend, rtol, atol) != 0) return -1;
  st = run_to_end(sv.r, 1000000);
  CHECK(st == NK_TSTOP_REACHED, "reference run status %d (%s)", st, nk_status_name(st));
  nk_radau_get_state(sv.r, NULL, y);
  nk_radau_get_stats(sv.r, stt);
  if (cons) {
    double s = 0;
    for (i = 0; i < n; i++) s += y[i];
    *cons = s;
  }
  solver_close(&sv);
  return digits_of(n, y, ref);
}

static void test_rober_hires(void) {
  const double rtols[3] = {1e-6, 1e-8, 1e-10};
  const double cvode_rober[3] = {3.7, 5.4, 6.7}, cvode_hires[3] = {4.9, 6.8, 8.3};
  const double rober_ref[3] = {2.083340149701255e-08, 8.333360770334713e-14, 0.999999979166505};
  const double hires_ref[8] = {0.0007371312573325668, 0.0001442485726316185,
                               5.888729740967575e-05, 0.001175651343283149,
                               0.002386356198831331,  0.006238968252742796,
                               0.002849998395185769,  0.002850001604814231};
  const double rober_y0[3] = {1.0, 0.0, 0.0};
  const double hires_y0[8] = {1, 0, 0, 0, 0, 0, 0, 0.0057};
  nk_ode rober = {3, rober_rhs, rober_jac, NULL, 0, NULL, NULL, NULL};
  nk_ode hires = {8, hires_rhs, hires_jac, NULL, 0, NULL, NULL, NULL};
  int k;
  printf("  problem rtol    digits  nfev   nsteps njev  ndecomp nreject nconvfail\n");
  for (k = 0; k < 3; k++) {
    nk_stats st;
    double cons = 0;
    double d = run_ref(&rober, rober_y0, 1e11, rtols[k], 1e-6, rober_ref, &st, &cons);
    printf("  ROBER   %.0e  %5.2f  %6ld %6ld %5ld %6ld %6ld %6ld\n", rtols[k], d, st.nfev,
           st.nsteps, st.njev, st.ndecomp, st.nreject, st.nconvfail);
    CHECK(d >= cvode_rober[k] - 0.3, "ROBER rtol %g: %.2f digits", rtols[k], d);
    CHECK(fabs(cons - 1.0) < 1e-12, "ROBER conservation %.3e", cons - 1.0);
    if (k == 2) CHECK(d >= 9.0, "ROBER rtol 1e-10: %.2f digits < 9", d);
  }
  for (k = 0; k < 3; k++) {
    nk_stats st;
    double d = run_ref(&hires, hires_y0, 321.8122, rtols[k], 1e-4, hires_ref, &st, NULL);
    printf("  HIRES   %.0e  %5.2f  %6ld %6ld %5ld %6ld %6ld %6ld\n", rtols[k], d, st.nfev,
           st.nsteps, st.njev, st.ndecomp, st.nreject, st.nconvfail);
    CHECK(d >= cvode_hires[k] - 0.3, "HIRES rtol %g: %.2f digits", rtols[k], d);
    if (k == 2) CHECK(d >= 9.0, "HIRES rtol 1e-10: %.2f digits < 9", d);
  }
}

static void test_backward(void) {
  decay_user du = {2.0, 0, 0, 1e300};
  nk_ode ode = {1, decay_rhs, decay_jac, NULL, 0, NULL, NULL, &du};
  double y0 = exp(-2.0), atol = 1e-12, t, y, yd, ex = 1.0;
  solver sv;
  nk_status st;
  CHECK(solver_open(&sv, &ode, 1.0, &y0, 0.0, 1e-8, &atol) == 0, "open");
  st = run_to_end(sv.r, 10000);
  nk_radau_get_state(sv.r, &t, &y);
  CHECK(st == NK_TSTOP_REACHED && t == 0.0, "backward status %d t %g", st, t);
  CHECK(fabs(y - ex) < 1e-7, "backward error %g", y - ex);
  nk_radau_dense(sv.r, 0.5 * sv.r->told, &yd);
  CHECK(fabs(yd - exp(-sv.r->told)) < 1e-6, "backward dense %g", yd - exp(-sv.r->told));
  solver_close(&sv);
}

/* Land exactly on tstop, then extend it and continue. */
static void test_tstop(void) {
  decay_user du = {1.0, 0, 0, 1e300};
  nk_ode ode = {1, decay_rhs, decay_jac, NULL, 0, NULL, NULL, &du};
  double y0 = 1.0, atol = 1e-12, t = 0, y;
  const double ts = 0.7312345678901;
  solver sv;
  nk_status st = NK_SUCCESS;
  long k = 0;
  CHECK(solver_open(&sv, &ode, 0.0, &y0, ts, 1e-6, &atol) == 0, "open");
  while (st == NK_SUCCESS && k++ < 10000) {
    st = nk_radau_step(sv.r, &t);
    CHECK(t <= ts, "stepped past tstop: %.17g", t);
  }
  CHECK(st == NK_TSTOP_REACHED && t == ts, "tstop status %d t %.17g", st, t);
  CHECK(nk_radau_step(sv.r, &t) == NK_TSTOP_REACHED && t == ts, "step at tstop");
  CHECK(nk_radau_set_tstop(sv.r, 3.0) == NK_SUCCESS, "extend tstop");
  st = run_to_end(sv.r, 10000);
  nk_radau_get_state(sv.r, &t, &y);
  CHECK(st == NK_TSTOP_REACHED && t == 3.0, "tstop 2 status %d t %g", st, t);
  CHECK(fabs(y - exp(-3.0)) < 1e-6, "tstop continue error %g", y - exp(-3.0));
  /* hmax is honoured */
  nk_radau_set_hmax(sv.r, 0.01);
  nk_radau_init(sv.r, &ode, sv.ls, 0.0, &y0, 1.0);
  st = run_to_end(sv.r, 100000);
  {
    nk_stats s2;
    nk_radau_get_stats(sv.r, &s2);
    CHECK(st == NK_TSTOP_REACHED && s2.nsteps >= 100, "hmax: %ld steps", s2.nsteps);
  }
  solver_close(&sv);
}

static void test_failures(void) {
  double atol = 1e-12, y0 = 1.0, t, y;
  nk_status st;
  solver sv;
  { /* one recoverable failure: the step is retried */
    decay_user du = {2.0, 0, 25, 1e300};
    nk_ode ode = {1, decay_rhs, decay_jac, NULL, 0, NULL, NULL, &du};
    nk_stats s2;
    CHECK(solver_open(&sv, &ode, 0.0, &y0, 3.0, 1e-8, &atol) == 0, "open");
    st = run_to_end(sv.r, 10000);
    nk_radau_get_state(sv.r, &t, &y);
    nk_radau_get_stats(sv.r, &s2);
    CHECK(st == NK_TSTOP_REACHED && fabs(y - exp(-6.0)) < 1e-9, "recoverable: %d err %g", st,
          y - exp(-6.0));
    CHECK(s2.nconvfail >= 1, "recoverable failure counted");
    CHECK(s2.nrhsfail == 1, "recoverable rhs failure: nrhsfail %ld", s2.nrhsfail);
    solver_close(&sv);
  }
  { /* NaN everywhere: an error status, quickly */
    decay_user du = {2.0, 0, 0, -1.0};
    nk_ode ode = {1, decay_rhs, decay_jac, NULL, 0, NULL, NULL, &du};
    CHECK(solver_open(&sv, &ode, 0.0, &y0, 3.0, 1e-8, &atol) == 0, "open");
    st = run_to_end(sv.r, 10000);
    CHECK(st == NK_NONFINITE || st == NK_STEP_TOO_SMALL, "NaN everywhere: %d", st);
    CHECK(du.calls < 1000, "NaN: %ld rhs calls", du.calls);
    solver_close(&sv);
  }
  { /* NaN after t = 0.5: fail there, state stays at the last accepted step */
    decay_user du = {2.0, 0, 0, 0.5};
    nk_ode ode = {1, decay_rhs, decay_jac, NULL, 0, NULL, NULL, &du};
    CHECK(solver_open(&sv, &ode, 0.0, &y0, 3.0, 1e-8, &atol) == 0, "open");
    st = run_to_end(sv.r, 10000);
    nk_radau_get_state(sv.r, &t, &y);
    CHECK(st == NK_NONFINITE || st == NK_STEP_TOO_SMALL, "NaN after 0.5: %d", st);
    CHECK(t <= 0.5 && t > 0.4 && fabs(y - exp(-2.0 * t)) < 1e-8, "kept state t %g", t);
    CHECK(du.calls < 5000, "NaN after: %ld rhs calls", du.calls);
    solver_close(&sv);
  }
  { /* abort */
    nk_ode ode = {1, abort_rhs, NULL, NULL, 0, NULL, NULL, NULL};
    CHECK(solver_open(&sv, &ode, 0.0, &y0, 3.0, 1e-6, &atol) == 0, "open");
    st = run_to_end(sv.r, 10000);
    nk_radau_get_state(sv.r, &t, &y);
    CHECK(st == NK_RHS_FAIL && t <= 0.3, "abort: %d at t %g", st, t);
    solver_close(&sv);
  }
}

int main(void) {
  test_lifecycle();
  test_decay();
  test_stiff_linear();
  test_convergence();
  test_rober_hires();
  test_backward();
  test_tstop();
  test_failures();
  printf("test_radau: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
