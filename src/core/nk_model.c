/* nk_model.c - a compiled model's callbacks: right-hand side and analytic
 * Jacobian (sparse values in CSC order, or scattered into a dense matrix).
 */
#include "nk_model.h"

#include <math.h>
#include <string.h>

static int nk_all_finite(const double *v, int n) {
  int i;
  for (i = 0; i < n; ++i)
    if (!isfinite(v[i])) return 0;
  return 1;
}

static nk_status nk_pattern_check(int n, int nnz, const int *colptr,
                                  const int *rowind) {
  int j, k;
  if (nnz < 0 || (long long)nnz > (long long)n * (long long)n)
    return NK_BAD_PROGRAM;
  if (colptr == NULL || (nnz > 0 && rowind == NULL)) return NK_BAD_PROGRAM;
  if (colptr[0] != 0 || colptr[n] != nnz) return NK_BAD_PROGRAM;
  for (j = 0; j < n; ++j) {
    if (colptr[j + 1] < colptr[j] || colptr[j + 1] > nnz)
      return NK_BAD_PROGRAM; /* rowind has nnz entries: never read past them */
    for (k = colptr[j]; k < colptr[j + 1]; ++k) {
      if (rowind[k] < 0 || rowind[k] >= n) return NK_BAD_PROGRAM;
      if (k > colptr[j] && rowind[k] <= rowind[k - 1])
        return NK_BAD_PROGRAM; /* rows sorted, no duplicates */
    }
  }
  return NK_SUCCESS;
}

nk_status nk_model_check(const nk_model *m) {
  nk_status s;
  if (m == NULL) return NK_ERR_ARGUMENT;
  if (m->n_y < 0 || m->n_p < 0) return NK_BAD_PROGRAM;
  if (m->rhs.n_y != m->n_y || m->rhs.n_p != m->n_p) return NK_BAD_PROGRAM;
  if (m->jac.n_y != m->n_y || m->jac.n_p != m->n_p) return NK_BAD_PROGRAM;
  if ((s = nk_tape_check(&m->rhs)) != NK_SUCCESS) return s;
  if ((s = nk_tape_check(&m->jac)) != NK_SUCCESS) return s;
  if (m->rhs.n_out != m->n_y || m->jac.n_out != m->nnz) return NK_BAD_PROGRAM;
  if (m->n_roots < 0) return NK_BAD_PROGRAM;
  if (m->n_roots > 0) {
    if (m->roots.n_y != m->n_y || m->roots.n_p != m->n_p ||
        m->roots.n_out != m->n_roots)
      return NK_BAD_PROGRAM;
    if ((s = nk_tape_check(&m->roots)) != NK_SUCCESS) return s;
  }
  return nk_pattern_check(m->n_y, m->nnz, m->colptr, m->rowind);
}

nk_status nk_model_ctx_init(nk_model_ctx *ctx, const nk_model *m,
                            const double *p, double *rhs_work,
                            double *jac_work, double *jac_vals) {
  if (ctx == NULL || m == NULL || rhs_work == NULL || jac_work == NULL)
    return NK_ERR_ARGUMENT;
  if (m->n_p > 0 && p == NULL) return NK_ERR_ARGUMENT;
  if (m->nnz > 0 && jac_vals == NULL) return NK_ERR_ARGUMENT;
  ctx->model = m;
  ctx->rhs_work = rhs_work;
  ctx->jac_work = jac_work;
  ctx->jac_vals = jac_vals;
  nk_tape_bind(&m->rhs, p, rhs_work);
  nk_tape_bind(&m->jac, p, jac_work);
  if (m->n_roots > 0) {
    if (ctx->roots_work == NULL) return NK_ERR_ARGUMENT;
    nk_tape_bind(&m->roots, p, ctx->roots_work);
  }
  return NK_SUCCESS;
}

void nk_model_ode(nk_model_ctx *ctx, nk_ode *ode) {
  const nk_model *m = ctx->model;
  ode->n = m->n_y;
  ode->rhs = nk_model_rhs;
  ode->jac = nk_model_jac_dense;
  ode->jac_csc = nk_model_jac_csc;
  ode->nnz = m->nnz;
  ode->colptr = m->colptr;
  ode->rowind = m->rowind;
  ode->user = ctx;
}

int nk_model_rhs(double t, const double *y, double *ydot, void *user) {
  nk_model_ctx *ctx = (nk_model_ctx *)user;
  const nk_model *m = ctx->model;
  nk_tape_eval(&m->rhs, t, y, ctx->rhs_work, ydot);
  return nk_all_finite(ydot, m->n_y) ? 0 : 1;
}

int nk_model_jac_csc(double t, const double *y, const double *fy,
                     double *values, void *user) {
  nk_model_ctx *ctx = (nk_model_ctx *)user;
  const nk_model *m = ctx->model;
  nk_tape_eval(&m->jac, t, y, ctx->jac_work, values);
  return nk_all_finite(values, m->nnz) ? 0 : 1;
}

int nk_model_jac_dense(double t, const double *y, const double *fy, double *J,
                       void *user) {
  nk_model_ctx *ctx = (nk_model_ctx *)user;
  const nk_model *m = ctx->model;
  const int n = m->n_y;
  const int *colptr = m->colptr;
  const int *rowind = m->rowind;
  const double *vals = ctx->jac_vals;
  int j, k;
  nk_tape_eval(&m->jac, t, y, ctx->jac_work, ctx->jac_vals);
  memset(J, 0, (size_t)n * (size_t)n * sizeof(double));
  for (j = 0; j < n; ++j) {
    double *col = J + (size_t)j * (size_t)n;
    for (k = colptr[j]; k < colptr[j + 1]; ++k) col[rowind[k]] = vals[k];
  }
  return nk_all_finite(vals, m->nnz) ? 0 : 1;
}

int nk_model_roots(double t, const double *y, double *g, void *user) {
  nk_model_ctx *ctx = (nk_model_ctx *)user;
  const nk_model *m = ctx->model;
  nk_tape_eval(&m->roots, t, y, ctx->roots_work, g);
  return nk_all_finite(g, m->n_roots) ? 0 : 1;
}
