/* stats.c: median, quantiles, MAD and the noise verdict of timing samples;
 * confidence intervals and the Mann-Whitney test that compare uses. */
#include "stats.h"

#include <math.h>
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

/* ---- comparing two series ---------------------------------------------------------- */

double cb_normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return p <= 0 ? -INFINITY : INFINITY;
  /* Bisection on the CDF through erfc: slower than a rational
   * approximation but accurate to the last bit, and called a few times per
   * comparison. */
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * erfc(-mid / sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/* A sorted malloc'd copy (NULL when out of memory). */
static double *sorted_copy(const double *v, int n) {
  double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
  if (!s) return NULL;
  if (n > 0) memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return s;
}

double cb_median_ci(const double *v, int n, double conf, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (n < 1) return 0;
  double *s = sorted_copy(v, n);
  if (!s) return 0;
  double tail = (1 - conf) / 2;
  /* cdf = P(Bin(n, 1/2) <= i), summed in logs so that n in the thousands
   * does not underflow 2^-n. k is the number of order statistics cut from
   * each end plus one. */
  double cdf = 0, below = 0;
  int k = 0;
  for (int i = 0; i <= n / 2; i++) {
    double lp = lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0);
    cdf += exp(lp);
    if (cdf > tail) break;
    k = i + 1;
    below = cdf;
  }
  if (k < 1) { /* too few samples for conf: [min, max] and its coverage */
    k = 1;
    below = ldexp(1.0, -n);
  }
  *lo = s[k - 1];
  *hi = s[n - k];
  free(s);
  double cover = 1 - 2 * below;
  return cover < 0 ? 0 : cover;
}

/* Ranks of a and b together (average ranks for ties): *ra the sum of a's
 * ranks, *ties the tie term sum(t^3 - t) over groups of t equal values.
 * false when out of memory. */
static bool rank_sum(const double *a, int na, const double *b, int nb, double *ra, double *ties) {
  int n = na + nb;
  typedef struct {
    double v;
    int from_a;
  } item;
  item *it = malloc((size_t)n * sizeof *it);
  if (!it) return false;
  for (int i = 0; i < na; i++) it[i] = (item){a[i], 1};
  for (int j = 0; j < nb; j++) it[na + j] = (item){b[j], 0};
  /* Insertion sort by value would do for bench sizes, but iters may be
   * large; qsort on the value (the first member). */
  qsort(it, (size_t)n, sizeof *it, cmp_double);
  *ra = *ties = 0;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && it[j].v == it[i].v) j++;
    double t = j - i, rank = 0.5 * (i + 1 + j); /* mean of ranks i+1 .. j */
    for (int q = i; q < j; q++)
      if (it[q].from_a) *ra += rank;
    *ties += t * t * t - t;
    i = j;
  }
  free(it);
  return true;
}

/* The null distribution of U for sizes (m, n) without ties: cnt[u],
 * u = 0 .. m*n, the number of orderings with U = u (their total is
 * C(m + n, m)). Builds it one element at a time: appending the largest
 * value so far, an a adds the count of b's before it to U. NULL when out
 * of memory. */
static double *mw_null(int m, int n) {
  size_t width = (size_t)m * (size_t)n + 1;
  double *cur = calloc((size_t)(n + 1) * width, sizeof *cur);
  double *nxt = calloc((size_t)(n + 1) * width, sizeof *nxt);
  double *out = malloc(width * sizeof *out);
  if (!cur || !nxt || !out) {
    free(cur), free(nxt), free(out);
    return NULL;
  }
  /* cur[j][u]: orderings of i a's and j b's with U = u (i = 0: U = 0). */
  for (int j = 0; j <= n; j++) cur[(size_t)j * width] = 1;
  for (int i = 1; i <= m; i++) {
    memset(nxt, 0, (size_t)(n + 1) * width * sizeof *nxt);
    for (int j = 0; j <= n; j++)
      for (size_t u = 0; u < width; u++) {
        double c = u >= (size_t)j ? cur[(size_t)j * width + u - (size_t)j] : 0; /* a last */
        if (j > 0) c += nxt[(size_t)(j - 1) * width + u];                       /* b last */
        nxt[(size_t)j * width + u] = c;
      }
    double *t = cur;
    cur = nxt;
    nxt = t;
  }
  memcpy(out, cur + (size_t)n * width, width * sizeof *out);
  free(cur), free(nxt);
  return out;
}

/* sqrt of the variance of U under the null, tie-corrected. */
static double mw_sigma(int na, int nb, double ties) {
  double n = na + nb;
  double var = (double)na * nb / 12.0 * ((n + 1) - ties / (n * (n - 1)));
  return var > 0 ? sqrt(var) : 0;
}

double cb_mann_whitney(const double *a, int na, const double *b, int nb, double *u, bool *exact) {
  if (u) *u = NAN;
  if (exact) *exact = false;
  double ra, ties;
  if (na < 1 || nb < 1 || !rank_sum(a, na, b, nb, &ra, &ties)) return 1;
  double ua = ra - (double)na * (na + 1) / 2, mu = (double)na * nb / 2;
  if (u) *u = ua;
  if (ties == 0 && na <= CB_MW_EXACT_MAX && nb <= CB_MW_EXACT_MAX) {
    double *cnt = mw_null(na, nb);
    if (cnt) {
      int m = na * nb, ui = (int)lround(ua);
      double total = 0, le = 0, ge = 0;
      for (int i = 0; i <= m; i++) {
        total += cnt[i];
        if (i <= ui) le += cnt[i];
        if (i >= ui) ge += cnt[i];
      }
      free(cnt);
      if (exact) *exact = true;
      double p = 2 * (le < ge ? le : ge) / total;
      return p > 1 ? 1 : p;
    }
  }
  double sigma = mw_sigma(na, nb, ties);
  if (sigma == 0) return 1; /* every value equal */
  double z = (fabs(ua - mu) - 0.5) / sigma;
  if (z < 0) z = 0;
  double p = erfc(z / sqrt(2.0));
  return p > 1 ? 1 : p;
}

