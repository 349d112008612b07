/* nk_lstsq.h - minimum-norm least squares for a square, possibly singular
 * matrix: what the steady-state Newton iteration takes as its step where the
 * Jacobian is singular (numpy's lstsq in the Python iteration). */
#ifndef NK_LSTSQ_H
#define NK_LSTSQ_H

#include <stddef.h>

#include "nk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Workspace doubles nk_lstsq needs for n unknowns. */
#define NK_LSTSQ_WORK(n) (2 * (size_t)(n))

/* The x of smallest norm among those minimising ||A x - b|| for the n x n
 * column-major A (overwritten), rank decided at |R_kk| <= n eps |R_00| of
 * a QR factorisation with column pivoting (numpy's lstsq drops singular
 * values below n eps sigma_max), by a complete orthogonal decomposition
 * (Golub & Van Loan, 4th ed., Sec. 5.4.2 and 5.5).  b (n) is overwritten
 * by x.  work: NK_LSTSQ_WORK(n) doubles; jpvt: n ints.  *rank gets the
 * rank used (may be NULL).  Returns NK_SUCCESS, NK_NONFINITE (A or b not
 * finite) or NK_ERR_ARGUMENT. */
nk_status nk_lstsq(int n, double *a, double *b, double *work, int *jpvt, int *rank);

#ifdef __cplusplus
}
#endif

#endif
