/* nk_bdf_impl.h - private state of the variable-order BDF integrator.
 *
 * The solution history is kept in Nordsieck form (Nordsieck 1962; Byrne and
 * Hindmarsh 1975; CVODE): zn[j] = h^j y^(j)(tn) / j!, j = 0..q, scaled to the
 * step size hscale.  The method is the fixed-leading-coefficient form of
 * variable-step BDF (Jackson and Sacks-Davis 1980), as in CVODE and VODE.
 * Only nk_bdf.c (and the C unit tests) include this header.
 */
#ifndef NK_BDF_IMPL_H
#define NK_BDF_IMPL_H

#include "nk_bdf.h"

#define NK_BDF_QMAX 5              /* highest order */
#define NK_BDF_LMAX (NK_BDF_QMAX + 1) /* number of history columns */

struct nk_bdf {
  int n;

  /* Options. */
  double rtol;
  double *atol;   /* length n */
  int qmax_opt;   /* max order requested; applied by init */
  double h0_opt;  /* first step; 0 = automatic */
  double hmax;    /* 0 = unlimited */
  double hmax_inv;

  /* Problem (borrowed). */
  const nk_ode *ode;
  nk_linsol *ls;
  double tstop;
  int initialised; /* init succeeded */
  int started;     /* first step size chosen, zn[1] loaded */
  int ewt_bad;     /* a weight denominator rtol|y|+atol vanished */
  int fixed;       /* test mode of nk_bdf_fix_step: fixed q and h */
  int nonneg;      /* constraint y_i >= -atol_i on accepted steps */

  /* Work arrays: one allocation, carved into the pointers below. */
  double *block;
  double *zn[NK_BDF_LMAX]; /* Nordsieck history */
  double *ewt;             /* error weights 1/(rtol|y| + atol) */
  double *acor;            /* accumulated Newton correction y_n - y_n(0) */
  double *y;               /* current Newton iterate */
  double *fpred;           /* f at the predicted value */
  double *ftemp;           /* f at later iterates */
  double *tempv;           /* Newton increment */

  /* Integration state. */
  double tn;       /* time of the last accepted step */
  double h;        /* step size of the current/next attempt */
  double hscale;   /* step size the history zn is scaled to */
  double hprime;   /* step size proposed for the next step */
  double eta;      /* hprime / h */
  double etamax;   /* growth limit for the next step */
  double hu;       /* step size of the last accepted step */
  int q, qprime, qu, qmax, qwait;
  double tau[NK_BDF_LMAX + 1]; /* previous step sizes, tau[1] most recent */
  double l[NK_BDF_LMAX];       /* corrector polynomial coefficients */
  double tq[6];                /* error test constants tq[1..5] */
  /* Input of the last bdf_set_coeffs (q, h, tau[1..q], fixed): the same
   * input gives the same l and tq, so they are reused (coef_q 0 = none). */
  int coef_q, coef_fixed;
  double coef_h, coef_tau[NK_BDF_LMAX + 1];
  double rl1, gamma, gammap, gamrat;
  double crate;     /* Newton convergence rate estimate */
  double acnrm;     /* WRMS norm of the correction */
  double saved_tq5; /* tq[5] when acor was saved in zn[qmax] */
  long nstlp;       /* step of the last matrix factorisation */
  long nstlj;       /* step of the last Jacobian evaluation */
  int jcur;         /* Jacobian evaluated in the current step */

  /* The step in progress (nk_bdf_advance): where it resumes and the
   * locals that live across its requests. */
  int pc;              /* resume point, 0 = begin a new step */
  double dir;          /* +1 forward, -1 backward */
  double saved_t;      /* tn when the step began */
  double tnew;         /* time the attempt steps to */
  int nflag, ncf, nef; /* previous-attempt flag, failure counts */
  nk_status last_why;  /* cause of the last recoverable failure */
  int call_setup, convfail, m; /* Newton: setup wanted, why, iterate index */
  double scale, delp;  /* Newton: increment scale, previous norm */
  nk_status fwhy;      /* Newton: what a failure of this iteration reports */
  const double *f;     /* Newton: f at the current iterate */

  double keep_lo[NK_BDF_LMAX + 1], keep_hi[NK_BDF_LMAX + 1]; /* see bdf_complete */

  nk_stats st;
};

/* Test hook (not public API): after nk_bdf_init, load the Nordsieck history
 * from exact derivatives at t0 -- derivs holds q+1 vectors of length n,
 * y, y', ..., y^(q), so zn[j] = h^j y^(j) / j! -- and pin the order to q
 * and the step to h (the last step is still shortened to land on tstop).
 * The error test and all step/order changes are off; the Newton iteration
 * still runs, to 1e-3 of the weighted norm instead of the usual tolerance.
 * For measuring the convergence order of the formulas at constant step. */
nk_status nk_bdf_fix_step(nk_bdf *s, int q, double h, const double *derivs);

#endif
