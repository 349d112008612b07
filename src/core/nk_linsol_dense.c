/* nk_linsol_dense.c - dense LU with partial pivoting, real and complex.
 *
 * Storage is column-major: A[i + j*n].  The Jacobian is kept apart from the
 * factors so that one J serves many factorisations (BDF gamma changes, Radau's
 * real and complex matrices).  Factorisation is the right-looking
 * Doolittle algorithm with row interchanges (Golub & Van Loan, Alg. 3.4.1).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_linsol.h"

typedef struct {
  int n;
  double *J;       /* n*n Jacobian */
  double *lu;      /* n*n real factors of c*I - J */
  int *piv;        /* n */
  long nfact;      /* real factorisations so far */
  double *lur;     /* n*n complex factors, real part */
  double *lui;     /* n*n complex factors, imaginary part */
  int *pivc;       /* n */
  double *work;    /* 2n, finite differences */
} nk_dense;

static nk_status dense_jac(nk_linsol *ls, const nk_ode *ode, double t,
                           const double *y, const double *fy, const double *ewt,
                           long *nfev) {
  nk_dense *d = (nk_dense *)ls->impl;
  if (ode->jac) {
    int rc = ode->jac(t, y, fy, d->J, ode->user);
    if (rc < 0) return NK_JAC_FAIL;
    if (rc > 0) return NK_JAC_FAIL; /* caller treats as recoverable */
    return NK_SUCCESS;
  }
  return nk_fd_jacobian(ode, t, y, fy, ewt, d->J, d->work, nfev);
}

/* Real LU of c*I - J in place; piv[k] is the row swapped into k. */
static nk_status dense_setup(nk_linsol *ls, double c) {
  nk_dense *d = (nk_dense *)ls->impl;
  const int n = d->n;
  double *a = d->lu;
  d->nfact++;
  for (int k = 0; k < n * n; ++k) a[k] = -d->J[k];
  for (int k = 0; k < n; ++k) a[k + k * n] += c;
  for (int k = 0; k < n; ++k) {
    double *colk = a + (size_t)k * n;
    int p = k;
    double amax = fabs(colk[k]);
    for (int i = k + 1; i < n; ++i) {
      double v = fabs(colk[i]);
      if (v > amax) { amax = v; p = i; }
    }
    d->piv[k] = p;
    if (amax == 0.0 || !isfinite(amax)) return NK_SINGULAR_MATRIX;
    if (p != k) {
      for (int j = 0; j < n; ++j) {
        double tmp = a[k + j * n];
        a[k + j * n] = a[p + j * n];
        a[p + j * n] = tmp;
      }
    }
    const double inv = 1.0 / colk[k];
    for (int i = k + 1; i < n; ++i) colk[i] *= inv;
    for (int j = k + 1; j < n; ++j) {
      double *colj = a + (size_t)j * n;
      const double akj = colj[k];
      if (akj == 0.0) continue;
      for (int i = k + 1; i < n; ++i) colj[i] -= colk[i] * akj;
    }
  }
  return NK_SUCCESS;
}

static nk_status dense_solve(nk_linsol *ls, double *b) {
  nk_dense *d = (nk_dense *)ls->impl;
  const int n = d->n;
  const double *a = d->lu;
  for (int k = 0; k < n; ++k) {
    int p = d->piv[k];
    if (p != k) { double t = b[k]; b[k] = b[p]; b[p] = t; }
  }
  /* forward: unit lower triangular, column oriented */
  for (int j = 0; j < n; ++j) {
    const double bj = b[j];
    if (bj == 0.0) continue;
    const double *col = a + (size_t)j * n;
    for (int i = j + 1; i < n; ++i) b[i] -= col[i] * bj;
  }
  /* backward: upper triangular */
  for (int j = n - 1; j >= 0; --j) {
    const double *col = a + (size_t)j * n;
    b[j] /= col[j];
    const double bj = b[j];
    if (bj == 0.0) continue;
    for (int i = 0; i < j; ++i) b[i] -= col[i] * bj;
  }
  return NK_SUCCESS;
}

