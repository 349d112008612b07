/* nk_linsol_sparse.c - sparse direct LU of c*I - J (real) and (cr + i ci) I - J
 * (complex, separate real/imaginary arrays) behind the nk_linsol ops.
 *
 * Symbolic (create): approximate minimum degree column order q of A + A^T
 * (nk_ordering.c) and a fill estimate from the elimination tree.
 * Numeric (setup): left-looking LU, P A Q = L U, one column at a time
 * (Gilbert & Peierls, SIAM J. Sci. Stat. Comput. 9, 1988): the pattern of
 * column k is the set reachable in the graph of L from A(:,q[k]) (depth-first
 * search, topological order), a sparse triangular solve fills it, then a
 * threshold partial pivot that prefers the diagonal (as KLU, Davis &
 * Palamadai Natarajan 2010).  Later setups refactor with the same pivots and
 * pattern (as klu_refactor) and fall back to pivoting when a pivot becomes
 * small.  L is unit lower triangular, stored by columns; U's diagonal is
 * kept apart; row indices of L and U are pivot steps after factorisation.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nk_linsol_sparse.h"
#include "nk_ordering.h"

typedef struct {
  long lcap, ucap;
  int *Lp, *Li;      /* n+1, lcap: L(:,k) below the unit diagonal */
  double *Lx, *Lz;   /* values (Lz: imaginary part, complex factor only) */
  int *Up, *Ui;      /* n+1, ucap: U(:,k) above the diagonal, topological order */
  double *Ux, *Uz;
  double *dx, *dz;   /* U(k,k) */
  int *pinv, *prow;  /* pinv[row] = pivot step; prow[step] = row */
  int valid;         /* a pivot sequence and its pattern are present */
  int cplx;
} nk_lufac;

typedef struct {
  int n, nnz, nnza;
  int *jp, *ji;      /* pattern of J (copied) */
  double *jx;        /* J values */
  int *ap, *ai;      /* pattern of A = c*I - J: J plus diagonal, sorted */
  int *jmap, *diag;  /* J entry -> A entry; A(j,j) index */
  double *ax;        /* real part of A */
  int *q;            /* column order: step k factors column q[k] */
  nk_lufac re, cx;
  double *x, *xz;    /* accumulators, all zero between columns */
  int *xi, *stack, *pstack, *mark;
  int stamp;
  double *w, *wz;    /* solve work */
  nk_sparse_fd fd;
  double pivtol, reftol;
  long lnz_est, nfactor, nrefactor, noffdiag;
  double flops_est; /* symbolic operation count of one factorisation */
} nk_sparse;

/* ------------------------------------------------------------------ */
/* storage                                                             */

static nk_status lu_alloc(nk_lufac *f, int n, long cap, int cplx) {
  memset(f, 0, sizeof(*f));
  f->cplx = cplx;
  f->lcap = f->ucap = cap;
  f->Lp = (int *)malloc((size_t)(n + 1) * sizeof(int));
  f->Up = (int *)malloc((size_t)(n + 1) * sizeof(int));
  f->Li = (int *)malloc((size_t)cap * sizeof(int));
  f->Ui = (int *)malloc((size_t)cap * sizeof(int));
  f->Lx = (double *)malloc((size_t)cap * sizeof(double));
  f->Ux = (double *)malloc((size_t)cap * sizeof(double));
  f->dx = (double *)malloc((size_t)n * sizeof(double));
  f->pinv = (int *)malloc((size_t)n * sizeof(int));
  f->prow = (int *)malloc((size_t)n * sizeof(int));
  if (!f->Lp || !f->Up || !f->Li || !f->Ui || !f->Lx || !f->Ux || !f->dx ||
      !f->pinv || !f->prow)
    return NK_ERR_MEMORY;
  if (cplx) {
    f->Lz = (double *)malloc((size_t)cap * sizeof(double));
    f->Uz = (double *)malloc((size_t)cap * sizeof(double));
    f->dz = (double *)malloc((size_t)n * sizeof(double));
    if (!f->Lz || !f->Uz || !f->dz) return NK_ERR_MEMORY;
  }
  return NK_SUCCESS;
}

