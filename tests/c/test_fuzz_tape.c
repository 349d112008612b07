/* test_fuzz_tape.c - random and mutated programs against nk_tape_check and
 * nk_model_check, and misuse of the public C API.
 *
 * Every program the checks accept is evaluated with work, parameter, state
 * and output arrays of exactly the advertised sizes (heap blocks, so ASan
 * and valgrind see any access past them), and is re-validated by an
 * independent reference checker: an accepted program that the reference
 * rejects would read or write out of bounds.  Iterations: NK_FUZZ_ITERS
 * (default 20000), seed NK_FUZZ_SEED.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nk_integrator.h"
#include "nk_linsol.h"
#include "nk_linsol_sparse.h"
#include "nk_model.h"
#include "nk_tape.h"
#include "nk_check.h"



/* xorshift64*: reproducible across platforms */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned long long rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}
static int rnd(int n) { return n > 0 ? (int)(rng() % (unsigned long long)n) : 0; }
static double rnd_double(void) {
  static const double special[] = {0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 1e308, -1e308,
                                   1e-320, INFINITY, -INFINITY, NAN, 1024.0,
                                   -1024.0, 1025.0, 3.0, 2147483648.0};
  if (rnd(3) == 0) return special[rnd((int)(sizeof special / sizeof *special))];
  return ((double)rnd(2000001) - 1000000.0) / (double)(1 + rnd(1000));
}

static const signed char arity[NK_OP_COUNT] = {
#define ARITY(name, code, ar) [code] = ar,
    NK_OP_LIST(ARITY)
#undef ARITY
};

/* Independent reference validator: 1 if every index the evaluator will use
 * is inside its array. */
static int reference_ok(const nk_tape *t) {
  long long base = (long long)t->n_const + t->n_p + t->n_y + 1;
  if (t->n_const < 0 || t->n_p < 0 || t->n_y < 0 || t->n_instr < 0 || t->n_out < 0)
    return 0;
  for (int k = 0; k < t->n_instr; ++k) {
    const int *ins = t->code + 4 * (size_t)k;
    if (ins[0] < 0 || ins[0] >= NK_OP_COUNT) return 0;
    if (ins[0] == NK_OP_CSUM) {
      if (ins[1] < 0 || ins[2] < 1 || (long long)ins[1] + ins[2] > t->n_aux || !t->aux)
        return 0;
      for (int i = 0; i < ins[2]; ++i) {
        int e = t->aux[ins[1] + i];
        if (e < 0 || (long long)(e >> 1) >= base + k) return 0;
      }
      continue;
    }
    for (int i = 0; i < arity[ins[0]]; ++i)
      if (ins[1 + i] < 0 || ins[1 + i] >= base + k) return 0;
    if (ins[0] == NK_OP_POWI && (ins[2] >= t->n_const || ins[2] < 0)) return 0;
  }
  for (int i = 0; i < t->n_out; ++i)
    if (t->out[i] < 0 || t->out[i] >= base + t->n_instr) return 0;
  return 1;
}

