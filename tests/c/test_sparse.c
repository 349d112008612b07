/* test_sparse.c - sparse direct LU and GMRES+ILU(0) behind the nk_linsol ops:
 * agreement with the dense LU (real and complex) on random sparse diagonally
 * dominant matrices, residuals, refactorisation, pivoting on zero diagonals,
 * singular detection, GMRES tolerance, grouped finite-difference Jacobians,
 * argument checking, and (printed, not asserted) timings for large patterns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nk_linsol.h"
#include "nk_linsol_sparse.h"
#include "nk_check.h"


static int irand(int n) { return (int)(urand() * n); }

/* ---- a sparse matrix in CSC with its values ---------------------------- */

typedef struct {
  int n, nnz;
  int *colptr, *rowind;
  double *val;
} csc;

static void csc_free(csc *a) {
  free(a->colptr); free(a->rowind); free(a->val);
  memset(a, 0, sizeof(*a));
}

/* about per_col random rows per column (no repeats, unsorted), values in
 * [-1, 1]; diag: 0 no diagonal entries, 1 diagonal present, 2 random */
static csc random_csc(int n, int per_col, int diag) {
  csc a;
  a.n = n;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * ((size_t)n * (per_col + 1) + 1));
  a.val = (double *)malloc(sizeof(double) * ((size_t)n * (per_col + 1) + 1));
  int *mark = (int *)malloc(sizeof(int) * n);
  for (int i = 0; i < n; ++i) mark[i] = -1;
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    a.colptr[j] = nz;
    if (diag == 1) { mark[j] = j; a.rowind[nz] = j; a.val[nz++] = 2.0 * urand() - 1.0; }
    if (diag == 0) mark[j] = j; /* excluded */
    const int m = per_col < n ? per_col : n;
    for (int t = 0; t < m; ++t) {
      const int i = irand(n);
      if (mark[i] == j) continue;
      mark[i] = j;
      a.rowind[nz] = i;
      a.val[nz++] = 2.0 * urand() - 1.0;
    }
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  free(mark);
  return a;
}

/* banded pattern |i - j| <= bw, a fraction keep of the off-diagonal entries */
static csc banded_csc(int n, int bw, double keep) {
  csc a;
  a.n = n;
  const size_t cap = (size_t)n * (2 * bw + 1) + 1;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * cap);
  a.val = (double *)malloc(sizeof(double) * cap);
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    a.colptr[j] = nz;
    for (int i = j - bw; i <= j + bw; ++i) {
      if (i < 0 || i >= n) continue;
      if (i != j && urand() >= keep) continue;
      a.rowind[nz] = i;
      a.val[nz++] = 2.0 * urand() - 1.0;
    }
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  return a;
}

/* reaction-network-like: a few hub species (dense rows and columns) plus
 * random couplings among nearby indices */
static csc network_csc(int n, int per_col, int nhub) {
  csc a;
  a.n = n;
  const size_t cap = (size_t)n * (per_col + 1 + 2 * nhub) + 1;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * cap);
  a.val = (double *)malloc(sizeof(double) * cap);
  int *mark = (int *)malloc(sizeof(int) * n);
  for (int i = 0; i < n; ++i) mark[i] = -1;
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    a.colptr[j] = nz;
    mark[j] = j;
    a.rowind[nz] = j;
    a.val[nz++] = -1.0 - urand();
    if (j < nhub) { /* hub column: everything */
      for (int i = 0; i < n; ++i)
        if (mark[i] != j) { mark[i] = j; a.rowind[nz] = i; a.val[nz++] = 0.1 * urand(); }
      continue;
    }
    for (int h = 0; h < nhub; ++h) { mark[h] = j; a.rowind[nz] = h; a.val[nz++] = 0.1 * urand(); }
    for (int t = 0; t < per_col; ++t) {
      int i = j + irand(41) - 20;
      if (urand() < 0.02) i = irand(n); /* rare long-range coupling */
      if (i < 0 || i >= n || mark[i] == j) continue;
      mark[i] = j;
      a.rowind[nz] = i;
      a.val[nz++] = 0.5 * (2.0 * urand() - 1.0);
    }
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  free(mark);
  return a;
}

/* 5-point Laplacian pattern on an m x m grid */
static csc grid_csc(int m) {
  const int n = m * m;
  csc a;
  a.n = n;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * 5 * n);
  a.val = (double *)malloc(sizeof(double) * 5 * n);
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    const int x = j % m, y = j / m;
    a.colptr[j] = nz;
    const int nb[5] = {y > 0 ? j - m : -1, x > 0 ? j - 1 : -1, j,
                       x < m - 1 ? j + 1 : -1, y < m - 1 ? j + m : -1};
    for (int t = 0; t < 5; ++t)
      if (nb[t] >= 0) { a.rowind[nz] = nb[t]; a.val[nz++] = nb[t] == j ? -4.0 : 1.0; }
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  return a;
}

/* shift making c*I - J strictly diagonally dominant by rows and columns */
static double dominant_shift(const csc *a) {
  double *rs = (double *)calloc(a->n, sizeof(double)), m = 0.0;
  for (int j = 0; j < a->n; ++j) {
    double cs = 0.0;
    for (int p = a->colptr[j]; p < a->colptr[j + 1]; ++p) {
      rs[a->rowind[p]] += fabs(a->val[p]);
      cs += fabs(a->val[p]);
    }
    if (cs > m) m = cs;
  }
  for (int i = 0; i < a->n; ++i) if (rs[i] > m) m = rs[i];
  free(rs);
  return 1.0 + 2.0 * m;
}

