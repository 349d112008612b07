/* nk_linsol_sparse.h - sparse linear solvers behind the nk_linsol ops.
 *
 * Both solvers take the pattern of J in compressed sparse column form
 * (colptr of length n+1, rowind of length nnz, no repeated row within a
 * column; rows need not be sorted) and copy it at create: it is fixed for the
 * solver's life.  The jac op calls ode->jac_csc, whose pattern (ode->nnz,
 * ode->colptr, ode->rowind) must equal the one given at create
 * (NK_ERR_ARGUMENT otherwise), or, when ode->jac_csc is NULL, forms J by
 * grouped forward differences (Curtis-Powell-Reid column colouring; one rhs
 * call per colour, counted in *nfev; increments as nk_fd_jacobian).  The
 * matrices factored are c*I - J and (cr + i ci) I - J: J's pattern plus the
 * diagonal.
 *
 * nk_linsol_sparse: sparse direct LU (real and complex).
 *   create: approximate minimum degree ordering of A + A^T and a symbolic
 *   fill estimate; all work arrays and the estimated L/U storage are
 *   allocated here.
 *   setup: left-looking Gilbert-Peierls LU with threshold partial pivoting
 *   that prefers the diagonal (as KLU).  Once a pivot sequence exists, setup
 *   refactors with the same pivots and L/U pattern and only falls back to a
 *   new pivoting factorisation when a pivot is zero, not finite, or smaller
 *   than refactor_tol times the largest entry of its column.  L/U storage
 *   grows in setup only if pivoting fills beyond the estimate; solve never
 *   allocates.
 *   complex: a second factor with its own pivots and separate real/imaginary
 *   value arrays (no 2n embedding); same refactorisation policy.
 *   Errors: NK_SINGULAR_MATRIX for a structurally or numerically singular
 *   matrix, NK_ERR_MEMORY if the factors cannot grow.
 *
 * nk_linsol_gmres: restarted GMRES, right-preconditioned with ILU(0) of
 *   c*I - J on the same pattern (natural order).  Real only: setup_complex
 *   and solve_complex are NULL, so Radau IIA (which needs the complex ops)
 *   rejects it when attached; use it with BDF.  solve returns
 *   NK_CONV_FAILURE (recoverable for the integrators) when the relative
 *   residual ||b - A x|| / ||b|| does not reach rtol within max_iters
 *   Arnoldi steps; b then holds the last iterate.  setup returns
 *   NK_SINGULAR_MATRIX on a zero or non-finite ILU(0) pivot.
 *
 * Both objects are freed with nk_linsol_free.  No globals; one object per
 * thread.
 */
#ifndef NK_LINSOL_SPARSE_H
#define NK_LINSOL_SPARSE_H

#include "nk_linsol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sparse direct LU ------------------------------------------------ */

nk_status nk_linsol_sparse_create(int n, int nnz, const int *colptr,
                                  const int *rowind, nk_linsol **out);

/* Threshold of partial pivoting: the diagonal is kept as pivot while
 * |a_diag| >= tol * max |a_candidate|.  0 < tol <= 1; default 0.001. */
nk_status nk_linsol_sparse_set_pivot_tol(nk_linsol *ls, double tol);
nk_status nk_linsol_sparse_get_pivot_tol(const nk_linsol *ls, double *tol);

/* Refactorisation (reusing pivots) is accepted while every pivot satisfies
 * |pivot| >= tol * max |column entry|; else a pivoting factorisation is
 * done.  0 <= tol < 1; default 1e-8. */
nk_status nk_linsol_sparse_set_refactor_tol(nk_linsol *ls, double tol);
nk_status nk_linsol_sparse_get_refactor_tol(const nk_linsol *ls, double *tol);

typedef struct nk_linsol_sparse_info {
  int n;
  long nnz_a;     /* entries of c*I - J (J's pattern plus the diagonal) */
  long lnz_est;   /* symbolic estimate of off-diagonal entries of L (= of U) */
  double flops_est; /* its operation count per factorisation (multiply-adds + divisions) */
  long lnz, unz;  /* off-diagonal entries of the last real L and U */
  long lnz_c, unz_c; /* the same for the complex factors */
  long nfactor;   /* pivoting factorisations (real and complex) */
  long nrefactor; /* refactorisations reusing a pivot sequence */
  long noffdiag;  /* off-diagonal pivots chosen in the last real pivoting factorisation */
  int ncolour;    /* column groups of the finite-difference Jacobian */
} nk_linsol_sparse_info;

nk_status nk_linsol_sparse_get_info(const nk_linsol *ls, nk_linsol_sparse_info *info);

/* ---- GMRES + ILU(0) -------------------------------------------------- */

nk_status nk_linsol_gmres_create(int n, int nnz, const int *colptr,
                                 const int *rowind, nk_linsol **out);

/* Krylov dimension between restarts, >= 1; default 30. */
nk_status nk_linsol_gmres_set_restart(nk_linsol *ls, int restart);
nk_status nk_linsol_gmres_get_restart(const nk_linsol *ls, int *restart);
/* Arnoldi steps per solve, over all restarts, >= 1; default 200. */
nk_status nk_linsol_gmres_set_max_iters(nk_linsol *ls, int max_iters);
nk_status nk_linsol_gmres_get_max_iters(const nk_linsol *ls, int *max_iters);
/* Relative residual tolerance ||b - A x|| <= rtol ||b||, 0 < rtol < 1;
 * default 1e-3: inside a Newton iteration an inexact linear solve suffices
 * (inexact Newton; CVODE likewise solves to a fraction of the Newton
 * tolerance).  On BCR (1122 species) 1e-6 -> 1e-3 took a run to t=10 from
 * 98 to 82 ms with the same final state to 3e-8. */
nk_status nk_linsol_gmres_set_rtol(nk_linsol *ls, double rtol);
nk_status nk_linsol_gmres_get_rtol(const nk_linsol *ls, double *rtol);

typedef struct nk_linsol_gmres_info {
  long nsolve;       /* solve calls */
  long niter;        /* Arnoldi steps, all solves */
  long nfail;        /* solves that did not converge */
  int last_iters;    /* Arnoldi steps of the last solve */
  double last_relres; /* ||b - A x|| / ||b|| after the last solve */
  int ncolour;       /* column groups of the finite-difference Jacobian */
} nk_linsol_gmres_info;

nk_status nk_linsol_gmres_get_info(const nk_linsol *ls, nk_linsol_gmres_info *info);

#ifdef __cplusplus
}
#endif
#endif
