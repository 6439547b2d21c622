/* devstate.h: the state of the device around a measurement: clock, load,
 * temperature, and the GPU's clocks, power and throttling when it ran on one. Sampled before and
 * after every measurement so that a throttled or busy machine shows in the data instead of in the
 * numbers. */
#ifndef CB_DEVSTATE_H
#define CB_DEVSTATE_H

#include "gpustate.h"
#include "records.h" /* cb_devstate (a device_samples row) */

/* Takes a sample (about a millisecond, most of it the clock measurement). */
cb_status cb_devstate_sample(cb_devstate *s);

/* How many CPUs, on average, processes other than this one kept busy
 * between samples a and b (both taken by this process, a first); -1 when
 * the counters are missing. This, not the load average, says whether
 * something competed with a measurement: the load average is a one-minute
 * mean that counts our own threads and whatever ran just before (a peer, a
 * build). Children of this process that were waited for count as ours. */
double cb_devstate_others_cpus(const cb_devstate *a, const cb_devstate *b);

/* cb_devstate_sample plus the state of CUDA device gpu (gpu < 0: none).
 * A GPU that NVML cannot read leaves its readings unset, as a missing CPU
 * sensor does; it is never an error. */
cb_status cb_devstate_sample_gpu(cb_devstate *s, int gpu);

#endif
