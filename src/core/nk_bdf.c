/* nk_bdf.c - variable-order (1-5), variable-step BDF in Nordsieck form.
 *
 * The algorithm is the one of VODE/CVODE: fixed-leading-coefficient BDF
 * (Jackson and Sacks-Davis 1980) on a Nordsieck history array (Byrne and
 * Hindmarsh 1975), a simplified Newton iteration with the iteration matrix
 * M = I - gamma*J reused across steps, local error control in the weighted
 * RMS norm, and order/step selection from error estimates at orders q-1, q
 * and q+1.  References to "CVODE" below mean the SUNDIALS CVODE user guide
 * and the mathematical description in Hindmarsh et al., ACM TOMS 31 (2005);
 * the constants are the published CVODE defaults.
 *
 * Notation: n states, q order, L = q + 1, h step, tn time of the last
 * accepted step, zn[j] = h^j y^(j)(tn) / j!.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_bdf_impl.h"
#include "nk_powi.h"
#include "nk_target.h"

/* ---- constants (CVODE defaults) ---------------------------------------- */

#define UROUND DBL_EPSILON
#define MAXCOR 3        /* Newton iterations per attempt */
#define MAXNEF 7        /* error-test failures per step */
#define MAXNCF 10       /* convergence failures per step */
#define MXNEF1 3        /* error failures before the order is forced to 1 */
#define SMALL_NEF 2     /* error failures after which eta <= ETAMXF */
#define MSBP 20         /* steps between matrix factorisations */
#define MSBJ 50         /* steps between Jacobian evaluations */
#define DGMAX 0.3       /* |gamma/gammap - 1| that forces a refactorisation */
#define DGMAX_J 0.2     /* ... below which a bad-J retry re-evaluates J */
#define CRDOWN 0.3      /* convergence rate damping */
#define RDIV 2.0        /* divergence ratio */
#define NLSCOEF 0.1     /* Newton tolerance, fraction of the error test */
#define NLSCOEF_Y 0.3   /* ... capped at this fraction of the tolerance in y */
#define THRESH 1.5      /* step ratio below which h is kept */
#define ETAMIN_FX 0.85  /* ... and above which (after a success) h is kept */
#define ETAMX1 10000.0  /* growth limit on the first step */
#define ETAMX2 10.0     /* growth limit on the following steps */
#define ETAMXF 0.2      /* growth limit after repeated error failures */
#define ETAMIN 0.1      /* smallest reduction after an error failure */
#define ETACF 0.25      /* reduction after a convergence failure */
#define ADDON 1e-6
#define BIAS1 6.0       /* safety factors on the error at q-1, q, q+1 */
#define BIAS2 6.0
#define BIAS3 10.0
#define LONG_WAIT 10

/* 1/k for k <= 7 (q + 2 at most), exact as the division is: no divide on
 * the per-step path. */
static const double INV[8] = {0.0, 1.0, 1.0 / 2, 1.0 / 3, 1.0 / 4, 1.0 / 5, 1.0 / 6, 1.0 / 7};

/* Previous-attempt flags that steer the Newton setup decision. */
enum { FIRST_CALL, PREV_CONV_FAIL, PREV_ERR_FAIL };
/* Why the Jacobian may be bad (input to the setup decision). */
enum { NO_FAILURES, FAIL_BAD_J, FAIL_OTHER };

/* ---- small vector helpers ----------------------------------------------- */

/* x^(1/L), L = 1..7: the step-size ratio (1 / err)^(1/(q+1)) and its
 * neighbours.  sqrt and cbrt (correctly or nearly correctly rounded, and
 * several times cheaper than pow) where L factors into 2s and 3s. */
static double bdf_root(double x, int L) {
  switch (L) {
  case 1: return x;
  case 2: return sqrt(x);
  case 3: return cbrt(x);
  case 4: return sqrt(sqrt(x));
  case 6: return sqrt(cbrt(x));
  default: return pow(x, INV[L]);
  }
}

static double bdf_wrms(int n, const double *v, const double *w) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) {
    const double t = v[i] * w[i];
    s += t * t;
  }
  return sqrt(s / n);
}

/* ewt_i = 1 / (rtol |y_i| + atol_i); returns 0 when a denominator vanishes. */
static int bdf_set_ewt(nk_bdf *s, const double *y) {
  const int n = s->n;
  const double rtol = s->rtol;
  const double *atol = s->atol;
  double dmin = DBL_MAX;
  for (int i = 0; i < n; ++i) {
    const double d = rtol * fabs(y[i]) + atol[i];
    dmin = d < dmin ? d : dmin;
    s->ewt[i] = 1.0 / d;
  }
  return dmin > 0.0;
}

/* ---- create / free / options ------------------------------------------- */

nk_status nk_bdf_create(int n, nk_bdf **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  if (n <= 0) return NK_ERR_ARGUMENT;
  const size_t nvec = NK_BDF_LMAX + 7; /* zn, ewt, acor, y, fpred, ftemp, tempv, atol */
  if ((size_t)n > ((size_t)-1) / (nvec * sizeof(double))) return NK_TOO_LARGE;
  nk_bdf *s = (nk_bdf *)calloc(1, sizeof(*s));
  if (!s) return NK_ERR_MEMORY;
  s->block = (double *)calloc(nvec * (size_t)n, sizeof(double));
  if (!s->block) {
    free(s);
    return NK_ERR_MEMORY;
  }
  double *p = s->block;
  for (int j = 0; j < NK_BDF_LMAX; ++j, p += n) s->zn[j] = p;
  s->ewt = p; p += n;
  s->acor = p; p += n;
  s->y = p; p += n;
  s->fpred = p; p += n;
  s->ftemp = p; p += n;
  s->tempv = p; p += n;
  s->atol = p;
  s->n = n;
  s->rtol = 1e-6;
  for (int i = 0; i < n; ++i) s->atol[i] = 1e-12;
  s->qmax_opt = NK_BDF_QMAX;
  s->qmax = NK_BDF_QMAX;
  /* x = BIAS2*dsm in [keep_lo, keep_hi] means x^(1/L) in [0.667, 1.176], so
   * eta_q = 1/(x^(1/L) + ADDON) lies in [0.8503, 1.4993], strictly inside
   * the keep band (ETAMIN_FX, THRESH) = (0.85, 1.5); the 1e-9 margins cover
   * pow's rounding. */
  for (int L = 0; L <= NK_BDF_LMAX; ++L) {
    s->keep_lo[L] = L < 2 ? 1.0 : pow(0.667, L) * (1.0 + 1e-9);
    s->keep_hi[L] = L < 2 ? 0.0 : pow(1.176, L) * (1.0 - 1e-9);
  }
  *out = s;
  return NK_SUCCESS;
}

