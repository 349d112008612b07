/* nk_tape_lanes.c - one compiled rate program evaluated for NK_LANES inputs.
 *
 * The lane-interleaved twin of nk_tape_eval (see nk_tape.h): every case below
 * is the scalar case written as a loop over the lanes, with no reordering,
 * so that an ensemble integrated in lanes is bit-identical to its members
 * integrated one by one.  Branches become selects; the transcendental
 * functions are the scalar libm calls, one per lane.
 */
#include "nk_tape.h"
#include "nk_lanes.h"
#include "nk_powi.h"

#include <math.h>
#include <string.h>

#define W NK_LANES
#define LANES for (int l = 0; l < W; ++l)

void nk_tape_bind_lane(const nk_tape *tape, const double *p, int lane, double *work) {
  for (int k = 0; k < tape->n_const; ++k)
    LANES work[(size_t)k * W + l] = tape->consts[k];
  double *wp = work + (size_t)tape->n_const * W + lane;
  for (int k = 0; k < tape->n_p; ++k) wp[(size_t)k * W] = p[k];
}

/* Neumaier's compensated sum of nk_tape.c, for all lanes term by term. */
NK_INLINE void lane_csum(const double *w, const int *terms, int cnt, double *restrict r) {
#ifdef NK_HAVE_VECTORS
  for (int h = 0; h < W; h += NK_VW) {
    nk_vd s = nk_vsplat(0.0), err = nk_vsplat(0.0);
    for (int i = 0; i < cnt; ++i) {
      const int e = terms[i];
      nk_vd x = nk_vload(w + (size_t)(e >> 1) * W + h);
      if (e & 1) x = -x;
      const nk_vd t = s + x;
      err += nk_vselect(nk_vabs(s) >= nk_vabs(x), (s - t) + x, (x - t) + s);
      s = t;
    }
    nk_vstore(r + h, s + err);
  }
#else
  double s[W], err[W];
  LANES { s[l] = 0.0; err[l] = 0.0; }
  for (int i = 0; i < cnt; ++i) {
    const int e = terms[i];
    const double *x0 = w + (size_t)(e >> 1) * W;
    LANES {
      const double x = (e & 1) ? -x0[l] : x0[l];
      const double t = s[l] + x;
      err[l] += fabs(s[l]) >= fabs(x) ? (s[l] - t) + x : (x - t) + s[l];
      s[l] = t;
    }
  }
  LANES r[l] = s[l] + err[l];
#endif
}

#ifdef NK_HAVE_VECTORS
#define VBINARY(op)                                              \
  for (int h = 0; h < W; h += NK_VW)                             \
    nk_vstore(r + h, nk_vload(a + h) op nk_vload(b + h));        \
  break
#else
#define VBINARY(op) BINARY(x op y)
#endif
#define UNARY(expr) LANES { const double x = a[l]; r[l] = (expr); } break
#define BINARY(expr) LANES { const double x = a[l], y = b[l]; r[l] = (expr); } break

NK_MULTIVERSION void nk_tape_eval_lanes(const nk_tape *tape, double *work) {
  const size_t base = nk_tape_work_size(tape) - (size_t)tape->n_instr;
  const int *pc = tape->code;
  for (int k = 0; k < tape->n_instr; ++k, pc += 4) {
    double *restrict r = work + (size_t)(base + k) * W;
    /* (CSUM's first operand is an aux offset, not a slot) */
    const double *a = work + (size_t)(pc[0] == NK_OP_CSUM ? 0 : pc[1]) * W;
    const double *b = work + (size_t)pc[2] * W;
    const double *c = work + (size_t)pc[3] * W;
    switch (pc[0]) {
      case NK_OP_ADD: VBINARY(+);
      case NK_OP_SUB: VBINARY(-);
      case NK_OP_MUL: VBINARY(*);
      case NK_OP_DIV: VBINARY(/);
      case NK_OP_NEG: UNARY(-x);
      case NK_OP_POW: BINARY(pow(x, y));
      case NK_OP_EXP: UNARY(exp(x));
      case NK_OP_LOG: UNARY(log(x));
      case NK_OP_LOG10: UNARY(log10(x));
      case NK_OP_SQRT: UNARY(sqrt(x));
      case NK_OP_SIN: UNARY(sin(x));
      case NK_OP_COS: UNARY(cos(x));
      case NK_OP_TAN: UNARY(tan(x));
      case NK_OP_ASIN: UNARY(asin(x));
      case NK_OP_ACOS: UNARY(acos(x));
      case NK_OP_ATAN: UNARY(atan(x));
      case NK_OP_SINH: UNARY(sinh(x));
      case NK_OP_COSH: UNARY(cosh(x));
      case NK_OP_TANH: UNARY(tanh(x));
      case NK_OP_ABS: UNARY(fabs(x));
      case NK_OP_FLOOR: UNARY(floor(x));
      case NK_OP_CEIL: UNARY(ceil(x));
      case NK_OP_MIN: BINARY(y < x ? y : x);
      case NK_OP_MAX: BINARY(y > x ? y : x);
      case NK_OP_LT: BINARY(x < y ? 1.0 : 0.0);
      case NK_OP_LE: BINARY(x <= y ? 1.0 : 0.0);
      case NK_OP_GT: BINARY(x > y ? 1.0 : 0.0);
      case NK_OP_GE: BINARY(x >= y ? 1.0 : 0.0);
      case NK_OP_EQ: BINARY(x == y ? 1.0 : 0.0);
      case NK_OP_NE: BINARY(x != y ? 1.0 : 0.0);
      case NK_OP_AND: BINARY((x != 0.0 && y != 0.0) ? 1.0 : 0.0);
      case NK_OP_OR: BINARY((x != 0.0 || y != 0.0) ? 1.0 : 0.0);
      case NK_OP_NOT: UNARY(x == 0.0 ? 1.0 : 0.0);
      case NK_OP_SELECT: LANES r[l] = a[l] != 0.0 ? b[l] : c[l]; break;
      case NK_OP_ATAN2: BINARY(atan2(x, y));
      case NK_OP_SQUARE: UNARY(x * x);
      case NK_OP_POWI: BINARY(nk_powi(x, (int)y));
      case NK_OP_SIGN: UNARY(x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x));
      case NK_OP_COPY: UNARY(x);
      case NK_OP_XOR: BINARY(((x != 0.0) != (y != 0.0)) ? 1.0 : 0.0);
      case NK_OP_CSUM: lane_csum(work, tape->aux + pc[1], pc[2], r); break;
      default: LANES r[l] = NAN; break; /* unreachable after nk_tape_check */
    }
  }
}
