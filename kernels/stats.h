/* stats.h: robust statistics of a timed series, and the verdicts every
 * timing in convbench shares.
 *
 * Medians, not means, because a shared machine adds one-sided outliers:
 * a preempted sample is slow, never fast. The noise verdict is one
 * function so that bench, run, gemm, tune and the reports flag the same
 * series the same way. It lives in kernels/ (the lowest layer) because the
 * autotuner, the harness, the reports and the CLI all use it. */
#ifndef CB_STATS_H
#define CB_STATS_H

#include <stdbool.h>

#include "util.h" /* cb_timing */

/* Fills t from n samples (ms). n == 0 gives samples = 0 and zeros.
 * The samples array is not modified. */
void cb_timing_compute(const double *samples, int n, cb_timing *t);

/* Median of n values (sorted copy; n > 0). */
double cb_median(const double *v, int n);

/* The q-quantile (0 <= q <= 1) of n values, linear interpolation between
 * order statistics (type 7, as numpy and R default); n > 0. */
double cb_quantile(const double *v, int n, double q);

/* How far a timed series can be trusted. */
typedef enum cb_noise_level {
  CB_NOISE_OK,       /* tight: MAD within the noisy threshold of the median */
  CB_NOISE_NOISY,    /* wide spread: MAD / median over CB_NOISE_SPREAD */
  CB_NOISE_PREEMPTED /* the median is far above the minimum (CB_NOISE_PREEMPT x): most
                      * samples were slowed by something else running, so the
                      * median measures the machine's load, not the kernel */
} cb_noise_level;

/* MAD / median above which a series is noisy. */
#define CB_NOISE_SPREAD 0.05
/* median / min above which a series is preempted. A clean kernel's samples
 * sit within a few percent of each other; twice the minimum means that
 * at least half of them lost the CPU for as long as the kernel runs. */
#define CB_NOISE_PREEMPT 2.0
/* Differences below this (ms) are the timer's resolution, never noise. */
#define CB_NOISE_FLOOR_MS 0.002

/* The verdict on t; *spread (may be NULL) receives MAD / median. */
cb_noise_level cb_timing_noise(const cb_timing *t, double *spread);

/* "ok", "noisy", "preempted". */
const char *cb_noise_name(cb_noise_level l);

#endif