/* Evaluate an accepted tape with exactly-sized heap arrays. */
/* Same value, or both NaN (a NaN's payload may depend on operand order). */
static int same_double(double a, double b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* nk_tape_eval_lanes against nk_tape_eval: every lane with its own
 * parameters, states and time, bit for bit (scalar_work: a bound scalar
 * work array, reused as scratch). */
static void lanes_exact(const nk_tape *t, const double *p0, double *scalar_work) {
  const int W = NK_LANES;
  const size_t nw = nk_tape_work_size(t);
  double *lw = (double *)malloc(nw * W * sizeof(double));
  double *lp = (double *)malloc(((size_t)t->n_p + 1) * W * sizeof(double));
  double *ly = (double *)malloc(((size_t)t->n_y + 1) * W * sizeof(double));
  double lt[NK_LANES];
  const int off_y = t->n_const + t->n_p;
  for (int l = 0; l < W; ++l) {
    for (int i = 0; i < t->n_p; ++i) lp[l * t->n_p + i] = l == 0 ? p0[i] : rnd_double();
    nk_tape_bind_lane(t, lp + l * t->n_p, l, lw);
    for (int i = 0; i < t->n_y; ++i) {
      ly[l * t->n_y + i] = rnd_double();
      lw[(size_t)(off_y + i) * W + l] = ly[l * t->n_y + i];
    }
    lt[l] = rnd_double();
    lw[(size_t)(off_y + t->n_y) * W + l] = lt[l];
  }
  nk_tape_eval_lanes(t, lw);
  double *out = (double *)malloc(((size_t)t->n_out + 1) * sizeof(double));
  for (int l = 0; l < W; ++l) {
    nk_tape_bind(t, lp + l * t->n_p, scalar_work);
    nk_tape_eval(t, lt[l], ly + l * t->n_y, scalar_work, out);
    /* every slot, not only the outputs */
    int bad = -1;
    for (size_t k = 0; k < nw; ++k)
      if (!same_double(scalar_work[k], lw[k * W + l])) { bad = (int)k; break; }
    CHECK(bad < 0, "lane %d: slot %d differs from the scalar evaluation", l, bad);
  }
  free(out);
  free(lw);
  free(lp);
  free(ly);
}

static void eval_exact(const nk_tape *t) {
  size_t nw = nk_tape_work_size(t);
  double *work = (double *)malloc(nw * sizeof(double));
  double *p = t->n_p ? (double *)malloc((size_t)t->n_p * sizeof(double)) : NULL;
  double *y = t->n_y ? (double *)malloc((size_t)t->n_y * sizeof(double)) : NULL;
  double *out = t->n_out ? (double *)malloc((size_t)t->n_out * sizeof(double)) : NULL;
  CHECK(nw == (size_t)t->n_const + t->n_p + t->n_y + 1 + t->n_instr, "work size %zu", nw);
  for (int i = 0; i < t->n_p; ++i) p[i] = rnd_double();
  for (int i = 0; i < t->n_y; ++i) y[i] = rnd_double();
  nk_tape_bind(t, p, work);
  nk_tape_eval(t, rnd_double(), y, work, out);
  nk_tape_eval(t, 0.0, y, work, out); /* twice: no state kept between calls */
  lanes_exact(t, p, work);
  free(work);
  free(p);
  free(y);
  free(out);
}

/* A random tape: mostly well-formed, with random corruption.  All arrays
 * are exactly sized heap blocks, so the checker's own reads are checked. */
typedef struct {
  nk_tape t;
  double *consts;
  int *code, *out, *aux;
} owned_tape;

static void owned_free(owned_tape *o) {
  free(o->consts);
  free(o->code);
  free(o->out);
  free(o->aux);
  memset(o, 0, sizeof *o);
}

static void random_tape(owned_tape *o, int corrupt) {
  memset(o, 0, sizeof *o);
  int nc = rnd(5), np = rnd(4), ny = rnd(5), ni = rnd(12), no = rnd(6), na = rnd(8);
  o->consts = nc ? (double *)malloc((size_t)nc * sizeof(double)) : NULL;
  o->code = ni ? (int *)malloc((size_t)ni * 4 * sizeof(int)) : NULL;
  o->out = no ? (int *)malloc((size_t)no * sizeof(int)) : NULL;
  o->aux = na ? (int *)malloc((size_t)na * sizeof(int)) : NULL;
  for (int i = 0; i < nc; ++i) o->consts[i] = rnd_double();
  const int base = nc + np + ny + 1;
  for (int i = 0; i < na; ++i) o->aux[i] = 2 * rnd(base + ni) + rnd(2);
  for (int k = 0; k < ni; ++k) {
    int *ins = o->code + 4 * k;
    int op = rnd(NK_OP_COUNT);
    ins[0] = op;
    ins[1] = ins[2] = ins[3] = 0;
    if (op == NK_OP_CSUM) {
      ins[1] = rnd(na + 1);
      ins[2] = 1 + rnd(na > ins[1] ? na - ins[1] : 1);
    } else {
      for (int i = 0; i < arity[op]; ++i) ins[1 + i] = rnd(base + k);
      if (op == NK_OP_POWI) ins[2] = nc ? rnd(nc) : 0;
    }
  }
  for (int i = 0; i < no; ++i) o->out[i] = rnd(base + ni);
  if (corrupt) {
    int what = rnd(12);
    int *target = NULL;
    if (what < 6 && ni) target = &o->code[rnd(4 * ni)];
    else if (what < 8 && no) target = &o->out[rnd(no)];
    else if (what < 10 && na) target = &o->aux[rnd(na)];
    if (target) {
      static const int vals[] = {-1, INT_MIN, INT_MAX, 0, 1, 2, NK_OP_COUNT, 1 << 20,
                                 -2147483647, 4096};
      *target = rnd(2) ? vals[rnd((int)(sizeof vals / sizeof *vals))] : *target + rnd(7) - 3;
    } else if (what == 10) {
      np = -rnd(3) - 1;
    } else if (what == 11) {
      na = na ? na - 1 : 0;
    }
  }
  nk_tape t = {nc, o->consts, np, ny, ni, o->code, no, o->out, na, o->aux};
  o->t = t;
}

static void fuzz_tapes(long iters) {
  long accepted = 0, rejected = 0;
  for (long it = 0; it < iters; ++it) {
    owned_tape o;
    random_tape(&o, (int)(it % 3 != 0));
    nk_status st = nk_tape_check(&o.t);
    CHECK(st == NK_SUCCESS || st == NK_BAD_PROGRAM || st == NK_TOO_LARGE,
          "iteration %ld: status %d", it, st);
    if (st == NK_SUCCESS) {
      ++accepted;
      CHECK(reference_ok(&o.t), "iteration %ld: nk_tape_check accepted an unsafe tape", it);
      if (reference_ok(&o.t)) eval_exact(&o.t);
    } else {
      ++rejected;
    }
    owned_free(&o);
  }
  printf("tapes: %ld accepted and evaluated, %ld rejected\n", accepted, rejected);
  CHECK(accepted > iters / 10 && rejected > iters / 10, "a poor mix: %ld/%ld", accepted,
        rejected);
}

/* Random Jacobian patterns and tape shapes into nk_model_check; accepted
 * models run rhs, CSC and dense Jacobian with exactly-sized arrays. */
static void fuzz_models(long iters) {
  long accepted = 0;
  for (long it = 0; it < iters; ++it) {
    int n = rnd(5), np = rnd(3);
    int nnz = rnd(n * n + 2);
    int *colptr = (int *)malloc((size_t)(n + 1) * sizeof(int));
    int *rowind = nnz ? (int *)malloc((size_t)nnz * sizeof(int)) : NULL;
    /* mostly a valid sorted pattern, sometimes garbage; entries past the
     * pattern hold junk rows */
    for (int i = 0; i < nnz; ++i) rowind[i] = rnd(n + 3) - 1;
    int k = 0;
    colptr[0] = 0;
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < n && k < nnz; ++i)
        if (rnd(2)) rowind[k++] = i;
      colptr[j + 1] = k;
    }
    if (rnd(4) == 0 && n) colptr[rnd(n + 1)] += rnd(5) - 2;
    if (rnd(4) == 0 && nnz) rowind[rnd(nnz)] = rnd(n + 3) - 1;
    /* the contract: rowind has m.nnz entries (colptr may lie about them) */
    int real_nnz = n ? colptr[n] : 0;
    if (real_nnz < 0 || real_nnz > nnz) real_nnz = nnz;
    /* rhs: outputs are the y slots; jac: outputs the first parameter or a
     * constant, one per structural entry */
    double *c = (double *)malloc(sizeof(double));
    c[0] = 2.0;
    int *rout = n ? (int *)malloc((size_t)n * sizeof(int)) : NULL;
    for (int i = 0; i < n; ++i) rout[i] = 1 + np + i;
    int jn = real_nnz > 0 && real_nnz <= nnz ? real_nnz : nnz;
    int *jout = jn > 0 ? (int *)malloc((size_t)jn * sizeof(int)) : NULL;
    for (int i = 0; i < jn; ++i) jout[i] = rnd(1 + np + n + 1);
    nk_model m;
    memset(&m, 0, sizeof m);
    m.n_y = n;
    m.n_p = np;
    nk_tape rhs = {1, c, np, n, 0, NULL, n, rout, 0, NULL};
    nk_tape jac = {1, c, np, n, 0, NULL, jn, jout, 0, NULL};
    m.rhs = rhs;
    m.jac = jac;
    m.nnz = real_nnz;
    m.colptr = colptr;
    m.rowind = rowind;
    if (rnd(8) == 0) m.nnz = nnz;
    if (m.nnz > nnz) m.nnz = nnz;
    if (rnd(8) == 0) m.n_roots = -1;
    nk_status st = nk_model_check(&m);
    CHECK(st == NK_SUCCESS || st == NK_BAD_PROGRAM || st == NK_TOO_LARGE, "status %d", st);
    if (st == NK_SUCCESS) {
      ++accepted;
      CHECK(m.nnz <= nnz, "accepted nnz %d beyond rowind %d", m.nnz, nnz);
      double *p = np ? (double *)malloc((size_t)np * sizeof(double)) : NULL;
      for (int i = 0; i < np; ++i) p[i] = rnd_double();
      double *rw = (double *)malloc(nk_tape_work_size(&m.rhs) * sizeof(double));
      double *jw = (double *)malloc(nk_tape_work_size(&m.jac) * sizeof(double));
      double *jv = m.nnz ? (double *)malloc((size_t)m.nnz * sizeof(double)) : NULL;
      double *y = n ? (double *)malloc((size_t)n * sizeof(double)) : NULL;
      double *f = n ? (double *)malloc((size_t)n * sizeof(double)) : NULL;
      double *J = n ? (double *)malloc((size_t)n * n * sizeof(double)) : NULL;
      double *vals = m.nnz ? (double *)malloc((size_t)m.nnz * sizeof(double)) : NULL;
      for (int i = 0; i < n; ++i) y[i] = rnd_double();
      nk_model_ctx ctx;
      memset(&ctx, 0, sizeof ctx);
      st = nk_model_ctx_init(&ctx, &m, p, rw, jw, jv ? jv : (double *)c);
      CHECK(st == NK_SUCCESS, "ctx init %d", st);
      if (st == NK_SUCCESS && n > 0) {
        nk_model_rhs(0.0, y, f, &ctx);
        if (m.nnz) nk_model_jac_csc(0.0, y, f, vals, &ctx);
        nk_model_jac_dense(0.0, y, f, J, &ctx);
      }
      free(p); free(rw); free(jw); free(jv); free(y); free(f); free(J); free(vals);
    }
    free(colptr); free(rowind); free(c); free(rout); free(jout);
  }
  printf("models: %ld of %ld accepted and evaluated\n", accepted, iters);
}

