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
 * store-to-load forwarding instead of the FMA pipes. One macro writes all
 * three widths so that they cannot drift apart. */
/* Laid out by hand: clang-format 14 moves this macro's lines on every run. */
// clang-format off
#define CHAINS16(OP, ...)                                                         \
  OP(0, __VA_ARGS__)  OP(1, __VA_ARGS__)  OP(2, __VA_ARGS__)  OP(3, __VA_ARGS__)  \
  OP(4, __VA_ARGS__)  OP(5, __VA_ARGS__)  OP(6, __VA_ARGS__)  OP(7, __VA_ARGS__)  \
  OP(8, __VA_ARGS__)  OP(9, __VA_ARGS__)  OP(10, __VA_ARGS__) OP(11, __VA_ARGS__) \
  OP(12, __VA_ARGS__) OP(13, __VA_ARGS__) OP(14, __VA_ARGS__) OP(15, __VA_ARGS__)
// clang-format on

#define CHAIN_DECL(j, V, SET1) V a##j = SET1(1.0f + (float)(j)*0x1p-10f);
#define CHAIN_STEP(j, FMA)     a##j = FMA(a##j, b, c);
#define CHAIN_SUM(j, ADD)      s = ADD(s, a##j);

/* The body of a function of `long iters` over vectors V: SET1 broadcasts,
 * FMA is a * b + c, ADD and ZERO sum the chains and REDUCE adds up the
 * lanes into the float it returns. */
#define FMA_CHAINS(V, SET1, FMA, ADD, ZERO, REDUCE)                                                \
  const V b = SET1(1.0f - 0x1p-20f), c = SET1(0x1p-20f);                                           \
  CHAINS16(CHAIN_DECL, V, SET1)                                                                    \
  for (long i = 0; i < iters; i++) {                                                               \
    CHAINS16(CHAIN_STEP, FMA)                                                                      \
  }                                                                                                \
  V s = ZERO();                                                                                    \
  CHAINS16(CHAIN_SUM, ADD)                                                                         \
  return REDUCE(s)

__attribute__((target("avx"))) static inline float sum256(__m256 s) {
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static inline float sum128(__m128 s) {
  float out[4];
  _mm_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3];
}

/* Without FMA: a multiply and an add, counted as the 2 flops of an FMA. */
static inline __m128 mul_add128(__m128 a, __m128 b, __m128 c) {
  return _mm_add_ps(_mm_mul_ps(a, b), c);
}

__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
  FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_setzero_ps,
             _mm512_reduce_add_ps);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
  FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_setzero_ps, sum256);
}

static float fma_sse(long iters) {
  FMA_CHAINS(__m128, _mm_set1_ps, mul_add128, _mm_add_ps, _mm_setzero_ps, sum128);
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
