/* validate.h: checks a variant against the ref backend, and the line
 * that reproduces a result (the timing engine is measure.h).
 *
 * Validation runs the candidate and ref on the same small-integer data.
 * With integers in [-2, 2] every partial sum of a conv or GEMM is an
 * integer far below 2^24, so any summation order is exact in fp32: direct
 * and im2col+GEMM variants must match ref bit for bit (tolerance 0); FFT
 * and Winograd transform the data and get a per-variant threshold on
 * max |got - ref| / max(1, max |ref|). Outputs start as NaN so a variant
 * that leaves an element unwritten fails, and the candidate runs twice on
 * a NaN-filled workspace: a result that depends on what the workspace held
 * before, or that differs between two identical runs, fails. */
#ifndef CB_VALIDATE_H
#define CB_VALIDATE_H

#include "kernels.h"

typedef struct cb_check {
  bool pass;
  double max_abs;   /* max |got - ref| (INFINITY when a value is NaN or missing) */
  double max_rel;   /* max_abs / max(1, max |ref|) */
  double tolerance; /* the variant's threshold */
  int64_t worst;    /* index of the worst element in dst */
  float got, want;  /* the values there */
} cb_check;

/* The inputs of a problem and ref's answer for them, computed once and
 * shared by every candidate validated against it. */
typedef struct cb_reference {
  cb_problem problem;
  float *src0, *src1; /* small integers */
  float *dst_init;    /* what dst holds before a run: NaN, or C for a GEMM with beta != 0 */
  float *want;        /* ref's result */
  int64_t n0, n1, n2;
} cb_reference;

/* Runs ref on p with data drawn from seed. Free with cb_reference_free. */
cb_status cb_reference_make(cb_ctx *ref_ctx, const cb_problem *p, uint64_t seed, cb_reference *r);
void cb_reference_free(cb_reference *r);

/* Runs v with params (NULL: defaults) on ctx against r (see the header
 * comment). CB_OK when it ran (check->pass says whether it agreed). */
cb_status cb_validate_against(cb_ctx *ctx, const cb_variant *v, const int *params,
                              const cb_reference *r, cb_check *check);

/* cb_reference_make + cb_validate_against + cb_reference_free. */
cb_status cb_validate(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                      cb_ctx *ref_ctx, uint64_t seed, cb_check *check);

/* The same comparison on two host arrays of n values: what validation
 * uses, exposed so a test can feed it a planted wrong result. */
void cb_compare(const float *got, const float *want, int64_t n, double tolerance, cb_check *check);

/* The command that reproduces a result: "convbench run --backend B
 * --variant V [--params a,b] KEY". */
void cb_repro_line(const cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                   char *buf, size_t len);

#endif
