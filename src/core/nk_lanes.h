/* nk_lanes.h - NK_LANES-wide double vectors for the lane-interleaved kernels.
 *
 * With GCC or Clang, nk_vd is a generic vector of NK_VW doubles (one AVX
 * register; the kernels loop over NK_LANES / NK_VW of them); elsewhere the
 * kernels fall back to plain loops over the lanes.  Every operation is the
 * element-wise IEEE operation, so a lane computes exactly what the scalar
 * code computes (with -ffp-contract=off: no fused multiply-adds either).
 */
#ifndef NK_LANES_H
#define NK_LANES_H

#include <string.h>

#include "nk_tape.h" /* NK_LANES */
#include "nk_target.h"

#if defined(__GNUC__) || defined(__clang__)
#define NK_HAVE_VECTORS 1
#if defined(__GNUC__) && !defined(__clang__)
/* (the vectors never cross a non-inlined call: no ABI concern) */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#define NK_VW 4
typedef double nk_vd __attribute__((vector_size(NK_VW * sizeof(double))));
typedef long long nk_vm __attribute__((vector_size(NK_VW * sizeof(long long))));

NK_INLINE nk_vd nk_vload(const double *p) {
  nk_vd v;
  memcpy(&v, p, sizeof v);
  return v;
}
NK_INLINE void nk_vstore(double *p, nk_vd v) { memcpy(p, &v, sizeof v); }
NK_INLINE nk_vd nk_vsplat(double x) {
  nk_vd v;
  for (int l = 0; l < NK_VW; ++l) v[l] = x;
  return v;
}
/* m ? a : b per lane, m a comparison result (all ones or all zeros). */
NK_INLINE nk_vd nk_vselect(nk_vm m, nk_vd a, nk_vd b) {
  return (nk_vd)(((nk_vm)a & m) | ((nk_vm)b & ~m));
}
/* m ? a : +0 per lane. */
NK_INLINE nk_vd nk_vmask(nk_vm m, nk_vd a) {
  return (nk_vd)((nk_vm)a & m);
}
/* |a|: the sign bit cleared, exactly fabs. */
NK_INLINE nk_vd nk_vabs(nk_vd a) {
  const nk_vm sign = (nk_vm)nk_vsplat(-0.0);
  return (nk_vd)((nk_vm)a & ~sign);
}
#endif

#endif
