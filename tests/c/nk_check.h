/* nk_check.h - the assertion macro and random numbers shared by the C unit
 * tests (one test program per file: the counters are per program). */
#ifndef NK_CHECK_H
#define NK_CHECK_H

#include <stdio.h>

static int failures = 0, checks = 0;

/* CHECK(condition, printf-style message): counts, reports and carries on. */
#define CHECK(cond, ...)                                          \
  do {                                                            \
    ++checks;                                                     \
    if (!(cond)) {                                                \
      ++failures;                                                 \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fputc('\n', stderr);                                        \
    }                                                             \
  } while (0)

/* xorshift64 (Marsaglia 2003), uniform in [0, 1); fixed seed: repeatable. */
static unsigned long long nk_rng_state = 88172645463325252ULL;
static inline double urand(void) {
  nk_rng_state ^= nk_rng_state << 13;
  nk_rng_state ^= nk_rng_state >> 7;
  nk_rng_state ^= nk_rng_state << 17;
  return (double)(nk_rng_state >> 11) / 9007199254740992.0;
}

#endif
