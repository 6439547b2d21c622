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

/* One variant at one parameter point on one context: a timing candidate. */
typedef struct cb_candidate {
  cb_ctx *ctx;
  const cb_variant *variant;
  int params[CB_MAX_PARAMS];
} cb_candidate;

/* Times n candidates on problem p interleaved: `warmup` untimed rounds,
 * then `iters` rounds in which every candidate runs once, the starting
 * candidate rotating each round, so drift of the machine's clock or load
 * falls on all candidates alike. With flush_bytes > 0, that many bytes are
 * streamed through between samples so no candidate starts with a warm
 * cache left by the previous one. Candidates share their inputs (on one
 * device). out[i] receives candidate i's statistics in milliseconds. */
cb_status cb_time_interleaved(const cb_candidate *cands, int n, const cb_problem *p, int warmup,
                              int iters, size_t flush_bytes, cb_timing *out);

/* The command that reproduces a result: "convbench run --backend B
 * --variant V [--params a,b] KEY". */
void cb_repro_line(const cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                   char *buf, size_t len);

#endif
