/* peak.c: FP32 FMA peak by timing independent fused multiply-add chains.
 *
 * A core with P FMA pipes of latency L cycles retires P FMAs per cycle only
 * when at least P * L independent chains are in flight (Zen 5: 2 x 4 = 8;
 * Skylake-X: 2 x 4). Sixteen chains cover every current core while
 * fitting in 16 of the 32 (AVX-512) or all 16 (AVX2) vector registers.
 * Each chain computes a = a * b + c with b = 1 - 2^-20 and c = 2^-20, whose
 * fixed point is 1: values stay normal (no denormal slow path) and finite,
 * and the result is summed and returned so the compiler keeps the work.
 *
 * The result is checked against threads x clock x flops/cycle of the core
 * (cb_peak_theoretical). On the 2-core AMD EPYC (family 0x1A, Zen 5) this
 * was written on, one thread measures ~235 GFLOP/s: 64 flops/cycle (two
 * full-width 512-bit FMA pipes x 16 lanes x 2) at the ~3.7 GHz the
 * dependent-add clock reads, so 2x a Zen 4 core's rate is right there. */
#include "peak.h"
#include "devstate.h"
#include "stats.h"
#include "util.h"

#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
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

int cb_peak_flops_per_cycle(const char *vendor, int family, int model, const char *isa,
                            const char **label) {
  bool avx512 = strcmp(isa, "avx512") == 0, avx2 = strcmp(isa, "avx2") == 0;
  bool amd = vendor && strcmp(vendor, "AuthenticAMD") == 0;
  bool intel = vendor && strcmp(vendor, "GenuineIntel") == 0;
  const char *l;
  int fpc;
  /* FP32: vector lanes x 2 flops per FMA x FMA pipes that take the width. */
  if (amd && family == 0x1A && model >= 0x20 && model <= 0x2F) {
    l = "Zen 5 mobile: 512-bit FMAs on two 256-bit pipes", fpc = 32;
  } else if (amd && family == 0x1A) {
    l = "Zen 5: two 512-bit FMA pipes", fpc = 64;
  } else if (amd && family == 0x19 && avx512) {
    l = "Zen 4: 512-bit FMAs double-pumped on two 256-bit pipes", fpc = 32;
  } else if (amd && (family == 0x19 || (family == 0x17 && model >= 0x30))) {
    l = "Zen 2/3: two 256-bit FMA pipes", fpc = 32;
  } else if (amd && family == 0x17) {
    l = "Zen 1: two 128-bit FMA pipes", fpc = 16;
  } else if (intel && avx512) {
    /* Parts with one 512-bit FMA unit run at half this: an upper bound. */
    l = "Intel AVX-512: up to two 512-bit FMA units", fpc = 64;
  } else if (intel && avx2) {
    l = "Intel AVX2: two 256-bit FMA units", fpc = 32;
  } else if (avx512) {
    l = "default for AVX-512 (CPU not in the table): two 512-bit FMA pipes", fpc = 64;
  } else if (avx2) {
    l = "default for AVX2 (CPU not in the table): two 256-bit FMA pipes", fpc = 32;
  } else {
    l = "default for SSE (CPU not in the table): a 128-bit multiply and add", fpc = 8;
  }
  if (label) *label = l;
  return fpc;
}

/* Vendor, family and model of this CPU (cpuid leaf 0 and 1); false off x86. */
static bool cpu_signature(char vendor[13], int *family, int *model) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  memcpy(vendor, &b, 4), memcpy(vendor + 4, &d, 4), memcpy(vendor + 8, &c, 4);
  vendor[12] = '\0';
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  int base_family = (int)((a >> 8) & 0xF), base_model = (int)((a >> 4) & 0xF);
  *family = base_family == 0xF ? base_family + (int)((a >> 20) & 0xFF) : base_family;
  *model =
      base_family == 0x6 || base_family == 0xF ? base_model | (int)((a >> 12) & 0xF0) : base_model;
  return true;
#else
  (void)vendor, (void)family, (void)model;
  return false;
#endif
}

/* cpufreq's highest clock over the CPUs in MHz (boost included), 0 if none. */
static double cpufreq_max_mhz(void) {
  double best = 0;
  for (int cpu = 0; cpu < 4096; cpu++) {
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", cpu);
    FILE *f = fopen(path, "r");
    if (!f) break;
    double khz;
    if (fscanf(f, "%lf", &khz) == 1 && khz / 1000 > best) best = khz / 1000;
    fclose(f);
  }
  return best;
}