void nk_bdf_free(nk_bdf **p) {
  if (!p || !*p) return;
  free((*p)->block);
  free(*p);
  *p = NULL;
}

nk_status nk_bdf_set_tolerances(nk_bdf *s, double rtol, const double *atol) {
  if (!s || !atol || !(rtol > 0.0) || !isfinite(rtol)) return NK_ERR_ARGUMENT;
  for (int i = 0; i < s->n; ++i)
    if (!(atol[i] >= 0.0) || !isfinite(atol[i])) return NK_ERR_ARGUMENT;
  s->rtol = rtol;
  memcpy(s->atol, atol, (size_t)s->n * sizeof(double));
  /* Mid-integration change: the weights follow at once. */
  if (s->initialised) s->ewt_bad = !bdf_set_ewt(s, s->zn[0]);
  return NK_SUCCESS;
}

nk_status nk_bdf_get_tolerances(const nk_bdf *s, double *rtol, double *atol) {
  if (!s) return NK_ERR_ARGUMENT;
  if (rtol) *rtol = s->rtol;
  if (atol) memcpy(atol, s->atol, (size_t)s->n * sizeof(double));
  return NK_SUCCESS;
}

/* Takes effect at the next nk_bdf_init (as the history depends on it). */
nk_status nk_bdf_set_max_order(nk_bdf *s, int q) {
  if (!s || q < 1 || q > NK_BDF_QMAX) return NK_ERR_ARGUMENT;
  s->qmax_opt = q;
  return NK_SUCCESS;
}

nk_status nk_bdf_get_max_order(const nk_bdf *s, int *q) {
  if (!s || !q) return NK_ERR_ARGUMENT;
  *q = s->qmax_opt;
  return NK_SUCCESS;
}

/* Takes effect at the next nk_bdf_init (sign ignored: the direction is
 * that of tstop). */
nk_status nk_bdf_set_h0(nk_bdf *s, double h0) {
  if (!s || !isfinite(h0)) return NK_ERR_ARGUMENT;
  s->h0_opt = fabs(h0);
  return NK_SUCCESS;
}

nk_status nk_bdf_get_h0(const nk_bdf *s, double *h0) {
  if (!s || !h0) return NK_ERR_ARGUMENT;
  *h0 = s->h0_opt;
  return NK_SUCCESS;
}

nk_status nk_bdf_set_hmax(nk_bdf *s, double hmax) {
  if (!s || !(hmax >= 0.0)) return NK_ERR_ARGUMENT;
  s->hmax = hmax;
  s->hmax_inv = (hmax > 0.0 && isfinite(hmax)) ? 1.0 / hmax : 0.0;
  return NK_SUCCESS;
}

nk_status nk_bdf_get_hmax(const nk_bdf *s, double *hmax) {
  if (!s || !hmax) return NK_ERR_ARGUMENT;
  *hmax = s->hmax;
  return NK_SUCCESS;
}

nk_status nk_bdf_set_nonnegative(nk_bdf *s, int on) {
  if (!s) return NK_ERR_ARGUMENT;
  s->nonneg = on != 0;
  return NK_SUCCESS;
}

nk_status nk_bdf_get_nonnegative(const nk_bdf *s, int *on) {
  if (!s || !on) return NK_ERR_ARGUMENT;
  *on = s->nonneg;
  return NK_SUCCESS;
}

nk_status nk_bdf_init(nk_bdf *s, const nk_ode *ode, nk_linsol *ls, double t0,
                      const double *y0, double tstop) {
  if (!s) return NK_ERR_ARGUMENT;
  s->initialised = 0;
  if (!ode || !ode->rhs || ode->n != s->n || !ls || !ls->ops ||
      !ls->ops->jac || !ls->ops->setup || !ls->ops->solve || ls->n != s->n ||
      !y0 || !isfinite(t0) || isnan(tstop))
    return NK_ERR_ARGUMENT;
  const int n = s->n;
  for (int i = 0; i < n; ++i)
    if (!isfinite(y0[i])) return NK_ERR_ARGUMENT;
  s->ode = ode;
  s->ls = ls;
  s->tstop = tstop;
  memcpy(s->zn[0], y0, (size_t)n * sizeof(double));
  if (!bdf_set_ewt(s, y0)) return NK_ERR_ARGUMENT; /* zero weight denominator */
  s->ewt_bad = 0;
  s->tn = t0;
  s->qmax = s->qmax_opt;
  s->q = s->qprime = s->qu = 1;
  s->qwait = 2;
  s->h = s->hscale = s->hprime = s->hu = 0.0;
  s->eta = 1.0;
  s->etamax = ETAMX1;
  for (int j = 0; j <= NK_BDF_LMAX; ++j) s->tau[j] = 0.0;
  for (int j = 0; j < 6; ++j) s->tq[j] = 0.0;
  s->gamma = s->gammap = 0.0;
  s->gamrat = 1.0;
  s->crate = 1.0;
  s->acnrm = 0.0;
  s->saved_tq5 = 0.0;
  s->nstlp = s->nstlj = 0;
  s->jcur = 0;
  memset(&s->st, 0, sizeof(s->st));
  s->st.order = 1;
  s->started = 0;
  s->fixed = 0;
  s->coef_q = 0;
  s->pc = 0;
  s->initialised = 1;
  return NK_SUCCESS;
}

nk_status nk_bdf_fix_step(nk_bdf *s, int q, double h, const double *derivs) {
  if (!s || !derivs || q < 1 || q > NK_BDF_QMAX || !(fabs(h) > 0.0) || !isfinite(h))
    return NK_ERR_ARGUMENT;
  if (!s->initialised || s->started) return NK_NOT_INITIALISED;
  if ((s->tstop - s->tn) * h <= 0.0) return NK_ERR_ARGUMENT;
  const int n = s->n;
  double f = 1.0; /* h^j / j! */
  for (int j = 0; j <= q; ++j) {
    if (j > 0) f *= h / j;
    for (int i = 0; i < n; ++i) s->zn[j][i] = f * derivs[(size_t)j * n + i];
  }
  if (!bdf_set_ewt(s, s->zn[0])) return NK_ERR_ARGUMENT;
  s->q = s->qprime = s->qu = s->qmax = q;
  s->qwait = LONG_WAIT;
  s->h = s->hscale = s->hprime = h;
  for (int j = 0; j <= NK_BDF_LMAX; ++j) s->tau[j] = h; /* constant-step past */
  s->eta = 1.0;
  s->etamax = 1.0;
  s->started = 1;
  s->fixed = 1;
  s->coef_q = 0;
  return NK_SUCCESS;
}

nk_status nk_bdf_set_tstop(nk_bdf *s, double tstop) {
  if (!s || isnan(tstop)) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  /* Once stepping, the direction is fixed; tstop must not lie behind tn. */
  if (s->started && (tstop - s->tn) * s->h < 0.0) return NK_ERR_ARGUMENT;
  s->tstop = tstop;
  return NK_SUCCESS;
}