static void lu_release(nk_lufac *f) {
  free(f->Lp); free(f->Li); free(f->Lx); free(f->Lz);
  free(f->Up); free(f->Ui); free(f->Ux); free(f->Uz);
  free(f->dx); free(f->dz); free(f->pinv); free(f->prow);
  memset(f, 0, sizeof(*f));
}

static int grow_int(int **p, long cap) {
  int *t = (int *)realloc(*p, (size_t)cap * sizeof(int));
  if (!t) return 0;
  *p = t;
  return 1;
}

static int grow_dbl(double **p, long cap) {
  double *t = (double *)realloc(*p, (size_t)cap * sizeof(double));
  if (!t) return 0;
  *p = t;
  return 1;
}

/* Make room for need entries in L (isL) or U; only during a pivoting
 * factorisation whose fill exceeds the symbolic estimate. */
static nk_status lu_reserve(nk_lufac *f, int isL, long need) {
  long cap = isL ? f->lcap : f->ucap;
  if (need <= cap) return NK_SUCCESS;
  if (need > INT_MAX) return NK_TOO_LARGE;
  long nc = cap + cap / 2 + 1024;
  if (nc < need) nc = need;
  if (nc > INT_MAX) nc = INT_MAX;
  int ok = isL ? grow_int(&f->Li, nc) && grow_dbl(&f->Lx, nc) &&
                     (!f->cplx || grow_dbl(&f->Lz, nc))
               : grow_int(&f->Ui, nc) && grow_dbl(&f->Ux, nc) &&
                     (!f->cplx || grow_dbl(&f->Uz, nc));
  if (!ok) return NK_ERR_MEMORY; /* arrays grown so far stay valid */
  if (isL) f->lcap = nc;
  else f->ucap = nc;
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Gilbert-Peierls                                                     */

static int next_stamp(nk_sparse *s) {
  if (s->stamp == INT_MAX) {
    memset(s->mark, 0, (size_t)s->n * sizeof(int));
    s->stamp = 0;
  }
  return ++s->stamp;
}

/* Rows reachable from the pattern of A(:,j) in the graph of the columns of
 * L found so far (row indices are original rows during factorisation): a
 * non-recursive depth-first search; xi[top .. n) in topological order. */
static int lu_reach(nk_sparse *s, const nk_lufac *f, int j) {
  const int stamp = next_stamp(s);
  int *mark = s->mark, *stack = s->stack, *pstack = s->pstack, *xi = s->xi;
  int top = s->n;
  for (int p = s->ap[j]; p < s->ap[j + 1]; ++p) {
    if (mark[s->ai[p]] == stamp) continue;
    int head = 0;
    stack[0] = s->ai[p];
    while (head >= 0) {
      const int i = stack[head];
      const int st = f->pinv[i];
      if (mark[i] != stamp) {
        mark[i] = stamp;
        pstack[head] = st < 0 ? 0 : f->Lp[st];
      }
      const int end = st < 0 ? 0 : f->Lp[st + 1];
      int pp = pstack[head];
      for (; pp < end; ++pp)
        if (mark[f->Li[pp]] != stamp) break;
      if (pp < end) {
        pstack[head] = pp + 1;
        stack[++head] = f->Li[pp];
      } else {
        --head;
        xi[--top] = i;
      }
    }
  }
  return top;
}

/* Pivoting factorisation, real.  On failure the factor is marked invalid and
 * the accumulator is left clean. */
static nk_status factor_real(nk_sparse *s) {
  nk_lufac *f = &s->re;
  const int n = s->n;
  double *x = s->x;
  const int *xi = s->xi;
  f->valid = 0;
  for (int i = 0; i < n; ++i) f->pinv[i] = -1;
  long lnz = 0, unz = 0, noff = 0;
  for (int k = 0; k < n; ++k) {
    nk_status st = lu_reserve(f, 1, lnz + (n - k));
    if (st == NK_SUCCESS) st = lu_reserve(f, 0, unz + k);
    if (st != NK_SUCCESS) return st;
    f->Lp[k] = (int)lnz;
    f->Up[k] = (int)unz;
    const int j = s->q[k];
    const int top = lu_reach(s, f, j);
    for (int p = s->ap[j]; p < s->ap[j + 1]; ++p) x[s->ai[p]] = s->ax[p];
    /* sparse triangular solve x = L \ A(:,j) over the reach */
    for (int t = top; t < n; ++t) {
      const int i = xi[t], sp = f->pinv[i];
      if (sp < 0) continue;
      const double v = x[i];
      if (v == 0.0) continue;
      for (int p = f->Lp[sp]; p < f->Lp[sp + 1]; ++p) x[f->Li[p]] -= f->Lx[p] * v;
    }
    /* U(:,k) in topological order; pivot search among the other rows */
    int piv = -1, bad = 0;
    double amax = 0.0;
    for (int t = top; t < n; ++t) {
      const int i = xi[t], sp = f->pinv[i];
      if (sp >= 0) {
        f->Ui[unz] = sp;
        f->Ux[unz++] = x[i];
        x[i] = 0.0;
      } else {
        const double v = fabs(x[i]);
        if (!(v <= DBL_MAX)) bad = 1;
        if (v > amax) { amax = v; piv = i; }
      }
    }
    if (f->pinv[j] < 0 && fabs(x[j]) >= s->pivtol * amax && x[j] != 0.0) piv = j;
    if (bad || piv < 0 || amax == 0.0) {
      for (int t = top; t < n; ++t) x[xi[t]] = 0.0;
      return NK_SINGULAR_MATRIX;
    }
    noff += piv != j;
    const double pivot = x[piv];
    f->dx[k] = pivot;
    f->pinv[piv] = k;
    f->prow[k] = piv;
    x[piv] = 0.0;
    const double inv = 1.0 / pivot;
    for (int t = top; t < n; ++t) {
      const int i = xi[t];
      if (f->pinv[i] >= 0) continue;
      f->Li[lnz] = i;
      f->Lx[lnz++] = x[i] * inv;
      x[i] = 0.0;
    }
  }
  f->Lp[n] = (int)lnz;
  f->Up[n] = (int)unz;
  for (long p = 0; p < lnz; ++p) f->Li[p] = f->pinv[f->Li[p]];
  f->valid = 1;
  s->noffdiag = noff;
  return NK_SUCCESS;
}

/* Refactorisation with the stored pivots and pattern (x indexed by pivot
 * step).  NK_SINGULAR_MATRIX when a pivot is unacceptable; the caller then
 * does a pivoting factorisation. */
static nk_status refactor_real(nk_sparse *s) {
  nk_lufac *f = &s->re;
  const int n = s->n;
  double *x = s->x;
  for (int k = 0; k < n; ++k) {
    const int j = s->q[k];
    for (int p = s->ap[j]; p < s->ap[j + 1]; ++p) x[f->pinv[s->ai[p]]] = s->ax[p];
    for (int p = f->Up[k]; p < f->Up[k + 1]; ++p) {
      const int sp = f->Ui[p];
      const double v = x[sp];
      x[sp] = 0.0;
      f->Ux[p] = v;
      if (v == 0.0) continue;
      for (int r = f->Lp[sp]; r < f->Lp[sp + 1]; ++r) x[f->Li[r]] -= f->Lx[r] * v;
    }
    const double pivot = x[k];
    x[k] = 0.0;
    double amax = fabs(pivot);
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) {
      const double v = fabs(x[f->Li[p]]);
      if (!(v <= amax)) amax = v; /* NaN propagates into amax */
    }
    if (!(amax <= DBL_MAX) || pivot == 0.0 || fabs(pivot) < s->reftol * amax) {
      for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) x[f->Li[p]] = 0.0;
      f->valid = 0;
      return NK_SINGULAR_MATRIX;
    }
    f->dx[k] = pivot;
    const double inv = 1.0 / pivot;
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) {
      const int r = f->Li[p];
      f->Lx[p] = x[r] * inv;
      x[r] = 0.0;
    }
  }
  return NK_SUCCESS;
}

