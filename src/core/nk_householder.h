/* nk_householder.h - the Householder reflector shared by the eigenvalue
 * routine (nk_eigen.c) and the least-squares solver (nk_lstsq.c). */
#ifndef NK_HOUSEHOLDER_H
#define NK_HOUSEHOLDER_H

#include <math.h>

#include "nk_target.h"

/* Reflector I - tau v v^T (v[0] = 1) mapping (x0, x1, ..., x_{m-1}) to
 * (beta, 0, ..., 0), beta = -sign(x0) ||x|| (LAPACK's dlarfg convention).
 * x (contiguous, m entries) is overwritten by v; returns tau (0: nothing to
 * annihilate, beta = x0). */
NK_INLINE double nk_reflector(int m, double *x, double *beta) {
  double s = 0.0;
  for (int i = 1; i < m; ++i) s += fabs(x[i]);
  if (s == 0.0) {
    *beta = x[0];
    x[0] = 1.0;
    return 0.0;
  }
  s += fabs(x[0]);
  double nrm = 0.0; /* scaled by s against overflow */
  for (int i = 0; i < m; ++i) nrm += (x[i] / s) * (x[i] / s);
  nrm = s * sqrt(nrm);
  const double b = x[0] >= 0.0 ? -nrm : nrm;
  const double tau = (b - x[0]) / b;
  const double inv = 1.0 / (x[0] - b);
  for (int i = 1; i < m; ++i) x[i] *= inv;
  x[0] = 1.0;
  *beta = b;
  return tau;
}

#endif
