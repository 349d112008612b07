/* nk_model.h - a compiled model: right-hand side and analytic Jacobian tapes
 * with the Jacobian's sparsity pattern, and the callbacks that let any
 * integrator run it without Python.
 */
#ifndef NK_MODEL_H
#define NK_MODEL_H

#include "nk_ode.h"
#include "nk_tape.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_model {
  int n_y;          /* states */
  int n_p;          /* parameters */
  nk_tape rhs;      /* n_y outputs: dy/dt */
  nk_tape jac;      /* nnz outputs: d f_i / d y_j in CSC order */
  int nnz;
  const int *colptr; /* n_y + 1 */
  const int *rowind; /* nnz */
  int n_roots;      /* event root functions (0: none; then `roots` unused) */
  nk_tape roots;    /* n_roots outputs g_k(t, y), located by the driver */
} nk_model;

/* Per-simulation evaluation context.  All arrays are caller-owned; their
 * sizes come from nk_model_ctx_sizes. The model is shared read-only, so one
 * model can serve many contexts in many threads at once. */
typedef struct nk_model_ctx {
  const nk_model *model;
  double *rhs_work; /* nk_tape_work_size(&model->rhs) */
  double *jac_work; /* nk_tape_work_size(&model->jac) */
  double *jac_vals; /* nnz */
  double *roots_work; /* nk_tape_work_size(&model->roots) when n_roots > 0 */
} nk_model_ctx;

nk_status nk_model_check(const nk_model *m);
/* Bind parameters p (length n_p) into the context's work arrays.  A model
 * with root functions needs ctx->roots_work set before this call (it is
 * bound too); nk_model_ctx_init leaves the field as it finds it. */
nk_status nk_model_ctx_init(nk_model_ctx *ctx, const nk_model *m,
                            const double *p, double *rhs_work,
                            double *jac_work, double *jac_vals);
/* Fill an nk_ode for this context (rhs, dense jac, csc jac, pattern). */
void nk_model_ode(nk_model_ctx *ctx, nk_ode *ode);

/* Callbacks (user = nk_model_ctx *).  Return 1 (recoverable) when an output
 * is not finite. */
int nk_model_rhs(double t, const double *y, double *ydot, void *user);
int nk_model_jac_dense(double t, const double *y, const double *fy, double *J,
                       void *user);
int nk_model_jac_csc(double t, const double *y, const double *fy,
                     double *values, void *user);
/* Event root functions g (length n_roots); user = nk_model_ctx *. */
int nk_model_roots(double t, const double *y, double *g, void *user);

#ifdef __cplusplus
}
#endif
#endif