/* Complex versions: x + i xz; A's imaginary part is ci on the diagonal. */
static nk_status factor_complex(nk_sparse *s, double ci) {
  nk_lufac *f = &s->cx;
  const int n = s->n;
  double *x = s->x, *xz = s->xz;
  const int *xi = s->xi;
  f->valid = 0;
  for (int i = 0; i < n; ++i) f->pinv[i] = -1;
  long lnz = 0, unz = 0;
  for (int k = 0; k < n; ++k) {
    nk_status st = lu_reserve(f, 1, lnz + (n - k));
    if (st == NK_SUCCESS) st = lu_reserve(f, 0, unz + k);
    if (st != NK_SUCCESS) return st;
    f->Lp[k] = (int)lnz;
    f->Up[k] = (int)unz;
    const int j = s->q[k];
    const int top = lu_reach(s, f, j);
    for (int p = s->ap[j]; p < s->ap[j + 1]; ++p) x[s->ai[p]] = s->ax[p];
    xz[j] = ci;
    for (int t = top; t < n; ++t) {
      const int i = xi[t], sp = f->pinv[i];
      if (sp < 0) continue;
      const double vr = x[i], vz = xz[i];
      if (vr == 0.0 && vz == 0.0) continue;
      for (int p = f->Lp[sp]; p < f->Lp[sp + 1]; ++p) {
        const int r = f->Li[p];
        const double lr = f->Lx[p], lz = f->Lz[p];
        x[r] -= lr * vr - lz * vz;
        xz[r] -= lr * vz + lz * vr;
      }
    }
    int piv = -1, bad = 0;
    double amax = 0.0;
    for (int t = top; t < n; ++t) {
      const int i = xi[t], sp = f->pinv[i];
      if (sp >= 0) {
        f->Ui[unz] = sp;
        f->Ux[unz] = x[i];
        f->Uz[unz++] = xz[i];
        x[i] = xz[i] = 0.0;
      } else {
        const double v = fabs(x[i]) + fabs(xz[i]);
        if (!(v <= DBL_MAX)) bad = 1;
        if (v > amax) { amax = v; piv = i; }
      }
    }
    if (f->pinv[j] < 0) {
      const double vd = fabs(x[j]) + fabs(xz[j]);
      if (vd != 0.0 && vd >= s->pivtol * amax) piv = j;
    }
    if (bad || piv < 0 || amax == 0.0) {
      for (int t = top; t < n; ++t) x[xi[t]] = xz[xi[t]] = 0.0;
      return NK_SINGULAR_MATRIX;
    }
    const double pr = x[piv], pz = xz[piv];
    f->dx[k] = pr;
    f->dz[k] = pz;
    f->pinv[piv] = k;
    f->prow[k] = piv;
    x[piv] = xz[piv] = 0.0;
    const double den = pr * pr + pz * pz, ir = pr / den, iz = -pz / den;
    for (int t = top; t < n; ++t) {
      const int i = xi[t];
      if (f->pinv[i] >= 0) continue;
      f->Li[lnz] = i;
      f->Lx[lnz] = x[i] * ir - xz[i] * iz;
      f->Lz[lnz++] = x[i] * iz + xz[i] * ir;
      x[i] = xz[i] = 0.0;
    }
  }
  f->Lp[n] = (int)lnz;
  f->Up[n] = (int)unz;
  for (long p = 0; p < lnz; ++p) f->Li[p] = f->pinv[f->Li[p]];
  f->valid = 1;
  return NK_SUCCESS;
}

