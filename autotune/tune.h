/* tune.h: tuning one problem: which candidate (backend x variant x
 * parameter point) computes it fastest here (docs/tuning.md tells the
 * whole story with its numbers).
 *
 * 1. Enumerate: every variant of every opened backend for the problem's
 *    op, at its default parameters and at each other value of each
 *    parameter (one at a time: a full product would explode, and the
 *    defaults are the variants' own best guesses); keep those whose
 *    supports() accepts the problem and whose workspace fits the limit.
 *    A parameter named "isa" is tuned only at its default (the best ISA)
 *    unless rules.all_isas: narrower ISAs are slower by construction.
 *    Each backend's default pick (its first supporting variant at default
 *    parameters: what `--backend NAME` and the heuristic run) is a
 *    baseline: the tuned pick must never be slower than the best of them.
 * 2. Validate each once against ref on small-integer data (the problem at
 *    a batch of at most 2, sharing one ref run): a candidate that fails is
 *    recorded as failed and never timed or chosen.
 * 3. Race, caches flushed between samples, candidates interleaved round by
 *    round. The estimator is a low quantile, rules.quantile (q25) of each
 *    candidate's samples: preemption, a cold first run and page faults only
 *    ever ADD time, so the low end of a series is the kernel and the high
 *    end is the machine. The minimum would be the extreme of that argument,
 *    but it is the one luckiest sample, biased downwards more the more
 *    samples a candidate gets (so the racing itself would skew it); the
 *    median breaks as soon as half the samples are preempted, which on a
 *    loaded 2-core machine is common. q25 survives up to 75% preempted
 *    samples and is as stable as a median on a clean series.
 *    a. Screen: the default point of every variant gets screen_samples
 *       samples; a variant whose default is sweep_ratio behind the best
 *       default gets no parameter sweep (its other points are marked
 *       pruned, untimed).
 *    b. Race the rest (screen samples are kept). The leader is the lowest
 *       estimate. A candidate is dropped only when behind with confidence:
 *       it has at least screen_samples samples (never one) and even its
 *       best sample is over drop_ratio x the leader's estimate. A baseline
 *       must first have min_samples samples: a fast but noisy library
 *       default is not lost to a few preempted samples. Candidates still
 *       in the race get samples until min_samples and min_ms of them (a
 *       noisy one as many again, once); the race ends when nobody needs
 *       more, at max_samples / max_ms per candidate, when every candidate
 *       still in it has min_samples samples and an estimate within
 *       tie_ratio of the leader's (a tie: the requirement is to find the
 *       winner where candidates differ by more than 5%, and more samples
 *       to split a 2% tie cost seconds a problem), or when the problem's
 *       budget is spent (budget_ms, or budget_runs runs of the leader when
 *       that is longer).
 * 4. Choose the lowest estimate; a non-baseline winner must beat the best
 *    baseline by baseline_margin, else the baseline is chosen. The winner
 *    is ALWAYS returned with its confidence: high, or low with the reason
 *    (spread over too_noisy, preempted, clock fell, budget spent before
 *    the race settled). The device state (the GPU's too, for GPU
 *    candidates) is sampled before and after. */
#ifndef CB_TUNE_H
#define CB_TUNE_H

#include <signal.h>

#include "cache.h"
#include "measure.h"
#include "validate.h"

