/* stats.h: robust statistics of a timed series: median, min, max and
 * median absolute deviation. Medians, not means, because a shared machine
 * adds one-sided outliers (a preempted sample is slow, never fast). */
#ifndef CB_STATS_H
#define CB_STATS_H

#include "util.h" /* cb_timing */

/* Fills t from n samples (ms). n == 0 gives samples = 0 and zeros.
 * The samples array is not modified. */
void cb_timing_compute(const double *samples, int n, cb_timing *t);

/* Median of n values (sorted copy; n > 0). */
double cb_median(const double *v, int n);

#endif
