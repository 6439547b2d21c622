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

/* ---- comparing two series (convbench compare) ---------------------------------
 *
 * Distribution-free for the samples of one result: timings on a shared
 * machine are skewed (preemption only ever adds time) and often bimodal,
 * so no test or interval of a series assumes normality. Nothing is
 * random: the same data always prints the same figures. */

/* Two-sided standard normal quantile: x with P(Z <= x) = p, 0 < p < 1. */
double cb_normal_quantile(double p);

/* A confidence interval of the median of n values (n >= 1) from order
 * statistics: [x_(k), x_(n+1-k)] with the largest k for which
 * P(Bin(n, 1/2) <= k - 1) <= (1 - conf) / 2. Valid for any continuous
 * distribution, with no resampling (so no seed), and the endpoints are
 * measured samples. Returns the coverage achieved: at least conf, or, when
 * n is too small for conf (n < 6 for 95%), that of [min, max], which is
 * less; the caller shows it. */
double cb_median_ci(const double *v, int n, double conf, double *lo, double *hi);

/* The Mann-Whitney U (Wilcoxon rank-sum) test of a against b, two-sided,
 * as benchstat and Google Benchmark's compare.py use. Exact (the null
 * distribution of U counted) when there are no ties and both sizes are at
 * most CB_MW_EXACT_MAX; otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction (scipy's
 * mannwhitneyu, method="asymptotic"). Returns the p-value (1 when either
 * side is empty or every value is equal); *u (may be NULL) receives U of
 * a: the number of pairs (a_i, b_j) with a_i > b_j, ties counting 1/2;
 * *exact (may be NULL) whether the p-value is exact. */
double cb_mann_whitney(const double *a, int na, const double *b, int nb, double *u, bool *exact);
#define CB_MW_EXACT_MAX 20

/* The ratio b / a of two positive series with a confidence interval that
 * inverts the Mann-Whitney test above (Hodges-Lehmann estimate and the
 * Moses interval of the shift of log b against log a): the interval is
 * [exp d_(k), exp d_(M+1-k)] over the M = na * nb sorted pairwise
 * differences d = log b_j - log a_i, with k the test's critical count.
 * So the interval excludes 1 exactly when the test rejects at 1 - conf
 * (with no ties). *est is the Hodges-Lehmann estimate exp(median d).
 * Returns the coverage achieved (as cb_median_ci: less than conf when the
 * samples are too few, and the interval is then [min d, max d]), or 0,
 * with NANs, when a side is empty or holds a value <= 0. */
double cb_ratio_ci(const double *a, int na, const double *b, int nb, double conf, double *est,
                   double *lo, double *hi);

/* The p-quantile of Student's t with df >= 1 degrees of freedom (NAN
 * outside 0 < p < 1 or for df < 1). */
double cb_t_quantile(double p, int df);

/* The geometric mean of n positive ratios and a t-interval of it at level
 * conf: exp(mean +- t(n-1) s / sqrt n) over the log ratios. It measures
 * how the ratios spread across rows (nets, entries), not the noise within
 * a row. A t-interval rather than a bootstrap over rows because compare
 * often has 2 to 5 rows, where a percentile bootstrap is far too narrow
 * (two rows give three possible means) and t's heavy tails are honest.
 * *lo and *hi are NAN when n < 2. Returns the geometric mean (NAN when
 * n < 1 or a ratio is <= 0). */
double cb_geomean_ci(const double *r, int n, double conf, double *lo, double *hi);

#endif
