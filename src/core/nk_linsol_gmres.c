/* nk_linsol_gmres.c - restarted GMRES with an ILU(0) right preconditioner
 * for c*I - J, behind the nk_linsol ops (real only).
 *
 * setup(c): A = c*I - J in compressed sparse row form (J's pattern plus the
 * diagonal, columns sorted) and its ILU(0) factorisation on the same pattern
 * (Saad, Iterative Methods for Sparse Linear Systems, 2nd ed., Alg. 10.4).
 * solve(b): GMRES(m) on A M^{-1} u = b, x = M^{-1} u, x0 = 0, with modified
 * Gram-Schmidt Arnoldi and Givens rotations (Saad, Alg. 6.9 / 9.5); stops when
 * ||b - A x|| <= rtol ||b|| (checked on the true residual at each restart).
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_linsol_sparse.h"
#include "nk_ordering.h"

typedef struct {
  int n, nnz, nnza;
  int *jp, *ji;      /* pattern of J (copied) */
  double *jx;        /* J values */
  int *rp, *rc;      /* CSR pattern of A, columns sorted */
  int *jmap;         /* J entry -> CSR entry */
  int *rdiag;        /* CSR index of A(i,i) */
  double *ra;        /* A values */
  double *lu;        /* ILU(0) factors: unit L below, U on and above diagonal */
  int *iw;           /* n, -1 between rows */
  int valid;         /* lu holds a factorisation */
  int restart, maxit;
  double rtol;
  double *V;         /* (restart+1) Krylov vectors of length n */
  double *H;         /* (restart+1) x restart Hessenberg, column-major */
  double *cs, *sn, *g, *yv; /* restart+1 */
  double *xs, *z;    /* n */
  nk_sparse_fd fd;
  long nsolve, niter, nfail;
  int last_iters;
  double last_relres;
} nk_gmres;

static nk_status gm_jac(nk_linsol *ls, const nk_ode *ode, double t,
                        const double *y, const double *fy, const double *ewt,
                        long *nfev) {
  nk_gmres *g = (nk_gmres *)ls->impl;
  return nk_sparse_jac_eval(&g->fd, ode, t, y, fy, ewt, g->jx, nfev);
}

/* ILU(0), IKJ variant (Saad, Alg. 10.4) */
static nk_status gm_setup(nk_linsol *ls, double c) {
  nk_gmres *g = (nk_gmres *)ls->impl;
  const int n = g->n;
  g->valid = 0;
  memset(g->ra, 0, (size_t)g->nnza * sizeof(double));
  for (int p = 0; p < g->nnz; ++p) g->ra[g->jmap[p]] = -g->jx[p];
  for (int i = 0; i < n; ++i) g->ra[g->rdiag[i]] += c;
  double *lu = g->lu;
  memcpy(lu, g->ra, (size_t)g->nnza * sizeof(double));
  int *iw = g->iw;
  for (int i = 0; i < n; ++i) {
    for (int p = g->rp[i]; p < g->rp[i + 1]; ++p) iw[g->rc[p]] = p;
    for (int p = g->rp[i]; p < g->rdiag[i]; ++p) {
      const int k = g->rc[p];
      const double lik = lu[p] / lu[g->rdiag[k]];
      lu[p] = lik;
      if (lik == 0.0) continue;
      const int k0 = g->rdiag[k] + 1, k1 = g->rp[k + 1]; /* U(k, k+1:) */
      const int rest = g->rp[i + 1] - p - 1;              /* A(i, k+1:) */
      if ((double)rest * (1.0 + log2(1.0 + k1 - k0)) < (double)(k1 - k0)) {
        /* long row k (a hub species): look row i's entries up in it */
        for (int r = p + 1; r < g->rp[i + 1]; ++r) {
          int lo = k0, hi = k1;
          while (lo < hi) {
            const int mid = lo + (hi - lo) / 2;
            if (g->rc[mid] < g->rc[r]) lo = mid + 1;
            else hi = mid;
          }
          if (lo < k1 && g->rc[lo] == g->rc[r]) lu[r] -= lik * lu[lo];
        }
      } else {
        for (int q = k0; q < k1; ++q) {
          const int jj = iw[g->rc[q]];
          if (jj >= 0) lu[jj] -= lik * lu[q];
        }
      }
    }
    for (int p = g->rp[i]; p < g->rp[i + 1]; ++p) iw[g->rc[p]] = -1;
    const double d = lu[g->rdiag[i]];
    if (d == 0.0 || !isfinite(d)) return NK_SINGULAR_MATRIX;
  }
  g->valid = 1;
  return NK_SUCCESS;
}