/* The highest "cpu MHz" of /proc/cpuinfo, 0 if none. */
static double cpuinfo_mhz(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return 0;
  char line[256];
  double best = 0, v;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "cpu MHz", 7) == 0) {
      const char *colon = strchr(line, ':');
      if (colon && sscanf(colon + 1, "%lf", &v) == 1 && v > best) best = v;
    }
  fclose(f);
  return best;
}

void cb_peak_theoretical(int threads, double measured_mhz, cb_peak *p) {
  char vendor[13] = "unknown";
  int family = 0, model = 0;
  cpu_signature(vendor, &family, &model);
  const char *label;
  int fpc = cb_peak_flops_per_cycle(vendor, family, model, cb_peak_isa(), &label);
  double maxf = cpufreq_max_mhz(), mhz = maxf > measured_mhz ? maxf : measured_mhz;
  const char *src = maxf >= measured_mhz && maxf > 0 ? "cpufreq max" : "measured";
  if (mhz <= 0) mhz = cpuinfo_mhz(), src = "/proc/cpuinfo";
  p->clock_mhz = mhz;
  p->theoretical_gflops = mhz > 0 ? threads * mhz * fpc / 1e3 : 0;
  if (mhz > 0)
    snprintf(p->theoretical_how, sizeof p->theoretical_how,
             "%d thread%s x %.0f MHz (%s) x %d FP32 flops/cycle (%s; family 0x%X model 0x%X)",
             threads, threads == 1 ? "" : "s", mhz, src, fpc, label, (unsigned)family,
             (unsigned)model);
  else
    snprintf(p->theoretical_how, sizeof p->theoretical_how, "no clock known");
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

cb_status cb_peak_measure(int threads, double seconds, int repeats,
                          const volatile sig_atomic_t *stop, cb_peak_progress_fn progress,
                          void *user, cb_peak *out) {
  memset(out, 0, sizeof *out);
  if (threads < 1 || seconds <= 0 || repeats < 1)
    return cb_error(CB_ERR_INVALID, "peak: threads, seconds and repeats must be positive");
  const char *isa = cb_peak_isa();
  int width = strcmp(isa, "avx512") == 0 ? 16 : strcmp(isa, "avx2") == 0 ? 8 : 4;
  volatile float sink = 0;
  double *g = malloc((size_t)repeats * sizeof *g);
  if (!g) return cb_error(CB_ERR_NOMEM, "out of memory");
  cb_devstate before, after;
  cb_devstate_sample(&before);
  after = before;

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

  /* The clock is read between repeats too: the highest reading is the
   * one the theoretical rate must allow (a preempted reading is low). */
  double mhz = before.cpu_mhz_measured, total_s = 0;
  for (int r = 0; r < repeats; r++) {
    if (stop && *stop) {
      free(g);
      return cb_error(CB_ERR_INTERRUPTED, "peak: interrupted");
    }
    double s = timed_run(isa, threads, iters, &sink);
    total_s += s;
    g[r] = 2.0 * CHAINS * width * (double)iters * threads / s / 1e9;
    /* The clock wanders by a few percent between readings (turbo): read
     * after every repeat and keep the highest, or the 5% fault margin
     * would catch a correct peak next to a low clock reading. */
    cb_devstate_sample(&after);
    if (after.cpu_mhz_measured > mhz) mhz = after.cpu_mhz_measured;
    if (progress) progress(user, threads, r + 1, repeats);
  }

  double best = 0, worst = g[0];
  for (int r = 0; r < repeats; r++) {
    if (g[r] > best) best = g[r];
    if (g[r] < worst) worst = g[r];
  }
  snprintf(out->isa, sizeof out->isa, "%s", isa);
  out->threads = threads;
  out->gflops = best;
  out->gflops_per_core = best / threads;
  out->gflops_min = worst;
  out->gflops_median = cb_median(g, repeats);
  out->repeats = repeats;
  out->seconds = total_s;
  out->load1_before = before.load1;
  out->load1_after = after.load1;
  cb_peak_theoretical(threads, mhz, out);
  free(g);
  return CB_OK;
}

cb_peak_verdict cb_peak_judge(const cb_peak *p) {
  if (p->repeats < CB_PEAK_MIN_REPEATS) return CB_PEAK_TOO_FEW;
  if (!(p->theoretical_gflops > 0)) return CB_PEAK_UNCHECKED;
  if (p->gflops > p->theoretical_gflops * (1 + CB_PEAK_FAULT_TOLERANCE)) return CB_PEAK_FAULT;
  if (p->gflops < p->theoretical_gflops * CB_PEAK_BUSY_FRACTION) return CB_PEAK_BUSY;
  return CB_PEAK_OK;
}
