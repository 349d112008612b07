/* test_tape.c - the tape evaluator against math.h, nk_tape_check on bad
 * programs, and the nk_model callbacks (rhs, CSC and dense Jacobian). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nk_model.h"
#include "nk_tape.h"

static int failures = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                 \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

static int close_to(double a, double b) {
  if (isnan(a) && isnan(b)) return 1;
  if (a == b) return 1; /* infinities */
  return fabs(a - b) <= 1e-14 * (1.0 + fabs(b));
}

/* f0 = k*y0/(K+y0) + exp(-y1^2)*sin(t) + y0^3 + (y0<y1 ? y0 : y1)
 * f1 = pow(y0, 2.0);  f2 = k*y0/(K+y0)
 * consts {2, 3}; p {k, K}; y {y0, y1}; t -> slots 0,1 | 2,3 | 4,5 | 6 */
static void test_expression(void) {
  static const double consts[2] = {2.0, 3.0};
  static const int code[] = {
      NK_OP_MUL, 2, 4, 0,    /* 7  k*y0 */
      NK_OP_ADD, 3, 4, 0,    /* 8  K+y0 */
      NK_OP_DIV, 7, 8, 0,    /* 9 */
      NK_OP_SQUARE, 5, 0, 0, /* 10 y1^2 */
      NK_OP_NEG, 10, 0, 0,   /* 11 */
      NK_OP_EXP, 11, 0, 0,   /* 12 */
      NK_OP_SIN, 6, 0, 0,    /* 13 sin(t) */
      NK_OP_MUL, 12, 13, 0,  /* 14 */
      NK_OP_ADD, 9, 14, 0,   /* 15 */
      NK_OP_POWI, 4, 1, 0,   /* 16 y0^3 */
      NK_OP_ADD, 15, 16, 0,  /* 17 */
      NK_OP_LT, 4, 5, 0,     /* 18 */
      NK_OP_SELECT, 18, 4, 5, /* 19 */
      NK_OP_ADD, 17, 19, 0,  /* 20 */
      NK_OP_POW, 4, 0, 0,    /* 21 y0^2.0 */
  };
  static const int out[3] = {20, 21, 9};
  nk_tape tape = {2, consts, 2, 2, 15, code, 3, out};
  double work[32], res[3];
  const double p[2] = {1.7, 0.4};
  const double ys[3][2] = {{0.3, 1.2}, {2.5, -0.7}, {-1.1, -1.1}};
  const double ts[3] = {0.0, 1.3, -4.2};
  int i;
  CHECK(nk_tape_check(&tape) == NK_SUCCESS);
  CHECK(nk_tape_work_size(&tape) == 7 + 15);
  nk_tape_bind(&tape, p, work);
  for (i = 0; i < 3; ++i) {
    const double y0 = ys[i][0], y1 = ys[i][1], t = ts[i];
    const double mm = p[0] * y0 / (p[1] + y0);
    const double f0 = mm + exp(-(y1 * y1)) * sin(t) + y0 * y0 * y0 +
                      (y0 < y1 ? y0 : y1);
    nk_tape_eval(&tape, t, ys[i], work, res);
    CHECK(close_to(res[0], f0));
    CHECK(close_to(res[1], pow(y0, 2.0)));
    CHECK(close_to(res[2], mm));
  }
}

/* Each opcode alone, on the states (a, b, c) = y, against math.h. */
static double reference(int op, double a, double b, double c) {
  switch (op) {
    case NK_OP_ADD: return a + b;
    case NK_OP_SUB: return a - b;
    case NK_OP_MUL: return a * b;
    case NK_OP_DIV: return a / b;
    case NK_OP_NEG: return -a;
    case NK_OP_POW: return pow(a, b);
    case NK_OP_EXP: return exp(a);
    case NK_OP_LOG: return log(a);
    case NK_OP_LOG10: return log10(a);
    case NK_OP_SQRT: return sqrt(a);
    case NK_OP_SIN: return sin(a);
    case NK_OP_COS: return cos(a);
    case NK_OP_TAN: return tan(a);
    case NK_OP_ASIN: return asin(a);
    case NK_OP_ACOS: return acos(a);
    case NK_OP_ATAN: return atan(a);
    case NK_OP_SINH: return sinh(a);
    case NK_OP_COSH: return cosh(a);
    case NK_OP_TANH: return tanh(a);
    case NK_OP_ABS: return fabs(a);
    case NK_OP_FLOOR: return floor(a);
    case NK_OP_CEIL: return ceil(a);
    case NK_OP_MIN: return fmin(a, b);
    case NK_OP_MAX: return fmax(a, b);
    case NK_OP_LT: return a < b;
    case NK_OP_LE: return a <= b;
    case NK_OP_GT: return a > b;
    case NK_OP_GE: return a >= b;
    case NK_OP_EQ: return a == b;
    case NK_OP_NE: return a != b;
    case NK_OP_AND: return a != 0 && b != 0;
    case NK_OP_OR: return a != 0 || b != 0;
    case NK_OP_NOT: return a == 0;
    case NK_OP_SELECT: return a != 0 ? b : c;
    case NK_OP_ATAN2: return atan2(a, b);
    case NK_OP_SQUARE: return a * a;
    case NK_OP_SIGN: return a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0);
    case NK_OP_COPY: return a;
    case NK_OP_XOR: return (a != 0) != (b != 0);
    default: return NAN;
  }
}

