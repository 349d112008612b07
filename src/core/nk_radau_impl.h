/* nk_radau_impl.h - private state of the Radau IIA (order 5) integrator.
 *
 * Only nk_radau.c and the C unit tests include this header.
 */
#ifndef NK_RADAU_IMPL_H
#define NK_RADAU_IMPL_H

#include "nk_radau.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nk_radau {
  int n;

  /* options */
  double rtol_user;  /* tolerances as given by the user */
  double *atol_user; /* n */
  double rtol;       /* internal tolerances after RADAU5's transformation */
  double *atol;      /* n */
  double fnewt;      /* Newton stopping tolerance (from the internal rtol) */
  double h0;         /* user initial step, 0 = automatic */
  double hmax;       /* 0 = unlimited */
  int fixed_step;    /* test hook: no error control, h kept constant */
  int nonneg;        /* constraint y_i >= -atol_i on accepted steps */

  /* problem (borrowed) */
  const nk_ode *ode;
  nk_linsol *ls;

  /* integration state */
  int initialised;
  double t, tstop, dir; /* dir = +1 forward, -1 backward */
  double h;             /* step size to try next (signed), 0 = choose */
  double hold;          /* last accepted step (signed) */
  double told;          /* time before the last accepted step */
  double h_lu;          /* h of the current factorisations, 0 = none */
  double theta;         /* last Newton contraction estimate */
  double faccon;        /* Newton convergence factor, carried across steps */
  double hacc, erracc;  /* Gustafsson controller memory */
  int first;            /* no step accepted yet */
  int reject;           /* the last attempt was rejected */
  int f0_valid;         /* f0 = f(t, y) is current */
  int jac_fresh;        /* J was evaluated at the current (t, y) */
  int need_jac;         /* J must be re-evaluated before the next factorisation */

  /* work arrays: one block, carved up in create */
  double *mem;
  double *y, *f0, *wt;     /* state, f(t,y), Newton weights 1/scal */
  double *z1, *z2, *z3;    /* stage increments Z_i = Y_i - y */
  double *w1, *w2, *w3;    /* transformed increments W = (TI x I) Z */
  double *d1, *d2, *d3;    /* stage rhs values / Newton corrections */
  double *ytmp, *ewt2;     /* scratch */
  double *c1, *c2, *c3;    /* dense output: divided differences (CONTR5) */

  nk_stats stats;
};

/* Test hook: on != 0 disables the error-based step-size control (every step
 * is accepted and h stays at the value set with nk_radau_set_h0).  Used for
 * empirical convergence-order tests only. */
nk_status nk_radau_set_fixed_step(nk_radau *s, int on);

#ifdef __cplusplus
}
#endif
#endif
