/* test_compare_stats.c: the statistics compare relies on (kernels/stats.c):
 * the Mann-Whitney p-value against values worked by hand (the formula of
 * scipy.stats.mannwhitneyu, method "asymptotic", and the exact null
 * distribution for small samples), the order-statistic interval of the
 * median, the Moses interval of a ratio, Student's t and the t-interval
 * of a geometric mean, each on known data and, for coverage, on simulated
 * skewed data (a fixed generator, so the test is deterministic). */
#include "cb_test.h"
#include "stats.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;

/* xorshift64: uniform in (0, 1). */
static double uniform(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

/* A timing-like sample: 1 ms plus an exponential tail (median 1 + ln 2). */
static double skewed(void) {
  return 1.0 - 0.5 * log(uniform());
}

static void test_normal_quantile(void) {
  CHECK_NEAR(cb_normal_quantile(0.975), 1.959963984540054, 1e-9);
  CHECK_NEAR(cb_normal_quantile(0.5), 0, 1e-12);
  CHECK_NEAR(cb_normal_quantile(0.005), -2.5758293035489, 1e-9);
}

static void test_mann_whitney(void) {
  /* Ties: ranks 1, 2.5, 2.5, 4.5, 6.5 for a, so U = 17 - 15 = 2; mu = 15;
   * four tied pairs give sum(t^3 - t) = 24, var = 30/12 (12 - 24/110) =
   * 29.4545; z = (13 - 0.5) / 5.42720 = 2.30321; p = erfc(z / sqrt 2). */
  double a[] = {1, 2, 2, 3, 4}, b[] = {3, 4, 5, 5, 6, 7}, u;
  bool exact;
  double p = cb_mann_whitney(a, 5, b, 6, &u, &exact);
  CHECK_NEAR(u, 2, 0);
  CHECK(!exact);
  CHECK_NEAR(p, 0.02126693710559971, 1e-9);
  /* Symmetric: swapping the sides gives U' = 30 - U and the same p. */
  CHECK_NEAR(cb_mann_whitney(b, 6, a, 5, &u, NULL), p, 1e-12);
  CHECK_NEAR(u, 28, 0);

  /* No ties, small: exact. Complete separation of 3 and 3 is one ordering
   * of C(6,3) = 20 on each side: p = 2/20. Of 5 and 5: 2/252. */
  double a3[] = {1, 2, 3}, b3[] = {4, 5, 6};
  CHECK_NEAR(cb_mann_whitney(a3, 3, b3, 3, &u, &exact), 0.1, 1e-12);
  CHECK(exact);
  CHECK_NEAR(u, 0, 0);
  double a5[] = {1, 2, 3, 4, 5}, b5[] = {6, 7, 8, 9, 10};
  CHECK_NEAR(cb_mann_whitney(a5, 5, b5, 5, NULL, NULL), 2.0 / 252, 1e-12);
  /* One swap (U = 1): P(U <= 1) = 2/252, p = 4/252. */
  double b5s[] = {4.5, 7, 8, 9, 10};
  CHECK_NEAR(cb_mann_whitney(a5, 5, b5s, 5, &u, NULL), 4.0 / 252, 1e-12);
  CHECK_NEAR(u, 1, 0);

  /* Larger than the exact limit, no ties: 25 against 26 interleaved, one
   * far outlier. U = 300 (the 25*26/2 - 25 pairs below... by hand: each
   * a_i = 1 + 0.1 i beats the b's 1.05 + 0.1 j with j < i: sum i = 300). */
  double la[25], lb[26];
  for (int i = 0; i < 25; i++) la[i] = 1.0 + 0.1 * i, lb[i] = 1.05 + 0.1 * i;
  lb[25] = 9.0;
  CHECK_NEAR(cb_mann_whitney(la, 25, lb, 26, &u, &exact), 0.6443433740263971, 1e-9);
  CHECK(!exact);
  CHECK_NEAR(u, 300, 0);

  /* All equal: no evidence at all. */
  double e[] = {2, 2, 2};
  CHECK_NEAR(cb_mann_whitney(e, 3, e, 3, NULL, NULL), 1, 0);
  CHECK_NEAR(cb_mann_whitney(e, 0, e, 3, NULL, NULL), 1, 0);

  /* The false-positive rate under the null: two samples of one skewed
   * distribution are "significant" at 0.05 about 5% of the time. */
  int rejected = 0, trials = 2000;
  for (int t = 0; t < trials; t++) {
    double x[12], y[15];
    for (int i = 0; i < 12; i++) x[i] = skewed();
    for (int i = 0; i < 15; i++) y[i] = skewed();
    rejected += cb_mann_whitney(x, 12, y, 15, NULL, NULL) < 0.05;
  }
  CHECK_MSG(rejected > 0.03 * trials && rejected < 0.07 * trials, "rejected %d of %d", rejected,
            trials);
  /* And its power: a 1.5x slower b is found nearly always with 15 each. */
  rejected = 0;
  for (int t = 0; t < 500; t++) {
    double x[15], y[15];
    for (int i = 0; i < 15; i++) x[i] = skewed(), y[i] = 1.5 * skewed();
    rejected += cb_mann_whitney(x, 15, y, 15, NULL, NULL) < 0.05;
  }
  CHECK_MSG(rejected > 0.8 * 500, "detected %d of 500", rejected);
}

static void test_median_ci(void) {
  /* n = 10: P(Bin <= 1) = 11/1024 <= 0.025 < P(Bin <= 2) = 56/1024, so
   * [x_(2), x_(9)] with coverage 1 - 22/1024. */
  double v[] = {10, 3, 7, 1, 9, 4, 8, 2, 6, 5}, lo, hi;
  CHECK_NEAR(cb_median_ci(v, 10, 0.95, &lo, &hi), 1 - 22.0 / 1024, 1e-12);
  CHECK_NEAR(lo, 2, 0);
  CHECK_NEAR(hi, 9, 0);
  /* n = 5 cannot reach 95%: [min, max], coverage 1 - 2/32. */
  CHECK_NEAR(cb_median_ci(v, 5, 0.95, &lo, &hi), 1 - 2.0 / 32, 1e-12);
  CHECK_NEAR(lo, 1, 0);
  CHECK_NEAR(hi, 10, 0);
  CHECK_NEAR(cb_median_ci(v, 0, 0.95, &lo, &hi), 0, 0);
  CHECK(isnan(lo) && isnan(hi));
  /* Large n does not underflow: the interval narrows around the median. */
  double big[2001];
  for (int i = 0; i < 2001; i++) big[i] = i;
  double c = cb_median_ci(big, 2001, 0.95, &lo, &hi);
  CHECK(c >= 0.95 && c < 0.96);
  CHECK(lo < 1000 && hi > 1000 && lo > 940 && hi < 1060);

  /* Coverage on skewed data of known median 1 + ln 2: n = 15 gives
   * [x_(4), x_(12)], exact coverage 1 - 2 * 576/32768 = 0.96484. */
  int hit = 0, trials = 4000;
  double median = 1 + 0.5 * log(2.0);
  for (int t = 0; t < trials; t++) {
    double x[15];
    for (int i = 0; i < 15; i++) x[i] = skewed();
    cb_median_ci(x, 15, 0.95, &lo, &hi);
    hit += lo <= median && median <= hi;
  }
  CHECK_NEAR((double)hit / trials, 1 - 2 * 576.0 / 32768, 0.015);
}

static void test_ratio_ci(void) {
  /* b = 2a exactly: the pairwise log ratios are log 2 + log(a_j / a_i),
   * symmetric about log 2, so the estimate is 2; the samples are tight
   * enough that the interval excludes 1 and the test rejects. */
  double a[10], b[10], est, lo, hi;
  for (int i = 0; i < 10; i++) a[i] = 1 + 0.01 * i, b[i] = 2 * a[i];
  double cover = cb_ratio_ci(a, 10, b, 10, 0.95, &est, &lo, &hi);
  CHECK(cover >= 0.95);
  CHECK_NEAR(est, 2, 1e-12);
  CHECK(lo > 1 && lo < 2 && hi > 2);
  CHECK(cb_mann_whitney(a, 10, b, 10, NULL, NULL) < 0.05);
  /* Same data on both sides: the interval holds 1. */
  cb_ratio_ci(a, 10, a, 10, 0.95, &est, &lo, &hi);
  CHECK_NEAR(est, 1, 1e-12);
  CHECK(lo < 1 && hi > 1);
  /* A non-positive time has no log: no interval. */
  a[3] = 0;
  CHECK_NEAR(cb_ratio_ci(a, 10, b, 10, 0.95, &est, &lo, &hi), 0, 0);
  CHECK(isnan(est) && isnan(lo) && isnan(hi));

  /* Coverage of a true ratio of 2 (b = 2 x another draw) on skewed data,
   * and the interval agreeing with the test about 1. */
  int hit = 0, agree = 0, trials = 1000;
  for (int t = 0; t < trials; t++) {
    double x[10], y[12];
    for (int i = 0; i < 10; i++) x[i] = skewed();
    for (int i = 0; i < 12; i++) y[i] = (t % 2 ? 1.0 : 2.0) * skewed();
    cb_ratio_ci(x, 10, y, 12, 0.95, &est, &lo, &hi);
    double truth = t % 2 ? 1.0 : 2.0;
    hit += lo <= truth && truth <= hi;
    bool excludes_1 = lo > 1 || hi < 1;
    agree += excludes_1 == (cb_mann_whitney(x, 10, y, 12, NULL, NULL) < 0.05);
  }
  CHECK_MSG(hit > 0.93 * trials, "covered %d of %d", hit, trials);
  CHECK_EQ_INT(agree, trials);
}

static void test_t_quantile(void) {
  /* Table values of Student's t. */
  CHECK_NEAR(cb_t_quantile(0.975, 1), 12.7062047, 1e-5);
  CHECK_NEAR(cb_t_quantile(0.975, 4), 2.7764451, 1e-6);
  CHECK_NEAR(cb_t_quantile(0.975, 7), 2.3646243, 1e-6);
  CHECK_NEAR(cb_t_quantile(0.995, 2), 9.9248432, 1e-5);
  CHECK_NEAR(cb_t_quantile(0.975, 1000), 1.9623391, 1e-6);
  CHECK_NEAR(cb_t_quantile(0.025, 4), -2.7764451, 1e-6);
  CHECK(isnan(cb_t_quantile(0.975, 0)) && isnan(cb_t_quantile(1, 3)));
}

static void test_geomean_ci(void) {
  double r[] = {2, 2, 2}, lo, hi;
  CHECK_NEAR(cb_geomean_ci(r, 3, 0.95, &lo, &hi), 2, 1e-12);
  CHECK_NEAR(lo, 2, 1e-12);
  CHECK_NEAR(hi, 2, 1e-12);
  /* Logs 0 and ln 4, four each: mean ln 2, s = ln 4 / 2 * sqrt(8/7), so
   * the interval is 2 exp(+-t(7) s / sqrt 8) with t(7) = 2.3646243. */
  double s[] = {1, 4, 1, 4, 1, 4, 1, 4};
  double half = 2.3646243 * log(4.0) / 2 * sqrt(8.0 / 7) / sqrt(8.0);
  CHECK_NEAR(cb_geomean_ci(s, 8, 0.95, &lo, &hi), 2, 1e-12);
  CHECK_NEAR(lo, 2 * exp(-half), 1e-6);
  CHECK_NEAR(hi, 2 * exp(half), 1e-6);
  /* Two rows: t(1) = 12.706 makes the interval wide, as two rows deserve
   * (a percentile bootstrap would say [1.9, 2.1]): half-width in logs is
   * t |ln 2.1 - ln 1.9| / 2. */
  double two[] = {1.9, 2.1}, g2 = sqrt(1.9 * 2.1), h2 = 12.7062047 * log(2.1 / 1.9) / 2;
  CHECK_NEAR(cb_geomean_ci(two, 2, 0.95, &lo, &hi), g2, 1e-12);
  CHECK_NEAR(lo, g2 * exp(-h2), 1e-5);
  CHECK_NEAR(hi, g2 * exp(h2), 1e-5);
  CHECK(lo < 1.1 && hi > 3.5);
  CHECK_NEAR(cb_geomean_ci(s, 1, 0.95, &lo, &hi), 1, 0);
  CHECK(isnan(lo) && isnan(hi));
  CHECK(isnan(cb_geomean_ci(s, 0, 0.95, &lo, &hi)));
}

int main(void) {
  test_normal_quantile();
  test_mann_whitney();
  test_median_ci();
  test_ratio_ci();
  test_t_quantile();
  test_geomean_ci();
  return cb_test_result();
}