static void test_each_op(void) {
  static const int arity[NK_OP_COUNT] = {
#define A(name, code, ar) [code] = ar,
      NK_OP_LIST(A)
#undef A
  };
  const double inputs[5][3] = {
      {0.3, 0.7, -2.0}, {-0.4, 2.0, 5.0}, {0.0, 0.0, 1.0},
      {0.5, 0.5, 3.0}, {1.5, -3.25, 0.0}};
  int op, i;
  for (op = 0; op < NK_OP_COUNT; ++op) {
    /* slots: y0..y2 = 0..2, t = 3, result 4 */
    int code[4] = {op, 0, 0, 0};
    const int out = 4;
    nk_tape tape = {0, NULL, 0, 3, 1, code, 1, &out};
    double work[8], res;
    if (op == NK_OP_POWI || op == NK_OP_CSUM) continue; /* operands of their own: below */
    if (arity[op] >= 1) code[1] = 0;
    if (arity[op] >= 2) code[2] = 1;
    if (arity[op] >= 3) code[3] = 2;
    CHECK(nk_tape_check(&tape) == NK_SUCCESS);
    for (i = 0; i < 5; ++i) {
      nk_tape_eval(&tape, 0.0, inputs[i], work, &res);
      if (!close_to(res, reference(op, inputs[i][0], inputs[i][1], inputs[i][2]))) {
        fprintf(stderr, "op %d input %d: %g != %g\n", op, i, res,
                reference(op, inputs[i][0], inputs[i][1], inputs[i][2]));
        ++failures;
      }
    }
  }
  /* POWI with exponents -3..5 */
  {
    double consts[1];
    const int code[4] = {NK_OP_POWI, 1, 0, 0};
    const int out = 3;
    nk_tape tape = {1, consts, 0, 1, 1, code, 1, &out};
    double work[8], res, x = -1.3;
    int e;
    for (e = -3; e <= 5; ++e) {
      consts[0] = e;
      CHECK(nk_tape_check(&tape) == NK_SUCCESS);
      nk_tape_bind(&tape, NULL, work);
      nk_tape_eval(&tape, 0.0, &x, work, &res);
      CHECK(close_to(res, pow(x, e)));
    }
  }
}

static void test_check_rejects(void) {
  static const double consts[2] = {2.0, 0.5};
  int code[8], out[1];
  nk_tape tape = {2, consts, 1, 1, 2, code, 1, out};
  /* slots: consts 0,1; p 2; y 3; t 4; base 5 */
  const int good[8] = {NK_OP_MUL, 2, 3, 0, NK_OP_POWI, 5, 0, 0};
#define RESET() (memcpy(code, good, sizeof good), out[0] = 6)
  RESET();
  CHECK(nk_tape_check(&tape) == NK_SUCCESS);
  RESET(); code[0] = NK_OP_COUNT;            /* opcode out of range */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[0] = -1;
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[2] = 5;                      /* reads its own result */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[5] = 6;                      /* reads a later result */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[1] = -1;                     /* negative operand */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[3] = 1;                      /* unused operand not 0 */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[6] = 2;                      /* POWI exponent not a constant */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); code[6] = 1;                      /* POWI exponent 0.5 */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); out[0] = 7;                       /* output out of range */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); out[0] = -1;
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  RESET(); tape.n_instr = -1;
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  tape.n_instr = 2;
  CHECK(nk_tape_check(NULL) == NK_ERR_ARGUMENT);
#undef RESET
}

/* dy0 = -k y0 + y1 ;  dy1 = k y0 - y1 * y1
 * J = [[-k, 1], [k, -2 y1]]: CSC colptr {0,2,4}, rowind {0,1,0,1},
 * values {-k, k, 1, -2 y1}.
 * rhs slots: p 0; y 1,2; t 3; base 4.
 * jac slots: consts 0 (-2), 1 (1); p 2; y 3,4; t 5; base 6. */