/* r = (c I - J) x - b (real), returns ||r||_inf / (||A||_1 ||x||_inf + ||b||_inf) */
static double rel_residual(const csc *a, double c, const double *x, const double *b) {
  const int n = a->n;
  double *r = (double *)malloc(sizeof(double) * n), anorm = fabs(c), xn = 0, bn = 0, rn = 0;
  for (int i = 0; i < n; ++i) r[i] = c * x[i] - b[i];
  for (int j = 0; j < n; ++j) {
    double cs = fabs(c);
    for (int p = a->colptr[j]; p < a->colptr[j + 1]; ++p) {
      r[a->rowind[p]] -= a->val[p] * x[j];
      cs += fabs(a->val[p]);
    }
    if (cs > anorm) anorm = cs;
  }
  for (int i = 0; i < n; ++i) {
    rn = fmax(rn, fabs(r[i]));
    xn = fmax(xn, fabs(x[i]));
    bn = fmax(bn, fabs(b[i]));
  }
  free(r);
  return rn / (anorm * xn + bn);
}

static double rel_diff(int n, const double *x, const double *y) {
  double d = 0.0, m = 0.0;
  for (int i = 0; i < n; ++i) { d = fmax(d, fabs(x[i] - y[i])); m = fmax(m, fabs(y[i])); }
  return m > 0.0 ? d / m : d;
}

/* callbacks: the solvers read J through the ode */
typedef struct { const csc *a; double *dense; } jac_user;
static int csc_jac(double t, const double *y, const double *fy, double *v, void *u) {
  const jac_user *ju = (const jac_user *)u;
  memcpy(v, ju->a->val, sizeof(double) * ju->a->nnz);
  return 0;
}
static int dense_jac(double t, const double *y, const double *fy, double *J, void *u) {
  const jac_user *ju = (const jac_user *)u;
  memcpy(J, ju->dense, sizeof(double) * (size_t)ju->a->n * ju->a->n);
  return 0;
}
static int dummy_rhs(double t, const double *y, double *f, void *u) { return 0; }

static nk_ode csc_ode(const csc *a, jac_user *ju) {
  nk_ode ode = {a->n, dummy_rhs, NULL, csc_jac, a->nnz, a->colptr, a->rowind, ju};
  return ode;
}

static double *to_dense(const csc *a) {
  double *d = (double *)calloc((size_t)a->n * a->n, sizeof(double));
  for (int j = 0; j < a->n; ++j)
    for (int p = a->colptr[j]; p < a->colptr[j + 1]; ++p)
      d[a->rowind[p] + (size_t)j * a->n] = a->val[p];
  return d;
}

static nk_linsol *sparse_from(const csc *a, jac_user *ju) {
  nk_linsol *ls = NULL;
  nk_status st = nk_linsol_sparse_create(a->n, a->nnz, a->colptr, a->rowind, &ls);
  CHECK(st == NK_SUCCESS && ls, "sparse create n=%d: %s", a->n, nk_status_name(st));
  if (!ls) return NULL;
  nk_ode ode = csc_ode(a, ju);
  double *y = (double *)calloc(a->n, sizeof(double));
  long nfev = 0;
  st = ls->ops->jac(ls, &ode, 0.0, y, y, NULL, &nfev);
  CHECK(st == NK_SUCCESS && nfev == 0, "sparse jac: %s", nk_status_name(st));
  free(y);
  return ls;
}

/* ---- sparse vs dense ------------------------------------------------- */