/* k of the Moses interval: the largest k with P(U <= k - 1) < (1 - conf) / 2,
 * so that 0 lies outside [d_(k), d_(M+1-k)] exactly when the test's
 * p-value is below 1 - conf. *cover receives the interval's coverage. k
 * is 0 when even [d_(1), d_(M)] falls short of conf. */
static int moses_k(const double *a, int na, const double *b, int nb, double conf, double *cover) {
  double ra, ties, alpha = 1 - conf;
  *cover = 0;
  if (!rank_sum(a, na, b, nb, &ra, &ties)) return 0;
  int m = na * nb;
  if (ties == 0 && na <= CB_MW_EXACT_MAX && nb <= CB_MW_EXACT_MAX) {
    double *cnt = mw_null(na, nb);
    if (cnt) {
      double total = 0, cdf = 0;
      for (int i = 0; i <= m; i++) total += cnt[i];
      int k = 0;
      for (int i = 0; i <= m / 2; i++) {
        if ((cdf + cnt[i]) / total >= alpha / 2) break;
        cdf += cnt[i];
        k = i + 1;
      }
      /* k = 0: [d_(1), d_(M)] misses 0 only when U is 0 or M. */
      *cover = 1 - 2 * (k ? cdf : cnt[0]) / total;
      free(cnt);
      return k;
    }
  }
  double mu = m / 2.0, sigma = mw_sigma(na, nb, ties);
  double z = cb_normal_quantile(1 - alpha / 2);
  int k = sigma > 0 ? (int)ceil(mu - 0.5 - z * sigma) : 0;
  if (k > m / 2) k = m / 2;
  if (k >= 1) {
    *cover = conf;
    return k;
  }
  *cover = sigma > 0 ? 1 - erfc((mu - 0.5) / sigma / sqrt(2.0)) : 0;
  return 0;
}

double cb_ratio_ci(const double *a, int na, const double *b, int nb, double conf, double *est,
                   double *lo, double *hi) {
  *est = *lo = *hi = NAN;
  if (na < 1 || nb < 1) return 0;
  for (int i = 0; i < na; i++)
    if (!(a[i] > 0)) return 0;
  for (int j = 0; j < nb; j++)
    if (!(b[j] > 0)) return 0;
  size_t m = (size_t)na * (size_t)nb;
  double *d = malloc(m * sizeof *d);
  if (!d) return 0;
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++) d[(size_t)i * (size_t)nb + (size_t)j] = log(b[j]) - log(a[i]);
  qsort(d, m, sizeof *d, cmp_double);
  double cover;
  int k = moses_k(a, na, b, nb, conf, &cover);
  if (k < 1) k = 1;
  *est = exp(sorted_median(d, (int)m));
  *lo = exp(d[k - 1]);
  *hi = exp(d[m - (size_t)k]);
  free(d);
  return cover;
}

/* P(0 < T < x) for Student's t with df degrees of freedom, x >= 0:
 * Simpson's rule on the density, which is smooth and, for df >= 1, at
 * most 1/pi; 4000 panels keep the error far below what an interval's
 * third digit shows, even for df = 1 at x = 600. */
static double t_half_cdf(double x, int df) {
  enum { PANELS = 4000 };
  double nu = df,
         c = exp(lgamma((nu + 1) / 2) - lgamma(nu / 2)) / sqrt(nu * 3.14159265358979323846);
  double h = x / PANELS, sum = 0;
  for (int i = 0; i <= PANELS; i++) {
    double t = i * h, f = c * pow(1 + t * t / nu, -(nu + 1) / 2);
    sum += f * (i == 0 || i == PANELS ? 1 : i % 2 ? 4 : 2);
  }
  return sum * h / 3;
}

double cb_t_quantile(double p, int df) {
  if (df < 1 || !(p > 0 && p < 1)) return NAN;
  if (p < 0.5) return -cb_t_quantile(1 - p, df);
  double target = p - 0.5, lo = 0, hi = 1;
  while (t_half_cdf(hi, df) < target && hi < 1e6) lo = hi, hi *= 2;
  for (int i = 0; i < 60 && hi - lo > 1e-10 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (t_half_cdf(mid, df) < target)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

double cb_geomean_ci(const double *r, int n, double conf, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (n < 1) return NAN;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    if (!(r[i] > 0)) return NAN;
    sum += log(r[i]);
  }
  double mean = sum / n, ss = 0;
  if (n < 2) return exp(mean);
  for (int i = 0; i < n; i++) ss += (log(r[i]) - mean) * (log(r[i]) - mean);
  double half = cb_t_quantile(1 - (1 - conf) / 2, n - 1) * sqrt(ss / (n - 1) / n);
  *lo = exp(mean - half);
  *hi = exp(mean + half);
  return exp(mean);
}