/* ---- history-array operations ------------------------------------------ */

/* zn <- zn * P (add) or zn * P^{-1}, P the Pascal triangle: per element
 * z[j-1] +-= z[j] for k = 1..q, j = q..k.  Instantiated for each order (q a
 * constant after inlining), so the triangle is unrolled, each element's
 * column stays in registers, and the loop vectorises over the states. */
NK_INLINE void bdf_pascal_q(double *const *zn, int n, int q, int add) {
  for (int i = 0; i < n; ++i) {
    double z[NK_BDF_LMAX];
    for (int j = 0; j <= q; ++j) z[j] = zn[j][i];
    for (int k = 1; k <= q; ++k)
      for (int j = q; j >= k; --j) z[j - 1] = add ? z[j - 1] + z[j] : z[j - 1] - z[j];
    for (int j = 0; j < q; ++j) zn[j][i] = z[j];
  }
}

NK_INLINE void bdf_pascal(nk_bdf *s, int add) {
  double *const *zn = s->zn;
  const int n = s->n;
  switch (s->q) {
  case 1: bdf_pascal_q(zn, n, 1, add); break;
  case 2: bdf_pascal_q(zn, n, 2, add); break;
  case 3: bdf_pascal_q(zn, n, 3, add); break;
  case 4: bdf_pascal_q(zn, n, 4, add); break;
  default: bdf_pascal_q(zn, n, NK_BDF_QMAX, add); break;
  }
}

/* Predictor: zn <- zn * Pascal triangle, i.e. the Taylor shift of the
 * history polynomial to tn + h (CVODE's cvPredict). */
static void bdf_predict(nk_bdf *s) { bdf_pascal(s, 1); }

/* Inverse of bdf_predict after a failed attempt. */
static void bdf_restore(nk_bdf *s) { bdf_pascal(s, 0); }

/* zn[j] <- eta^j zn[j]: the history for step size h*eta. */
static void bdf_rescale(nk_bdf *s, double eta) {
  const int n = s->n, q = s->q;
  double f = eta;
  for (int j = 1; j <= q; ++j) {
    double *z = s->zn[j];
    for (int i = 0; i < n; ++i) z[i] *= f;
    f *= eta;
  }
  s->h = s->hscale * eta;
  s->hscale = s->h;
}

/* Order change q -> q + dq (dq = +-1) on the history array, keeping the
 * interpolation conditions at the previous points (Jackson and Sacks-Davis
 * 1980; CVODE's cvIncreaseBDF / cvDecreaseBDF).  The coefficients are those
 * of x^2 (x + xi_1) ... (x + xi_m), xi_j = (tn - t_{n-j}) / hscale. */
static void bdf_adjust_order(nk_bdf *s, int dq) {
  const int n = s->n, q = s->q;
  double c[NK_BDF_LMAX + 1] = {0.0};
  if (dq > 0) {
    /* New column zn[q+1] from the saved correction of the last step. */
    double a0 = -1.0, a1 = 1.0, prod = 1.0, xiold = 1.0, hsum = s->hscale;
    c[2] = 1.0;
    for (int j = 1; j < q; ++j) {
      hsum += s->tau[j + 1];
      const double xi = hsum / s->hscale;
      prod *= xi;
      a0 -= INV[j + 1];
      a1 += 1.0 / xi;
      for (int i = j + 2; i >= 2; --i) c[i] = c[i] * xiold + c[i - 1];
      xiold = xi;
    }
    const double A1 = (-a0 - a1) / prod;
    double *znL = s->zn[q + 1];
    const double *sav = s->zn[s->qmax];
    for (int i = 0; i < n; ++i) znL[i] = A1 * sav[i];
    for (int j = 2; j <= q; ++j) {
      double *z = s->zn[j];
      const double cj = c[j];
      for (int i = 0; i < n; ++i) z[i] += cj * znL[i];
    }
  } else {
    if (q <= 2) return; /* nothing to correct when going to order 1 */
    double hsum = 0.0;
    c[2] = 1.0;
    for (int j = 1; j <= q - 2; ++j) {
      hsum += s->tau[j];
      const double xi = hsum / s->hscale;
      for (int i = j + 2; i >= 2; --i) c[i] = c[i] * xi + c[i - 1];
    }
    const double *zq = s->zn[q];
    for (int j = 2; j < q; ++j) {
      double *z = s->zn[j];
      const double cj = c[j];
      for (int i = 0; i < n; ++i) z[i] -= cj * zq[i];
    }
  }
}

/* Corrector coefficients l[0..q] and error constants tq[1..5] of the
 * fixed-leading-coefficient BDF for the current step history (CVODE's
 * cvSetBDF / cvSetTqBDF; Jackson and Sacks-Davis 1980).  l is the
 * coefficient vector of Lambda(x) = prod (1 + x/xi_j), with xi_q replaced by
 * the fixed-coefficient xi*_q; tq[2] turns the correction into the local
 * error at order q, tq[1] and tq[3] give the errors at q-1 and q+1, tq[5]
 * relates consecutive corrections for the q+1 estimate. */
