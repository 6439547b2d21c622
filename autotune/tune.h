/* tune.h: tuning one problem: which candidate (backend x variant x
 * parameter point) computes it fastest here.
 *
 * 1. Enumerate: every variant of every opened backend for the problem's
 *    op, at its default parameters and at each other value of each
 *    parameter (one at a time: a full product would explode, and the
 *    defaults are the variants' own best guesses); keep those whose
 *    supports() accepts the problem and whose workspace fits the limit.
 *    A parameter named "isa" is tuned only at its default (the best ISA)
 *    unless rules.all_isas: narrower ISAs are slower by construction.
 * 2. Validate each once against ref on small-integer data (the problem at
 *    a batch of at most 2, sharing one ref run): a candidate that fails is
 *    recorded as failed and never timed or chosen.
 * 3. Screen the default point of every variant (a warm-up and prune_after
 *    rounds); a variant whose default is sweep_ratio behind the best gets
 *    no parameter sweep (its other points are marked pruned, untimed).
 *    Time the rest interleaved, round by round, caches flushed between
 *    samples: a warm-up round; then rounds until every candidate has at
 *    least min_samples samples and min_ms of them (capped); after
 *    prune_after rounds, candidates slower than prune_ratio times the best
 *    median stop (clear losers; hopeless ones, screen_ratio behind, stop
 *    after the first timed round); candidates whose MAD / median exceeds
 *    `noisy` get more rounds; rank by median.
 * 4. The device state (the GPU's too, for GPU candidates) is sampled
 *    before and after; a winner measured with
 *    MAD / median over `too_noisy`, or while the clock dropped or the
 *    machine was busy, is reported but not cached. */
#ifndef CB_TUNE_H
#define CB_TUNE_H

#include <signal.h>

#include "cache.h"
#include "measure.h"
#include "validate.h"

typedef struct cb_tune_rules {
  int warmup_rounds;     /* untimed rounds first (1) */
  int min_samples;       /* per candidate (10) */
  double min_ms;         /* per candidate, sum of its samples (200) */
  int max_samples;       /* per candidate (100) */
  double max_ms;         /* per candidate (2000) */
  int prune_after;       /* rounds before pruning (2) */
  double prune_ratio;    /* a candidate whose min exceeds this x best median stops (1.5) */
  double screen_ratio;   /* before prune_after, one this far behind stops (2; 0 = never) */
  double sweep_ratio;    /* a variant whose default point is this far behind the best
                          * default gets no parameter sweep (1.3; 0 = always sweep) */
  double noisy;          /* MAD / median above which a candidate gets more rounds (0.05) */
  double too_noisy;      /* MAD / median above which a winner is not cached (0.10) */
  double noise_floor_ms; /* a MAD below this is timer resolution, never noise (0.002) */
  size_t flush_bytes;    /* streamed between samples: more than the last-level cache
                          * (64 MiB; the CLI uses 1.5x the machine's L3) */
  size_t max_workspace;  /* bytes one candidate may ask for (1 GiB) */
  bool all_isas;         /* also tune narrower values of "isa" parameters */
} cb_tune_rules;

void cb_tune_rules_default(cb_tune_rules *r);

typedef enum cb_cand_status {
  CB_CAND_OK,       /* validated and timed */
  CB_CAND_PRUNED,   /* validated, timed briefly, stopped as a clear loser */
  CB_CAND_MISMATCH, /* failed validation against ref: never timed or chosen */
  CB_CAND_ERROR,    /* could not run (plan or run failed) */
} cb_cand_status;

const char *cb_cand_status_name(cb_cand_status s); /* "ok", "pruned", "mismatch", "error" */

typedef struct cb_tune_candidate {
  cb_candidate c; /* context, variant, params */
  cb_cand_status status;
  cb_check check; /* validation result */
  cb_timing t;    /* ms */
  bool noisy;     /* MAD / median above rules.noisy after its extra rounds */
  char impl[128];
  char error[256];
} cb_tune_candidate;

typedef struct cb_tune_outcome {
  int ncand;
  cb_tune_candidate *cand;
  int winner;        /* index into cand, -1 when nothing valid ran */
  int runner_up;     /* -1 when there is none */
  bool cacheable;    /* the winner was measured cleanly */
  char why_not[160]; /* why not cacheable */
  cb_devstate before, after;
} cb_tune_outcome;

/* Progress: what is happening ("validate", "time", "done"), the candidate
 * concerned (NULL for phase-level calls) and the best median so far (ms,
 * 0 before any). */
typedef void (*cb_tune_progress_fn)(void *user, const char *phase, const cb_tune_candidate *c,
                                    double best_ms);

typedef struct cb_tuner {
  cb_ctx *const *ctxs; /* opened backends to draw candidates from */
  int nctx;
  cb_ctx *ref; /* the oracle */
  cb_tune_rules rules;
  const volatile sig_atomic_t *stop; /* non-zero: stop (CB_ERR_INTERRUPTED) */
  cb_tune_progress_fn progress;
  void *progress_user;
} cb_tuner;

/* Tunes p: fills out (free with cb_tune_outcome_free). CB_OK when tuning
 * ran, whether or not a winner was found. */
cb_status cb_tune_problem(const cb_tuner *t, const cb_problem *p, cb_tune_outcome *out);
void cb_tune_outcome_free(cb_tune_outcome *o);

/* Whether a winner measured with timing t between device states before
 * and after may be cached: false (with the reason in why) when its spread
 * is over rules->too_noisy (and above the timer's noise floor) or the
 * measured clock fell by more than 10%, or, for a GPU, its SM clock fell
 * by more than 10% or NVML reports power or thermal throttling after. */
bool cb_tune_cacheable(const cb_tune_rules *r, const cb_timing *t, const cb_devstate *before,
                       const cb_devstate *after, char *why, size_t len);

/* "backend/variant[16,4]": a candidate as people read it. */
void cb_candidate_name(const cb_candidate *c, char *buf, size_t len);

#endif