/* Misuse of the public API: errors, never crashes. */
static int one_rhs(double t, const double *y, double *f, void *u) {
  f[0] = -y[0];
  return 0;
}

static void misuse(void) {
  nk_integrator *it = NULL;
  nk_linsol *ls = NULL;
  double y0 = 1.0, atol = 1e-8, tout[4], yout[4];
  long k = 0;
  nk_integrator_free(NULL);
  nk_integrator_free(&it); /* NULL inside */
  nk_linsol_free(NULL);
  nk_linsol_free(&ls);
  CHECK(nk_integrator_create(NK_METHOD_BDF, 0, &it) != NK_SUCCESS || it != NULL, "n = 0");
  nk_integrator_free(&it);
  CHECK(nk_integrator_create(NK_METHOD_BDF, -5, &it) < 0, "n < 0");
  CHECK(it == NULL, "no object on failure");
  CHECK(nk_integrator_create((nk_method)7, 1, &it) < 0, "bad method");
  /* 2^31 states: refused, or (with unlimited overcommit) lazily allocated */
  for (int m = 0; m < 2; ++m) {
    nk_status st = nk_integrator_create((nk_method)m, INT_MAX, &it);
    CHECK(st == NK_ERR_MEMORY || st == NK_TOO_LARGE || st == NK_SUCCESS, "n = INT_MAX: %d",
          st);
    CHECK((st == NK_SUCCESS) == (it != NULL), "an object exactly on success");
    nk_integrator_free(&it);
  }
  CHECK(nk_linsol_dense_create(1000000, &ls) == NK_TOO_LARGE, "dense 1e6");
  CHECK(nk_linsol_dense_create(-1, &ls) < 0, "dense -1");
  CHECK(ls == NULL, "no object on failure");
  CHECK(nk_linsol_dense_create(1, NULL) < 0, "NULL out");
  for (int m = 0; m < 2; ++m) {
    CHECK(nk_integrator_create((nk_method)m, 1, &it) == NK_SUCCESS, "create");
    CHECK(nk_linsol_dense_create(1, &ls) == NK_SUCCESS, "dense 1");
    CHECK(nk_integrator_run(it, NULL, 0, tout, yout, 4, &k) == NK_NOT_INITIALISED,
          "run before init");
    CHECK(nk_integrator_dense(it, 0.0, yout) < 0, "dense before init");
    CHECK(nk_integrator_set_tolerances(it, -1.0, &atol) < 0, "rtol < 0");
    CHECK(nk_integrator_set_tolerances(it, NAN, &atol) < 0, "rtol NaN");
    CHECK(nk_integrator_set_tolerances(it, 1e-6, NULL) < 0, "atol NULL");
    double bad_atol = -1.0;
    CHECK(nk_integrator_set_tolerances(it, 1e-6, &bad_atol) < 0, "atol < 0");
    CHECK(nk_integrator_set_max_steps(it, 0) < 0, "max_steps 0");
    CHECK(nk_integrator_set_hmax(it, -1.0) < 0, "hmax < 0");
    CHECK(nk_integrator_set_h0(it, NAN) < 0, "h0 NaN");
    CHECK(nk_integrator_set_tolerances(it, 1e-6, &atol) == NK_SUCCESS, "tolerances");
    nk_ode ode;
    memset(&ode, 0, sizeof ode);
    ode.n = 1;
    ode.rhs = one_rhs;
    CHECK(nk_integrator_init(it, &ode, ls, 0.0, &y0, 0.0) < 0, "t_end == t0");
    CHECK(nk_integrator_init(it, &ode, ls, 0.0, &y0, NAN) < 0, "t_end NaN");
    CHECK(nk_integrator_init(it, &ode, ls, INFINITY, &y0, 1.0) < 0, "t0 inf");
    CHECK(nk_integrator_init(it, NULL, ls, 0.0, &y0, 1.0) < 0, "ode NULL");
    CHECK(nk_integrator_init(it, &ode, NULL, 0.0, &y0, 1.0) < 0, "ls NULL");
    ode.n = 2;
    CHECK(nk_integrator_init(it, &ode, ls, 0.0, &y0, 1.0) < 0, "n mismatch");
    ode.n = 1;
    CHECK(nk_integrator_init(it, &ode, ls, 0.0, &y0, 1.0) == NK_SUCCESS, "init");
    double te[2] = {0.5, 2.0}; /* past t_end */
    k = 0;
    CHECK(nk_integrator_run(it, te, 2, tout, yout, 0, &k) == NK_ERR_ARGUMENT, "t_eval > t_end");
    k = -1;
    CHECK(nk_integrator_run(it, NULL, 0, tout, yout, 4, &k) == NK_ERR_ARGUMENT, "k < 0");
    k = 0;
    CHECK(nk_integrator_run(it, NULL, 0, NULL, yout, 4, &k) == NK_ERR_ARGUMENT, "t_out NULL");
    te[1] = 1.0;
    k = 0;
    CHECK(nk_integrator_run(it, te, 2, tout, yout, 0, &k) == NK_SUCCESS, "run");
    CHECK(k == 2 && fabs(yout[1] - exp(-1.0)) < 1e-4, "result %g", yout[1]);
    /* a finished run: running again is harmless */
    CHECK(nk_integrator_run(it, te, 2, tout, yout, 0, &k) == NK_SUCCESS, "run again");
    nk_integrator_free(&it);
    CHECK(it == NULL, "free sets NULL");
    nk_integrator_free(&it);
    nk_linsol_free(&ls);
    CHECK(ls == NULL, "free sets NULL");
  }
}