static void bdf_set_coeffs(nk_bdf *s) {
  const int q = s->q;
  const double h = s->h;
  /* l and tq are a function of (q, h, tau[1..q]) alone; once the step size
   * has been kept q + 1 steps they repeat, so the last ones are reused
   * when that input is unchanged (bit for bit: the same operations). */
  if (s->coef_q == q && s->coef_fixed == s->fixed && s->coef_h == h &&
      memcmp(s->coef_tau + 1, s->tau + 1, (size_t)q * sizeof(double)) == 0)
    return;
  s->coef_q = q;
  s->coef_fixed = s->fixed;
  s->coef_h = h;
  memcpy(s->coef_tau + 1, s->tau + 1, (size_t)q * sizeof(double));
  double *tq = s->tq;
  double a0 = -1.0, a0hat = -1.0, xi_inv = 1.0, xistar_inv = 1.0;
  double hsum = h;
  /* l(x) = prod (1 + x / xi_j), its coefficients l1..l5 kept in registers
   * (l0 = 1): each factor updates every coefficient from the top down; a
   * coefficient above the current degree gets 0 * xi_inv = +0 added, so
   * the unconditional update equals the degree-limited one bit for bit. */
#if NK_BDF_QMAX != 5
#error "bdf_set_coeffs keeps l1..l5: one register per order up to NK_BDF_QMAX"
#endif
  double l1 = 1.0, l2 = 0.0, l3 = 0.0, l4 = 0.0, l5 = 0.0;
  if (q > 1) {
    for (int j = 2; j < q; ++j) {
      hsum += s->tau[j - 1];
      xi_inv = h / hsum;
      a0 -= INV[j];
      l5 += l4 * xi_inv;
      l4 += l3 * xi_inv;
      l3 += l2 * xi_inv;
      l2 += l1 * xi_inv;
      l1 += xi_inv;
    }
    a0 -= INV[q];
    xistar_inv = -l1 - a0;
    hsum += s->tau[q - 1];
    xi_inv = h / hsum;
    a0hat = -l1 - xi_inv;
    l5 += l4 * xistar_inv;
    l4 += l3 * xistar_inv;
    l3 += l2 * xistar_inv;
    l2 += l1 * xistar_inv;
    l1 += xistar_inv;
  }
  double *l = s->l;
  l[0] = 1.0;
  l[1] = l1;
  l[2] = l2;
  l[3] = l3;
  l[4] = l4;
  l[5] = l5;
  const double A1 = 1.0 - a0hat + a0;
  const double A2 = 1.0 + q * A1;
  tq[2] = fabs(A1 / (a0 * A2));
  tq[5] = fabs(A2 * xistar_inv / (l[q] * xi_inv));
  if (q > 1) {
    const double C = xistar_inv / l[q];
    const double A3 = a0 + INV[q];
    const double A4 = a0hat + xi_inv;
    const double Cpinv = (1.0 - A4 + A3) / A3;
    tq[1] = fabs(C * Cpinv);
  } else {
    tq[1] = 1.0;
  }
  hsum += s->tau[q];
  xi_inv = h / hsum;
  const double A5 = a0 - INV[q + 1];
  const double A6 = a0hat - xi_inv;
  const double Cppinv = (1.0 - A6 + A5) / A2;
  tq[3] = fabs(Cppinv / (xi_inv * (q + 2) * A5));
  /* Newton convergence tolerance on the correction (weighted norm).  CVODE
   * uses NLSCOEF / tq[2]: the iteration error may be 10% of the error test
   * on acor, but in y that is 0.1/tq[2] = 0.2, 0.45, 0.73, 1.04, 1.37
   * tolerances at orders 1..5, i.e. at q >= 4 more than the local error
   * the step is allowed.  That iteration error is not harmless noise: it
   * enters every history column (zn[j] += l[j] acor), where zn[q] and the
   * q+1 estimate are themselves at the tolerance level, so the next
   * predictor, the error test and the order choice are corrupted -- the
   * cause of frequent spurious error-test failures and order changes at
   * high order, and of a global error that wanders widely with rtol
   * (POLLU at rtol 1e-8 lost ~0.8 digits against nearby tolerances).
   * Bounding the iteration error in y as well (<= NLSCOEF_Y tolerances)
   * costs a few more Newton iterations and saves more in steps. */
  tq[4] = NLSCOEF / tq[2];
  if (tq[4] > NLSCOEF_Y) tq[4] = NLSCOEF_Y;
  if (s->fixed) tq[4] = 1e-3; /* test mode: iterate well below the tolerance */
}

/* ---- initial step (CVODE's cvHin) -------------------------------------- */

/* Estimate |y''| in the weighted norm by a forward difference of f along
 * the Euler direction.  Returns the rhs code (or 1 for a non-finite value). */
static int bdf_ydd_norm(nk_bdf *s, double hg, const double *f0, double *nrm) {
  const int n = s->n;
  const double *y0 = s->zn[0];
  for (int i = 0; i < n; ++i) s->y[i] = y0[i] + hg * f0[i];
  int rc = s->ode->rhs(s->tn + hg, s->y, s->ftemp, s->ode->user);
  s->st.nfev++;
  if (rc != 0) return rc;
  double acc = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = (s->ftemp[i] - f0[i]) / hg * s->ewt[i];
    acc += d * d;
  }
  *nrm = sqrt(acc / n);
  return isfinite(*nrm) ? 0 : 1;
}

/* First step size: h0 ~ sqrt(2 / ||y''||), iterated a few times and bounded
 * by 100 roundoffs of t below and by the time scale of y'/y above. */
static nk_status bdf_hin(nk_bdf *s, const double *f0, double dir, double *hout) {
  const int n = s->n;
  const double tn = s->tn;
  double tdist = fabs(s->tstop - tn);
  if (!isfinite(tdist)) tdist = 1e6 * fmax(1.0, fabs(tn));
  const double tround = UROUND * fmax(fabs(tn), fabs(tn) + tdist);
  if (tdist < 2.0 * tround) return NK_STEP_TOO_SMALL;
  const double hlb = 100.0 * tround;
  /* Upper bound: 1/hub = max |f0_i| / (0.1 |y0_i| + atol_i). */
  double hub_inv = 0.0;
  for (int i = 0; i < n; ++i) {
    const double r = fabs(f0[i]) / (0.1 * fabs(s->zn[0][i]) + s->atol[i]);
    hub_inv = r > hub_inv ? r : hub_inv;
  }
  double hub = 0.1 * tdist;
  if (hub * hub_inv > 1.0) hub = 1.0 / hub_inv;
  if (s->hmax > 0.0 && hub > s->hmax) hub = s->hmax;
  double hg = sqrt(hlb * hub);
  if (hub < hlb) {
    *hout = dir * hg;
    return NK_SUCCESS;
  }
  double hnew = hg, hs = hg, ydd = 0.0;
  int hnew_ok = 0;
  for (int it = 1; it <= 4; ++it) {
    int ok = 0;
    for (int k = 1; k <= 4; ++k) {
      const int rc = bdf_ydd_norm(s, dir * hg, f0, &ydd);
      if (rc < 0) return NK_RHS_FAIL;
      if (rc == 0) {
        ok = 1;
        break;
      }
      s->st.nrhsfail++;
      hg *= 0.2; /* recoverable failure: try closer to t0 */
    }
    if (!ok) {
      if (it <= 2) return NK_RHS_FAIL;
      hnew = hs;
      break;
    }
    hs = hg;
    if (hnew_ok || it == 4) {
      hnew = hg;
      break;
    }
    hnew = (ydd * hub * hub > 2.0) ? sqrt(2.0 / ydd) : sqrt(hg * hub);
    const double hrat = hnew / hg;
    if (hrat > 0.5 && hrat < 2.0) hnew_ok = 1;
    if (it > 1 && hrat > 2.0) {
      hnew = hg;
      hnew_ok = 1;
    }
    hg = hnew;
  }
  double h0 = 0.5 * hnew;
  if (h0 < hlb) h0 = hlb;
  if (h0 > hub) h0 = hub;
  *hout = dir * h0;
  return NK_SUCCESS;
}

/* ---- Newton iteration --------------------------------------------------- */

/* The step runs as a resumable state machine (nk_bdf_advance): it stops
 * where it needs f(t, y) or a linear solve and continues when the caller
 * has done it, so an ensemble engine can evaluate those for many members
 * at once.  Its locals live in the struct (pc, tnew, nflag, ...).  Resume
 * points: */