static void test_agree(int n, int per_col, int do_complex) {
  csc a = random_csc(n, per_col, 2);
  jac_user ju = {&a, to_dense(&a)};
  nk_linsol *sp = sparse_from(&a, &ju), *de = NULL;
  CHECK(nk_linsol_dense_create(n, &de) == NK_SUCCESS, "dense create");
  nk_ode dode = {n, dummy_rhs, dense_jac, NULL, 0, NULL, NULL, &ju};
  double *y = (double *)calloc(n, sizeof(double));
  de->ops->jac(de, &dode, 0.0, y, y, NULL, NULL);
  double *b = (double *)malloc(sizeof(double) * n), *xs = (double *)malloc(sizeof(double) * n),
         *xd = (double *)malloc(sizeof(double) * n), *bi = (double *)malloc(sizeof(double) * n),
         *xsi = (double *)malloc(sizeof(double) * n), *xdi = (double *)malloc(sizeof(double) * n);
  const double c = dominant_shift(&a);
  CHECK(sp->ops->setup(sp, c) == NK_SUCCESS, "sparse setup n=%d", n);
  CHECK(de->ops->setup(de, c) == NK_SUCCESS, "dense setup n=%d", n);
  for (int i = 0; i < n; ++i) b[i] = xs[i] = xd[i] = 2.0 * urand() - 1.0;
  CHECK(sp->ops->solve(sp, xs) == NK_SUCCESS, "sparse solve");
  de->ops->solve(de, xd);
  CHECK(rel_diff(n, xs, xd) < 1e-10, "sparse vs dense n=%d: %g", n, rel_diff(n, xs, xd));
  CHECK(rel_residual(&a, c, xs, b) < 1e-14, "residual n=%d: %g", n, rel_residual(&a, c, xs, b));

  /* a weakly dominant shift (some pivoting possible), then refactorisation
   * with new values on the same pattern */
  nk_linsol_sparse_info info;
  for (int round = 0; round < 3; ++round) {
    for (int p = 0; p < a.nnz; ++p) a.val[p] = 2.0 * urand() - 1.0;
    free(ju.dense);
    ju.dense = to_dense(&a);
    nk_ode ode = csc_ode(&a, &ju);
    sp->ops->jac(sp, &ode, 0.0, y, y, NULL, NULL);
    de->ops->jac(de, &dode, 0.0, y, y, NULL, NULL);
    const double c2 = round == 0 ? 0.5 : dominant_shift(&a) * (0.5 + urand());
    CHECK(sp->ops->setup(sp, c2) == NK_SUCCESS, "sparse re-setup n=%d", n);
    CHECK(de->ops->setup(de, c2) == NK_SUCCESS, "dense re-setup n=%d", n);
    for (int i = 0; i < n; ++i) b[i] = xs[i] = xd[i] = 2.0 * urand() - 1.0;
    sp->ops->solve(sp, xs);
    de->ops->solve(de, xd);
    const double tol = round == 0 ? 1e-8 : 1e-10; /* c = 0.5: condition unknown */
    CHECK(rel_diff(n, xs, xd) < tol, "refactor vs dense n=%d round %d: %g", n, round,
          rel_diff(n, xs, xd));
    /* c = 0.5 is a refactorisation accepted down to pivots 1e-8 relative
     * (threshold pivoting, as KLU): growth is allowed, so a looser bound */
    CHECK(rel_residual(&a, c2, xs, b) < (round == 0 ? 1e-9 : 1e-12),
          "refactor residual n=%d round %d: %g", n, round,
          rel_residual(&a, c2, xs, b));
  }
  nk_linsol_sparse_get_info(sp, &info);
  CHECK(info.nfactor + info.nrefactor == 4, "factor counts %ld + %ld", info.nfactor,
        info.nrefactor);
  CHECK(n < 50 || info.nrefactor >= 2, "refactorisation used (n=%d: %ld)", n, info.nrefactor);

  if (do_complex) {
    const double cr = 0.3 * dominant_shift(&a), ci = 0.7 * dominant_shift(&a);
    for (int rep = 0; rep < 2; ++rep) {
      CHECK(sp->ops->setup_complex(sp, cr * (1 + rep), ci) == NK_SUCCESS, "complex setup");
      CHECK(de->ops->setup_complex(de, cr * (1 + rep), ci) == NK_SUCCESS, "dense complex");
      for (int i = 0; i < n; ++i) {
        xs[i] = xd[i] = 2.0 * urand() - 1.0;
        xsi[i] = xdi[i] = 2.0 * urand() - 1.0;
      }
      CHECK(sp->ops->solve_complex(sp, xs, xsi) == NK_SUCCESS, "complex solve");
      de->ops->solve_complex(de, xd, xdi);
      double d = fmax(rel_diff(n, xs, xd), rel_diff(n, xsi, xdi));
      CHECK(d < 1e-10, "complex sparse vs dense n=%d: %g", n, d);
    }
    /* the real factor is untouched by complex setups */
    for (int i = 0; i < n; ++i) b[i] = xs[i] = xd[i] = 2.0 * urand() - 1.0;
    sp->ops->solve(sp, xs);
    de->ops->solve(de, xd);
    CHECK(rel_diff(n, xs, xd) < 1e-8, "real after complex n=%d", n);
  }
  nk_linsol_free(&sp);
  nk_linsol_free(&de);
  CHECK(sp == NULL, "free sets NULL");
  free(b); free(xs); free(xd); free(bi); free(xsi); free(xdi); free(y); free(ju.dense);
  csc_free(&a);
}

/* zero diagonal, c = 0: only off-diagonal pivots work */
static void test_pivoting(int n, int with_diag_entries) {
  /* J = cyclic shift (1 + rand) + sparse random off-diagonal; diagonal zero */
  csc r = random_csc(n, 2, 0);
  csc a;
  a.n = n;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * (r.nnz + 2 * n + 1));
  a.val = (double *)malloc(sizeof(double) * (r.nnz + 2 * n + 1));
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    a.colptr[j] = nz;
    const int s = (j + 1) % n;
    int have_s = 0;
    for (int p = r.colptr[j]; p < r.colptr[j + 1]; ++p) {
      a.rowind[nz] = r.rowind[p];
      a.val[nz] = 0.1 * r.val[p];
      if (r.rowind[p] == s) { a.val[nz] = 3.0 + urand(); have_s = 1; }
      ++nz;
    }
    if (!have_s && s != j) { a.rowind[nz] = s; a.val[nz++] = 3.0 + urand(); }
    if (with_diag_entries) { a.rowind[nz] = j; a.val[nz++] = 0.0; }
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  csc_free(&r);
  if (n == 1) { a.val[0] = 0.0; } /* n=1 is singular here: skip below */
  jac_user ju = {&a, to_dense(&a)};
  nk_linsol *sp = sparse_from(&a, &ju), *de = NULL;
  nk_linsol_dense_create(n, &de);
  nk_ode dode = {n, dummy_rhs, dense_jac, NULL, 0, NULL, NULL, &ju};
  double *y = (double *)calloc(n, sizeof(double));
  de->ops->jac(de, &dode, 0.0, y, y, NULL, NULL);
  double *b = (double *)malloc(sizeof(double) * n), *xs = (double *)malloc(sizeof(double) * n),
         *xd = (double *)malloc(sizeof(double) * n);
  /* first with a large c (diagonal pivots), then c = 0: the stored pivot
   * sequence meets zero pivots and setup must fall back to pivoting */
  CHECK(sp->ops->setup(sp, dominant_shift(&a)) == NK_SUCCESS, "pivot test setup");
  nk_status st = sp->ops->setup(sp, 0.0);
  if (n == 1) {
    CHECK(st == NK_SINGULAR_MATRIX, "1x1 zero singular");
  } else {
    CHECK(st == NK_SUCCESS, "zero-diagonal setup n=%d: %s", n, nk_status_name(st));
    CHECK(de->ops->setup(de, 0.0) == NK_SUCCESS, "dense zero-diagonal");
    for (int i = 0; i < n; ++i) b[i] = xs[i] = xd[i] = 2.0 * urand() - 1.0;
    sp->ops->solve(sp, xs);
    de->ops->solve(de, xd);
    CHECK(rel_diff(n, xs, xd) < 1e-10, "pivoting vs dense n=%d: %g", n, rel_diff(n, xs, xd));
    CHECK(rel_residual(&a, 0.0, xs, b) < 1e-13, "pivoting residual n=%d", n);
    nk_linsol_sparse_info info;
    nk_linsol_sparse_get_info(sp, &info);
    CHECK(info.noffdiag > 0, "off-diagonal pivots used (n=%d)", n);
    CHECK(info.nfactor == 2, "fallback to pivoting factorisation (%ld)", info.nfactor);
    /* complex with zero shift: pivoting as well */
    CHECK(sp->ops->setup_complex(sp, 0.0, 0.0) == NK_SUCCESS, "complex zero diag");
    double *zi = (double *)calloc(n, sizeof(double)), *zd = (double *)calloc(n, sizeof(double));
    for (int i = 0; i < n; ++i) xs[i] = b[i];
    sp->ops->solve_complex(sp, xs, zi);
    memcpy(xd, b, sizeof(double) * n);
    de->ops->solve(de, xd);
    CHECK(rel_diff(n, xs, xd) < 1e-10 && rel_diff(n, zi, zd) < 1e-12,
          "complex pivoting n=%d", n);
    free(zi); free(zd);
  }
  nk_linsol_free(&sp);
  nk_linsol_free(&de);
  free(b); free(xs); free(xd); free(y); free(ju.dense);
  csc_free(&a);
}