static void test_model(void) {
  static const int rhs_code[] = {
      NK_OP_MUL, 0, 1, 0,    /* 4 k y0 */
      NK_OP_SUB, 2, 4, 0,    /* 5 y1 - k y0 */
      NK_OP_SQUARE, 2, 0, 0, /* 6 y1^2 */
      NK_OP_SUB, 4, 6, 0,    /* 7 k y0 - y1^2 */
  };
  static const int rhs_out[2] = {5, 7};
  static const int jac_code[] = {
      NK_OP_NEG, 2, 0, 0, /* 6 -k */
      NK_OP_MUL, 0, 4, 0, /* 7 -2 y1 */
  };
  static const int jac_out[4] = {6, 2, 1, 7};
  static const double jac_consts[2] = {-2.0, 1.0};
  static const int colptr[3] = {0, 2, 4};
  static const int rowind[4] = {0, 1, 0, 1};
  nk_model m;
  nk_model_ctx ctx;
  nk_ode ode;
  double rw[16], jw[16], jv[4], p = 0.8, y[2] = {0.5, 2.0}, f[2], J[4], v[4];
  int i;
  memset(&m, 0, sizeof m);
  memset(&ctx, 0, sizeof ctx);
  m.n_y = 2;
  m.n_p = 1;
  {
    nk_tape r = {0, NULL, 1, 2, 4, rhs_code, 2, rhs_out};
    nk_tape j = {2, jac_consts, 1, 2, 2, jac_code, 4, jac_out};
    m.rhs = r;
    m.jac = j;
  }
  m.nnz = 4;
  m.colptr = colptr;
  m.rowind = rowind;
  CHECK(nk_model_check(&m) == NK_SUCCESS);
  CHECK(nk_tape_work_size(&m.rhs) <= 16 && nk_tape_work_size(&m.jac) <= 16);
  CHECK(nk_model_ctx_init(&ctx, &m, &p, rw, jw, jv) == NK_SUCCESS);
  nk_model_ode(&ctx, &ode);
  CHECK(ode.n == 2 && ode.nnz == 4 && ode.user == &ctx);
  CHECK(ode.rhs(0.0, y, f, ode.user) == 0);
  CHECK(close_to(f[0], -p * y[0] + y[1]));
  CHECK(close_to(f[1], p * y[0] - y[1] * y[1]));
  CHECK(ode.jac_csc(0.0, y, f, v, ode.user) == 0);
  CHECK(close_to(v[0], -p) && close_to(v[1], p) && close_to(v[2], 1.0) &&
        close_to(v[3], -2.0 * y[1]));
  for (i = 0; i < 4; ++i) J[i] = 99.0;
  CHECK(ode.jac(0.0, y, f, J, ode.user) == 0);
  CHECK(close_to(J[0], -p) && close_to(J[1], p) && close_to(J[2], 1.0) &&
        close_to(J[3], -2.0 * y[1]));
  y[1] = NAN;
  CHECK(ode.rhs(0.0, y, f, ode.user) == 1);
  CHECK(ode.jac(0.0, y, f, J, ode.user) == 1);
  /* A broken pattern or output count is rejected. */
  {
    static const int bad_rowind[4] = {1, 0, 0, 1};
    m.rowind = bad_rowind;
    CHECK(nk_model_check(&m) == NK_BAD_PROGRAM);
    m.rowind = rowind;
    m.nnz = 3;
    CHECK(nk_model_check(&m) == NK_BAD_PROGRAM);
    m.nnz = 4;
    m.rhs.n_out = 1;
    CHECK(nk_model_check(&m) == NK_BAD_PROGRAM);
  }
}

/* CSUM sums as if exactly: 1 + 1e-20 - 1 is 1e-20 (a plain left-to-right
 * sum gives 0); bad operand lists are refused. */
static void test_csum_exact(void) {
  double y[3] = {1.0, 1e-20, 1.0}, work[8], res[1];
  const int aux[3] = {2 * 0, 2 * 1, 2 * 2 + 1}; /* y0 + y1 - y2 */
  int code[4] = {NK_OP_CSUM, 0, 3, 0};
  const int out[1] = {4};
  nk_tape tape = {0, NULL, 0, 3, 1, code, 1, out, 3, aux};
  CHECK(nk_tape_check(&tape) == NK_SUCCESS);
  nk_tape_eval(&tape, 0.0, y, work, res);
  CHECK(res[0] == 1e-20);
  code[2] = 4; /* past the aux list */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  code[2] = 0; /* no terms */
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
  code[2] = 3;
  tape.aux = NULL;
  CHECK(nk_tape_check(&tape) == NK_BAD_PROGRAM);
}

int main(void) {
  test_csum_exact();
  test_expression();
  test_each_op();
  test_check_rejects();
  test_model();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_tape: all passed\n");
  return 0;
}
