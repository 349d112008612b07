/* nk_radau.c - Radau IIA, three stages, order 5, with step-size control and
 * dense output, following the algorithm of RADAU5 (Hairer & Wanner, Solving
 * Ordinary Differential Equations II, 2nd ed., Sec. IV.8; referred to as
 * "HW" below).
 *
 * Outline of one step from (t, y) with step h:
 *   - stage increments Z = (Y_i - y), i = 1..3, solve the collocation system
 *     Z = h (A x I) F(Z) (HW IV.8.2a) by simplified Newton in the
 *     transformed variables W = (T^{-1} x I) Z (HW IV.8.16-8.17): the
 *     3n x 3n system splits into one real n x n system with the matrix
 *     (gamma/h) I - J and one complex system with ((alpha + i beta)/h) I - J;
 *   - local error estimate with the embedded formula of HW IV.8.19-8.20;
 *   - step-size selection with Gustafsson's predictive controller
 *     (HW IV.8.25);
 *   - dense output from the collocation polynomial of the step (HW IV.8.10
 *     ff., RADAU5's CONTR5).
 *
 * Tolerances: RADAU5 transforms the user's tolerances before use,
 * rtol' = 0.1 rtol^(2/3) and atol' = rtol' atol / rtol, so that rtol yields
 * errors comparable to those of lower-order codes at the same rtol.  The
 * getters return what the user set.
 *
 * Counters (nk_stats): ndecomp counts every factorisation call, so one
 * real plus one complex factorisation count as 2.  nsolve counts one per
 * Newton iteration (the real and the complex solve together) plus one per
 * real solve of the error estimate.  nfev counts every rhs call including
 * the ones made by a finite-difference Jacobian.
 */
#include "nk_radau_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Method constants in one table.  c: collocation nodes; gamma, alpha +/- i
 * beta: eigenvalues of A^{-1} (A the Butcher matrix); T: eigenvector
 * matrix with T^{-1} A^{-1} T = [[gamma,0,0],[0,alpha,-beta],[0,beta,alpha]];
 * TI = T^{-1}; e: error estimate weights (HW IV.8.19, scaled by 1/h at use). */
typedef struct nk_radau_tab {
  double c1, c2, c1m1, c2m1, c1mc2;
  double gamma, alpha, beta;
  double e1, e2, e3;
  double T11, T12, T13, T21, T22, T23, T31; /* T32 = 1, T33 = 0 */
  double TI11, TI12, TI13, TI21, TI22, TI23, TI31, TI32, TI33;
} nk_radau_tab;

static const nk_radau_tab RT = {
    0.15505102572168219018, 0.64494897427831780982, -0.84494897427831780982,
    -0.35505102572168219018, -0.48989794855663561964,
    3.6378342527444957322, 2.6810828736277521339, 3.0504301992474105694,
    -10.048809399827415562, 1.3821427331607488958, -1.0 / 3.0,
    9.1232394870892942792e-02, -0.14125529502095420843,
    -3.0029194105147424492e-02, 0.24171793270710701896,
    0.20412935229379993199, 0.38294211275726193779, 0.96604818261509293619,
    4.3255798900631553510, 0.33919925181580986954, 0.54177053993587487119,
    -4.1787185915519047273, -0.32768282076106238708, 0.47662355450055045196,
    -0.50287263494578687595, 2.5719269498556054292, -0.59603920482822492497};

/* Controller and Newton parameters (RADAU5 defaults). */
#define NK_R5_NIT 7          /* max Newton iterations per step */
#define NK_R5_SAFE 0.9       /* safety factor */
#define NK_R5_THET 0.001     /* reuse J when Newton contracts better */
#define NK_R5_QUOT1 1.0      /* keep h (and LU) when hnew/h in [1, 1.2] */
#define NK_R5_QUOT2 1.2
#define NK_R5_FACL 5.0       /* hnew/h >= 1/5 */
#define NK_R5_FACR 0.125     /* hnew/h <= 8 */
#define NK_R5_MXFAIL 20      /* consecutive Newton/rhs failures per step */
#define NK_R5_MXSING 5       /* consecutive singular factorisations */
#define NK_R5_MXEFAIL 40     /* consecutive error-test failures per step */

#define NK_R5_NARR 18 /* number of length-n work arrays */

static int nk_isfinite(double x) { return x - x == 0.0; }