/* z = M^{-1} v = U^{-1} L^{-1} v (z and v may alias) */
static void gm_precond(const nk_gmres *g, const double *v, double *z) {
  const int n = g->n;
  const double *lu = g->lu;
  for (int i = 0; i < n; ++i) {
    double s = v[i];
    for (int p = g->rp[i]; p < g->rdiag[i]; ++p) s -= lu[p] * z[g->rc[p]];
    z[i] = s;
  }
  for (int i = n - 1; i >= 0; --i) {
    double s = z[i];
    for (int p = g->rdiag[i] + 1; p < g->rp[i + 1]; ++p) s -= lu[p] * z[g->rc[p]];
    z[i] = s / lu[g->rdiag[i]];
  }
}

/* y = A x */
static void gm_matvec(const nk_gmres *g, const double *x, double *y) {
  for (int i = 0; i < g->n; ++i) {
    double s = 0.0;
    for (int p = g->rp[i]; p < g->rp[i + 1]; ++p) s += g->ra[p] * x[g->rc[p]];
    y[i] = s;
  }
}

static double gm_dot(int n, const double *a, const double *b) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

static nk_status gm_solve(nk_linsol *ls, double *b) {
  nk_gmres *g = (nk_gmres *)ls->impl;
  if (!g->valid) return NK_NOT_INITIALISED;
  const int n = g->n, m = g->restart;
  ++g->nsolve;
  g->last_iters = 0;
  const double bnorm = sqrt(gm_dot(n, b, b));
  if (!isfinite(bnorm)) { ++g->nfail; g->last_relres = bnorm; return NK_CONV_FAILURE; }
  if (bnorm == 0.0) { g->last_relres = 0.0; return NK_SUCCESS; }
  const double target = g->rtol * bnorm;
  double *x = g->xs, *z = g->z, *V = g->V, *H = g->H;
  const size_t ld = (size_t)(m + 1);
  memset(x, 0, (size_t)n * sizeof(double));
  int it = 0;
  double beta = bnorm;
  memcpy(V, b, (size_t)n * sizeof(double)); /* r0 = b for x0 = 0 */
  for (;;) {
    if (beta <= target || it >= g->maxit || !isfinite(beta)) break;
    double *v0 = V;
    for (int i = 0; i < n; ++i) v0[i] /= beta;
    g->g[0] = beta;
    int jdone = 0;
    for (int j = 0; j < m && it < g->maxit; ++j) {
      double *vj = V + (size_t)j * n, *w = V + (size_t)(j + 1) * n;
      double *hj = H + (size_t)j * ld;
      gm_precond(g, vj, z);
      gm_matvec(g, z, w);
      for (int i = 0; i <= j; ++i) { /* modified Gram-Schmidt */
        const double *vi = V + (size_t)i * n;
        const double h = gm_dot(n, w, vi);
        hj[i] = h;
        for (int r = 0; r < n; ++r) w[r] -= h * vi[r];
      }
      const double hn = sqrt(gm_dot(n, w, w));
      hj[j + 1] = hn;
      if (hn > 0.0)
        for (int r = 0; r < n; ++r) w[r] /= hn;
      for (int i = 0; i < j; ++i) { /* previous rotations */
        const double a = hj[i], bb = hj[i + 1];
        hj[i] = g->cs[i] * a + g->sn[i] * bb;
        hj[i + 1] = -g->sn[i] * a + g->cs[i] * bb;
      }
      const double a = hj[j], bb = hj[j + 1];
      const double rr = hypot(a, bb);
      g->cs[j] = rr > 0.0 ? a / rr : 1.0;
      g->sn[j] = rr > 0.0 ? bb / rr : 0.0;
      hj[j] = rr;
      hj[j + 1] = 0.0;
      g->g[j + 1] = -g->sn[j] * g->g[j];
      g->g[j] = g->cs[j] * g->g[j];
      ++it;
      jdone = j + 1;
      if (fabs(g->g[j + 1]) <= target || hn == 0.0 || !isfinite(hn)) break;
    }
    /* y = H^{-1} g (upper triangular), x += M^{-1} V y */
    for (int i = jdone - 1; i >= 0; --i) {
      double s = g->g[i];
      for (int k = i + 1; k < jdone; ++k) s -= H[(size_t)k * ld + i] * g->yv[k];
      const double d = H[(size_t)i * ld + i];
      g->yv[i] = d != 0.0 ? s / d : 0.0;
    }
    memset(z, 0, (size_t)n * sizeof(double));
    for (int k = 0; k < jdone; ++k) {
      const double yk = g->yv[k];
      const double *vk = V + (size_t)k * n;
      for (int r = 0; r < n; ++r) z[r] += yk * vk[r];
    }
    gm_precond(g, z, z);
    for (int r = 0; r < n; ++r) x[r] += z[r];
    /* true residual r = b - A x into V[0] */
    gm_matvec(g, x, V);
    for (int r = 0; r < n; ++r) V[r] = b[r] - V[r];
    beta = sqrt(gm_dot(n, V, V));
  }
  g->niter += it;
  g->last_iters = it;
  g->last_relres = beta / bnorm;
  memcpy(b, x, (size_t)n * sizeof(double));
  if (!(beta <= target)) {
    ++g->nfail;
    return NK_CONV_FAILURE;
  }
  return NK_SUCCESS;
}

