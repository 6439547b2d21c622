/* devstate.h: the state of the device around a measurement: clock, load,
 * temperature. Sampled before and after every measurement so that a
 * throttled or busy machine shows in the data instead of in the numbers. */
#ifndef CB_DEVSTATE_H
#define CB_DEVSTATE_H

#include "kernels.h"

typedef struct cb_devstate {
  double t;                /* unix time, seconds */
  double cpu_mhz_reported; /* mean "cpu MHz" of /proc/cpuinfo (or cpufreq); 0 if unknown */
  double cpu_mhz_measured; /* this core's clock from a timed dependent-add chain */
  double load1;            /* 1-minute load average */
  double busy;             /* fraction of CPU time busy since the previous sample, -1 if none */
  double temp_c;           /* hottest hwmon/thermal zone, NAN if none */
} cb_devstate;

/* Takes a sample (about a millisecond, most of it the clock measurement). */
cb_status cb_devstate_sample(cb_devstate *s);

#endif