static void test_singular(void) {
  /* structurally singular: row 2 of J empty and no diagonal at c = 0 */
  int colptr[5] = {0, 2, 4, 5, 7};
  int rowind[7] = {0, 1, 0, 3, 1, 0, 3};
  double val[7] = {1, 2, 3, 4, 5, 6, 7};
  csc a = {4, 7, colptr, rowind, val};
  jac_user ju = {&a, NULL};
  nk_linsol *sp = sparse_from(&a, &ju);
  CHECK(sp->ops->setup(sp, 0.0) == NK_SINGULAR_MATRIX, "structurally singular");
  CHECK(sp->ops->solve(sp, val) == NK_NOT_INITIALISED, "solve after failed setup refused");
  CHECK(sp->ops->setup_complex(sp, 0.0, 0.0) == NK_SINGULAR_MATRIX, "complex singular");
  CHECK(sp->ops->setup(sp, 1.0) == NK_SUCCESS, "recovers with c = 1");
  nk_linsol_free(&sp);
  /* numerically singular: two equal columns */
  int cp2[4] = {0, 3, 6, 8};
  int ri2[8] = {0, 1, 2, 0, 1, 2, 0, 2};
  double v2[8] = {1, 2, 3, 1, 2, 3, 5, 1};
  csc b = {3, 8, cp2, ri2, v2};
  ju.a = &b;
  sp = sparse_from(&b, &ju);
  CHECK(sp->ops->setup(sp, 0.0) == NK_SINGULAR_MATRIX, "numerically singular");
  CHECK(sp->ops->setup(sp, 2.0) == NK_SUCCESS, "nonsingular shift");
  /* refactor of a now-singular matrix falls back and reports it */
  CHECK(sp->ops->setup(sp, 0.0) == NK_SINGULAR_MATRIX, "singular after refactor");
  nk_linsol_free(&sp);
  /* non-finite values */
  int cp3[3] = {0, 1, 2};
  int ri3[2] = {0, 1};
  double v3[2] = {NAN, 1.0};
  csc c = {2, 2, cp3, ri3, v3};
  ju.a = &c;
  sp = sparse_from(&c, &ju);
  CHECK(sp->ops->setup(sp, 1.0) == NK_SINGULAR_MATRIX, "NaN entry refused");
  nk_linsol_free(&sp);
}

static void test_arguments(void) {
  nk_linsol *ls = (nk_linsol *)1;
  int cp[3] = {0, 1, 2}, ri[2] = {0, 1};
  CHECK(nk_linsol_sparse_create(0, 0, cp, ri, &ls) == NK_ERR_ARGUMENT && ls == NULL,
        "n = 0");
  int bad_cp[3] = {0, 2, 1};
  CHECK(nk_linsol_sparse_create(2, 1, bad_cp, ri, &ls) == NK_ERR_ARGUMENT, "colptr");
  int bad_ri[2] = {0, 2};
  CHECK(nk_linsol_sparse_create(2, 2, cp, bad_ri, &ls) == NK_ERR_ARGUMENT, "rowind");
  int dcp[3] = {0, 2, 2}, dri[2] = {1, 1};
  CHECK(nk_linsol_sparse_create(2, 2, dcp, dri, &ls) == NK_ERR_ARGUMENT, "duplicate");
  CHECK(nk_linsol_gmres_create(2, 2, dcp, dri, &ls) == NK_ERR_ARGUMENT, "gmres dup");
  CHECK(nk_linsol_sparse_create(2, 2, cp, ri, NULL) == NK_ERR_ARGUMENT, "out NULL");
  /* empty pattern: c*I */
  int ecp[4] = {0, 0, 0, 0};
  CHECK(nk_linsol_sparse_create(3, 0, ecp, NULL, &ls) == NK_SUCCESS, "empty J");
  {
    nk_ode ode = {3, dummy_rhs, NULL, NULL, 0, NULL, NULL, NULL};
    double y[3] = {0}, b[3] = {2, 4, 6};
    long nfev = 0;
    CHECK(ls->ops->jac(ls, &ode, 0, y, y, NULL, &nfev) == NK_SUCCESS && nfev == 0,
          "empty FD jac (%ld)", nfev);
    CHECK(ls->ops->setup(ls, 2.0) == NK_SUCCESS, "c I");
    ls->ops->solve(ls, b);
    CHECK(b[0] == 1 && b[1] == 2 && b[2] == 3, "c I solve");
  }
  /* options */
  double v;
  CHECK(nk_linsol_sparse_get_pivot_tol(ls, &v) == NK_SUCCESS && v == 1e-3, "pivtol default");
  CHECK(nk_linsol_sparse_set_pivot_tol(ls, 0.1) == NK_SUCCESS, "set pivtol");
  CHECK(nk_linsol_sparse_get_pivot_tol(ls, &v) == NK_SUCCESS && v == 0.1, "get pivtol");
  CHECK(nk_linsol_sparse_set_pivot_tol(ls, 0.0) == NK_ERR_ARGUMENT, "pivtol 0");
  CHECK(nk_linsol_sparse_get_refactor_tol(ls, &v) == NK_SUCCESS && v == 1e-8, "reftol");
  CHECK(nk_linsol_sparse_set_refactor_tol(ls, 1e-4) == NK_SUCCESS, "set reftol");
  CHECK(nk_linsol_sparse_get_refactor_tol(ls, &v) == NK_SUCCESS && v == 1e-4, "get reftol");
  CHECK(nk_linsol_gmres_set_rtol(ls, 1e-3) == NK_ERR_ARGUMENT, "gmres setter on LU");
  nk_linsol_free(&ls);
  nk_linsol *de = NULL;
  nk_linsol_dense_create(2, &de);
  CHECK(nk_linsol_sparse_set_pivot_tol(de, 0.1) == NK_ERR_ARGUMENT, "LU setter on dense");
  nk_linsol_free(&de);
  /* jac_csc with another pattern */
  nk_linsol_sparse_create(2, 2, cp, ri, &ls);
  int cp_other[3] = {0, 1, 2}, ri_other[2] = {1, 0};
  double y[2] = {0, 0};
  jac_user ju = {NULL, NULL};
  nk_ode ode = {2, dummy_rhs, NULL, csc_jac, 2, cp_other, ri_other, &ju};
  CHECK(ls->ops->jac(ls, &ode, 0, y, y, NULL, NULL) == NK_ERR_ARGUMENT, "pattern mismatch");
  nk_linsol_free(&ls);
}

