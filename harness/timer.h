/* timer.h: the one clock convbench measures with (CLOCK_MONOTONIC). */
#ifndef CB_TIMER_H
#define CB_TIMER_H

#include <stdint.h>

/* Nanoseconds from an arbitrary fixed point; never goes backwards. */
uint64_t cb_now_ns(void);

/* Milliseconds between two cb_now_ns() readings. */
static inline double cb_ms(uint64_t start, uint64_t end) {
  return (double)(end - start) * 1e-6;
}

#endif
