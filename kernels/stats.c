/* stats.c: median, quantiles, MAD and the noise verdict of timing samples. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of a sorted array. */
static double sorted_median(const double *s, int n) {
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double cb_median(const double *v, int n) {
  double small[64];
  double *s = n <= 64 ? small : malloc((size_t)n * sizeof *s);
  if (!s) return v[0]; /* out of memory: any sample beats crashing */
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double m = sorted_median(s, n);
  if (s != small) free(s);
  return m;
}

void cb_timing_compute(const double *samples, int n, cb_timing *t) {
  memset(t, 0, sizeof *t);
  if (n <= 0) return;
  t->samples = n;
  t->min = t->max = samples[0];
  for (int i = 1; i < n; i++) {
    if (samples[i] < t->min) t->min = samples[i];
    if (samples[i] > t->max) t->max = samples[i];
  }
  t->median = cb_median(samples, n);
  double small[64];
  double *dev = n <= 64 ? small : malloc((size_t)n * sizeof *dev);
  if (!dev) return;
  for (int i = 0; i < n; i++) {
    double d = samples[i] - t->median;
    dev[i] = d < 0 ? -d : d;
  }
  t->mad = cb_median(dev, n);
  if (dev != small) free(dev);
}

double cb_quantile(const double *v, int n, double q) {
  if (n == 1) return v[0];
  double small[64];
  double *s = n <= 64 ? small : malloc((size_t)n * sizeof *s);
  if (!s) return v[0];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  q = q < 0 ? 0 : q > 1 ? 1 : q;
  double h = q * (n - 1);
  int lo = (int)h;
  double r = lo + 1 < n ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
  if (s != small) free(s);
  return r;
}

cb_noise_level cb_timing_noise(const cb_timing *t, double *spread) {
  double sp = t->median > 0 ? t->mad / t->median : 0;
  if (spread) *spread = sp;
  if (t->samples < 2 || t->median <= 0) return CB_NOISE_OK;
  if (t->median > CB_NOISE_PREEMPT * t->min && t->median - t->min > CB_NOISE_FLOOR_MS)
    return CB_NOISE_PREEMPTED;
  if (sp > CB_NOISE_SPREAD && t->mad > CB_NOISE_FLOOR_MS) return CB_NOISE_NOISY;
  return CB_NOISE_OK;
}

const char *cb_noise_name(cb_noise_level l) {
  switch (l) {
  case CB_NOISE_OK:
    return "ok";
  case CB_NOISE_NOISY:
    return "noisy";
  case CB_NOISE_PREEMPTED:
    return "preempted";
  }
  return "?";
}