/* ---- GMRES ------------------------------------------------------------ */

static void test_gmres(int n, int per_col, double rtol) {
  csc a = random_csc(n, per_col, 1);
  jac_user ju = {&a, NULL};
  nk_linsol *gm = NULL;
  CHECK(nk_linsol_gmres_create(n, a.nnz, a.colptr, a.rowind, &gm) == NK_SUCCESS, "gmres create");
  CHECK(gm->ops->setup_complex == NULL && gm->ops->solve_complex == NULL, "real only");
  CHECK(nk_linsol_gmres_set_rtol(gm, rtol) == NK_SUCCESS, "set rtol");
  nk_linsol *sp = sparse_from(&a, &ju);
  nk_ode ode = csc_ode(&a, &ju);
  double *y = (double *)calloc(n, sizeof(double));
  CHECK(gm->ops->jac(gm, &ode, 0, y, y, NULL, NULL) == NK_SUCCESS, "gmres jac");
  /* dominant by rows and columns, but not trivially: ILU(0) helps */
  const double c = 0.6 * dominant_shift(&a);
  CHECK(gm->ops->setup(gm, c) == NK_SUCCESS, "gmres setup");
  sp->ops->setup(sp, c);
  double *b = (double *)malloc(sizeof(double) * n), *xg = (double *)malloc(sizeof(double) * n),
         *xs = (double *)malloc(sizeof(double) * n);
  for (int i = 0; i < n; ++i) b[i] = xg[i] = xs[i] = 2.0 * urand() - 1.0;
  nk_status st = gm->ops->solve(gm, xg);
  CHECK(st == NK_SUCCESS, "gmres converged n=%d: %s", n, nk_status_name(st));
  sp->ops->solve(sp, xs);
  nk_linsol_gmres_info info;
  nk_linsol_gmres_get_info(gm, &info);
  /* the requested relative residual, measured independently */
  double rn = 0, bn = 0;
  {
    double *r = (double *)malloc(sizeof(double) * n);
    for (int i = 0; i < n; ++i) r[i] = c * xg[i] - b[i];
    for (int j = 0; j < n; ++j)
      for (int p = a.colptr[j]; p < a.colptr[j + 1]; ++p) r[a.rowind[p]] -= a.val[p] * xg[j];
    for (int i = 0; i < n; ++i) { rn += r[i] * r[i]; bn += b[i] * b[i]; }
    free(r);
  }
  CHECK(sqrt(rn / bn) <= rtol * 1.0001, "gmres residual %g > %g (n=%d)", sqrt(rn / bn), rtol, n);
  CHECK(fabs(info.last_relres - sqrt(rn / bn)) <= 1e-3 * rtol + 1e-14, "reported relres");
  CHECK(rel_diff(n, xg, xs) < 100.0 * rtol, "gmres vs LU n=%d: %g", n, rel_diff(n, xg, xs));
  CHECK(info.nsolve == 1 && info.last_iters >= 1 && info.nfail == 0, "gmres stats");
  /* zero rhs */
  for (int i = 0; i < n; ++i) xg[i] = 0.0;
  CHECK(gm->ops->solve(gm, xg) == NK_SUCCESS && xg[0] == 0.0, "zero rhs");
  nk_linsol_free(&gm);
  nk_linsol_free(&sp);
  free(b); free(xg); free(xs); free(y);
  csc_free(&a);
}