static void gm_free_krylov(nk_gmres *g) {
  free(g->V); free(g->H); free(g->cs); free(g->sn); free(g->g); free(g->yv);
  g->V = g->H = g->cs = g->sn = g->g = g->yv = NULL;
}

static nk_status gm_alloc_krylov(nk_gmres *g, int m) {
  const double vsize = (double)(m + 1) * (double)g->n;
  if (vsize * sizeof(double) > 1.6e10) return NK_TOO_LARGE;
  double *V = (double *)malloc((size_t)(m + 1) * g->n * sizeof(double));
  double *H = (double *)calloc((size_t)(m + 1) * m, sizeof(double));
  double *cs = (double *)calloc((size_t)m + 1, sizeof(double));
  double *sn = (double *)calloc((size_t)m + 1, sizeof(double));
  double *gg = (double *)calloc((size_t)m + 1, sizeof(double));
  double *yv = (double *)calloc((size_t)m + 1, sizeof(double));
  if (!V || !H || !cs || !sn || !gg || !yv) {
    free(V); free(H); free(cs); free(sn); free(gg); free(yv);
    return NK_ERR_MEMORY;
  }
  gm_free_krylov(g);
  g->V = V; g->H = H; g->cs = cs; g->sn = sn; g->g = gg; g->yv = yv;
  g->restart = m;
  return NK_SUCCESS;
}

static void gm_destroy(nk_linsol *ls) {
  nk_gmres *g = (nk_gmres *)ls->impl;
  if (g) {
    free(g->jp); free(g->ji); free(g->jx); free(g->rp); free(g->rc);
    free(g->jmap); free(g->rdiag); free(g->ra); free(g->lu); free(g->iw);
    free(g->xs); free(g->z);
    gm_free_krylov(g);
    nk_sparse_fd_clear(&g->fd);
    free(g);
  }
  ls->impl = NULL;
}

static const nk_linsol_ops nk_gmres_ops = {gm_jac, gm_setup, gm_solve, NULL, NULL,
                                           gm_destroy};

static nk_status gm_init(nk_gmres *g, int n, int nnz, const int *colptr,
                         const int *rowind) {
  g->n = n;
  g->nnz = nnz;
  g->rtol = 1e-3;
  g->maxit = 200;
  const size_t nz = (size_t)(nnz > 0 ? nnz : 1);
  g->jp = (int *)malloc((size_t)(n + 1) * sizeof(int));
  g->ji = (int *)malloc(nz * sizeof(int));
  g->jx = (double *)calloc(nz, sizeof(double));
  g->jmap = (int *)malloc(nz * sizeof(int));
  g->rdiag = (int *)malloc((size_t)n * sizeof(int));
  g->iw = (int *)malloc((size_t)n * sizeof(int));
  g->xs = (double *)calloc((size_t)n, sizeof(double));
  g->z = (double *)calloc((size_t)n, sizeof(double));
  if (!g->jp || !g->ji || !g->jx || !g->jmap || !g->rdiag || !g->iw || !g->xs || !g->z)
    return NK_ERR_MEMORY;
  memcpy(g->jp, colptr, (size_t)(n + 1) * sizeof(int));
  if (nnz > 0) memcpy(g->ji, rowind, (size_t)nnz * sizeof(int));
  for (int i = 0; i < n; ++i) g->iw[i] = -1;
  /* CSC of A = J + diagonal with sorted rows, then its transpose (CSR with
   * sorted columns); jmap composed through the transpose */
  int *ap = NULL, *ai = NULL, *cdiag = (int *)malloc((size_t)n * sizeof(int));
  int *cmap = (int *)malloc(nz * sizeof(int));
  if (!cdiag || !cmap) { free(cdiag); free(cmap); return NK_ERR_MEMORY; }
  nk_status st = nk_pattern_with_diag(n, g->jp, g->ji, &ap, &ai, cdiag, cmap, &g->nnza);
  if (st != NK_SUCCESS) { free(cdiag); free(cmap); return st; }
  const int na = g->nnza;
  g->rp = (int *)calloc((size_t)n + 1, sizeof(int));
  g->rc = (int *)malloc((size_t)na * sizeof(int));
  g->ra = (double *)calloc((size_t)na, sizeof(double));
  g->lu = (double *)calloc((size_t)na, sizeof(double));
  int *t2r = (int *)malloc((size_t)na * sizeof(int)); /* CSC entry -> CSR entry */
  if (!g->rp || !g->rc || !g->ra || !g->lu || !t2r) st = NK_ERR_MEMORY;
  if (st == NK_SUCCESS) {
    for (int p = 0; p < na; ++p) g->rp[ai[p] + 1]++;
    for (int i = 0; i < n; ++i) g->rp[i + 1] += g->rp[i];
    memcpy(g->iw, g->rp, (size_t)n * sizeof(int));
    for (int j = 0; j < n; ++j)
      for (int p = ap[j]; p < ap[j + 1]; ++p) {
        const int dst = g->iw[ai[p]]++;
        g->rc[dst] = j;
        t2r[p] = dst;
        if (ai[p] == j) g->rdiag[j] = dst;
      }
    for (int i = 0; i < n; ++i) g->iw[i] = -1;
    for (int p = 0; p < nnz; ++p) g->jmap[p] = t2r[cmap[p]];
  }
  free(ap); free(ai); free(cdiag); free(cmap); free(t2r);
  if (st != NK_SUCCESS) return st;
  if ((st = gm_alloc_krylov(g, 30)) != NK_SUCCESS) return st;
  return nk_sparse_fd_init(&g->fd, n, nnz, g->jp, g->ji);
}