nk_status nk_radau_create(int n, nk_radau **out) {
  nk_radau *s;
  double *m;
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  if (n <= 0) return NK_ERR_ARGUMENT;
  if ((size_t)n > ((size_t)-1) / (sizeof(double) * (NK_R5_NARR + 2)))
    return NK_TOO_LARGE;
  s = (nk_radau *)calloc(1, sizeof(*s));
  if (!s) return NK_ERR_MEMORY;
  s->mem = (double *)calloc((size_t)n * (NK_R5_NARR + 2), sizeof(double));
  if (!s->mem) {
    free(s);
    return NK_ERR_MEMORY;
  }
  m = s->mem;
  s->n = n;
  s->atol_user = m; m += n;
  s->atol = m; m += n;
  s->y = m; m += n;
  s->f0 = m; m += n;
  s->wt = m; m += n;
  s->z1 = m; m += n;
  s->z2 = m; m += n;
  s->z3 = m; m += n;
  s->w1 = m; m += n;
  s->w2 = m; m += n;
  s->w3 = m; m += n;
  s->d1 = m; m += n;
  s->d2 = m; m += n;
  s->d3 = m; m += n;
  s->ytmp = m; m += n;
  s->ewt2 = m; m += n;
  s->c1 = m; m += n;
  s->c2 = m; m += n;
  s->c3 = m;
  {
    int i; /* defaults: rtol = 1e-6, atol = 1e-12 */
    for (i = 0; i < n; i++) s->atol_user[i] = 1e-12;
  }
  nk_radau_set_tolerances(s, 1e-6, s->atol_user);
  *out = s;
  return NK_SUCCESS;
}

void nk_radau_free(nk_radau **p) {
  if (!p || !*p) return;
  free((*p)->mem);
  free(*p);
  *p = NULL;
}

nk_status nk_radau_set_tolerances(nk_radau *s, double rtol, const double *atol) {
  int i;
  double q;
  if (!s || !atol || !(rtol > 0.0) || !nk_isfinite(rtol)) return NK_ERR_ARGUMENT;
  for (i = 0; i < s->n; i++)
    if (!(atol[i] >= 0.0) || !nk_isfinite(atol[i])) return NK_ERR_ARGUMENT;
  s->rtol_user = rtol;
  /* RADAU5's transformation rtol' = 0.1 rtol^(2/3) (the local error estimate
   * is O(h^4) while the global error is O(h^5)), capped at 60 rtol: uncapped,
   * rtol' grows to 215 rtol at rtol = 1e-10 and the achieved accuracy falls
   * below the user's request (HIRES reached 8.9 digits at rtol 1e-10; with the
   * cap 9.4).  The cap changes nothing for rtol >= 2e-7.  rtol' is kept above
   * the roundoff level. */
  s->rtol = fmin(0.1 * pow(rtol, 2.0 / 3.0), 60.0 * rtol);
  if (s->rtol < 10.0 * DBL_EPSILON) s->rtol = 10.0 * DBL_EPSILON;
  q = s->rtol / rtol;
  for (i = 0; i < s->n; i++) {
    s->atol_user[i] = atol[i];
    s->atol[i] = q * atol[i];
  }
  /* Newton tolerance (RADAU5 default): max(10 uround / rtol', min(0.03, sqrt(rtol'))) */
  s->fnewt = fmax(10.0 * DBL_EPSILON / s->rtol, fmin(0.03, sqrt(s->rtol)));
  return NK_SUCCESS;
}

nk_status nk_radau_get_tolerances(const nk_radau *s, double *rtol, double *atol) {
  if (!s) return NK_ERR_ARGUMENT;
  if (rtol) *rtol = s->rtol_user;
  if (atol) memcpy(atol, s->atol_user, (size_t)s->n * sizeof(double));
  return NK_SUCCESS;
}

nk_status nk_radau_set_h0(nk_radau *s, double h0) {
  if (!s || !nk_isfinite(h0)) return NK_ERR_ARGUMENT;
  s->h0 = fabs(h0);
  return NK_SUCCESS;
}

nk_status nk_radau_get_h0(const nk_radau *s, double *h0) {
  if (!s || !h0) return NK_ERR_ARGUMENT;
  *h0 = s->h0;
  return NK_SUCCESS;
}

