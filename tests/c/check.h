/* check.h: the tiny assertion kit of the C unit tests. A failed check prints
 * file:line and the expression, counts, and the test goes on; main returns
 * check_done() (0 when every check passed). */
#ifndef EVALUA_CHECK_H
#define EVALUA_CHECK_H
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failed, check_count;

#define CHECK(cond)                                                          \
  do {                                                                       \
    check_count++;                                                           \
    if (!(cond)) {                                                           \
      check_failed++;                                                        \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    check_count++;                                                           \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
      check_failed++;                                                        \
      fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__,       \
              __LINE__, b_ ? b_ : "(null)", a_ ? a_ : "(null)");              \
    }                                                                        \
  } while (0)

#define CHECK_NUM(a, b, tol)                                                 \
  do {                                                                       \
    double a_ = (a), b_ = (b);                                               \
    check_count++;                                                           \
    if (!(fabs(a_ - b_) <= (tol))) {                                         \
      check_failed++;                                                        \
      fprintf(stderr, "%s:%d: expected %.10g, got %.10g\n", __FILE__,        \
              __LINE__, b_, a_);                                             \
    }                                                                        \
  } while (0)

static inline int check_done(void)
{
  printf("%d passed, %d failed\n", check_count - check_failed, check_failed);
  return check_failed ? 1 : 0;
}
#endif
