/* peak.h: the machine's FP32 FMA peak, measured rather than looked up.
 *
 * Every GFLOP/s convbench prints is also given as a fraction of this peak,
 * so a number means the same on any machine: "85% of peak" says how good
 * a kernel is, "200 GFLOP/s" only says how big the machine is. */
#ifndef CB_PEAK_H
#define CB_PEAK_H

#include "records.h" /* cb_peak (a row of the peaks table) */

/* The widest FMA ISA this CPU runs ("avx512", "avx2", or "sse" without FMA). */
const char *cb_peak_isa(void);

/* Runs independent FMA chains on `threads` threads for about `seconds`
 * and reports the best of `repeats` measurements (the peak is a maximum:
 * anything else on the machine only lowers it). */
cb_status cb_peak_measure(int threads, double seconds, int repeats, cb_peak *out);

#endif