nk_status nk_radau_set_hmax(nk_radau *s, double hmax) {
  if (!s || !(hmax >= 0.0)) return NK_ERR_ARGUMENT;
  s->hmax = hmax; /* +inf is accepted and means unlimited */
  return NK_SUCCESS;
}

nk_status nk_radau_set_nonnegative(nk_radau *s, int on) {
  if (!s) return NK_ERR_ARGUMENT;
  s->nonneg = on != 0;
  return NK_SUCCESS;
}

nk_status nk_radau_get_nonnegative(const nk_radau *s, int *on) {
  if (!s || !on) return NK_ERR_ARGUMENT;
  *on = s->nonneg;
  return NK_SUCCESS;
}

nk_status nk_radau_get_hmax(const nk_radau *s, double *hmax) {
  if (!s || !hmax) return NK_ERR_ARGUMENT;
  *hmax = s->hmax;
  return NK_SUCCESS;
}

nk_status nk_radau_set_fixed_step(nk_radau *s, int on) {
  if (!s) return NK_ERR_ARGUMENT;
  s->fixed_step = on != 0;
  return NK_SUCCESS;
}

nk_status nk_radau_init(nk_radau *s, const nk_ode *ode, nk_linsol *ls, double t0,
                        const double *y0, double tstop) {
  const nk_linsol_ops *o;
  int i;
  if (!s || !ode || !ls || !y0 || !ode->rhs || ode->n != s->n || ls->n != s->n)
    return NK_ERR_ARGUMENT;
  o = ls->ops;
  if (!o || !o->jac || !o->setup || !o->solve || !o->setup_complex ||
      !o->solve_complex)
    return NK_ERR_ARGUMENT;
  if (!nk_isfinite(t0) || isnan(tstop)) return NK_ERR_ARGUMENT;
  for (i = 0; i < s->n; i++)
    if (!nk_isfinite(y0[i])) return NK_ERR_ARGUMENT;
  s->ode = ode;
  s->ls = ls;
  s->t = s->told = t0;
  s->tstop = tstop;
  s->dir = tstop >= t0 ? 1.0 : -1.0;
  memcpy(s->y, y0, (size_t)s->n * sizeof(double));
  memset(s->c1, 0, 3 * (size_t)s->n * sizeof(double));
  s->h = s->dir * s->h0;
  s->hold = 0.0;
  s->h_lu = 0.0;
  s->theta = NK_R5_THET;
  s->faccon = 1.0;
  s->hacc = 0.0;
  s->erracc = 1e-2;
  s->first = 1;
  s->reject = 0;
  s->f0_valid = 0;
  s->jac_fresh = 0;
  s->need_jac = 1;
  memset(&s->stats, 0, sizeof(s->stats));
  s->stats.order = 5;
  s->initialised = 1;
  return NK_SUCCESS;
}

nk_status nk_radau_set_tstop(nk_radau *s, double tstop) {
  if (!s || isnan(tstop)) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  /* The direction is fixed by init; a tstop behind t is rejected. */
  if ((tstop - s->t) * s->dir < 0.0) return NK_ERR_ARGUMENT;
  s->tstop = tstop;
  return NK_SUCCESS;
}

/* Weighted RMS norm of v with weights w. */
static double nk_wrms(int n, const double *v, const double *w) {
  double sum = 0.0;
  int i;
  for (i = 0; i < n; i++) {
    double x = v[i] * w[i];
    sum += x * x;
  }
  return sqrt(sum / n);
}

/* Inverse of a tolerance scale, finite even when the scale is 0. */
static double nk_inv_scale(double sc) { return sc > 1e-300 ? 1.0 / sc : 1e300; }

/* Evaluate f(t, y) into f0 at the start of a step.  Nothing depends on h
 * here, so any failure is final. */
static nk_status nk_radau_eval_f0(nk_radau *s) {
  const nk_ode *ode = s->ode;
  int i, rc = ode->rhs(s->t, s->y, s->f0, ode->user);
  double chk = 0.0;
  s->stats.nfev++;
  if (rc != 0) return NK_RHS_FAIL;
  for (i = 0; i < s->n; i++) chk += 0.0 * s->f0[i];
  if (chk != 0.0 || !nk_isfinite(chk)) return NK_NONFINITE;
  s->f0_valid = 1;
  return NK_SUCCESS;
}