enum {
  PC_BEGIN = 0, /* start a new step */
  PC_ATTEMPT,   /* predict and start the Newton iteration for h */
  PC_RHS_PRED,  /* f at the predicted value has been evaluated */
  PC_SETUP,     /* Jacobian/factorisation decision, then iterate */
  PC_ITERATE,   /* form the Newton residual and ask for its solve */
  PC_SOLVED,    /* the increment has been solved for */
  PC_RHS_ITER   /* f at the new iterate has been evaluated */
};

/* Solve G(acor) = rl1*zn[1] + acor - gamma f(tn+h, zn[0]+acor) = 0 by a
 * simplified Newton iteration with M = I - gamma' J (gamma' from the last
 * factorisation).  The linear solver holds LU(c I - J), c = 1/gamma', so
 * M^{-1} r = solve(r / gamma'); when gamma != gamma' the increment is scaled
 * by 2/(1 + gamma/gamma') (CVODE's gamrat correction).  Convergence test on
 * the rate-damped increment against tq[4] (CVODE user guide, Sec. 2.1; see
 * bdf_set_coeffs for the cap on tq[4]).  The pieces below are the parts of
 * that iteration between two requests; each failure ends the attempt with
 * r = 1 (recoverable) or -1 (fatal) and the status to report in *why. */

/* Which of setup/Jacobian the attempt starts with (CVODE's cvNls). */
static void bdf_newton_start(nk_bdf *s) {
  s->call_setup = s->nflag != FIRST_CALL || s->st.nsteps == 0 ||
                  s->st.nsteps >= s->nstlp + MSBP ||
                  fabs(s->gamrat - 1.0) > DGMAX;
  s->convfail = s->nflag == PREV_CONV_FAIL ? FAIL_OTHER : NO_FAILURES;
}

/* Jacobian (when stale) and factorisation.  Returns 0, or the attempt's
 * outcome r (1 recoverable, -1 fatal) with *why. */
static int bdf_newton_setup(nk_bdf *s, nk_status *why) {
  const double dgamma = fabs(s->gamma / s->gammap - 1.0);
  const int jbad = s->st.nsteps == 0 || s->st.nsteps >= s->nstlj + MSBJ ||
                   (s->convfail == FAIL_BAD_J && dgamma < DGMAX_J) ||
                   s->convfail == FAIL_OTHER;
  nk_linsol *ls = s->ls;
  if (jbad) {
    nk_status js = ls->ops->jac(ls, s->ode, s->tnew, s->zn[0], s->fpred, s->ewt,
                                &s->st.nfev);
    s->st.njev++;
    s->nstlj = s->st.nsteps;
    s->jcur = 1;
    if (js != NK_SUCCESS) {
      *why = js;
      return (js == NK_JAC_FAIL || js == NK_NONFINITE) ? 1 : -1;
    }
  }
  nk_status ss = ls->ops->setup(ls, 1.0 / s->gamma);
  s->st.ndecomp++;
  s->gammap = s->gamma;
  s->gamrat = 1.0;
  s->crate = 1.0;
  s->nstlp = s->st.nsteps;
  if (ss != NK_SUCCESS) {
    *why = ss;
    return ss == NK_SINGULAR_MATRIX ? 1 : -1;
  }
  return 0;
}

/* Start iterating with the current matrix: acor = 0, f = f(predicted). */
static void bdf_newton_reset(nk_bdf *s) {
  s->scale = 1.0 / s->gammap;
  if (s->gamrat != 1.0) s->scale *= 2.0 / (1.0 + s->gamrat);
  s->delp = 0.0;
  s->fwhy = NK_CONV_FAILURE;
  s->f = s->fpred;
  s->m = 0;
}

/* Residual of iterate m into the increment vector d (solved in place):
 * d = (gamma f - rl1 zn[1] - acor) / gamma'; on the first iterate acor = 0
 * and d is acor itself. */
static double *bdf_newton_residual(nk_bdf *s) {
  const int n = s->n;
  const double gamma = s->gamma, rl1 = s->rl1, scale = s->scale;
  const double *f = s->f, *zn1 = s->zn[1], *acor = s->acor;
  double *d = s->m == 0 ? s->acor : s->tempv;
  if (s->m == 0) {
    for (int i = 0; i < n; ++i) d[i] = (gamma * f[i] - rl1 * zn1[i]) * scale;
  } else {
    for (int i = 0; i < n; ++i)
      d[i] = (gamma * f[i] - rl1 * zn1[i] - acor[i]) * scale;
  }
  return d;
}

/* Apply the solved increment.  Returns 0 converged, 1 to iterate again
 * (f at the new iterate needed), 2 when the iteration failed (s->fwhy). */
static int bdf_newton_update(nk_bdf *s, nk_status ls_st) {
  const int n = s->n, m = s->m;
  const double *zn0 = s->zn[0], *ewt = s->ewt;
  double *acor = s->acor, *y = s->y;
  const double *d = m == 0 ? s->acor : s->tempv;
  double acc = 0.0;
  if (m == 0) {
    for (int i = 0; i < n; ++i) {
      y[i] = zn0[i] + d[i];
      const double w = d[i] * ewt[i];
      acc += w * w;
    }
  } else {
    for (int i = 0; i < n; ++i) {
      const double a = acor[i] + d[i];
      acor[i] = a;
      y[i] = zn0[i] + a;
      const double w = d[i] * ewt[i];
      acc += w * w;
    }
  }
  const double del = ls_st == NK_SUCCESS ? sqrt(acc / n) : NAN;
  s->st.nsolve++;
  s->st.nnewton++;
  if (!isfinite(del)) {
    s->fwhy = NK_NONFINITE;
    return 2;
  }
  if (m > 0) {
    const double r = del / s->delp;
    s->crate = CRDOWN * s->crate > r ? CRDOWN * s->crate : r;
  }
  const double dcon = del * (s->crate < 1.0 ? s->crate : 1.0) / s->tq[4];
  if (dcon <= 1.0) {
    s->acnrm = m == 0 ? del : bdf_wrms(n, acor, ewt);
    s->jcur = 0;
    return 0;
  }
  if (m + 1 >= MAXCOR || (m >= 1 && del > RDIV * s->delp)) return 2;
  s->delp = del;
  return 1;
}

/* The iteration did not converge.  With a stale Jacobian, retry at once
 * with a fresh one before giving up on this step size (CVODE's Newton
 * solver does the same): returns 0 to go back to the setup.  Otherwise 1,
 * the attempt failed with *why. */
static int bdf_newton_failed(nk_bdf *s, nk_status *why) {
  s->st.nconvfail++;
  if (!s->jcur) {
    s->call_setup = 1;
    s->convfail = FAIL_BAD_J;
    return 0;
  }
  *why = s->fwhy;
  return 1;
}