static void test_gmres_options(void) {
  /* a convection-dominated 1-D operator: ILU(0) of the tridiagonal matrix is
   * exact, so use a 2-D grid with a weak shift where it is not */
  csc a = grid_csc(30);
  jac_user ju = {&a, NULL};
  nk_linsol *gm = NULL;
  nk_linsol_gmres_create(a.n, a.nnz, a.colptr, a.rowind, &gm);
  int iv;
  double dv;
  CHECK(nk_linsol_gmres_get_restart(gm, &iv) == NK_SUCCESS && iv == 30, "restart default");
  CHECK(nk_linsol_gmres_get_max_iters(gm, &iv) == NK_SUCCESS && iv == 200, "maxit default");
  CHECK(nk_linsol_gmres_get_rtol(gm, &dv) == NK_SUCCESS && dv == 1e-3, "rtol default");
  CHECK(nk_linsol_gmres_set_restart(gm, 0) == NK_ERR_ARGUMENT, "restart 0");
  CHECK(nk_linsol_gmres_set_rtol(gm, 0.0) == NK_ERR_ARGUMENT, "rtol 0");
  CHECK(nk_linsol_gmres_set_max_iters(gm, 0) == NK_ERR_ARGUMENT, "maxit 0");
  CHECK(nk_linsol_sparse_set_pivot_tol(gm, 0.1) == NK_ERR_ARGUMENT, "LU setter on gmres");
  nk_ode ode = csc_ode(&a, &ju);
  double *y = (double *)calloc(a.n, sizeof(double)), *b = (double *)malloc(sizeof(double) * a.n);
  gm->ops->jac(gm, &ode, 0, y, y, NULL, NULL);
  CHECK(gm->ops->setup(gm, 0.01) == NK_SUCCESS, "grid setup");
  /* too few iterations: recoverable failure */
  nk_linsol_gmres_set_max_iters(gm, 2);
  nk_linsol_gmres_set_rtol(gm, 1e-10);
  for (int i = 0; i < a.n; ++i) b[i] = urand();
  CHECK(gm->ops->solve(gm, b) == NK_CONV_FAILURE, "conv failure reported");
  /* small restart, enough iterations */
  CHECK(nk_linsol_gmres_set_restart(gm, 5) == NK_SUCCESS, "restart 5");
  CHECK(nk_linsol_gmres_get_restart(gm, &iv) == NK_SUCCESS && iv == 5, "restart get");
  nk_linsol_gmres_set_max_iters(gm, 5000);
  CHECK(nk_linsol_gmres_get_max_iters(gm, &iv) == NK_SUCCESS && iv == 5000, "maxit get");
  nk_linsol_gmres_set_rtol(gm, 1e-8);
  for (int i = 0; i < a.n; ++i) b[i] = urand();
  CHECK(gm->ops->solve(gm, b) == NK_SUCCESS, "restarted GMRES(5) converges");
  nk_linsol_gmres_info info;
  nk_linsol_gmres_get_info(gm, &info);
  CHECK(info.last_relres <= 1e-8 && info.last_iters > 5 && info.nfail == 1,
        "restarts used (%d iters, relres %g)", info.last_iters, info.last_relres);
  nk_linsol_free(&gm);
  free(y); free(b);
  csc_free(&a);
}

/* ---- finite-difference Jacobian with column grouping ------------------- */

/* 1-D reaction-diffusion with two species per site (Brusselator):
 * u' = A + u^2 v - (B+1) u + D (u_{i-1} - 2u_i + u_{i+1}),
 * v' = B u - u^2 v + D (v_{i-1} - 2v_i + v_{i+1}); state (u_0, v_0, u_1, ...) */
typedef struct { int m; double D; long calls; } bruss;
static int bruss_rhs(double t, const double *y, double *f, void *user) {
  bruss *b = (bruss *)user;
  const int m = b->m;
  ++b->calls;
  for (int i = 0; i < m; ++i) {
    const double u = y[2 * i], v = y[2 * i + 1];
    const double ul = i > 0 ? y[2 * i - 2] : u, ur = i < m - 1 ? y[2 * i + 2] : u;
    const double vl = i > 0 ? y[2 * i - 1] : v, vr = i < m - 1 ? y[2 * i + 3] : v;
    f[2 * i] = 1.0 + u * u * v - 4.0 * u + b->D * (ul - 2 * u + ur);
    f[2 * i + 1] = 3.0 * u - u * u * v + b->D * (vl - 2 * v + vr);
  }
  return 0;
}
/* pattern: u_i couples to u_{i±1}, v_i; v_i to v_{i±1}, u_i */
static csc bruss_pattern(int m) {
  const int n = 2 * m;
  csc a;
  a.n = n;
  a.colptr = (int *)malloc(sizeof(int) * (n + 1));
  a.rowind = (int *)malloc(sizeof(int) * 4 * n);
  a.val = (double *)malloc(sizeof(double) * 4 * n);
  int nz = 0;
  for (int j = 0; j < n; ++j) {
    const int i = j / 2;
    a.colptr[j] = nz;
    if (i > 0) a.rowind[nz++] = j - 2;
    a.rowind[nz++] = j;
    a.rowind[nz++] = (j % 2) ? j - 1 : j + 1;
    if (i < m - 1) a.rowind[nz++] = j + 2;
  }
  a.colptr[n] = nz;
  a.nnz = nz;
  return a;
}
static void bruss_exact(const bruss *b, const double *y, const csc *a, double *val) {
  const int m = b->m;
  for (int j = 0; j < a->n; ++j) {
    const int s = j / 2;
    for (int p = a->colptr[j]; p < a->colptr[j + 1]; ++p) {
      const int r = a->rowind[p], si = r / 2;
      const double u = y[2 * s], v = y[2 * s + 1];
      double d = 0.0;
      if (si != s) d = b->D;
      else {
        const int nb = (s > 0) + (s < m - 1);
        if (r % 2 == 0 && j % 2 == 0) d = 2 * u * v - 4.0 - nb * b->D;
        if (r % 2 == 0 && j % 2 == 1) d = u * u;
        if (r % 2 == 1 && j % 2 == 0) d = 3.0 - 2 * u * v;
        if (r % 2 == 1 && j % 2 == 1) d = -u * u - nb * b->D;
      }
      val[p] = d;
    }
  }
}
static int bruss_jac(double t, const double *y, const double *fy, double *v, void *u) {
  bruss *b = (bruss *)u;
  csc a = bruss_pattern(b->m);
  bruss_exact(b, y, &a, v);
  csc_free(&a);
  return 0;
}