nk_status nk_linsol_gmres_create(int n, int nnz, const int *colptr,
                                 const int *rowind, nk_linsol **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  nk_status st = nk_pattern_check(n, nnz, colptr, rowind);
  if (st != NK_SUCCESS) return st;
  nk_linsol *ls = (nk_linsol *)calloc(1, sizeof(*ls));
  nk_gmres *g = (nk_gmres *)calloc(1, sizeof(*g));
  if (!ls || !g) { free(ls); free(g); return NK_ERR_MEMORY; }
  ls->ops = &nk_gmres_ops;
  ls->n = n;
  ls->impl = g;
  st = gm_init(g, n, nnz, colptr, rowind);
  if (st != NK_SUCCESS) {
    nk_linsol_free(&ls);
    return st;
  }
  *out = ls;
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* options and information                                             */

static nk_gmres *as_gmres(const nk_linsol *ls) {
  return (ls && ls->ops == &nk_gmres_ops) ? (nk_gmres *)ls->impl : NULL;
}

nk_status nk_linsol_gmres_set_restart(nk_linsol *ls, int restart) {
  nk_gmres *g = as_gmres(ls);
  if (!g || restart < 1) return NK_ERR_ARGUMENT;
  if (restart == g->restart) return NK_SUCCESS;
  return gm_alloc_krylov(g, restart);
}

nk_status nk_linsol_gmres_get_restart(const nk_linsol *ls, int *restart) {
  const nk_gmres *g = as_gmres(ls);
  if (!g || !restart) return NK_ERR_ARGUMENT;
  *restart = g->restart;
  return NK_SUCCESS;
}

nk_status nk_linsol_gmres_set_max_iters(nk_linsol *ls, int max_iters) {
  nk_gmres *g = as_gmres(ls);
  if (!g || max_iters < 1) return NK_ERR_ARGUMENT;
  g->maxit = max_iters;
  return NK_SUCCESS;
}

nk_status nk_linsol_gmres_get_max_iters(const nk_linsol *ls, int *max_iters) {
  const nk_gmres *g = as_gmres(ls);
  if (!g || !max_iters) return NK_ERR_ARGUMENT;
  *max_iters = g->maxit;
  return NK_SUCCESS;
}

nk_status nk_linsol_gmres_set_rtol(nk_linsol *ls, double rtol) {
  nk_gmres *g = as_gmres(ls);
  if (!g || !(rtol > 0.0 && rtol < 1.0)) return NK_ERR_ARGUMENT;
  g->rtol = rtol;
  return NK_SUCCESS;
}

nk_status nk_linsol_gmres_get_rtol(const nk_linsol *ls, double *rtol) {
  const nk_gmres *g = as_gmres(ls);
  if (!g || !rtol) return NK_ERR_ARGUMENT;
  *rtol = g->rtol;
  return NK_SUCCESS;
}

nk_status nk_linsol_gmres_get_info(const nk_linsol *ls, nk_linsol_gmres_info *info) {
  const nk_gmres *g = as_gmres(ls);
  if (!g || !info) return NK_ERR_ARGUMENT;
  memset(info, 0, sizeof(*info));
  info->nsolve = g->nsolve;
  info->niter = g->niter;
  info->nfail = g->nfail;
  info->last_iters = g->last_iters;
  info->last_relres = g->last_relres;
  info->ncolour = g->fd.ngroup;
  return NK_SUCCESS;
}