/* ---- step --------------------------------------------------------------- */

/* zn[j] += l[j] * acor (l[0] = 1) and the new error weights, in one pass;
 * q constant after inlining.  Returns the smallest weight denominator. */
NK_INLINE double bdf_update_q(nk_bdf *s, int q, const double *l) {
  const int n = s->n;
  double *const *zn = s->zn;
  const double *acor = s->acor, *atol = s->atol;
  const double rtol = s->rtol;
  double *ewt = s->ewt;
  double dmin = DBL_MAX;
  for (int i = 0; i < n; ++i) {
    const double a = acor[i];
    const double y0 = zn[0][i] + a;
    zn[0][i] = y0;
    for (int j = 1; j <= q; ++j) zn[j][i] += l[j] * a;
    const double d = rtol * fabs(y0) + atol[i];
    dmin = d < dmin ? d : dmin;
    ewt[i] = 1.0 / d;
  }
  return dmin;
}

/* Accept the step: update the history with the correction (zn[j] +=
 * l[j]*acor), refresh the error weights in the same pass, then choose the
 * next order and step size from the error estimates at q-1, q and q+1
 * (CVODE's cvCompleteStep / cvPrepareNextStep / cvChooseEta). */
static void bdf_complete(nk_bdf *s, double tnew, double dsm) {
  const int n = s->n, q = s->q, qmax = s->qmax;
  double *const *zn = s->zn;
  const double *acor = s->acor;
  double *ewt = s->ewt;
  double l[NK_BDF_LMAX]; /* a local copy: cannot alias the history */
  for (int j = 0; j <= q; ++j) l[j] = s->l[j];

  s->st.nsteps++;
  s->hu = s->h;
  s->qu = q;
  s->tn = tnew;
  for (int i = q; i >= 2; --i) s->tau[i] = s->tau[i - 1];
  if (q == 1 && s->st.nsteps > 1) s->tau[2] = s->tau[1];
  s->tau[1] = s->h;

  double dmin;
  switch (q) { /* history update unrolled per order */
  case 1: dmin = bdf_update_q(s, 1, l); break;
  case 2: dmin = bdf_update_q(s, 2, l); break;
  case 3: dmin = bdf_update_q(s, 3, l); break;
  case 4: dmin = bdf_update_q(s, 4, l); break;
  default: dmin = bdf_update_q(s, NK_BDF_QMAX, l); break;
  }
  s->ewt_bad = !(dmin > 0.0);

  s->qwait--;
  if (s->qwait == 1 && q != qmax) {
    /* Keep this correction for the order q+1 estimate of the next step. */
    memcpy(zn[qmax], acor, (size_t)n * sizeof(double));
    s->saved_tq5 = s->tq[5];
  }

  /* Next step size and order. */
  s->qprime = q;
  if (s->fixed) { /* test mode: constant q and h */
    s->eta = 1.0;
    s->hprime = s->h;
    return;
  }
  if (s->etamax == 1.0) { /* a failure in this step: no increase now */
    if (s->qwait < 2) s->qwait = 2;
    s->eta = 1.0;
    s->hprime = s->h;
    return;
  }
  const int L = q + 1;
  /* h is kept while the proposed ratio lies in (ETAMIN_FX, THRESH).  CVODE's
   * default keeps it for any ratio below THRESH (eta_min_fx = 0), so after
   * a success h never shrinks: steps run at an estimate near the tolerance
   * until one fails.  Reducing h when the estimate asks for < 0.85 h (its
   * optional eta_min_fx) trades a few steps for fewer failures and a global
   * error that follows the tolerance more evenly. */
  /* Without an order decision, an estimate inside the keep band gives eta =
   * 1 whatever its exact value: skip the pow (see nk_bdf_create). */
  if (s->qwait != 0 && BIAS2 * dsm >= s->keep_lo[L] && BIAS2 * dsm <= s->keep_hi[L]) {
    s->eta = 1.0;
    s->hprime = s->h;
    return;
  }
  /* The order decision's candidates x^(1/Lx): q (always), q-1 and q+1
   * (where available; absent ones have eta 0 and never win). */
  const int decide = s->qwait == 0;
  int has_m1 = 0, has_p1 = 0;
  double xm1 = 0.0, xp1 = 0.0;
  if (decide) {
    s->qwait = 2;
    if (q > 1) {
      has_m1 = 1;
      xm1 = BIAS1 * (bdf_wrms(n, zn[q], ewt) * s->tq[1]);
    }
    if (q != qmax && s->saved_tq5 != 0.0) {
      const double cquot = (s->tq[5] / s->saved_tq5) * nk_powi(s->h / s->tau[2], L);
      const double *sav = zn[qmax];
      double acc = 0.0;
      for (int i = 0; i < n; ++i) {
        const double d = (acor[i] - cquot * sav[i]) * ewt[i];
        acc += d * d;
      }
      has_p1 = 1;
      xp1 = BIAS3 * (sqrt(acc / n) * s->tq[3]);
    }
    /* The winner (smallest root) lies in the keep band when no candidate
     * lies below the band and one lies inside it (the x-space bounds of
     * nk_bdf_create): then eta = 1 and the order stays, whatever the exact
     * roots, so none is taken.  Else the decision below, with all roots. */
    const double xq = BIAS2 * dsm;
    const int below = xq < s->keep_lo[L] || (has_m1 && xm1 < s->keep_lo[q]) ||
                      (has_p1 && xp1 < s->keep_lo[L + 1]);
    const int inside = xq <= s->keep_hi[L] || (has_m1 && xm1 <= s->keep_hi[q]) ||
                       (has_p1 && xp1 <= s->keep_hi[L + 1]);
    if (!below && inside) {
      s->eta = 1.0;
      s->hprime = s->h;
      return;
    }
  }
  const double etaq = 1.0 / (bdf_root(BIAS2 * dsm, L) + ADDON);
  double eta = etaq;
  if (decide) {
    const double etaqm1 = has_m1 ? 1.0 / (bdf_root(xm1, q) + ADDON) : 0.0;
    const double etaqp1 = has_p1 ? 1.0 / (bdf_root(xp1, L + 1) + ADDON) : 0.0;
    /* Largest step wins; ties go to keeping the order. */
    const double etam = fmax(etaqm1, fmax(etaq, etaqp1));
    if (etam < THRESH && etam > ETAMIN_FX) {
      eta = 1.0;
    } else if (etam == etaq) {
      eta = etaq;
    } else if (etam == etaqm1) {
      eta = etaqm1;
      s->qprime = q - 1;
    } else {
      eta = etaqp1;
      s->qprime = q + 1;
      /* zn[qmax] must hold the correction for the order increase. */
      memcpy(zn[qmax], acor, (size_t)n * sizeof(double));
    }
  }
  if (eta < THRESH && eta > ETAMIN_FX) {
    eta = 1.0;
    s->qprime = q; /* never change order without changing h */
  } else {
    if (eta > s->etamax) eta = s->etamax;
    const double r = fabs(s->h) * s->hmax_inv * eta;
    if (r > 1.0) eta /= r;
  }
  s->eta = eta;
  s->hprime = s->h * eta;
}