/* Complex LU of (cr + i ci) I - J, real and imaginary parts stored apart. */
static nk_status dense_setup_complex(nk_linsol *ls, double cr, double ci) {
  nk_dense *d = (nk_dense *)ls->impl;
  const int n = d->n;
  double *ar = d->lur, *ai = d->lui;
  for (int k = 0; k < n * n; ++k) { ar[k] = -d->J[k]; ai[k] = 0.0; }
  for (int k = 0; k < n; ++k) { ar[k + k * n] += cr; ai[k + k * n] = ci; }
  for (int k = 0; k < n; ++k) {
    double *cr_k = ar + (size_t)k * n, *ci_k = ai + (size_t)k * n;
    int p = k;
    double amax = fabs(cr_k[k]) + fabs(ci_k[k]);
    for (int i = k + 1; i < n; ++i) {
      double v = fabs(cr_k[i]) + fabs(ci_k[i]);
      if (v > amax) { amax = v; p = i; }
    }
    d->pivc[k] = p;
    if (amax == 0.0 || !isfinite(amax)) return NK_SINGULAR_MATRIX;
    if (p != k) {
      for (int j = 0; j < n; ++j) {
        double tr = ar[k + j * n], ti = ai[k + j * n];
        ar[k + j * n] = ar[p + j * n]; ai[k + j * n] = ai[p + j * n];
        ar[p + j * n] = tr; ai[p + j * n] = ti;
      }
    }
    /* 1 / (pr + i pi) */
    const double pr = cr_k[k], pim = ci_k[k];
    const double den = pr * pr + pim * pim;
    const double ir = pr / den, ii = -pim / den;
    for (int i = k + 1; i < n; ++i) {
      double xr = cr_k[i], xi = ci_k[i];
      cr_k[i] = xr * ir - xi * ii;
      ci_k[i] = xr * ii + xi * ir;
    }
    for (int j = k + 1; j < n; ++j) {
      double *cr_j = ar + (size_t)j * n, *ci_j = ai + (size_t)j * n;
      const double sr = cr_j[k], si = ci_j[k];
      if (sr == 0.0 && si == 0.0) continue;
      for (int i = k + 1; i < n; ++i) {
        const double lr = cr_k[i], li = ci_k[i];
        cr_j[i] -= lr * sr - li * si;
        ci_j[i] -= lr * si + li * sr;
      }
    }
  }
  return NK_SUCCESS;
}

static nk_status dense_solve_complex(nk_linsol *ls, double *br, double *bi) {
  nk_dense *d = (nk_dense *)ls->impl;
  const int n = d->n;
  const double *ar = d->lur, *ai = d->lui;
  for (int k = 0; k < n; ++k) {
    int p = d->pivc[k];
    if (p != k) {
      double t = br[k]; br[k] = br[p]; br[p] = t;
      t = bi[k]; bi[k] = bi[p]; bi[p] = t;
    }
  }
  for (int j = 0; j < n; ++j) {
    const double xr = br[j], xi = bi[j];
    if (xr == 0.0 && xi == 0.0) continue;
    const double *cr = ar + (size_t)j * n, *ci = ai + (size_t)j * n;
    for (int i = j + 1; i < n; ++i) {
      br[i] -= cr[i] * xr - ci[i] * xi;
      bi[i] -= cr[i] * xi + ci[i] * xr;
    }
  }
  for (int j = n - 1; j >= 0; --j) {
    const double *cr = ar + (size_t)j * n, *ci = ai + (size_t)j * n;
    const double pr = cr[j], pim = ci[j];
    const double den = pr * pr + pim * pim;
    const double xr0 = br[j], xi0 = bi[j];
    const double xr = (xr0 * pr + xi0 * pim) / den;
    const double xi = (xi0 * pr - xr0 * pim) / den;
    br[j] = xr; bi[j] = xi;
    if (xr == 0.0 && xi == 0.0) continue;
    for (int i = 0; i < j; ++i) {
      br[i] -= cr[i] * xr - ci[i] * xi;
      bi[i] -= cr[i] * xi + ci[i] * xr;
    }
  }
  return NK_SUCCESS;
}