static nk_status refactor_complex(nk_sparse *s, double ci) {
  nk_lufac *f = &s->cx;
  const int n = s->n;
  double *x = s->x, *xz = s->xz;
  for (int k = 0; k < n; ++k) {
    const int j = s->q[k];
    for (int p = s->ap[j]; p < s->ap[j + 1]; ++p) x[f->pinv[s->ai[p]]] = s->ax[p];
    xz[f->pinv[j]] = ci;
    for (int p = f->Up[k]; p < f->Up[k + 1]; ++p) {
      const int sp = f->Ui[p];
      const double vr = x[sp], vz = xz[sp];
      x[sp] = xz[sp] = 0.0;
      f->Ux[p] = vr;
      f->Uz[p] = vz;
      if (vr == 0.0 && vz == 0.0) continue;
      for (int r = f->Lp[sp]; r < f->Lp[sp + 1]; ++r) {
        const int i = f->Li[r];
        const double lr = f->Lx[r], lz = f->Lz[r];
        x[i] -= lr * vr - lz * vz;
        xz[i] -= lr * vz + lz * vr;
      }
    }
    const double pr = x[k], pz = xz[k];
    x[k] = xz[k] = 0.0;
    const double pabs = fabs(pr) + fabs(pz);
    double amax = pabs;
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) {
      const int i = f->Li[p];
      const double v = fabs(x[i]) + fabs(xz[i]);
      if (!(v <= amax)) amax = v;
    }
    if (!(amax <= DBL_MAX) || pabs == 0.0 || pabs < s->reftol * amax) {
      for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) x[f->Li[p]] = xz[f->Li[p]] = 0.0;
      f->valid = 0;
      return NK_SINGULAR_MATRIX;
    }
    f->dx[k] = pr;
    f->dz[k] = pz;
    const double den = pr * pr + pz * pz, ir = pr / den, iz = -pz / den;
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) {
      const int i = f->Li[p];
      f->Lx[p] = x[i] * ir - xz[i] * iz;
      f->Lz[p] = x[i] * iz + xz[i] * ir;
      x[i] = xz[i] = 0.0;
    }
  }
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* ops                                                                 */