/* Map a persistent recoverable failure to the status reported. */
static nk_status bdf_fail_status(nk_status why) {
  switch (why) {
  case NK_RHS_FAIL:
  case NK_NONFINITE:
  case NK_SINGULAR_MATRIX:
  case NK_JAC_FAIL:
    return why;
  default:
    return NK_CONV_FAILURE;
  }
}

/* First call: evaluate f(t0, y0), choose h0, load zn[1] = h0 f0. */
static nk_status bdf_start(nk_bdf *s) {
  const int n = s->n;
  double *f0 = s->zn[1];
  int rc = s->ode->rhs(s->tn, s->zn[0], f0, s->ode->user);
  s->st.nfev++;
  if (rc != 0) return NK_RHS_FAIL;
  for (int i = 0; i < n; ++i)
    if (!isfinite(f0[i])) return NK_NONFINITE;
  const double dir = s->tstop >= s->tn ? 1.0 : -1.0;
  const double tdist = fabs(s->tstop - s->tn);
  double h;
  if (s->h0_opt > 0.0) {
    h = dir * s->h0_opt;
  } else {
    nk_status st = bdf_hin(s, f0, dir, &h);
    if (st != NK_SUCCESS) return st;
  }
  if (s->hmax_inv * fabs(h) > 1.0) h = dir * s->hmax;
  if (fabs(h) > tdist) h = dir * tdist;
  for (int i = 0; i < n; ++i) f0[i] *= h;
  s->h = s->hscale = s->hprime = h;
  s->eta = 1.0;
  s->started = 1;
  return NK_SUCCESS;
}

/* Checks and the step size/order chosen at the end of the last step.
 * Returns NK_SUCCESS to attempt the step, else the step's final status. */
static nk_status bdf_begin(nk_bdf *s) {
  if (!s->initialised) return NK_NOT_INITIALISED;
  if (s->ewt_bad) return NK_ERR_ARGUMENT;
  if (s->tn == s->tstop) return NK_TSTOP_REACHED;
  s->dir = s->started ? (s->h > 0.0 ? 1.0 : -1.0) : (s->tstop > s->tn ? 1.0 : -1.0);
  if (!s->started) {
    nk_status st = bdf_start(s);
    if (st != NK_SUCCESS) return st;
  } else {
    /* Apply the order and step chosen at the end of the last step. */
    if (s->qprime != s->q) {
      bdf_adjust_order(s, s->qprime - s->q);
      s->q = s->qprime;
      s->qwait = s->q + 1;
    }
    double hnew = s->hprime;
    if (s->hmax_inv * fabs(hnew) > 1.0) hnew = s->dir * s->hmax;
    if ((s->tn + hnew - s->tstop) * s->dir > 0.0) hnew = s->tstop - s->tn;
    if (hnew != s->h) bdf_rescale(s, hnew / s->h);
  }
  s->saved_t = s->tn;
  s->nflag = FIRST_CALL;
  s->ncf = s->nef = 0;
  s->last_why = NK_SUCCESS;
  return NK_SUCCESS;
}

/* Predict to tnew = tn + h and set the method coefficients.  Returns
 * NK_SUCCESS, or the final status when h has underflowed. */
static nk_status bdf_prepare_attempt(nk_bdf *s) {
  /* Step size underflow; report the cause if it was non-finite values. */
  if (!(fabs(s->h) >= 10.0 * UROUND * fabs(s->tn)) || s->h == 0.0)
    return s->last_why == NK_NONFINITE ? NK_NONFINITE : NK_STEP_TOO_SMALL;
  /* Land exactly on tstop when within roundoff of it. */
  const double tstop = s->tstop;
  s->tnew = s->saved_t + s->h;
  if (isfinite(tstop) && (tstop - s->tnew) * s->dir <= 16.0 * UROUND * fabs(tstop))
    s->tnew = tstop;
  bdf_predict(s);
  bdf_set_coeffs(s);
  s->rl1 = 1.0 / s->l[1];
  s->gamma = s->h * s->rl1;
  if (s->st.nsteps == 0) s->gammap = s->gamma;
  s->gamrat = s->st.nsteps > 0 ? s->gamma / s->gammap : 1.0;
  bdf_newton_start(s);
  return NK_SUCCESS;
}

/* A failed attempt is retried with h / 4 (CVODE's cvHandleNFlag); the
 * non-negativity rejection takes the same path.  Returns 0 to retry, else
 * 1 with the final status in *out. */
static int bdf_retry_smaller(nk_bdf *s, nk_status why, nk_status give_up, nk_status *out) {
  s->ncf++;
  s->last_why = why;
  s->etamax = 1.0;
  if (s->ncf >= MAXNCF) {
    *out = give_up;
    return 1;
  }
  s->nflag = PREV_CONV_FAIL;
  bdf_rescale(s, ETACF);
  return 0;
}

/* After the Newton iteration of an attempt (r = 0 converged, 1
 * recoverable failure, -1 fatal): constraint and error tests, then accept
 * or shrink.  Returns 1 when the step is over (status in *out), 0 to
 * attempt again. */
