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
#include "util.h"

#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#define CHAINS 16

/* Each function runs `iters` rounds of CHAINS FMAs of its vector width.
 * The sixteen accumulators are named variables, not an array: an array of
 * vectors may live in memory at -O2, and then the loop measures
 * store-to-load forwarding instead of the FMA pipes. */
#define CHAINS16(OP)                                                                               \
  OP(0)                                                                                            \
  OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) OP(14) OP(15)

#define DECL512(j) __m512 a##j = _mm512_set1_ps(1.0f + (float)(j)*0x1p-10f);
#define STEP512(j) a##j = _mm512_fmadd_ps(a##j, b, c);
#define SUM512(j)  s = _mm512_add_ps(s, a##j);
__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
  const __m512 b = _mm512_set1_ps(1.0f - 0x1p-20f), c = _mm512_set1_ps(0x1p-20f);
  CHAINS16(DECL512)
  for (long i = 0; i < iters; i++) {
    CHAINS16(STEP512)
  }
  __m512 s = _mm512_setzero_ps();
  CHAINS16(SUM512)
  return _mm512_reduce_add_ps(s);
}

#define DECL256(j) __m256 a##j = _mm256_set1_ps(1.0f + (float)(j)*0x1p-10f);
#define STEP256(j) a##j = _mm256_fmadd_ps(a##j, b, c);
#define SUM256(j)  s = _mm256_add_ps(s, a##j);
__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
  const __m256 b = _mm256_set1_ps(1.0f - 0x1p-20f), c = _mm256_set1_ps(0x1p-20f);
  CHAINS16(DECL256)
  for (long i = 0; i < iters; i++) {
    CHAINS16(STEP256)
  }
  __m256 s = _mm256_setzero_ps();
  CHAINS16(SUM256)
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* Without FMA: a multiply and an add, counted as the 2 flops of an FMA. */
#define DECL128(j) __m128 a##j = _mm_set1_ps(1.0f + (float)(j)*0x1p-10f);
#define STEP128(j) a##j = _mm_add_ps(_mm_mul_ps(a##j, b), c);
#define SUM128(j)  s = _mm_add_ps(s, a##j);
static float fma_sse(long iters) {
  const __m128 b = _mm_set1_ps(1.0f - 0x1p-20f), c = _mm_set1_ps(0x1p-20f);
  CHAINS16(DECL128)
  for (long i = 0; i < iters; i++) {
    CHAINS16(STEP128)
  }
  __m128 s = _mm_setzero_ps();
  CHAINS16(SUM128)
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
  double t0 = 1e-9 * (double)cb_now_ns();
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
  return 1e-9 * (double)cb_now_ns() - t0;
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
