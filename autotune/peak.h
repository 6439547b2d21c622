/* peak.h: the machine's FP32 FMA peak, measured rather than looked up,
 * and checked against the rate the ISA allows.
 *
 * Every GFLOP/s convbench prints is also given as a fraction of this peak,
 * so a number means the same on any machine: "85% of peak" says how good
 * a kernel is, "200 GFLOP/s" only says how big the machine is. The peak is
 * a property of the machine and the thread count: measured once, with
 * enough repeats to show its spread, and stored (cb_db_put_peak). */
#ifndef CB_PEAK_H
#define CB_PEAK_H

#include <signal.h>

#include "records.h" /* cb_peak (a row of the peaks table) */

/* CB_PEAK_MIN_REPEATS and CB_PEAK_FAULT_TOLERANCE are in records.h: the
 * database applies them when it reads a peak back. */
/* A measured peak below this fraction of the theoretical rate means the
 * threads did not have their cores: the machine was busy. Not 0.5: the
 * table's Intel AVX-512 row assumes two FMA units, and parts with one
 * reach half of it on an idle machine. */
#define CB_PEAK_BUSY_FRACTION 0.4

/* The widest FMA ISA this CPU runs ("avx512", "avx2", or "sse" without FMA). */
const char *cb_peak_isa(void);

/* FP32 flops per cycle per core of the widest FMA ISA for a CPU, from a
 * small table by vendor ("AuthenticAMD", "GenuineIntel"), x86 family and
 * model; *label (may be NULL) receives the table row's name, which says
 * "default" when the CPU is not in the table and the ISA alone decided. */
int cb_peak_flops_per_cycle(const char *vendor, int family, int model, const char *isa,
                            const char **label);

/* The theoretical rate at `threads` threads: threads x clock x this CPU's
 * flops/cycle. The clock is the larger of cpufreq's maximum and
 * measured_mhz (a dependent-add clock measurement, 0 if none); /proc/cpuinfo
 * is used only when neither exists (in VMs it is the base clock, below
 * turbo). Fills p->theoretical_gflops, p->clock_mhz, p->theoretical_how. */
void cb_peak_theoretical(int threads, double measured_mhz, cb_peak *p);

/* Called after each repeat (done of repeats) of the measurement at
 * `threads` threads; from the calling thread. */
typedef void (*cb_peak_progress_fn)(void *user, int threads, int done, int repeats);

/* Runs independent FMA chains on `threads` threads, `repeats` times for
 * about `seconds` each, and reports the best (gflops), min and median,
 * with the theoretical rate and the load around it. stop (may be NULL)
 * interrupts it (CB_ERR_INTERRUPTED); progress may be NULL. */
cb_status cb_peak_measure(int threads, double seconds, int repeats,
                          const volatile sig_atomic_t *stop, cb_peak_progress_fn progress,
                          void *user, cb_peak *out);

typedef enum cb_peak_verdict {
  CB_PEAK_OK,        /* within the theoretical rate and at least CB_PEAK_BUSY_FRACTION of it */
  CB_PEAK_UNCHECKED, /* no theoretical rate to check it against */
  CB_PEAK_FAULT,     /* above the theoretical rate by more than CB_PEAK_FAULT_TOLERANCE */
  CB_PEAK_BUSY,      /* far below it: the machine was busy */
  CB_PEAK_TOO_FEW    /* fewer than CB_PEAK_MIN_REPEATS repeats: not a measurement to keep */
} cb_peak_verdict;

/* Whether p may stand as the machine's peak (CB_PEAK_OK, CB_PEAK_UNCHECKED)
 * and, if not, why. */
cb_peak_verdict cb_peak_judge(const cb_peak *p);

#endif