/* A negative rhs return aborts at once: no further calls (the initial step
 * size estimate of Radau used to ignore it and call again). */
static int abort_calls = 0, abort_at = 0;
static int aborting_rhs(double t, const double *y, double *f, void *u) {
  if (++abort_calls >= abort_at) return -1;
  f[0] = -y[0];
  return 0;
}

static void abort_is_final(void) {
  for (int m = 0; m < 2; ++m) {
    for (abort_at = 1; abort_at <= 6; ++abort_at) {
      nk_integrator *it = NULL;
      nk_linsol *ls = NULL;
      double y0 = 1.0, atol = 1e-10, tout[1], yout[1];
      long k = 0;
      nk_ode ode;
      memset(&ode, 0, sizeof ode);
      ode.n = 1;
      ode.rhs = aborting_rhs;
      CHECK(nk_integrator_create((nk_method)m, 1, &it) == NK_SUCCESS, "create");
      CHECK(nk_linsol_dense_create(1, &ls) == NK_SUCCESS, "dense");
      nk_integrator_set_tolerances(it, 1e-8, &atol);
      abort_calls = 0;
      nk_status st = nk_integrator_init(it, &ode, ls, 0.0, &y0, 1.0);
      if (st == NK_SUCCESS) {
        double te = 1.0;
        st = nk_integrator_run(it, &te, 1, tout, yout, 0, &k);
      }
      CHECK(st == NK_RHS_FAIL, "method %d abort at call %d: status %s", m, abort_at,
            nk_status_name(st));
      CHECK(abort_calls == abort_at, "method %d: rhs called %d times after aborting at %d",
            m, abort_calls, abort_at);
      nk_integrator_free(&it);
      nk_linsol_free(&ls);
    }
  }
}

int main(void) {
  const char *s = getenv("NK_FUZZ_ITERS");
  const char *seed = getenv("NK_FUZZ_SEED");
  long iters = s ? atol(s) : 20000;
  if (seed) rng_state ^= strtoull(seed, NULL, 10) * 0x2545F4914F6CDD1Dull + 1;
  if (iters < 1) iters = 1;
  fuzz_tapes(iters);
  fuzz_models(iters / 4 + 1);
  misuse();
  abort_is_final();
  if (failures) {
    fprintf(stderr, "test_fuzz_tape: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("test_fuzz_tape: %d checks passed\n", checks);
  return 0;
}
