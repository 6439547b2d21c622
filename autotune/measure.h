/* measure.h: the timing engine: variants timed on one problem,
 * interleaved. */
#ifndef CB_MEASURE_H
#define CB_MEASURE_H

#include "kernels.h"
#include "util.h"

/* One variant at one parameter point on one context: a timing candidate. */
typedef struct cb_candidate {
  cb_ctx *ctx;
  const cb_variant *variant;
  int params[CB_MAX_PARAMS];
} cb_candidate;

/* A session holds the candidates' plans and workspaces and one set of
 * inputs (one device), so rounds can run them back to back: in each round
 * every active candidate runs once, the starting one rotating, with flush
 * bytes streamed through before each sample so no candidate inherits a
 * warm cache from the previous one. On a device backend (time_begin set)
 * a sample is the time between two device events around the run, the
 * device's L2 flushed before it. Drift of the machine's clock or load
 * over a session falls on all candidates alike. */

typedef struct cb_time_session cb_time_session;

cb_status cb_time_session_begin(const cb_candidate *cands, int n, const cb_problem *p,
                                size_t flush_bytes, cb_time_session **out);

/* One round over the candidates whose active[i] is true (NULL: all);
 * timed rounds record a sample per candidate. */
cb_status cb_time_session_round(cb_time_session *s, const bool *active, bool timed);

/* Candidate i's samples so far (ms). */
const double *cb_time_session_samples(const cb_time_session *s, int i, int *count);

void cb_time_session_end(cb_time_session *s);

/* Candidate runs made by cb_time_session_round in this process so far
 * (warm-up rounds included): what the tests count to prove that a warm
 * re-tune times nothing. Not thread-safe; timing is single-threaded. */
long cb_time_runs(void);

/* A fixed schedule on a session: `warmup` untimed rounds, `iters` timed
 * ones; out[i] receives candidate i's statistics (ms). */
cb_status cb_time_interleaved(const cb_candidate *cands, int n, const cb_problem *p, int warmup,
                              int iters, size_t flush_bytes, cb_timing *out);

#endif
