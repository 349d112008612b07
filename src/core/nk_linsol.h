/* nk_linsol.h - the linear solver as a strategy behind a small ops table.
 *
 * Integrators never touch a matrix: they ask the linear solver to evaluate
 * the Jacobian J into its own storage (dense or sparse), to factor the
 * shifted matrix c*I - J (real c, for BDF) or (cr + i*ci)*I - J (complex,
 * for Radau IIA), and to solve with the last factorisation.  Dense LU with
 * partial pivoting is nk_linsol_dense; a sparse solver plugs in by
 * providing the same ops.
 */
#ifndef NK_LINSOL_H
#define NK_LINSOL_H

#include "nk_ode.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_linsol nk_linsol;

typedef struct nk_linsol_ops {
  /* Evaluate J = df/dy at (t, y) into the solver's storage; fy = f(t, y).
   * *nfev is increased by any right-hand side calls (finite differences).
   * ewt (length n, may be NULL) are the error weights, to size FD increments.
   * NK_JAC_FAIL when the Jacobian fails or is not finite (integrators retry
   * with a smaller step); NK_RHS_FAIL when the rhs, called for finite
   * differences, returns a negative value (abort: not retried). */
  nk_status (*jac)(nk_linsol *ls, const nk_ode *ode, double t, const double *y,
                   const double *fy, const double *ewt, long *nfev);
  /* Factor c*I - J with the last J.  NK_SINGULAR_MATRIX if singular. */
  nk_status (*setup)(nk_linsol *ls, double c);
  /* b <- (c*I - J)^{-1} b with the last real factorisation. */
  nk_status (*solve)(nk_linsol *ls, double *b);
  /* Factor (cr + i ci) I - J (complex; may be NULL if unsupported). */
  nk_status (*setup_complex)(nk_linsol *ls, double cr, double ci);
  /* (br + i bi) <- ((cr + i ci) I - J)^{-1} (br + i bi). */
  nk_status (*solve_complex)(nk_linsol *ls, double *br, double *bi);
  void (*destroy)(nk_linsol *ls);
} nk_linsol_ops;

struct nk_linsol {
  const nk_linsol_ops *ops;
  int n;
  void *impl;
};

/* Dense LU with partial pivoting (real and complex). */
nk_status nk_linsol_dense_create(int n, nk_linsol **out);
/* The last real factorisation of a dense solver, for callers that solve
 * with it themselves (the ensemble lanes): lu column-major n*n (unit L
 * below the diagonal, U on and above), piv[k] the row swapped into k, and
 * *count the number of factorisations so far (changes when lu does).  Any
 * output may be NULL.  Borrowed pointers; NK_ERR_ARGUMENT when ls is not a
 * dense solver. */
nk_status nk_linsol_dense_factors(const nk_linsol *ls, const double **lu,
                                  const int **piv, long *count);
/* Where a dense solver counts its factorisations (the *count above), so a
 * caller can watch for a new one without a call; NULL when ls is not a
 * dense solver.  Borrowed. */
const long *nk_linsol_dense_counter(const nk_linsol *ls);
/* Frees a linear solver of any kind; accepts NULL and sets *p to NULL. */
void nk_linsol_free(nk_linsol **p);

/* Finite-difference dense Jacobian (column-major, n*n) with the increment
 * rule of CVODE's cvDlsDenseDQJac: sigma_j = max(sqrt(uround)*|y_j|,
 * min_inc / ewt_j).  work has length 2n. */
nk_status nk_fd_jacobian(const nk_ode *ode, double t, const double *y,
                         const double *fy, const double *ewt, double *J,
                         double *work, long *nfev);

#ifdef __cplusplus
}
#endif
#endif
