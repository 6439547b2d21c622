/* validate.h: checks a variant against the ref backend, and times one
 * variant on one problem.
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

#include "store.h"

typedef struct cb_check {
  bool pass;
  double max_abs;   /* max |got - ref| (INFINITY when a value is NaN or missing) */
  double max_rel;   /* max_abs / max(1, max |ref|) */
  double tolerance; /* the variant's threshold */
  int64_t worst;    /* index of the worst element in dst */
  float got, want;  /* the values there */
} cb_check;

/* Runs v with params (NULL: defaults) on ctx and ref's variant for p's op
 * on ref_ctx, on the same data drawn from seed, and compares. CB_OK when
 * both ran (then check->pass says whether they agree); an error when
 * either could not run. Device backends get their data uploaded. */
cb_status cb_validate(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                      cb_ctx *ref_ctx, uint64_t seed, cb_check *check);

/* The same comparison on two host arrays of n values: what cb_validate
 * uses, exposed so a test can feed it a planted wrong result. */
void cb_compare(const float *got, const float *want, int64_t n, double tolerance, cb_check *check);

/* Times v on p: plan once, `warmup` untimed runs, then `iters` timed runs
 * (each synchronised for device backends); fills t in milliseconds. */
cb_status cb_time_variant(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                          int warmup, int iters, cb_timing *t);

/* The command that reproduces a result: "convbench run --backend B
 * --variant V [--params a,b] KEY". */
void cb_repro_line(const cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                   char *buf, size_t len);

#endif
