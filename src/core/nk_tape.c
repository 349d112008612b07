/* nk_tape.c - checking, binding and evaluating compiled rate programs.
 *
 * The evaluator is the inner loop of every simulation: one pass over a
 * contiguous int array, a switch per instruction, results written to the
 * slot that follows the previous instruction's.  No allocation, no state
 * outside the caller's work array.
 */
#include "nk_tape.h"
#include "nk_powi.h"

#include <math.h>
#include <string.h>

static const signed char nk_op_arity[NK_OP_COUNT] = {
#define NK_OP_ARITY(name, code, arity) [code] = arity,
    NK_OP_LIST(NK_OP_ARITY)
#undef NK_OP_ARITY
};

static int nk_tape_base(const nk_tape *tape) {
  return tape->n_const + tape->n_p + tape->n_y + 1;
}

size_t nk_tape_work_size(const nk_tape *tape) {
  if (tape == NULL) return 0;
  return (size_t)nk_tape_base(tape) + (size_t)tape->n_instr;
}

nk_status nk_tape_check(const nk_tape *tape) {
  int base, k, i;
  if (tape == NULL) return NK_ERR_ARGUMENT;
  if (tape->n_const < 0 || tape->n_p < 0 || tape->n_y < 0 ||
      tape->n_instr < 0 || tape->n_out < 0 || tape->n_aux < 0)
    return NK_BAD_PROGRAM;
  if ((tape->n_const > 0 && tape->consts == NULL) ||
      (tape->n_instr > 0 && tape->code == NULL) ||
      (tape->n_out > 0 && tape->out == NULL))
    return NK_BAD_PROGRAM;
  /* Slot indices are ints: the largest must not overflow. */
  if ((long long)tape->n_const + tape->n_p + tape->n_y + 1 + tape->n_instr >
      (long long)2147483647)
    return NK_TOO_LARGE;
  base = nk_tape_base(tape);
  for (k = 0; k < tape->n_instr; ++k) {
    const int *ins = tape->code + 4 * (size_t)k;
    const int op = ins[0];
    const int limit = base + k; /* operands must precede this result */
    int arity;
    if (op < 0 || op >= NK_OP_COUNT) return NK_BAD_PROGRAM;
    if (op == NK_OP_CSUM) {
      /* operands: an aux offset and a term count, each term a prior slot */
      const int off = ins[1], cnt = ins[2];
      if (off < 0 || cnt < 1 || ins[3] != 0 || tape->aux == NULL ||
          (long long)off + cnt > (long long)tape->n_aux)
        return NK_BAD_PROGRAM;
      for (i = 0; i < cnt; ++i) {
        const int e = tape->aux[off + i];
        if (e < 0 || (e >> 1) >= limit) return NK_BAD_PROGRAM;
      }
      continue;
    }
    arity = nk_op_arity[op];
    for (i = 0; i < 3; ++i) {
      const int s = ins[1 + i];
      if (i < arity) {
        if (s < 0 || s >= limit) return NK_BAD_PROGRAM;
      } else if (s != 0) {
        return NK_BAD_PROGRAM; /* unused operands are 0 */
      }
    }
    if (op == NK_OP_POWI) {
      double e;
      if (ins[2] >= tape->n_const) return NK_BAD_PROGRAM;
      e = tape->consts[ins[2]];
      if (!(e == floor(e)) || fabs(e) > 1024.0) return NK_BAD_PROGRAM;
    }
  }
  for (i = 0; i < tape->n_out; ++i) {
    const int s = tape->out[i];
    if (s < 0 || s >= base + tape->n_instr) return NK_BAD_PROGRAM;
  }
  return NK_SUCCESS;
}

void nk_tape_bind(const nk_tape *tape, const double *p, double *work) {
  if (tape->n_const > 0)
    memcpy(work, tape->consts, (size_t)tape->n_const * sizeof(double));
  if (tape->n_p > 0)
    memcpy(work + tape->n_const, p, (size_t)tape->n_p * sizeof(double));
}

/* Neumaier's compensated summation (Higham, Accuracy and Stability, 4.3):
 * err collects the exact rounding error of every partial sum. */
