/* nk_eigen.h - eigenvalues of a small dense real matrix.
 *
 * For the steady-state stability check (is every eigenvalue of the reduced
 * Jacobian in the left half plane?) without LAPACK, so that a whole
 * steady-state search runs in C with the GIL released.  Balancing,
 * Householder reduction to Hessenberg form and the Francis double-shift QR
 * iteration; eigenvalues only (no vectors), O(n^3): meant for the few
 * hundred states at most of a dense Jacobian.
 */
#ifndef NK_EIGEN_H
#define NK_EIGEN_H

#include <stddef.h>

#include "nk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Workspace doubles nk_eigvals needs for an n x n matrix. */
#define NK_EIGEN_WORK(n) (2 * (size_t)(n))

/* Eigenvalues wr[k] + i wi[k] (k < n) of the n x n column-major matrix a,
 * which is overwritten.  Complex conjugate pairs come in adjacent entries,
 * the one with positive imaginary part first; the order is otherwise
 * unspecified.  work: NK_EIGEN_WORK(n) doubles.  Returns NK_SUCCESS,
 * NK_NONFINITE when a holds a NaN or an infinity (wr, wi untouched),
 * NK_CONV_FAILURE when the QR iteration did not converge (30 max(10, n)
 * iterations for one eigenvalue, as LAPACK's dlahqr allows), or
 * NK_ERR_ARGUMENT. */
nk_status nk_eigvals(int n, double *a, double *wr, double *wi, double *work);

#ifdef __cplusplus
}
#endif

#endif
