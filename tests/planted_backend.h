/* planted_backend.h: what the tuner and campaign tests (test_tune.c,
 * test_campaign.c) share to plant a backend of their own whose answers are
 * known in advance: a right variant (ref's), a fast wrong one (zeros) and a
 * slow right one (ref's, then asleep), so that which candidate must win,
 * and which must never, is certain.
 *
 * Functions are static inline so that a test using only some of them
 * builds without unused-function warnings. */
#ifndef CB_PLANTED_BACKEND_H
#define CB_PLANTED_BACKEND_H

#include "cb_test.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* The fields of a host test backend named `backend_name` whose conv_fwd
 * variants are `fwd` (a NULL-terminated list); a designated-initializer
 * list, so that a backend may add its own fields (an init that fails). */
#define PLANTED_BACKEND_FIELDS(backend_name, fwd)                                                  \
  .api_version = CB_API_VERSION, .name = (backend_name), .desc = "test", .device = CB_DEVICE_HOST, \
  .variants = {(fwd)}

/* The right answer: ref's first variant for the op. */
static inline cb_status planted_right_run(cb_ctx *ctx, const cb_problem *p, const int *params,
                                          void *plan, const cb_args *args, void *ws) {
  const cb_variant *ref = cb_backend_find("ref")->variants[p->op][0];
  return ref->run(ctx, p, params, plan, args, ws);
}

/* A fast wrong answer: zeros. */
static inline cb_status planted_wrong_run(cb_ctx *ctx, const cb_problem *p, const int *params,
                                          void *plan, const cb_args *args, void *ws) {
  (void)ctx, (void)params, (void)plan, (void)ws;
  memset(args->dst, 0, (size_t)cb_problem_elems(p, 2) * sizeof(float));
  return CB_OK;
}

/* The right answer, then `ms` milliseconds asleep: a clear loser. A sleep,
 * not more work, so that a loaded machine (a preempted sample of a fast
 * variant costs a few ms) cannot make the two look alike. */
static inline cb_status planted_slow_run(cb_ctx *ctx, const cb_problem *p, const int *params,
                                         void *plan, const cb_args *args, void *ws, long ms) {
  cb_status st = planted_right_run(ctx, p, params, plan, args, ws);
  struct timespec nap = {0, ms * 1000 * 1000};
  while (nanosleep(&nap, &nap) != 0) continue;
  return st;
}

/* The right answer, then asleep: `ms` milliseconds, or `spike_ms` on the
 * runs *counter says are preempted (spike_pct of every 10, spread out):
 * a kernel whose true time is known, measured on a machine that
 * preempts it as often as the test likes. */
static inline cb_status planted_spiky_run(cb_ctx *ctx, const cb_problem *p, const int *params,
                                          void *plan, const cb_args *args, void *ws, double ms,
                                          double spike_ms, int spikes_in_10, int *counter) {
  static const int order[10] = {0, 5, 2, 7, 4, 9, 1, 6, 3, 8}; /* spikes spread over the 10 */
  cb_status st = planted_right_run(ctx, p, params, plan, args, ws);
  bool spike = order[(*counter)++ % 10] < spikes_in_10;
  double t = spike ? spike_ms : ms;
  struct timespec nap = {(time_t)(t / 1000), (long)(fmod(t, 1000.0) * 1e6)};
  while (nanosleep(&nap, &nap) != 0) continue;
  return st;
}

#endif
