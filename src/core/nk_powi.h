/* nk_powi.h - the integer power of the tape's POWI, shared by the scalar and
 * the lane evaluators (internal).  Binary powering, then 1/r for negative n:
 * one definition, so both round the same. */
#ifndef NK_POWI_H
#define NK_POWI_H

static inline double nk_powi(double x, int n) {
  unsigned int m = n < 0 ? (unsigned int)(-(long)n) : (unsigned int)n;
  double r = 1.0;
  while (m) {
    if (m & 1u) r *= x;
    x *= x;
    m >>= 1;
  }
  return n < 0 ? 1.0 / r : r;
}

#endif
