/* nk_tape.h - compiled rate-expression programs ("tapes") evaluated in C.
 *
 * The Python compiler turns rate expressions (and their symbolic
 * derivatives) into one straight-line program per output set.  The program
 * works on one double array, the work array, laid out as
 *
 *   [0, n_const)                        constants
 *   [n_const, +n_p)                     parameters
 *   [n_const+n_p, +n_y)                 states y
 *   n_const+n_p+n_y                     time t
 *   base + k, base = n_const+n_p+n_y+1  result of instruction k
 *
 * Instruction k is four ints (op, a, b, c): operands are slot indices, all
 * smaller than base + k (so a tape is acyclic by construction and checked
 * once by nk_tape_check).  Unused operands are 0.  Outputs are slot indices.
 */
#ifndef NK_TAPE_H
#define NK_TAPE_H

#include <stddef.h>
#include "nk_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, code, arity) */
#define NK_OP_LIST(X)                                                         \
  X(NK_OP_ADD, 0, 2) X(NK_OP_SUB, 1, 2) X(NK_OP_MUL, 2, 2) X(NK_OP_DIV, 3, 2) \
  X(NK_OP_NEG, 4, 1) X(NK_OP_POW, 5, 2) X(NK_OP_EXP, 6, 1) X(NK_OP_LOG, 7, 1) \
  X(NK_OP_LOG10, 8, 1) X(NK_OP_SQRT, 9, 1) X(NK_OP_SIN, 10, 1)               \
  X(NK_OP_COS, 11, 1) X(NK_OP_TAN, 12, 1) X(NK_OP_ASIN, 13, 1)                \
  X(NK_OP_ACOS, 14, 1) X(NK_OP_ATAN, 15, 1) X(NK_OP_SINH, 16, 1)              \
  X(NK_OP_COSH, 17, 1) X(NK_OP_TANH, 18, 1) X(NK_OP_ABS, 19, 1)               \
  X(NK_OP_FLOOR, 20, 1) X(NK_OP_CEIL, 21, 1) X(NK_OP_MIN, 22, 2)              \
  X(NK_OP_MAX, 23, 2) X(NK_OP_LT, 24, 2) X(NK_OP_LE, 25, 2)                   \
  X(NK_OP_GT, 26, 2) X(NK_OP_GE, 27, 2) X(NK_OP_EQ, 28, 2) X(NK_OP_NE, 29, 2) \
  X(NK_OP_AND, 30, 2) X(NK_OP_OR, 31, 2) X(NK_OP_NOT, 32, 1)                  \
  X(NK_OP_SELECT, 33, 3) X(NK_OP_ATAN2, 34, 2) X(NK_OP_SQUARE, 35, 1)         \
  X(NK_OP_POWI, 36, 2) X(NK_OP_SIGN, 37, 1) X(NK_OP_COPY, 38, 1)              \
  X(NK_OP_XOR, 39, 2) X(NK_OP_CSUM, 40, 2)

typedef enum {
#define NK_OP_ENUM(name, code, arity) name = code,
  NK_OP_LIST(NK_OP_ENUM)
#undef NK_OP_ENUM
  NK_OP_COUNT
} nk_op;

/* Semantics: comparisons and logic give 1.0 or 0.0 (nonzero is true).
 * SELECT: a != 0 ? b : c.  POWI: a ** (int) of the constant-slot b.
 * SIGN: -1, 0 or 1.  COPY: a.  CSUM: a compensated sum (Neumaier 1974) of
 * b >= 1 terms listed in aux[a .. a+b-1], each encoded as 2*slot + negate
 * (so a species' production and consumption fluxes are added as if each
 * partial sum were exact, in one instruction).  All arrays borrowed. */
typedef struct nk_tape {
  int n_const;
  const double *consts;
  int n_p;
  int n_y;
  int n_instr;
  const int *code; /* 4 * n_instr ints */
  int n_out;
  const int *out;  /* n_out slot indices */
  int n_aux;
  const int *aux;  /* operand lists of CSUM instructions */
} nk_tape;

/* Number of doubles the work array needs. */
size_t nk_tape_work_size(const nk_tape *tape);
/* Validate opcodes, operand ranges and outputs. */
nk_status nk_tape_check(const nk_tape *tape);
/* Write constants and parameters into work (once per parameter set). */
void nk_tape_bind(const nk_tape *tape, const double *p, double *work);
/* Evaluate at (t, y) with a bound work array; writes n_out values. */
void nk_tape_eval(const nk_tape *tape, double t, const double *y, double *work,
                  double *out);

/* ---- lanes: NK_LANES evaluations of one tape at once ---------------------
 * A lane-interleaved work array holds slot s of lane l at work[s*NK_LANES +
 * l] (nk_tape_work_size(tape) * NK_LANES doubles).  nk_tape_eval_lanes runs
 * the program for all lanes, instruction by instruction, so the dispatch is
 * paid once per NK_LANES evaluations and the arithmetic vectorises; each
 * lane's result is bit-identical to nk_tape_eval on the same inputs (the
 * same operations in the same order, the same libm calls).  The caller
 * writes states and time into their slots first and reads outputs from the
 * out slots. */
#define NK_LANES 8

/* Constants into every lane and parameters p into lane `lane`. */
void nk_tape_bind_lane(const nk_tape *tape, const double *p, int lane, double *work);
void nk_tape_eval_lanes(const nk_tape *tape, double *work);

#ifdef __cplusplus
}
#endif
#endif
