/* test_integrator.c - the driver: dense output at t_eval, every-step mode
 * with buffer refills, step budget, event root location, both methods. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nk_integrator.h"
#include "nk_check.h"


static int decay(double t, const double *y, double *f, void *u) {
  f[0] = -y[0];
  f[1] = -10.0 * y[1];
  return 0;
}
static int decay_jac(double t, const double *y, const double *fy, double *J, void *u) {
  J[0] = -1.0; J[1] = 0.0; J[2] = 0.0; J[3] = -10.0;
  return 0;
}
/* g0 = y0 - 0.5 (crosses down at ln 2), g1 = t - 3 (up at 3), g2 = t - 4.5 */
static int roots(double t, const double *y, double *g, void *u) {
  g[0] = y[0] - 0.5;
  g[1] = t - 3.0;
  g[2] = t - 4.5;
  return 0;
}

static void test_method(nk_method m) {
  nk_integrator *it = NULL;
  nk_linsol *ls = NULL;
  nk_ode ode = {2, decay, decay_jac, NULL, 0, NULL, NULL, NULL};
  double y0[2] = {1.0, 1.0}, atol[2] = {1e-12, 1e-12};
  double te[5] = {0.0, 0.5, 1.0, 3.5, 5.0}, tout[64], yout[128];
  long k = 0;
  CHECK(nk_integrator_create(m, 2, &it) == NK_SUCCESS, "create");
  CHECK(nk_linsol_dense_create(2, &ls) == NK_SUCCESS, "linsol");
  nk_integrator_set_tolerances(it, 1e-9, atol);
  CHECK(nk_integrator_set_roots(it, 3, roots, NULL) == NK_SUCCESS, "roots");
  CHECK(nk_integrator_init(it, &ode, ls, 0.0, y0, 5.0) == NK_SUCCESS, "init");
  /* t_eval mode: first root ln 2 after outputs 0 and 0.5 */
  nk_status st = nk_integrator_run(it, te, 5, tout, yout, 0, &k);
  double tr;
  int fired[3];
  CHECK(st == NK_ROOT_FOUND, "root 1 status %d", st);
  nk_integrator_get_root_info(it, &tr, fired);
  CHECK(fabs(tr - log(2.0)) < 1e-8, "root ln2: %.15g", tr);
  CHECK(fired[0] == -1 && fired[1] == 0 && fired[2] == 0, "fired %d %d %d", fired[0],
        fired[1], fired[2]);
  CHECK(k == 2, "outputs before the root: %ld", k);
  st = nk_integrator_run(it, te, 5, tout, yout, 0, &k);
  nk_integrator_get_root_info(it, &tr, fired);
  CHECK(st == NK_ROOT_FOUND && fabs(tr - 3.0) < 1e-12 && fired[1] == 1, "root t=3: %d %.15g",
        st, tr);
  CHECK(k == 3, "outputs before t=3: %ld", k);
  st = nk_integrator_run(it, te, 5, tout, yout, 0, &k);
  nk_integrator_get_root_info(it, &tr, fired);
  CHECK(st == NK_ROOT_FOUND && fabs(tr - 4.5) < 1e-12 && fired[2] == 1, "root 4.5");
  st = nk_integrator_run(it, te, 5, tout, yout, 0, &k);
  CHECK(st == NK_SUCCESS && k == 5, "finish: %d %ld", st, k);
  for (int i = 0; i < 5; ++i)
    CHECK(fabs(yout[2 * i] - exp(-te[i])) < 1e-7, "y(%g) = %.10g", te[i], yout[2 * i]);

  /* every-step mode with a tiny buffer: refills, and roots appear as rows */
  nk_integrator_init(it, &ode, ls, 0.0, y0, 5.0);
  k = 0;
  int nroots = 0, nfull = 0;
  for (;;) {
    st = nk_integrator_run(it, NULL, 0, tout, yout, 64, &k);
    if (st == NK_OUTPUT_FULL) { ++nfull; k = 0; continue; }
    if (st == NK_ROOT_FOUND) {
      ++nroots;
      CHECK(k > 0, "root row written");
      continue;
    }
    break;
  }
  CHECK(st == NK_SUCCESS && nroots == 3, "every-step: %d, %d roots", st, nroots);
  CHECK(tout[k - 1] == 5.0, "last row at t_end: %g", tout[k - 1]);

  /* step budget */
  nk_integrator_set_roots(it, 0, NULL, NULL);
  nk_integrator_set_max_steps(it, 3);
  nk_integrator_init(it, &ode, ls, 0.0, y0, 5.0);
  k = 0;
  st = nk_integrator_run(it, te, 5, tout, yout, 0, &k);
  CHECK(st == NK_TOO_MUCH_WORK, "budget: %d", st);
  double tcur, ycur[2];
  CHECK(nk_integrator_get_state(it, &tcur, ycur) == NK_SUCCESS && tcur > 0.0, "state kept");
  /* misuse */
  CHECK(nk_integrator_set_roots(it, 2, NULL, NULL) == NK_ERR_ARGUMENT, "null root fn");
  CHECK(nk_integrator_init(it, &ode, ls, 1.0, y0, 1.0) == NK_ERR_ARGUMENT, "empty span");
  nk_integrator_free(&it);
  nk_integrator_free(&it);
  nk_linsol_free(&ls);
}

int main(void) {
  test_method(NK_METHOD_BDF);
  test_method(NK_METHOD_RADAU5);
  printf("test_integrator: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures != 0;
}