/* Initial step size: the heuristic of Hairer, Norsett & Wanner I, Sec. II.4
 * (as in SciPy's select_initial_step) for a method of order 5, using the
 * internal tolerances.  Returns |h|, or -1 when the rhs asks to abort. */
static double nk_radau_initial_step(nk_radau *s) {
  const int n = s->n;
  const nk_ode *ode = s->ode;
  double span = fabs(s->tstop - s->t);
  double d0 = 0.0, d1 = 0.0, d2 = 0.0, h0, h1;
  int i, rc;
  for (i = 0; i < n; i++) {
    double w = s->wt[i];
    double a = s->y[i] * w, b = s->f0[i] * w;
    d0 += a * a;
    d1 += b * b;
  }
  d0 = sqrt(d0 / n);
  d1 = sqrt(d1 / n);
  h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  if (h0 > span) h0 = span;
  if (s->hmax > 0.0 && h0 > s->hmax) h0 = s->hmax;
  for (i = 0; i < n; i++) s->ytmp[i] = s->y[i] + s->dir * h0 * s->f0[i];
  rc = ode->rhs(s->t + s->dir * h0, s->ytmp, s->d1, ode->user);
  s->stats.nfev++;
  if (rc < 0) return -1.0; /* abort: the caller stops with NK_RHS_FAIL */
  if (rc != 0) {
    s->stats.nrhsfail++;
    return 0.1 * h0;
  }
  for (i = 0; i < n; i++) {
    double x = (s->d1[i] - s->f0[i]) * s->wt[i];
    d2 += x * x;
  }
  d2 = sqrt(d2 / n) / h0;
  if (!nk_isfinite(d2)) return 0.1 * h0;
  if (d1 <= 1e-15 && d2 <= 1e-15)
    h1 = fmax(1e-6, h0 * 1e-3);
  else
    h1 = pow(0.01 / fmax(d1, d2), 1.0 / 6.0);
  h1 = fmin(100.0 * h0, h1);
  if (h1 > span) h1 = span;
  return h1;
}

/* Why an attempt failed (selects the status if failures persist). */
enum { NK_R5_OK = 0, NK_R5_DIVERGE, NK_R5_RHS, NK_R5_NAN };

