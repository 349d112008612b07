/* nk_ordering.h - private: graph algorithms on a fixed sparse pattern, shared
 * by the sparse direct (nk_linsol_sparse.c) and iterative (nk_linsol_gmres.c)
 * linear solvers.  Not installed; not part of the public API.
 *
 *  - pattern validation and the pattern of c*I - J (J's pattern plus the
 *    diagonal), with a map from J's entries into it;
 *  - approximate minimum degree ordering of A + A^T (Amestoy, Davis & Duff,
 *    SIAM J. Matrix Anal. Appl. 17, 1996) and a symbolic fill estimate
 *    (elimination tree + row subtrees, Liu 1990);
 *  - Curtis-Powell-Reid column grouping and the grouped finite-difference
 *    Jacobian (Curtis, Powell & Reid, IMA J. Appl. Math. 13, 1974).
 *
 * All patterns are compressed sparse column: colptr (n+1), rowind (nnz).
 */
#ifndef NK_ORDERING_H
#define NK_ORDERING_H

#include "nk_linsol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NK_SUCCESS if colptr[0] = 0, colptr is nondecreasing, colptr[n] = nnz,
 * 0 <= rowind < n and no column repeats a row; else NK_ERR_ARGUMENT. */
nk_status nk_pattern_check(int n, int nnz, const int *colptr, const int *rowind);

/* Pattern of J plus the diagonal, rows sorted within each column.  On success
 * *ap (n+1), *ai (*nnza) and *diag (n: index of A(j,j) in ai) are malloc'd
 * (caller frees); jmap[p] (length nnz, caller's) is the index in ai of J's
 * entry p. */
nk_status nk_pattern_with_diag(int n, const int *colptr, const int *rowind,
                               int **ap, int **ai, int *diag, int *jmap,
                               int *nnza);

/* Approximate minimum degree ordering of the pattern of A + A^T (diagonal
 * ignored): perm[k] is the index eliminated k-th.  Rows/columns denser than
 * max(16, 10 sqrt(n)) are ordered last. */
nk_status nk_amd_order(int n, const int *colptr, const int *rowind, int *perm);

/* Off-diagonal entries of the Cholesky factor of P (A + A^T) P^T with
 * perm as above: the fill of L (and of U) under diagonal pivoting; *flops
 * (NULL: not wanted) gets the multiply-adds and divisions of one LU with
 * that structure, sum over columns of c_j (c_j + 1). */
nk_status nk_symbolic_fill(int n, const int *colptr, const int *rowind,
                           const int *perm, long *lnz, double *flops);

/* Grouped finite-difference Jacobian on a fixed pattern (borrowed pointers;
 * the owner keeps the pattern alive). */
typedef struct nk_sparse_fd {
  int n, nnz;
  const int *colptr, *rowind; /* the pattern of J */
  int ngroup;                 /* number of colours */
  int *gptr, *gcol;           /* group g: columns gcol[gptr[g] .. gptr[g+1]) */
  double *ytmp, *ftmp, *inc;  /* work, length n each */
  const int *ok_colptr, *ok_rowind; /* last ode pattern verified equal */
} nk_sparse_fd;

/* Colour the columns (greedy CPR: no two columns of a group share a row)
 * and allocate the work arrays. */
nk_status nk_sparse_fd_init(nk_sparse_fd *fd, int n, int nnz, const int *colptr,
                            const int *rowind);
void nk_sparse_fd_clear(nk_sparse_fd *fd);

/* The shared jac op: values (pattern order) = J(t, y) from ode->jac_csc when
 * set (its pattern must equal the one given at create), otherwise by grouped
 * forward differences with nk_fd_jacobian's increment rule. */
nk_status nk_sparse_jac_eval(nk_sparse_fd *fd, const nk_ode *ode, double t,
                             const double *y, const double *fy,
                             const double *ewt, double *values, long *nfev);

#ifdef __cplusplus
}
#endif
#endif
