/* cb_test.h: the few assertion macros convbench's C tests use.
 *
 * A failed check prints file:line, the expression and the values, counts
 * the failure and goes on, so one run shows every broken case; main()
 * returns cb_test_result(), non-zero when anything failed. CB_TEST_SKIP
 * exits 77, which ctest reports as skipped. */
#ifndef CB_TEST_H
#define CB_TEST_H

#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cb_test_failures;
static int cb_test_checks;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    cb_test_checks++;                                                                              \
    if (!(cond)) {                                                                                 \
      cb_test_failures++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
  } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
  do {                                                                                             \
    cb_test_checks++;                                                                              \
    if (!(cond)) {                                                                                 \
      cb_test_failures++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long cb_a_ = (long long)(a), cb_b_ = (long long)(b);                                      \
    CHECK_MSG(cb_a_ == cb_b_, "%s = %lld, %s = %lld", #a, cb_a_, #b, cb_b_);                       \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *cb_a_ = (a), *cb_b_ = (b);                                                         \
    CHECK_MSG(cb_a_ &&cb_b_ &&strcmp(cb_a_, cb_b_) == 0,                                           \
              "\n  got:      \"%s\"\n  expected: \"%s\"", cb_a_ ? cb_a_ : "(null)",                \
              cb_b_ ? cb_b_ : "(null)");                                                           \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  do {                                                                                             \
    double cb_a_ = (double)(a), cb_b_ = (double)(b);                                               \
    CHECK_MSG(fabs(cb_a_ - cb_b_) <= (tol), "%s = %.9g, %s = %.9g, tol %.3g", #a, cb_a_, #b,       \
              cb_b_, (double)(tol));                                                               \
  } while (0)

#define CB_TEST_SKIP(...)                                                                          \
  do {                                                                                             \
    printf("SKIP: ");                                                                              \
    printf(__VA_ARGS__);                                                                           \
    printf("\n");                                                                                  \
    exit(77);                                                                                      \
  } while (0)

/* A named conv shape for table-driven tests. The cb_conv fields in order:
 * n, c, h, w, k, r, s, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w,
 * groups. */
typedef struct conv_case {
  const char *why;
  cb_conv c;
} conv_case;

static inline int cb_test_result(void) {
  if (cb_test_failures)
    fprintf(stderr, "FAILED: %d of %d checks\n", cb_test_failures, cb_test_checks);
  else
    printf("ok: %d checks\n", cb_test_checks);
  return cb_test_failures ? 1 : 0;
}

#endif