nk_status nk_radau_step(nk_radau *s, double *t_new) {
  const nk_radau_tab *r = &RT;
  const nk_ode *ode;
  nk_linsol *ls;
  const nk_linsol_ops *ops;
  int n, i, nfail = 0, nefail = 0, nsing = 0, why = NK_R5_OK;
  nk_status st;
  double *y, *wt;

  if (!s || !t_new) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  *t_new = s->t;
  if (s->t == s->tstop) return NK_TSTOP_REACHED;
  n = s->n;
  ode = s->ode;
  ls = s->ls;
  ops = ls->ops;
  y = s->y;
  wt = s->wt;

  if (!s->f0_valid) {
    st = nk_radau_eval_f0(s);
    if (st != NK_SUCCESS) return st;
  }
  /* Newton weights 1/scal with scal = atol' + rtol' |y| at the step start. */
  for (i = 0; i < n; i++) wt[i] = nk_inv_scale(s->atol[i] + s->rtol * fabs(y[i]));
  if (s->h == 0.0) {
    const double h0 = nk_radau_initial_step(s);
    if (h0 < 0.0) return NK_RHS_FAIL; /* the rhs asked to abort */
    s->h = s->dir * h0;
  }

  for (;;) {
    double h = s->h, tph, fac1, alphn, betan, dyno = 0.0, dynold = 1.0;
    double thqold = 1.0, hfac = 0.5, err;
    int last = 0, newt = 0, k;

    if (s->hmax > 0.0 && fabs(h) > s->hmax) h = s->dir * s->hmax;
    /* Never step past tstop: clip to land on it exactly (also when only a
     * few ulps would remain, which would make an unusable last step). */
    if ((h - (s->tstop - s->t)) * s->dir >=
        -16.0 * DBL_EPSILON * fmax(fabs(s->t), fabs(s->tstop))) {
      h = s->tstop - s->t;
      last = 1;
    }
    s->h = h;
    if (!(fabs(h) >= 10.0 * DBL_EPSILON * fabs(s->t)) || fabs(h) < DBL_MIN ||
        nfail > NK_R5_MXFAIL || nefail > NK_R5_MXEFAIL) {
      if (why == NK_R5_NAN) return NK_NONFINITE;
      if (why == NK_R5_RHS) return NK_RHS_FAIL;
      if (why == NK_R5_DIVERGE && nfail > NK_R5_MXFAIL) return NK_CONV_FAILURE;
      if (nefail > NK_R5_MXEFAIL) return NK_ERR_FAILURE;
      return NK_STEP_TOO_SMALL;
    }
    tph = last ? s->tstop : s->t + h;

    /* Jacobian at (t, y), only when the old one is no longer good enough. */
    if (s->need_jac && !s->jac_fresh) {
      long nfev = 0;
      st = ops->jac(ls, ode, s->t, y, s->f0, wt, &nfev);
      s->stats.nfev += nfev;
      if (st != NK_SUCCESS) return st < 0 ? st : NK_JAC_FAIL;
      s->stats.njev++;
      s->jac_fresh = 1;
      s->need_jac = 0;
      s->h_lu = 0.0;
    }

    fac1 = r->gamma / h;
    alphn = r->alpha / h;
    betan = r->beta / h;
    /* Factor (gamma/h) I - J and ((alpha + i beta)/h) I - J (HW IV.8.17). */
    if (h != s->h_lu) {
      s->h_lu = 0.0;
      st = ops->setup(ls, fac1);
      s->stats.ndecomp++;
      if (st == NK_SUCCESS) {
        st = ops->setup_complex(ls, alphn, betan);
        s->stats.ndecomp++;
      }
      if (st == NK_SINGULAR_MATRIX) {
        if (++nsing >= NK_R5_MXSING) return NK_SINGULAR_MATRIX;
        s->h = 0.5 * h;
        s->reject = 1;
        if (!s->jac_fresh) s->need_jac = 1;
        continue;
      }
      if (st != NK_SUCCESS) return st;
      s->h_lu = h;
    }

    /* Starting values: extrapolate the collocation polynomial of the last
     * step (HW IV.8.12 ff.), or zero on the first step. */
    {
      double *z1 = s->z1, *z2 = s->z2, *z3 = s->z3;
      double *w1 = s->w1, *w2 = s->w2, *w3 = s->w3;
      if (s->first) {
        memset(z1, 0, (size_t)n * sizeof(double));
        memset(z2, 0, (size_t)n * sizeof(double));
        memset(z3, 0, (size_t)n * sizeof(double));
        memset(w1, 0, (size_t)n * sizeof(double));
        memset(w2, 0, (size_t)n * sizeof(double));
        memset(w3, 0, (size_t)n * sizeof(double));
      } else {
        const double q3 = h / s->hold, q1 = r->c1 * q3, q2 = r->c2 * q3;
        const double *a1 = s->c1, *a2 = s->c2, *a3 = s->c3;
        for (i = 0; i < n; i++) {
          double u1 = q1 * (a1[i] + (q1 - r->c2m1) * (a2[i] + (q1 - r->c1m1) * a3[i]));
          double u2 = q2 * (a1[i] + (q2 - r->c2m1) * (a2[i] + (q2 - r->c1m1) * a3[i]));
          double u3 = q3 * (a1[i] + (q3 - r->c2m1) * (a2[i] + (q3 - r->c1m1) * a3[i]));
          z1[i] = u1;
          z2[i] = u2;
          z3[i] = u3;
          w1[i] = r->TI11 * u1 + r->TI12 * u2 + r->TI13 * u3;
          w2[i] = r->TI21 * u1 + r->TI22 * u2 + r->TI23 * u3;
          w3[i] = r->TI31 * u1 + r->TI32 * u2 + r->TI33 * u3;
        }
      }
    }

    /* Simplified Newton iteration (HW IV.8.17-8.18). */
    s->faccon = pow(fmax(s->faccon, DBL_EPSILON), 0.8);
    s->theta = NK_R5_THET;
    why = NK_R5_OK;
    for (;;) {
      double *d1 = s->d1, *d2 = s->d2, *d3 = s->d3, *ytmp = s->ytmp;
      double sum = 0.0;
      int rc = 0;
      if (newt >= NK_R5_NIT) {
        why = NK_R5_DIVERGE;
        hfac = 0.5;
        break;
      }
      /* Stage right-hand sides F(y + Z_k). */
      for (k = 0; k < 3 && rc == 0; k++) {
        const double *zk = k == 0 ? s->z1 : (k == 1 ? s->z2 : s->z3);
        double *dk = k == 0 ? d1 : (k == 1 ? d2 : d3);
        double tk = k == 0 ? s->t + r->c1 * h : (k == 1 ? s->t + r->c2 * h : tph);
        for (i = 0; i < n; i++) ytmp[i] = y[i] + zk[i];
        rc = ode->rhs(tk, ytmp, dk, ode->user);
        s->stats.nfev++;
      }
      if (rc < 0) return NK_RHS_FAIL;
      if (rc > 0) {
        s->stats.nrhsfail++;
        why = NK_R5_RHS;
        hfac = 0.5;
        break;
      }
      /* Right-hand sides of the transformed systems: (TI x I) F - (Lambda/h) W. */
      for (i = 0; i < n; i++) {
        double a1 = d1[i], a2 = d2[i], a3 = d3[i];
        double w1 = s->w1[i], w2 = s->w2[i], w3 = s->w3[i];
        double b2 = r->TI21 * a1 + r->TI22 * a2 + r->TI23 * a3;
        double b3 = r->TI31 * a1 + r->TI32 * a2 + r->TI33 * a3;
        d1[i] = r->TI11 * a1 + r->TI12 * a2 + r->TI13 * a3 - fac1 * w1;
        d2[i] = b2 - alphn * w2 + betan * w3;
        d3[i] = b3 - alphn * w3 - betan * w2;
      }
      st = ops->solve(ls, d1);
      if (st == NK_SUCCESS) st = ops->solve_complex(ls, d2, d3);
      if (st != NK_SUCCESS) return st;
      s->stats.nsolve++;
      s->stats.nnewton++;
      newt++;
      for (i = 0; i < n; i++) {
        double e1 = d1[i] * wt[i], e2 = d2[i] * wt[i], e3 = d3[i] * wt[i];
        sum += e1 * e1 + e2 * e2 + e3 * e3;
      }
      dyno = sqrt(sum / (3.0 * n));
      if (!nk_isfinite(dyno)) { /* NaN/Inf in F or in the iterate */
        why = NK_R5_NAN;
        hfac = 0.5;
        break;
      }
      /* Convergence-rate monitoring (HW IV.8.21-8.23). */
      if (newt > 1 && newt < NK_R5_NIT) {
        double thq = dyno / dynold;
        s->theta = newt == 2 ? thq : sqrt(thq * thqold);
        thqold = thq;
        if (s->theta < 0.99) {
          double dyth;
          s->faccon = s->theta / (1.0 - s->theta);
          dyth = s->faccon * dyno * pow(s->theta, NK_R5_NIT - 1 - newt) / s->fnewt;
          if (dyth >= 1.0) { /* predicted not to converge in time */
            double qnewt = fmax(1e-4, fmin(20.0, dyth));
            hfac = 0.8 * pow(qnewt, -1.0 / (4.0 + NK_R5_NIT - 1 - newt));
            why = NK_R5_DIVERGE;
            break;
          }
        } else {
          why = NK_R5_DIVERGE;
          hfac = 0.5;
          break;
        }
      }
      dynold = fmax(dyno, DBL_EPSILON);
      /* W += dW; Z = (T x I) W. */
      for (i = 0; i < n; i++) {
        double w1 = s->w1[i] + d1[i], w2 = s->w2[i] + d2[i], w3 = s->w3[i] + d3[i];
        s->w1[i] = w1;
        s->w2[i] = w2;
        s->w3[i] = w3;
        s->z1[i] = r->T11 * w1 + r->T12 * w2 + r->T13 * w3;
        s->z2[i] = r->T21 * w1 + r->T22 * w2 + r->T23 * w3;
        s->z3[i] = r->T31 * w1 + w2;
      }
      if (s->faccon * dyno <= s->fnewt) break;
    }

    if (why != NK_R5_OK) {
      /* Failed iteration: shrink h, get a fresh J if the current one is old. */
      s->stats.nconvfail++;
      nfail++;
      s->h = hfac * h;
      s->reject = 1;
      if (!s->jac_fresh) s->need_jac = 1;
      continue;
    }

    /* Error estimate (HW IV.8.19-8.20): err = ((gamma/h) I - J)^{-1}
     * (f0 + (e1 Z1 + e2 Z2 + e3 Z3)/h), filtered through the real matrix so
     * that it stays bounded for stiff components. */
    {
      double *fe = s->d1, *ee = s->d2, *ew = s->ewt2;
      const double h1 = r->e1 / h, h2 = r->e2 / h, h3 = r->e3 / h;
      const double *z1 = s->z1, *z2 = s->z2, *z3 = s->z3;
      for (i = 0; i < n; i++) {
        double v = h1 * z1[i] + h2 * z2[i] + h3 * z3[i];
        double yi = fabs(y[i]), yn = fabs(y[i] + z3[i]);
        fe[i] = v;
        ee[i] = s->f0[i] + v;
        ew[i] = nk_inv_scale(s->atol[i] + s->rtol * (yi > yn ? yi : yn));
      }
      st = ops->solve(ls, ee);
      if (st != NK_SUCCESS) return st;
      s->stats.nsolve++;
      err = fmax(nk_wrms(n, ee, ew), 1e-10);
      /* On the first step and after a rejection, refine with
       * f(t, y + err) to remove the remaining stiff amplification (HW IV.8.20). */
      if (err >= 1.0 && (s->first || s->reject) && nk_isfinite(err) && !s->fixed_step) {
        int rc;
        for (i = 0; i < n; i++) s->ytmp[i] = y[i] + ee[i];
        rc = ode->rhs(s->t, s->ytmp, s->d3, ode->user);
        s->stats.nfev++;
        if (rc < 0) return NK_RHS_FAIL;
        if (rc > 0) {
          s->stats.nrhsfail++;
          why = NK_R5_RHS;
          nfail++;
          s->stats.nconvfail++;
          s->h = 0.5 * h;
          s->reject = 1;
          continue;
        }
        for (i = 0; i < n; i++) ee[i] = s->d3[i] + fe[i];
        st = ops->solve(ls, ee);
        if (st != NK_SUCCESS) return st;
        s->stats.nsolve++;
        err = fmax(nk_wrms(n, ee, ew), 1e-10);
      }
      if (!nk_isfinite(err)) {
        why = NK_R5_NAN;
        nfail++;
        s->stats.nconvfail++;
        s->h = 0.5 * h;
        s->reject = 1;
        if (!s->jac_fresh) s->need_jac = 1;
        continue;
      }
    }

    {
      /* Step-size proposal (HW IV.8.24) with a safety factor that decreases
       * with the number of Newton iterations. */
      const double cfac = NK_R5_SAFE * (1 + 2 * NK_R5_NIT);
      double fac = fmin(NK_R5_SAFE, cfac / (newt + 2 * NK_R5_NIT));
      double quot = fmax(NK_R5_FACR, fmin(NK_R5_FACL, pow(err, 0.25) / fac));
      double hnew = h / quot;

      if ((err < 1.0 || s->fixed_step) && s->nonneg && !s->fixed_step) {
        /* Inequality constraint y >= -atol: reject, halve h. */
        int bad = 0;
        for (i = 0; i < n; i++)
          if (y[i] + s->z3[i] < -s->atol_user[i]) { bad = 1; break; }
        if (bad) {
          nfail++;
          s->stats.nconvfail++;
          s->h = 0.5 * h;
          s->reject = 1;
          continue;
        }
      }
      if (err < 1.0 || s->fixed_step) {
        double *c1 = s->c1, *c2 = s->c2, *c3 = s->c3;
        const double *z1 = s->z1, *z2 = s->z2, *z3 = s->z3;
        /* f at the new point, needed by the next step (Jacobian, error
         * estimate).  Evaluated before committing, so that a recoverable
         * failure there rejects this step instead of ending the run.  On
         * the final step it is left to the next call, if any. */
        if (!last) {
          double *ynew = s->ytmp, *fnew = s->d1, chk = 0.0;
          int rc;
          for (i = 0; i < n; i++) ynew[i] = y[i] + z3[i];
          rc = ode->rhs(tph, ynew, fnew, ode->user);
          s->stats.nfev++;
          if (rc < 0) return NK_RHS_FAIL;
          for (i = 0; i < n; i++) chk += 0.0 * fnew[i];
          if (rc > 0 || chk != 0.0 || !nk_isfinite(chk)) {
            s->stats.nrhsfail++;
            why = rc > 0 ? NK_R5_RHS : NK_R5_NAN;
            nfail++;
            s->stats.nconvfail++;
            s->h = 0.5 * h;
            s->reject = 1;
            continue;
          }
          s->d1 = s->f0; /* swap: f0 <- f(t_new, y_new) */
          s->f0 = fnew;
        }
        if (s->fixed_step) {
          hnew = h;
        } else {
          /* Gustafsson's predictive controller (HW IV.8.25). */
          if (!s->first) {
            double fg = (s->hacc / h) * pow(err * err / s->erracc, 0.25) / NK_R5_SAFE;
            fg = fmax(NK_R5_FACR, fmin(NK_R5_FACL, fg));
            quot = fmax(quot, fg);
            hnew = h / quot;
          }
          s->hacc = h;
          s->erracc = fmax(1e-2, err);
        }
        /* Accept: y <- y + Z3, and store the divided differences of the
         * collocation polynomial through (0, y), (c_i h, y + Z_i) in the
         * variable s = (t - t_new)/h (RADAU5's CONT). */
        for (i = 0; i < n; i++) {
          double a1 = (z2[i] - z3[i]) / r->c2m1;
          double ak = (z1[i] - z2[i]) / r->c1mc2;
          double a3 = (ak - z1[i] / r->c1) / r->c2;
          double a2 = (ak - a1) / r->c1m1;
          c1[i] = a1;
          c2[i] = a2;
          c3[i] = a2 - a3;
          y[i] += z3[i];
        }
        /* With the non-negativity constraint, values in [-atol, 0) are
         * projected to 0 (a change within the tolerance): otherwise a
         * species left at -atol by the error of one step feeds negative
         * rates into others and, below -atol, every later step is rejected. */
        if (s->nonneg)
          for (i = 0; i < n; i++)
            if (y[i] < 0.0) y[i] = 0.0;
        s->told = s->t;
        s->t = tph;
        s->hold = h;
        s->first = 0;
        s->f0_valid = !last;
        s->jac_fresh = 0;
        s->need_jac = s->theta > NK_R5_THET;
        s->stats.nsteps++;
        s->stats.hlast = h;
        if (s->hmax > 0.0 && fabs(hnew) > s->hmax) hnew = s->dir * s->hmax;
        if (s->reject && fabs(hnew) > fabs(h)) hnew = h;
        s->reject = 0;
        /* Keep h (and the factorisations) when the change would be small
         * and the Newton iteration converged fast. */
        {
          double qt = hnew / h;
          if (s->theta <= NK_R5_THET && qt >= NK_R5_QUOT1 && qt <= NK_R5_QUOT2) hnew = h;
        }
        s->h = hnew;
        *t_new = s->t;
        return last ? NK_TSTOP_REACHED : NK_SUCCESS;
      }

      /* Rejected by the error test. */
      s->reject = 1;
      s->stats.nreject++;
      s->stats.nerrfail++;
      nefail++;
      why = NK_R5_OK;
      s->h = s->first ? 0.1 * h : hnew;
      if (!s->jac_fresh) s->need_jac = 1;
    }
  }
}

