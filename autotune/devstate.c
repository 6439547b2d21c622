/* devstate.c: samples the CPU's state around a measurement: the clock the
 * kernel reports and the clock this core actually runs at, the load
 * average, how busy all CPUs were since the last sample, and the hottest
 * temperature sensor. Every source may be missing (containers and virtual
 * machines often have no cpufreq, hwmon or thermal zones); a missing
 * source gives 0 or NAN, never an error. */
#include "devstate.h"
#include "util.h"

#include <glob.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- measured clock ---------------------------------------------------------
 *
 * An integer add whose input is the previous add's output cannot start
 * before that add finished, and an integer add takes exactly one cycle of
 * latency on every x86-64 and arm64 core we know. A chain of N dependent
 * adds therefore takes N cycles however wide the core is, and N divided by
 * the elapsed wall time is the clock this core really ran at, turbo and
 * throttling included. (The TSC would not do: it ticks at a fixed rate.)
 * The loop counter is an independent chain that runs beside it for free.
 *
 * The chain is written in assembly on x86-64 and arm64 so that the result
 * does not depend on the optimisation level: at -O0 a C loop keeps the sum
 * on the stack and would time store-to-load forwarding (~5 cycles per add)
 * instead of the add. The adds use a register operand, not an immediate,
 * because some recent cores fold chains of small-immediate adds at rename.
 * Elsewhere a C chain with an empty asm barrier after each add stops the
 * compiler from merging the adds into one multiply. Either way the asm is
 * volatile, so the compiler may neither drop the loop as dead (its result
 * is otherwise unused) nor hoist it out of the timed region. */

#define CB_CHAIN_ADDS 32 /* adds per loop iteration */
#define CB_STR_(x)    #x
#define CB_STR(x)     CB_STR_(x)

/* Runs iters x CB_CHAIN_ADDS dependent adds of one to *acc; returns seconds. */
static double add_chain(long iters, uint64_t one, uint64_t *acc) {
  uint64_t v = *acc;
  long n = iters;
  double t0 = 1e-9 * (double)cb_now_ns();
  /* "memory": keeps the chain between the two clock reads. */
  // clang-format off
#if defined(__x86_64__)
#define CHAIN_ADD  "add %[one], %[v]\n\t"
#define CHAIN_LOOP "dec %[n]\n\tjnz 1b"
#elif defined(__aarch64__)
#define CHAIN_ADD  "add %[v], %[v], %[one]\n\t"
#define CHAIN_LOOP "subs %[n], %[n], #1\n\tb.ne 1b"
#endif
#ifdef CHAIN_ADD
  __asm__ volatile("1:\n\t"
                   ".rept " CB_STR(CB_CHAIN_ADDS) "\n\t"
                   CHAIN_ADD
                   ".endr\n\t"
                   CHAIN_LOOP
                   : [v] "+r"(v), [n] "+r"(n)
                   : [one] "r"(one)
                   : "cc", "memory");
#else
  for (; n > 0; n--)
    for (int i = 0; i < CB_CHAIN_ADDS; i++) {
      v += one;
      __asm__ volatile("" : "+r"(v) : : "memory");
    }
#endif
  // clang-format on
  double t1 = 1e-9 * (double)cb_now_ns();
  *acc = v;
  return t1 - t0;
}

/* The clock of the calling core in MHz, from about half a millisecond of
 * dependent adds: a short calibration, then the fastest of three timed
 * runs of ~150 us (an interrupt or a preemption can only make a run slower,
 * so the fastest is the truest). */
static double measured_mhz(void) {
  /* volatile: the compiler must not know the increment is 1. */
  static volatile uint64_t one_src = 1;
  uint64_t one = one_src, acc = 0;

  long iters = 256;
  while (add_chain(iters, one, &acc) < 50e-6 && iters < (1L << 24)) iters *= 2;
  iters *= 3; /* ~150 us per run */
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double s = add_chain(iters, one, &acc);
    if (s > 0) {
      double mhz = (double)iters * CB_CHAIN_ADDS / s / 1e6;
      if (mhz > best) best = mhz;
    }
  }
  return best;
}

/* ---- reported clock ------------------------------------------------------ */

/* The first number in a small file (sysfs and procfs values). */
static bool read_number(const char *path, double *v) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool ok = fscanf(f, "%lf", v) == 1;
  fclose(f);
  return ok;
}

/* Mean of the numbers in the files matching pattern; 0 when none reads. */
static double mean_of_files(const char *pattern) {
  glob_t g;
  if (glob(pattern, 0, NULL, &g) != 0) return 0;
  double sum = 0, v;
  int n = 0;
  for (size_t i = 0; i < g.gl_pathc; i++)
    if (read_number(g.gl_pathv[i], &v)) {
      sum += v;
      n++;
    }
  globfree(&g);
  return n ? sum / n : 0;
}

/* The kernel's idea of the clock: cpufreq when present, else the mean
 * "cpu MHz" of /proc/cpuinfo (on many VMs a constant), else 0. */
static double reported_mhz(void) {
  double khz = mean_of_files("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq");
  if (khz > 0) return khz / 1000;
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return 0;
  char line[512];
  double sum = 0, v;
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "cpu MHz", 7) == 0) {
      const char *colon = strchr(line, ':');
      if (colon && sscanf(colon + 1, "%lf", &v) == 1) {
        sum += v;
        n++;
      }
    }
  fclose(f);
  return n ? sum / n : 0;
}

/* ---- load and busy fraction ---------------------------------------------- */

static double load1(void) {
  double v;
  return read_number("/proc/loadavg", &v) ? v : 0;
}