typedef struct cb_tune_rules {
  int warmup_rounds;      /* untimed rounds first (0: the estimator ignores a cold run) */
  int screen_samples;     /* samples every candidate gets before it may be dropped (3) */
  int min_samples;        /* per candidate still in the race at the end (10) */
  double min_ms;          /* per candidate still in the race, sum of its samples (5) */
  int max_samples;        /* per candidate (100) */
  double max_ms;          /* per candidate (1000) */
  double budget_ms;       /* wall time for one problem's race; then the leader wins with
                           * low confidence (3000; 0 = none) */
  int budget_runs;        /* ... but at least this many runs of the leader (30) */
  double tie_ratio;       /* the race ends when all still in it are within this x the
                           * leader's estimate, with min_samples each (1.03; 0 = never) */
  double quantile;        /* the estimator: this quantile of the samples (0.25) */
  double drop_ratio;      /* dropped when its min exceeds this x the leader's estimate (1.05) */
  double sweep_ratio;     /* a variant whose default point is this far behind the best
                           * default gets no parameter sweep (1.3; 0 = always sweep) */
  double baseline_margin; /* a non-baseline winner must beat the best baseline's estimate
                           * by this factor (1.02), else the baseline is chosen */
  double noisy;           /* MAD / median above which a candidate gets more rounds (0.05) */
  double too_noisy;       /* MAD / median above which a winner's confidence is low (0.10) */
  double noise_floor_ms;  /* a MAD below this is timer resolution, never noise (0.002) */
  size_t flush_bytes;     /* streamed between samples: more than the last-level cache
                           * (64 MiB; the CLI uses 1.5x the machine's L3) */
  size_t max_workspace;   /* bytes one candidate may ask for (1 GiB) */
  bool all_isas;          /* also tune narrower values of "isa" parameters */
  bool exhaustive;        /* no race: every point timed to min_samples and min_ms, nothing
                           * dropped or left unswept, no budget (to check the race against) */
} cb_tune_rules;

void cb_tune_rules_default(cb_tune_rules *r);

typedef enum cb_cand_status {
  CB_CAND_OK,       /* validated and timed */
  CB_CAND_PRUNED,   /* validated, dropped from the race behind with confidence (or its
                     * variant's default point was far behind: untimed) */
  CB_CAND_MISMATCH, /* failed validation against ref: never timed or chosen */
  CB_CAND_ERROR,    /* could not run (plan or run failed) */
} cb_cand_status;

const char *cb_cand_status_name(cb_cand_status s); /* "ok", "pruned", "mismatch", "error" */

typedef struct cb_tune_candidate {
  cb_candidate c; /* context, variant, params */
  cb_cand_status status;
  bool validated;  /* checked against ref (a sweep point never timed is not) */
  cb_check check;  /* validation result */
  cb_timing t;     /* ms */
  double estimate; /* the rules.quantile of its samples, ms (0 when untimed) */
  bool baseline;   /* its backend's default pick */
  bool noisy;      /* MAD / median above rules.noisy after its extra rounds */
  char impl[128];
  char error[256];
} cb_tune_candidate;

typedef struct cb_tune_outcome {
  int ncand;
  cb_tune_candidate *cand;
  int winner;        /* index into cand, -1 when nothing valid ran */
  int runner_up;     /* -1 when there is none */
  int best_baseline; /* the fastest baseline, -1 when none ran */
  bool settled;      /* the race ended by its rules, not by the budget */
  bool confident;    /* the winner's confidence is high */
  char why_low[160]; /* why the confidence is low, or why there is no winner */
  int rounds;        /* timed rounds run, all groups together */
  cb_devstate before, after;
} cb_tune_outcome;

/* Progress: what is happening ("validate", "screen", "race", "done"), the
 * candidate concerned (the leader while racing; NULL before any), the
 * round (0 outside the race) and the best estimate so far (ms, 0 before
 * any). */
typedef void (*cb_tune_progress_fn)(void *user, const char *phase, const cb_tune_candidate *c,
                                    int round, double best_ms);

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
 * and after deserves high confidence: false (with the reason in why) when
 * its spread is over rules->too_noisy (and above the timer's noise floor),
 * its median is CB_NOISE_PREEMPT x its minimum, or the measured clock fell
 * by more than 10%, or, for a GPU, its SM clock fell by more than 10% or
 * NVML reports power or thermal throttling after. Low confidence never
 * keeps a winner out of the cache; it marks it for `tune --retune-noisy`. */
bool cb_tune_cacheable(const cb_tune_rules *r, const cb_timing *t, const cb_devstate *before,
                       const cb_devstate *after, char *why, size_t len);

/* The estimator: rules->quantile of n samples (ms); 0 when n == 0. */
double cb_tune_estimate(const cb_tune_rules *r, const double *samples, int n);

/* "backend/variant[16,4]": a candidate as people read it. */
void cb_candidate_name(const cb_candidate *c, char *buf, size_t len);

#endif