nk_status nk_radau_dense(const nk_radau *s, double t, double *y) {
  int i, n;
  double u;
  if (!s || !y) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  n = s->n;
  if (s->stats.nsteps == 0 || s->hold == 0.0) {
    memcpy(y, s->y, (size_t)n * sizeof(double));
    return NK_SUCCESS;
  }
  /* RADAU5's CONTR5: u = (t - t_n)/h_n in [-1, 0]. */
  u = (t - s->t) / s->hold;
  {
    const double a = u - RT.c2m1, b = u - RT.c1m1;
    const double *c1 = s->c1, *c2 = s->c2, *c3 = s->c3, *yc = s->y;
    for (i = 0; i < n; i++) y[i] = yc[i] + u * (c1[i] + a * (c2[i] + b * c3[i]));
  }
  return NK_SUCCESS;
}

nk_status nk_radau_get_state(const nk_radau *s, double *t, double *y) {
  if (!s) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  if (t) *t = s->t;
  if (y) memcpy(y, s->y, (size_t)s->n * sizeof(double));
  return NK_SUCCESS;
}

nk_status nk_radau_get_stats(const nk_radau *s, nk_stats *stats) {
  if (!s || !stats) return NK_ERR_ARGUMENT;
  *stats = s->stats;
  return NK_SUCCESS;
}