/* The aggregate "cpu" line of /proc/stat as (all ticks, idle ticks). */
static bool stat_ticks(unsigned long long *total, unsigned long long *idle) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return false;
  /* user nice system idle iowait irq softirq steal; guest time is already
   * counted in user, so guest and guest_nice are left out. */
  unsigned long long t[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3],
                 &t[4], &t[5], &t[6], &t[7]);
  fclose(f);
  if (n < 4) return false;
  *total = 0;
  for (int i = 0; i < 8; i++) *total += t[i];
  *idle = t[3] + t[4]; /* idle + iowait: waiting for a disk is not computing */
  return true;
}

/* This process's CPU ticks: user + system, its own and its waited-for
 * children's (fields 14-17 of /proc/self/stat, after the parenthesised
 * command name, which may itself hold spaces or parentheses). */
static bool self_ticks(unsigned long long *ticks) {
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f) return false;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  if (!p) return false;
  /* After ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt
   * cminflt majflt cmajflt(13) utime stime cutime cstime. */
  unsigned long long v[4];
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1],
             &v[2], &v[3]) != 4)
    return false;
  *ticks = v[0] + v[1] + v[2] + v[3];
  return true;
}

double cb_devstate_others_cpus(const cb_devstate *a, const cb_devstate *b) {
  if (!a->ticks_total || !b->ticks_total || b->ticks_total <= a->ticks_total || a->cpus_online < 1)
    return -1;
  double total = (double)(b->ticks_total - a->ticks_total);
  double busy = b->ticks_busy >= a->ticks_busy ? (double)(b->ticks_busy - a->ticks_busy) : 0;
  double self = b->ticks_self >= a->ticks_self ? (double)(b->ticks_self - a->ticks_self) : 0;
  /* The aggregate line sums every CPU's ticks, so total / cpus is the
   * wall time in ticks; busy - self is everyone else's CPU time. */
  double others = (busy - self) / (total / a->cpus_online);
  return others > 0 ? others : 0;
}

/* The previous sample of this process. Several threads (or a tuner and a
 * benchmark in one process) may sample at once, so it is under a lock. */
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static bool busy_have_prev;
static unsigned long long busy_prev_total, busy_prev_idle;
static double busy_last = -1;

/* Fraction of all CPUs' time that was busy since the previous call. When
 * not even one tick (1/USER_HZ s) has passed, the previous answer stands
 * and the baseline is kept, so the next call spans a longer window. */
static double busy_fraction(void) {
  unsigned long long total, idle;
  if (!stat_ticks(&total, &idle)) return -1;
  pthread_mutex_lock(&busy_lock);
  double busy = busy_last;
  if (!busy_have_prev) {
    busy_have_prev = true;
    busy_prev_total = total;
    busy_prev_idle = idle;
  } else if (total > busy_prev_total) {
    unsigned long long dt = total - busy_prev_total;
    unsigned long long di = idle >= busy_prev_idle ? idle - busy_prev_idle : 0;
    busy = di >= dt ? 0 : 1.0 - (double)di / (double)dt;
    busy_last = busy;
    busy_prev_total = total;
    busy_prev_idle = idle;
  }
  pthread_mutex_unlock(&busy_lock);
  return busy;
}

/* ---- temperature ------------------------------------------------------------- */

/* Hottest of the sensors matching pattern in degrees C (hwmon and thermal
 * zones both report millidegrees), NAN when there is none. */
static double hottest_of(const char *pattern, double hottest) {
  glob_t g;
  if (glob(pattern, 0, NULL, &g) != 0) return hottest;
  double v;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    if (!read_number(g.gl_pathv[i], &v)) continue;
    v /= 1000;
    /* Absent or broken sensors read 0, -273 or 255: keep what a CPU can be. */
    if (v > -40 && v < 150 && (isnan(hottest) || v > hottest)) hottest = v;
  }
  globfree(&g);
  return hottest;
}

static double hottest_c(void) {
  double t = hottest_of("/sys/class/hwmon/hwmon*/temp*_input", NAN);
  return hottest_of("/sys/class/thermal/thermal_zone*/temp", t);
}

cb_status cb_devstate_sample(cb_devstate *s) {
  if (!s) return cb_error(CB_ERR_INVALID, "cb_devstate_sample: no output");
  s->t = cb_unix_now();
  s->cpu_mhz_reported = reported_mhz();
  s->cpu_mhz_measured = measured_mhz();
  s->load1 = load1();
  s->busy = busy_fraction();
  s->temp_c = hottest_c();
  unsigned long long total, idle, self;
  s->ticks_total = s->ticks_busy = s->ticks_self = 0;
  if (stat_ticks(&total, &idle) && self_ticks(&self)) {
    s->ticks_total = total;
    s->ticks_busy = total - idle;
    s->ticks_self = self;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  s->cpus_online = cpus > 0 ? (int)cpus : 0;
  s->has_gpu = false;
  s->gpu_index = -1;
  memset(&s->gpu, 0, sizeof s->gpu);
  s->gpu.sm_mhz = s->gpu.mem_mhz = s->gpu.temp_c = s->gpu.power_w = s->gpu.util = NAN;
  return CB_OK;
}

cb_status cb_devstate_sample_gpu(cb_devstate *s, int gpu) {
  cb_status st = cb_devstate_sample(s);
  if (st != CB_OK || gpu < 0) return st;
  s->has_gpu = true;
  s->gpu_index = gpu;
  if (cb_gpustate_sample(gpu, &s->gpu) != CB_OK) cb_error_clear();
  return CB_OK;
}
