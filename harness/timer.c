/* timer.c: CLOCK_MONOTONIC, immune to wall-clock steps. */
#include "timer.h"

#include <time.h>

uint64_t cb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