static void dense_destroy(nk_linsol *ls) {
  nk_dense *d = (nk_dense *)ls->impl;
  if (d) {
    free(d->J); free(d->lu); free(d->piv);
    free(d->lur); free(d->lui); free(d->pivc); free(d->work);
    free(d);
  }
  ls->impl = NULL;
}

static const nk_linsol_ops nk_dense_ops = {
    dense_jac, dense_setup, dense_solve, dense_setup_complex,
    dense_solve_complex, dense_destroy};

nk_status nk_linsol_dense_create(int n, nk_linsol **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  if (n <= 0) return NK_ERR_ARGUMENT;
  /* Refuse sizes whose n*n matrices cannot be addressed or allocated. */
  if ((size_t)n > (size_t)46340 || (double)n * n * 8.0 * 5 > 1.6e10) return NK_TOO_LARGE;
  nk_linsol *ls = (nk_linsol *)calloc(1, sizeof(*ls));
  nk_dense *d = (nk_dense *)calloc(1, sizeof(*d));
  if (!ls || !d) { free(ls); free(d); return NK_ERR_MEMORY; }
  const size_t nn = (size_t)n * n;
  d->n = n;
  d->J = (double *)calloc(nn, sizeof(double));
  d->lu = (double *)calloc(nn, sizeof(double));
  d->lur = (double *)calloc(nn, sizeof(double));
  d->lui = (double *)calloc(nn, sizeof(double));
  d->piv = (int *)calloc((size_t)n, sizeof(int));
  d->pivc = (int *)calloc((size_t)n, sizeof(int));
  d->work = (double *)calloc(2 * (size_t)n, sizeof(double));
  ls->ops = &nk_dense_ops;
  ls->n = n;
  ls->impl = d;
  if (!d->J || !d->lu || !d->lur || !d->lui || !d->piv || !d->pivc || !d->work) {
    nk_linsol_free(&ls);
    return NK_ERR_MEMORY;
  }
  *out = ls;
  return NK_SUCCESS;
}

nk_status nk_linsol_dense_factors(const nk_linsol *ls, const double **lu,
                                  const int **piv, long *count) {
  if (!ls || ls->ops != &nk_dense_ops) return NK_ERR_ARGUMENT;
  const nk_dense *d = (const nk_dense *)ls->impl;
  if (lu) *lu = d->lu;
  if (piv) *piv = d->piv;
  if (count) *count = d->nfact;
  return NK_SUCCESS;
}

const long *nk_linsol_dense_counter(const nk_linsol *ls) {
  if (!ls || ls->ops != &nk_dense_ops) return NULL;
  return &((const nk_dense *)ls->impl)->nfact;
}

void nk_linsol_free(nk_linsol **p) {
  if (!p || !*p) return;
  if ((*p)->ops && (*p)->ops->destroy) (*p)->ops->destroy(*p);
  free(*p);
  *p = NULL;
}

/* Forward differences, one column per perturbed state (CVODE's dense DQ
 * Jacobian increment rule). */
nk_status nk_fd_jacobian(const nk_ode *ode, double t, const double *y,
                         const double *fy, const double *ewt, double *J,
                         double *work, long *nfev) {
  const int n = ode->n;
  const double srur = sqrt(DBL_EPSILON);
  double *ytmp = work, *ftmp = work + n;
  memcpy(ytmp, y, (size_t)n * sizeof(double));
  for (int j = 0; j < n; ++j) {
    const double yj = y[j];
    double floor_inc = ewt ? srur / ewt[j] : srur;
    if (!(floor_inc > 0.0) || !isfinite(floor_inc)) floor_inc = srur;
    double inc = fmax(srur * fabs(yj), floor_inc);
    ytmp[j] = yj + inc;
    inc = ytmp[j] - yj; /* exactly representable increment */
    int rc = ode->rhs(t, ytmp, ftmp, ode->user);
    if (nfev) ++*nfev;
    ytmp[j] = yj;
    if (rc < 0) return NK_RHS_FAIL; /* the rhs asked to abort: not retried */
    if (rc != 0) return NK_JAC_FAIL;
    const double inv = 1.0 / inc;
    double *col = J + (size_t)j * n;
    for (int i = 0; i < n; ++i) col[i] = (ftmp[i] - fy[i]) * inv;
  }
  return NK_SUCCESS;
}