static void test_fd_jacobian(int m) {
  bruss br = {m, 0.5, 0};
  csc a = bruss_pattern(m);
  const int n = a.n;
  double *y = (double *)malloc(sizeof(double) * n), *fy = (double *)malloc(sizeof(double) * n),
         *ewt = (double *)malloc(sizeof(double) * n), *exact = (double *)malloc(sizeof(double) * a.nnz);
  for (int i = 0; i < n; ++i) { y[i] = 0.5 + urand(); ewt[i] = 1.0 / (1e-6 + 1e-6 * y[i]); }
  bruss_rhs(0, y, fy, &br);
  bruss_exact(&br, y, &a, exact);
  nk_ode ode_fd = {n, bruss_rhs, NULL, NULL, 0, NULL, NULL, &br};
  nk_ode ode_an = {n, bruss_rhs, NULL, bruss_jac, a.nnz, a.colptr, a.rowind, &br};
  for (int kind = 0; kind < 2; ++kind) {
    nk_linsol *fd = NULL, *an = NULL;
    if (kind == 0) {
      nk_linsol_sparse_create(n, a.nnz, a.colptr, a.rowind, &fd);
      nk_linsol_sparse_create(n, a.nnz, a.colptr, a.rowind, &an);
    } else {
      nk_linsol_gmres_create(n, a.nnz, a.colptr, a.rowind, &fd);
      nk_linsol_gmres_create(n, a.nnz, a.colptr, a.rowind, &an);
      nk_linsol_gmres_set_rtol(fd, 1e-12);
      nk_linsol_gmres_set_rtol(an, 1e-12);
    }
    long nfev = 0;
    br.calls = 0;
    CHECK(fd->ops->jac(fd, &ode_fd, 0, y, fy, ewt, &nfev) == NK_SUCCESS, "fd jac");
    int ncol;
    if (kind == 0) {
      nk_linsol_sparse_info info;
      nk_linsol_sparse_get_info(fd, &info);
      ncol = info.ncolour;
    } else {
      nk_linsol_gmres_info info;
      nk_linsol_gmres_get_info(fd, &info);
      ncol = info.ncolour;
    }
    CHECK(nfev == ncol && br.calls == ncol, "one rhs per group (%ld, %d)", nfev, ncol);
    CHECK(ncol <= 6 && (m < 3 || ncol >= 3), "few groups for a banded pattern: %d", ncol);
    CHECK(an->ops->jac(an, &ode_an, 0, y, fy, ewt, &nfev) == NK_SUCCESS && nfev == ncol,
          "analytic jac adds no rhs calls");
    /* the two J agree: compare the solutions with a well-conditioned shift */
    const double c = 50.0;
    CHECK(fd->ops->setup(fd, c) == NK_SUCCESS && an->ops->setup(an, c) == NK_SUCCESS,
          "setup fd/analytic");
    double *x1 = (double *)malloc(sizeof(double) * n), *x2 = (double *)malloc(sizeof(double) * n);
    for (int i = 0; i < n; ++i) x1[i] = x2[i] = urand();
    fd->ops->solve(fd, x1);
    an->ops->solve(an, x2);
    CHECK(rel_diff(n, x1, x2) < 1e-7, "FD vs analytic solution (kind %d): %g", kind,
          rel_diff(n, x1, x2));
    free(x1); free(x2);
    nk_linsol_free(&fd);
    nk_linsol_free(&an);
  }
  /* entrywise check through the dense-comparable route: FD values with
   * jac_csc compared to exact via a third solver reading J back */
  {
    nk_linsol *fd = NULL;
    nk_linsol_sparse_create(n, a.nnz, a.colptr, a.rowind, &fd);
    fd->ops->jac(fd, &ode_fd, 0, y, fy, ewt, NULL);
    /* J = c I - (c I - J): recover the FD J column by column from solves
     * would be costly; instead compare (cI - J_fd) e_j products via dense LU */
    nk_linsol *de = NULL;
    nk_linsol_dense_create(n, &de);
    nk_ode dense_fd = {n, bruss_rhs, NULL, NULL, 0, NULL, NULL, &br};
    de->ops->jac(de, &dense_fd, 0, y, fy, ewt, NULL); /* column-by-column FD */
    fd->ops->setup(fd, 7.0);
    de->ops->setup(de, 7.0);
    double *x1 = (double *)malloc(sizeof(double) * n), *x2 = (double *)malloc(sizeof(double) * n);
    for (int i = 0; i < n; ++i) x1[i] = x2[i] = urand();
    fd->ops->solve(fd, x1);
    de->ops->solve(de, x2);
    CHECK(rel_diff(n, x1, x2) < 1e-12, "grouped FD equals column-by-column FD: %g",
          rel_diff(n, x1, x2));
    free(x1); free(x2);
    nk_linsol_free(&fd);
    nk_linsol_free(&de);
  }
  free(y); free(fy); free(ewt); free(exact);
  csc_free(&a);
}

/* ---- ordering quality and timings --------------------------------------- */

static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }

