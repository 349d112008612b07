/* nk_status.h - one status enum for the whole core, with one message table.
 *
 * Sign carries meaning (as SUNDIALS does): 0 success, > 0 informational,
 * < 0 error.  Codes and messages come from one X-macro list so they cannot
 * drift apart.
 */
#ifndef NK_STATUS_H
#define NK_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define NK_STATUS_LIST(X)                                                     \
  X(NK_SUCCESS, 0, "success")                                                 \
  X(NK_TSTOP_REACHED, 1, "the end of the interval was reached")               \
  X(NK_OUTPUT_FULL, 2, "the output buffer is full; call again to continue")   \
  X(NK_ROOT_FOUND, 3, "a root of an event function was found")               \
  X(NK_ERR_MEMORY, -1, "memory allocation failed")                            \
  X(NK_ERR_ARGUMENT, -2, "invalid argument")                                  \
  X(NK_TOO_MUCH_WORK, -3, "the maximum number of steps was taken before reaching the end") \
  X(NK_STEP_TOO_SMALL, -4, "the step size fell below the roundoff limit of t") \
  X(NK_CONV_FAILURE, -5, "the Newton iteration failed to converge repeatedly") \
  X(NK_ERR_FAILURE, -6, "the local error test failed repeatedly")             \
  X(NK_SINGULAR_MATRIX, -7, "the iteration matrix is singular")               \
  X(NK_RHS_FAIL, -8, "the right-hand side function failed")                  \
  X(NK_JAC_FAIL, -9, "the Jacobian function failed")                         \
  X(NK_NONFINITE, -10, "a non-finite value (NaN or Inf) appeared in the solution") \
  X(NK_INTERRUPTED, -11, "the integration was interrupted")                   \
  X(NK_BAD_PROGRAM, -12, "the compiled rate program is malformed")            \
  X(NK_NOT_INITIALISED, -13, "the object was used before it was initialised") \
  X(NK_TOO_LARGE, -14, "the problem is too large to allocate")

typedef enum {
#define NK_STATUS_ENUM(name, value, msg) name = value,
  NK_STATUS_LIST(NK_STATUS_ENUM)
#undef NK_STATUS_ENUM
} nk_status;

/* Static message for a status code; never NULL. */
const char *nk_status_message(int status);
/* Static symbolic name ("NK_STEP_TOO_SMALL"); never NULL. */
const char *nk_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
