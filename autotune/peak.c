/* peak.c: FP32 FMA peak by timing independent fused multiply-add chains.
 *
 * A core with P FMA pipes of latency L cycles retires P FMAs per cycle only
 * when at least P * L independent chains are in flight (Zen 5: 2 x 4 = 8;
 * Skylake-X: 2 x 4). Sixteen chains cover every current core while
 * fitting in 16 of the 32 (AVX-512) or all 16 (AVX2) vector registers.
 * Each chain computes a = a * b + c with b = 1 - 2^-20 and c = 2^-20, whose
 * fixed point is 1: values stay normal (no denormal slow path) and finite,
 * and the result is summed and returned so the compiler keeps the work. */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHAINS 16

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Each function runs `iters` rounds of CHAINS FMAs of its vector width. */
__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
  __m512 a[CHAINS];
  const __m512 b = _mm512_set1_ps(1.0f - 0x1p-20f), c = _mm512_set1_ps(0x1p-20f);
  for (int j = 0; j < CHAINS; j++) a[j] = _mm512_set1_ps(1.0f + (float)j * 0x1p-10f);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) a[j] = _mm512_fmadd_ps(a[j], b, c);
  __m512 s = a[0];
  for (int j = 1; j < CHAINS; j++) s = _mm512_add_ps(s, a[j]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
  __m256 a[CHAINS];
  const __m256 b = _mm256_set1_ps(1.0f - 0x1p-20f), c = _mm256_set1_ps(0x1p-20f);
  for (int j = 0; j < CHAINS; j++) a[j] = _mm256_set1_ps(1.0f + (float)j * 0x1p-10f);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) a[j] = _mm256_fmadd_ps(a[j], b, c);
  __m256 s = a[0];
  for (int j = 1; j < CHAINS; j++) s = _mm256_add_ps(s, a[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* Without FMA: a multiply and an add, counted as the 2 flops of an FMA. */
static float fma_sse(long iters) {
  __m128 a[CHAINS];
  const __m128 b = _mm_set1_ps(1.0f - 0x1p-20f), c = _mm_set1_ps(0x1p-20f);
  for (int j = 0; j < CHAINS; j++) a[j] = _mm_set1_ps(1.0f + (float)j * 0x1p-10f);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) a[j] = _mm_add_ps(_mm_mul_ps(a[j], b), c);
  __m128 s = a[0];
  for (int j = 1; j < CHAINS; j++) s = _mm_add_ps(s, a[j]);
  float out[4];
  _mm_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3];
}

const char *cb_peak_isa(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "sse";
}

/* Runs the loop of the given ISA on every thread at once; seconds of wall
 * time for `iters` rounds, the sink keeping the results alive. */
static double timed_run(const char *isa, int threads, long iters, volatile float *sink) {
  double t0 = now_s();
#pragma omp parallel num_threads(threads)
  {
    float r;
    if (strcmp(isa, "avx512") == 0)
      r = fma_avx512(iters);
    else if (strcmp(isa, "avx2") == 0)
      r = fma_avx2(iters);
    else
      r = fma_sse(iters);
    if (r == 12345.0f) *sink = r; /* never true; keeps r observable */
  }
  return now_s() - t0;
}

cb_status cb_peak_measure(int threads, double seconds, int repeats, cb_peak *out) {
  memset(out, 0, sizeof *out);
  if (threads < 1 || seconds <= 0 || repeats < 1)
    return cb_error(CB_ERR_INVALID, "peak: threads, seconds and repeats must be positive");
  const char *isa = cb_peak_isa();
  int width = strcmp(isa, "avx512") == 0 ? 16 : strcmp(isa, "avx2") == 0 ? 8 : 4;
  volatile float sink = 0;

  /* Calibrate: grow the round count until one run takes a tenth of the
   * budget, then scale to the budget. */
  long iters = 1000;
  double t = timed_run(isa, threads, iters, &sink);
  while (t < seconds / 10 && iters < (1L << 40)) {
    iters *= 4;
    t = timed_run(isa, threads, iters, &sink);
  }
  iters = (long)((double)iters * seconds / (t > 0 ? t : 1e-9));
  if (iters < 1) iters = 1;

  double best = 0, total_s = 0;
  for (int r = 0; r < repeats; r++) {
    double s = timed_run(isa, threads, iters, &sink);
    total_s += s;
    double gflops = 2.0 * CHAINS * width * (double)iters * threads / s / 1e9;
    if (gflops > best) best = gflops;
  }
  snprintf(out->isa, sizeof out->isa, "%s", isa);
  out->threads = threads;
  out->gflops = best;
  out->gflops_per_core = best / threads;
  out->seconds = total_s;
  return CB_OK;
}