static nk_status sparse_jac(nk_linsol *ls, const nk_ode *ode, double t,
                            const double *y, const double *fy, const double *ewt,
                            long *nfev) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  return nk_sparse_jac_eval(&s->fd, ode, t, y, fy, ewt, s->jx, nfev);
}

/* real part of A: -J, plus cr on the diagonal */
static void assemble(nk_sparse *s, double cr) {
  memset(s->ax, 0, (size_t)s->nnza * sizeof(double));
  for (int p = 0; p < s->nnz; ++p) s->ax[s->jmap[p]] = -s->jx[p];
  for (int j = 0; j < s->n; ++j) s->ax[s->diag[j]] += cr;
}

static nk_status sparse_setup(nk_linsol *ls, double c) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  assemble(s, c);
  if (s->re.valid && refactor_real(s) == NK_SUCCESS) {
    ++s->nrefactor;
    return NK_SUCCESS;
  }
  ++s->nfactor;
  return factor_real(s);
}

static nk_status sparse_setup_complex(nk_linsol *ls, double cr, double ci) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  assemble(s, cr);
  if (s->cx.valid && refactor_complex(s, ci) == NK_SUCCESS) {
    ++s->nrefactor;
    return NK_SUCCESS;
  }
  ++s->nfactor;
  return factor_complex(s, ci);
}

/* P A Q = L U:  x = Q U^{-1} L^{-1} P b (column-oriented substitutions) */
static nk_status sparse_solve(nk_linsol *ls, double *b) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  const nk_lufac *f = &s->re;
  if (!f->valid) return NK_NOT_INITIALISED;
  const int n = s->n;
  double *w = s->w;
  for (int k = 0; k < n; ++k) w[k] = b[f->prow[k]];
  for (int k = 0; k < n; ++k) {
    const double v = w[k];
    if (v == 0.0) continue;
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) w[f->Li[p]] -= f->Lx[p] * v;
  }
  for (int k = n - 1; k >= 0; --k) {
    const double v = w[k] / f->dx[k];
    w[k] = v;
    if (v == 0.0) continue;
    for (int p = f->Up[k]; p < f->Up[k + 1]; ++p) w[f->Ui[p]] -= f->Ux[p] * v;
  }
  for (int k = 0; k < n; ++k) b[s->q[k]] = w[k];
  return NK_SUCCESS;
}

