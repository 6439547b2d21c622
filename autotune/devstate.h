/* devstate.h: the state of the device around a measurement: clock, load,
 * temperature, and the GPU's clocks, power and throttling when it ran on one. Sampled before and
 * after every measurement so that a throttled or busy machine shows in the data instead of in the
 * numbers. */
#ifndef CB_DEVSTATE_H
#define CB_DEVSTATE_H

#include "gpustate.h"
#include "kernels.h"

typedef struct cb_devstate {
  double t;                /* unix time, seconds */
  double cpu_mhz_reported; /* mean "cpu MHz" of /proc/cpuinfo (or cpufreq); 0 if unknown */
  double cpu_mhz_measured; /* this core's clock from a timed dependent-add chain */
  double load1;            /* 1-minute load average */
  double busy;             /* fraction of CPU time busy since the previous sample, -1 if none */
  double temp_c;           /* hottest hwmon/thermal zone, NAN if none */
  /* The GPU a measurement ran on (gpustate.h), when has_gpu (false in a
   * zeroed sample); readings NAN or "" where NVML could not give them. */
  bool has_gpu;
  int gpu_index;
  cb_gpustate gpu;
} cb_devstate;

/* Takes a sample (about a millisecond, most of it the clock measurement). */
cb_status cb_devstate_sample(cb_devstate *s);

/* cb_devstate_sample plus the state of CUDA device gpu (gpu < 0: none).
 * A GPU that NVML cannot read leaves its readings unset, as a missing CPU
 * sensor does; it is never an error. */
cb_status cb_devstate_sample_gpu(cb_devstate *s, int gpu);

#endif