static double nk_csum(const double *w, const int *terms, int cnt) {
  double s = 0.0, err = 0.0;
  for (int i = 0; i < cnt; ++i) {
    const int e = terms[i];
    const double x = (e & 1) ? -w[e >> 1] : w[e >> 1];
    const double t = s + x;
    err += fabs(s) >= fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  }
  return s + err;
}

void nk_tape_eval(const nk_tape *tape, double t, const double *y, double *work,
                  double *out) {
  const int off_y = tape->n_const + tape->n_p;
  const int n_instr = tape->n_instr;
  const int n_out = tape->n_out;
  const int *restrict pc = tape->code;
  const int *restrict outs = tape->out;
  double *w = work;
  double *r; /* results: r[k] is slot base + k of w */
  int k;

  if (tape->n_y > 0) memcpy(w + off_y, y, (size_t)tape->n_y * sizeof(double));
  w[off_y + tape->n_y] = t;
  r = w + off_y + tape->n_y + 1;

  for (k = 0; k < n_instr; ++k, pc += 4) {
    const double a = pc[0] == NK_OP_CSUM ? 0.0 : w[pc[1]];
    double v;
    switch (pc[0]) {
      case NK_OP_ADD: v = a + w[pc[2]]; break;
      case NK_OP_SUB: v = a - w[pc[2]]; break;
      case NK_OP_MUL: v = a * w[pc[2]]; break;
      case NK_OP_DIV: v = a / w[pc[2]]; break;
      case NK_OP_NEG: v = -a; break;
      case NK_OP_POW: v = pow(a, w[pc[2]]); break;
      case NK_OP_EXP: v = exp(a); break;
      case NK_OP_LOG: v = log(a); break;
      case NK_OP_LOG10: v = log10(a); break;
      case NK_OP_SQRT: v = sqrt(a); break;
      case NK_OP_SIN: v = sin(a); break;
      case NK_OP_COS: v = cos(a); break;
      case NK_OP_TAN: v = tan(a); break;
      case NK_OP_ASIN: v = asin(a); break;
      case NK_OP_ACOS: v = acos(a); break;
      case NK_OP_ATAN: v = atan(a); break;
      case NK_OP_SINH: v = sinh(a); break;
      case NK_OP_COSH: v = cosh(a); break;
      case NK_OP_TANH: v = tanh(a); break;
      case NK_OP_ABS: v = fabs(a); break;
      case NK_OP_FLOOR: v = floor(a); break;
      case NK_OP_CEIL: v = ceil(a); break;
      case NK_OP_MIN: { const double b = w[pc[2]]; v = b < a ? b : a; } break;
      case NK_OP_MAX: { const double b = w[pc[2]]; v = b > a ? b : a; } break;
      case NK_OP_LT: v = a < w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_LE: v = a <= w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_GT: v = a > w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_GE: v = a >= w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_EQ: v = a == w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_NE: v = a != w[pc[2]] ? 1.0 : 0.0; break;
      case NK_OP_AND: v = (a != 0.0 && w[pc[2]] != 0.0) ? 1.0 : 0.0; break;
      case NK_OP_OR: v = (a != 0.0 || w[pc[2]] != 0.0) ? 1.0 : 0.0; break;
      case NK_OP_NOT: v = a == 0.0 ? 1.0 : 0.0; break;
      case NK_OP_SELECT: v = a != 0.0 ? w[pc[2]] : w[pc[3]]; break;
      case NK_OP_ATAN2: v = atan2(a, w[pc[2]]); break;
      case NK_OP_SQUARE: v = a * a; break;
      case NK_OP_POWI: v = nk_powi(a, (int)w[pc[2]]); break;
      case NK_OP_SIGN: v = a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : a); break;
      case NK_OP_COPY: v = a; break;
      case NK_OP_XOR: v = ((a != 0.0) != (w[pc[2]] != 0.0)) ? 1.0 : 0.0; break;
      case NK_OP_CSUM: v = nk_csum(w, tape->aux + pc[1], pc[2]); break;
      default: v = NAN; break; /* unreachable after nk_tape_check */
    }
    r[k] = v;
  }
  for (k = 0; k < n_out; ++k) out[k] = w[outs[k]];
}