static nk_status sparse_solve_complex(nk_linsol *ls, double *br, double *bi) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  const nk_lufac *f = &s->cx;
  if (!f->valid) return NK_NOT_INITIALISED;
  const int n = s->n;
  double *w = s->w, *wz = s->wz;
  for (int k = 0; k < n; ++k) { w[k] = br[f->prow[k]]; wz[k] = bi[f->prow[k]]; }
  for (int k = 0; k < n; ++k) {
    const double vr = w[k], vz = wz[k];
    if (vr == 0.0 && vz == 0.0) continue;
    for (int p = f->Lp[k]; p < f->Lp[k + 1]; ++p) {
      const int i = f->Li[p];
      w[i] -= f->Lx[p] * vr - f->Lz[p] * vz;
      wz[i] -= f->Lx[p] * vz + f->Lz[p] * vr;
    }
  }
  for (int k = n - 1; k >= 0; --k) {
    const double pr = f->dx[k], pz = f->dz[k], den = pr * pr + pz * pz;
    const double vr = (w[k] * pr + wz[k] * pz) / den;
    const double vz = (wz[k] * pr - w[k] * pz) / den;
    w[k] = vr;
    wz[k] = vz;
    if (vr == 0.0 && vz == 0.0) continue;
    for (int p = f->Up[k]; p < f->Up[k + 1]; ++p) {
      const int i = f->Ui[p];
      w[i] -= f->Ux[p] * vr - f->Uz[p] * vz;
      wz[i] -= f->Ux[p] * vz + f->Uz[p] * vr;
    }
  }
  for (int k = 0; k < n; ++k) { br[s->q[k]] = w[k]; bi[s->q[k]] = wz[k]; }
  return NK_SUCCESS;
}

static void sparse_destroy(nk_linsol *ls) {
  nk_sparse *s = (nk_sparse *)ls->impl;
  if (s) {
    free(s->jp); free(s->ji); free(s->jx);
    free(s->ap); free(s->ai); free(s->jmap); free(s->diag); free(s->ax);
    free(s->q);
    lu_release(&s->re);
    lu_release(&s->cx);
    free(s->x); free(s->xz); free(s->xi); free(s->stack); free(s->pstack);
    free(s->mark); free(s->w); free(s->wz);
    nk_sparse_fd_clear(&s->fd);
    free(s);
  }
  ls->impl = NULL;
}

static const nk_linsol_ops nk_sparse_ops = {
    sparse_jac, sparse_setup, sparse_solve, sparse_setup_complex,
    sparse_solve_complex, sparse_destroy};

static nk_status sparse_init(nk_sparse *s, int n, int nnz, const int *colptr,
                             const int *rowind) {
  s->n = n;
  s->nnz = nnz;
  s->pivtol = 1e-3;
  s->reftol = 1e-8;
  const size_t nz = (size_t)(nnz > 0 ? nnz : 1);
  s->jp = (int *)malloc((size_t)(n + 1) * sizeof(int));
  s->ji = (int *)malloc(nz * sizeof(int));
  s->jx = (double *)calloc(nz, sizeof(double));
  s->jmap = (int *)malloc(nz * sizeof(int));
  s->diag = (int *)malloc((size_t)n * sizeof(int));
  s->q = (int *)malloc((size_t)n * sizeof(int));
  s->x = (double *)calloc((size_t)n, sizeof(double));
  s->xz = (double *)calloc((size_t)n, sizeof(double));
  s->w = (double *)calloc((size_t)n, sizeof(double));
  s->wz = (double *)calloc((size_t)n, sizeof(double));
  s->xi = (int *)malloc((size_t)n * sizeof(int));
  s->stack = (int *)malloc((size_t)n * sizeof(int));
  s->pstack = (int *)malloc((size_t)n * sizeof(int));
  s->mark = (int *)calloc((size_t)n, sizeof(int));
  if (!s->jp || !s->ji || !s->jx || !s->jmap || !s->diag || !s->q || !s->x ||
      !s->xz || !s->w || !s->wz || !s->xi || !s->stack || !s->pstack || !s->mark)
    return NK_ERR_MEMORY;
  memcpy(s->jp, colptr, (size_t)(n + 1) * sizeof(int));
  if (nnz > 0) memcpy(s->ji, rowind, (size_t)nnz * sizeof(int));
  nk_status st = nk_pattern_with_diag(n, s->jp, s->ji, &s->ap, &s->ai, s->diag,
                                      s->jmap, &s->nnza);
  if (st != NK_SUCCESS) return st;
  s->ax = (double *)calloc((size_t)s->nnza, sizeof(double));
  if (!s->ax) return NK_ERR_MEMORY;
  /* symbolic analysis: ordering, fill estimate */
  if ((st = nk_amd_order(n, s->ap, s->ai, s->q)) != NK_SUCCESS) return st;
  st = nk_symbolic_fill(n, s->ap, s->ai, s->q, &s->lnz_est, &s->flops_est);
  if (st != NK_SUCCESS) return st;
  long cap = s->lnz_est + s->lnz_est / 8 + n + 16;
  if (cap > INT_MAX) cap = INT_MAX; /* may still grow up to INT_MAX in setup */
  if ((st = lu_alloc(&s->re, n, cap, 0)) != NK_SUCCESS) return st;
  if ((st = lu_alloc(&s->cx, n, cap, 1)) != NK_SUCCESS) return st;
  return nk_sparse_fd_init(&s->fd, n, nnz, s->jp, s->ji);
}