static void test_ordering_quality(void) {
  /* 5-point Laplacian on 60 x 60: natural (band) order fills ~ n * m; a
   * minimum degree order does much better */
  const int m = 60;
  csc a = grid_csc(m);
  jac_user ju = {&a, NULL};
  nk_linsol *sp = sparse_from(&a, &ju);
  nk_linsol_sparse_info info;
  nk_linsol_sparse_get_info(sp, &info);
  CHECK(info.lnz_est < 0.5 * (double)a.n * m, "AMD fill %ld vs band %d", info.lnz_est, a.n * m);
  CHECK(sp->ops->setup(sp, 0.5) == NK_SUCCESS, "grid factor");
  nk_linsol_sparse_get_info(sp, &info);
  CHECK(info.lnz <= info.lnz_est && info.unz <= info.lnz_est, "diagonal pivots within estimate");
  double *b = (double *)malloc(sizeof(double) * a.n), *x = (double *)malloc(sizeof(double) * a.n);
  for (int i = 0; i < a.n; ++i) b[i] = x[i] = urand();
  sp->ops->solve(sp, x);
  CHECK(rel_residual(&a, 0.5, x, b) < 1e-14, "grid residual");
  free(b); free(x);
  nk_linsol_free(&sp);
  csc_free(&a);
}

static void time_case(const char *name, csc *a) {
  jac_user ju = {a, NULL};
  const double t0 = now();
  nk_linsol *sp = NULL;
  nk_status st = nk_linsol_sparse_create(a->n, a->nnz, a->colptr, a->rowind, &sp);
  const double t1 = now();
  CHECK(st == NK_SUCCESS, "create %s", name);
  if (st != NK_SUCCESS) return;
  nk_ode ode = csc_ode(a, &ju);
  double *y = (double *)calloc(a->n, sizeof(double)), *b = (double *)malloc(sizeof(double) * a->n),
         *x = (double *)malloc(sizeof(double) * a->n);
  sp->ops->jac(sp, &ode, 0, y, y, NULL, NULL);
  const double c = 0.5 * dominant_shift(a);
  const double t2 = now();
  st = sp->ops->setup(sp, c);
  const double t3 = now();
  CHECK(st == NK_SUCCESS, "factor %s", name);
  int nre = 0;
  double t4 = now();
  for (; nre < 20 && (nre == 0 || now() - t4 < 0.5); ++nre) sp->ops->setup(sp, c * (1.0 + 0.01 * nre));
  const double t5 = now();
  for (int i = 0; i < a->n; ++i) b[i] = x[i] = urand();
  int ns = 0;
  const double t6 = now();
  for (; ns < 50 && (ns == 0 || now() - t6 < 0.2); ++ns) {
    memcpy(x, b, sizeof(double) * a->n);
    sp->ops->solve(sp, x);
  }
  const double t7 = now();
  const double cl = c * (1.0 + 0.01 * (nre - 1));
  CHECK(rel_residual(a, cl, x, b) < 1e-13, "%s residual %g", name, rel_residual(a, cl, x, b));
  /* GMRES on the same matrix */
  nk_linsol *gm = NULL;
  nk_linsol_gmres_create(a->n, a->nnz, a->colptr, a->rowind, &gm);
  gm->ops->jac(gm, &ode, 0, y, y, NULL, NULL);
  const double t8 = now();
  st = gm->ops->setup(gm, c);
  memcpy(x, b, sizeof(double) * a->n);
  if (st == NK_SUCCESS) st = gm->ops->solve(gm, x);
  const double t9 = now();
  nk_linsol_gmres_info gi;
  nk_linsol_gmres_get_info(gm, &gi);
  nk_linsol_sparse_info info;
  nk_linsol_sparse_get_info(sp, &info);
  printf("  %-22s n=%5d nnz=%6d  symbolic %7.2f ms  factor %7.2f ms  refactor %7.2f ms"
         "  solve %6.3f ms  L+U %8ld (est %8ld)  | gmres setup+solve %6.2f ms (%d it, %s)\n",
         name, a->n, a->nnz, 1e3 * (t1 - t0), 1e3 * (t3 - t2), 1e3 * (t5 - t4) / (nre ? nre : 1),
         1e3 * (t7 - t6) / ns, info.lnz + info.unz, 2 * info.lnz_est, 1e3 * (t9 - t8),
         gi.last_iters, nk_status_name(st));
  nk_linsol_free(&gm);
  nk_linsol_free(&sp);
  free(y); free(b); free(x);
}

static void timings(void) {
  printf("timings (CPU time; not asserted):\n");
  const int sizes[3] = {1000, 3744, 10000};
  for (int k = 0; k < 3; ++k) {
    const int n = sizes[k];
    csc a = banded_csc(n, 2, 1.0);
    time_case("banded bw=2", &a);
    csc_free(&a);
    a = banded_csc(n, 40, 0.1);
    time_case("random in band 40", &a);
    csc_free(&a);
    a = network_csc(n, 4, 10);
    time_case("network (10 hubs)", &a);
    csc_free(&a);
    a = random_csc(n, n <= 4000 ? 3 : 2, 1);
    time_case(n <= 4000 ? "random 3/col" : "random 2/col", &a);
    csc_free(&a);
  }
  csc g = grid_csc(100);
  time_case("grid 100x100", &g);
  csc_free(&g);
}

int main(void) {
  const int sizes[] = {1, 2, 3, 5, 10, 37, 100, 500, 1000, 2000};
  for (int k = 0; k < 10; ++k) {
    const int reps = sizes[k] <= 100 ? 10 : 1;
    for (int r = 0; r < reps; ++r) test_agree(sizes[k], 5, sizes[k] <= 500);
  }
  for (int n = 1; n <= 300; n = 2 * n + 1) {
    test_pivoting(n, 0);
    test_pivoting(n, 1);
  }
  test_singular();
  test_arguments();
  for (int n = 1; n <= 2000; n = n * 3 + 1) {
    test_gmres(n, 5, 1e-6);
    test_gmres(n, 5, 1e-10);
  }
  test_gmres_options();
  test_fd_jacobian(1);
  test_fd_jacobian(2);
  test_fd_jacobian(50);
  test_ordering_quality();
  timings();
  printf("test_sparse: %s (%d checks, %d failures)\n", failures ? "FAILED" : "ok", checks,
         failures);
  return failures != 0;
}