static int bdf_conclude(nk_bdf *s, int r, nk_status why, nk_status *out) {
  if (r != 0) {
    bdf_restore(s);
    if (r < 0 || s->fixed) { /* test mode: no retry */
      *out = r < 0 ? why : bdf_fail_status(why);
      return 1;
    }
    return bdf_retry_smaller(s, why, bdf_fail_status(why), out);
  }

  /* Inequality constraint y >= -atol: reject and retry with a smaller
   * step (CVODE's constraint recovery). */
  if (s->nonneg && !s->fixed) {
    for (int i = 0; i < s->n; ++i)
      if (s->y[i] < -s->atol[i]) {
        bdf_restore(s);
        return bdf_retry_smaller(s, NK_STEP_TOO_SMALL, NK_CONV_FAILURE, out);
      }
  }

  /* Local error test: ||acor|| * tq[2] <= 1 (CVODE's cvDoErrorTest). */
  const double dsm = s->acnrm * s->tq[2];
  if (dsm <= 1.0 || s->fixed) { /* no error test in the test mode */
    bdf_complete(s, s->tnew, dsm);
    s->etamax = s->fixed ? 1.0 : ETAMX2;
    s->st.order = s->qu;
    s->st.hlast = s->hu;
    *out = s->tn == s->tstop ? NK_TSTOP_REACHED : NK_SUCCESS;
    return 1;
  }
  s->st.nreject++;
  s->st.nerrfail++;
  s->nef++;
  s->nflag = PREV_ERR_FAIL;
  bdf_restore(s);
  if (s->nef >= MAXNEF) {
    *out = NK_ERR_FAILURE;
    return 1;
  }
  s->etamax = 1.0;
  const int L = s->q + 1;
  if (s->nef <= MXNEF1) {
    double eta = 1.0 / (bdf_root(BIAS2 * dsm, L) + ADDON);
    if (eta < ETAMIN) eta = ETAMIN;
    if (s->nef >= SMALL_NEF && eta > ETAMXF) eta = ETAMXF;
    bdf_rescale(s, eta);
    return 0;
  }
  /* Repeated failures: drop to order 1 and, there, restart the history
   * from f(tn, y) with a step reduced by ETAMIN.  (A rare path: the rhs is
   * called directly, not through a request.) */
  if (s->q > 1) {
    bdf_adjust_order(s, -1);
    s->q--;
    s->qwait = s->q + 1;
    bdf_rescale(s, ETAMIN);
    return 0;
  }
  int rc = s->ode->rhs(s->tn, s->zn[0], s->tempv, s->ode->user);
  s->st.nfev++;
  if (rc != 0) {
    *out = NK_RHS_FAIL;
    return 1;
  }
  double acc = 0.0;
  for (int i = 0; i < s->n; ++i) acc += s->tempv[i];
  if (!isfinite(acc)) {
    *out = NK_NONFINITE;
    return 1;
  }
  s->h *= ETAMIN;
  s->hscale = s->h;
  s->qwait = LONG_WAIT;
  for (int i = 0; i < s->n; ++i) s->zn[1][i] = s->h * s->tempv[i];
  return 0;
}

static nk_bdf_need bdf_finish(nk_bdf *s, nk_bdf_request *rq, nk_status st) {
  s->pc = PC_BEGIN;
  rq->status = st;
  return NK_BDF_STEP_DONE;
}

nk_bdf_need nk_bdf_advance(nk_bdf *s, nk_bdf_request *rq) {
  nk_status st = NK_SUCCESS, why = NK_SUCCESS;
  int r = 0;
  for (;;) {
    switch (s->pc) {
    case PC_BEGIN:
      st = bdf_begin(s);
      if (st != NK_SUCCESS) return bdf_finish(s, rq, st);
      /* fall through */
    case PC_ATTEMPT:
      st = bdf_prepare_attempt(s);
      if (st != NK_SUCCESS) return bdf_finish(s, rq, st);
      rq->t = s->tnew;
      rq->y = s->zn[0];
      rq->f = s->fpred;
      s->pc = PC_RHS_PRED;
      return NK_BDF_NEED_RHS;
    case PC_RHS_PRED:
      s->st.nfev++;
      if (rq->rc != 0) {
        if (rq->rc > 0) s->st.nrhsfail++;
        r = rq->rc < 0 ? -1 : 1;
        why = NK_RHS_FAIL;
        break;
      }
      /* fall through */
    case PC_SETUP:
      if (s->call_setup && (r = bdf_newton_setup(s, &why)) != 0) break;
      bdf_newton_reset(s);
      /* fall through */
    case PC_ITERATE:
      rq->b = bdf_newton_residual(s);
      s->pc = PC_SOLVED;
      return NK_BDF_NEED_SOLVE;
    case PC_SOLVED:
      r = bdf_newton_update(s, rq->status);
      if (r == 0) break;
      if (r == 1) {
        rq->t = s->tnew;
        rq->y = s->y;
        rq->f = s->ftemp;
        s->pc = PC_RHS_ITER;
        return NK_BDF_NEED_RHS;
      }
      r = bdf_newton_failed(s, &why);
      if (r != 0) break;
      s->pc = PC_SETUP;
      continue;
    case PC_RHS_ITER:
      s->st.nfev++;
      if (rq->rc < 0) {
        r = -1;
        why = NK_RHS_FAIL;
        break;
      }
      if (rq->rc > 0) {
        s->st.nrhsfail++;
        s->fwhy = NK_RHS_FAIL;
        r = bdf_newton_failed(s, &why);
        if (r != 0) break;
        s->pc = PC_SETUP;
        continue;
      }
      s->f = s->ftemp;
      s->m++;
      s->pc = PC_ITERATE;
      continue;
    default:
      return bdf_finish(s, rq, NK_ERR_ARGUMENT);
    }
    /* The attempt's Newton iteration is over: r, why. */
    if (bdf_conclude(s, r, why, &st)) return bdf_finish(s, rq, st);
    s->pc = PC_ATTEMPT;
  }
}

nk_status nk_bdf_step(nk_bdf *s, double *t_new) {
  if (!s) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  if (t_new) *t_new = s->tn;
  nk_bdf_request rq;
  memset(&rq, 0, sizeof(rq));
  for (;;) {
    const nk_bdf_need need = nk_bdf_advance(s, &rq);
    if (need == NK_BDF_NEED_RHS)
      rq.rc = s->ode->rhs(rq.t, rq.y, rq.f, s->ode->user);
    else if (need == NK_BDF_NEED_SOLVE)
      rq.status = s->ls->ops->solve(s->ls, rq.b);
    else
      break;
  }
  if (t_new) *t_new = s->tn;
  return rq.status;
}

/* ---- output ------------------------------------------------------------- */

/* y(t) = sum_j zn[j] s^j, s = (t - tn) / hscale (Horner). */
nk_status nk_bdf_dense(const nk_bdf *s, double t, double *y) {
  if (!s || !y || isnan(t)) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  const int n = s->n;
  if (!s->started || s->hscale == 0.0) {
    if (t != s->tn) return NK_ERR_ARGUMENT;
    memcpy(y, s->zn[0], (size_t)n * sizeof(double));
    return NK_SUCCESS;
  }
  const int q = s->q;
  const double x = (t - s->tn) / s->hscale;
  const double *zq = s->zn[q];
  for (int i = 0; i < n; ++i) y[i] = zq[i];
  for (int j = q - 1; j >= 0; --j) {
    const double *z = s->zn[j];
    for (int i = 0; i < n; ++i) y[i] = y[i] * x + z[i];
  }
  return NK_SUCCESS;
}

nk_status nk_bdf_get_state(const nk_bdf *s, double *t, double *y) {
  if (!s) return NK_ERR_ARGUMENT;
  if (!s->initialised) return NK_NOT_INITIALISED;
  if (t) *t = s->tn;
  if (y) memcpy(y, s->zn[0], (size_t)s->n * sizeof(double));
  return NK_SUCCESS;
}

nk_status nk_bdf_get_stats(const nk_bdf *s, nk_stats *stats) {
  if (!s || !stats) return NK_ERR_ARGUMENT;
  *stats = s->st;
  return NK_SUCCESS;
}