nk_status nk_linsol_sparse_create(int n, int nnz, const int *colptr,
                                  const int *rowind, nk_linsol **out) {
  if (!out) return NK_ERR_ARGUMENT;
  *out = NULL;
  nk_status st = nk_pattern_check(n, nnz, colptr, rowind);
  if (st != NK_SUCCESS) return st;
  if (n >= INT_MAX / 2) return NK_TOO_LARGE;
  nk_linsol *ls = (nk_linsol *)calloc(1, sizeof(*ls));
  nk_sparse *s = (nk_sparse *)calloc(1, sizeof(*s));
  if (!ls || !s) { free(ls); free(s); return NK_ERR_MEMORY; }
  ls->ops = &nk_sparse_ops;
  ls->n = n;
  ls->impl = s;
  st = sparse_init(s, n, nnz, colptr, rowind);
  if (st != NK_SUCCESS) {
    nk_linsol_free(&ls);
    return st;
  }
  *out = ls;
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* options and information                                             */

static nk_sparse *as_sparse(const nk_linsol *ls) {
  return (ls && ls->ops == &nk_sparse_ops) ? (nk_sparse *)ls->impl : NULL;
}

nk_status nk_linsol_sparse_set_pivot_tol(nk_linsol *ls, double tol) {
  nk_sparse *s = as_sparse(ls);
  if (!s || !(tol > 0.0 && tol <= 1.0)) return NK_ERR_ARGUMENT;
  s->pivtol = tol;
  return NK_SUCCESS;
}

nk_status nk_linsol_sparse_get_pivot_tol(const nk_linsol *ls, double *tol) {
  const nk_sparse *s = as_sparse(ls);
  if (!s || !tol) return NK_ERR_ARGUMENT;
  *tol = s->pivtol;
  return NK_SUCCESS;
}

nk_status nk_linsol_sparse_set_refactor_tol(nk_linsol *ls, double tol) {
  nk_sparse *s = as_sparse(ls);
  if (!s || !(tol >= 0.0 && tol < 1.0)) return NK_ERR_ARGUMENT;
  s->reftol = tol;
  return NK_SUCCESS;
}

nk_status nk_linsol_sparse_get_refactor_tol(const nk_linsol *ls, double *tol) {
  const nk_sparse *s = as_sparse(ls);
  if (!s || !tol) return NK_ERR_ARGUMENT;
  *tol = s->reftol;
  return NK_SUCCESS;
}

nk_status nk_linsol_sparse_get_info(const nk_linsol *ls, nk_linsol_sparse_info *info) {
  const nk_sparse *s = as_sparse(ls);
  if (!s || !info) return NK_ERR_ARGUMENT;
  memset(info, 0, sizeof(*info));
  info->n = s->n;
  info->nnz_a = s->nnza;
  info->lnz_est = s->lnz_est;
  info->flops_est = s->flops_est;
  if (s->re.valid) { info->lnz = s->re.Lp[s->n]; info->unz = s->re.Up[s->n]; }
  if (s->cx.valid) { info->lnz_c = s->cx.Lp[s->n]; info->unz_c = s->cx.Up[s->n]; }
  info->nfactor = s->nfactor;
  info->nrefactor = s->nrefactor;
  info->noffdiag = s->noffdiag;
  info->ncolour = s->fd.ngroup;
  return NK_SUCCESS;
}
