/* bench.h: times a built net, layer by layer, forward and backward.
 *
 * One iteration runs every layer forward in order, then every layer
 * backward in reverse, timing each layer and each whole pass with the
 * monotonic clock. Several nets are timed interleaved, round by round. Warm-up iterations run first
 * and are discarded; the statistics (median, min, max, MAD) are over the timed iterations, so one
 * preempted sample moves the minimum and the spread, not the median. */
#ifndef CB_BENCH_H
#define CB_BENCH_H

#include <signal.h>

#include "net.h"
#include "stats.h"

/* Progress report after each layer pass: where the bench is (net is the
 * index into the nets being timed). warmup is true during warm-up
 * iterations. Called from the benchmarking thread. */
typedef void (*cb_bench_progress_fn)(void *user, int net, bool warmup, int iter, int iters,
                                     int layer, cb_pass pass);

typedef struct cb_bench_opts {
  int iters;                         /* timed iterations, >= 1 */
  int warmup;                        /* discarded iterations before them, >= 0 */
  const volatile sig_atomic_t *stop; /* when it becomes non-zero, stop (CB_ERR_INTERRUPTED) */
  cb_bench_progress_fn progress;
  void *progress_user;
} cb_bench_opts;

/* Per layer: statistics of forward, backward and the backward parts a
 * layer reports (sub_ms: a conv's bwd_data and bwd_filter), and the
 * samples they were computed from, in iteration order (the result's iters
 * each; NULL for a part the layer never reported). The samples are kept so
 * that they can be recorded: compare tests and bounds on them. */
typedef struct cb_bench_layer {
  cb_timing fwd, bwd, bwd_data, bwd_filter;
  const double *fwd_samples, *bwd_samples, *bwd_data_samples, *bwd_filter_samples;
} cb_bench_layer;

typedef struct cb_bench_result {
  int nlayers;
  cb_bench_layer *layers;
  cb_timing fwd, bwd, total; /* whole passes */
  double fwd_flops, bwd_flops;
  /* Per-iteration samples of the whole passes (iters each; total[i] is
   * fwd[i] + bwd[i], the same iteration). Every *_samples pointer of the
   * result and its layers points into sample_block, which the result owns. */
  int iters;
  const double *fwd_samples, *bwd_samples, *total_samples;
  double *sample_block;
} cb_bench_result;

/* Times count nets (the same netdef on different backends, say) in
 * rounds: each round runs one iteration of every net, starting with a
 * different net each round, so drift in clock or load over the run falls
 * on all of them alike rather than on whichever ran last. Warm-up rounds
 * first. r[i] receives net i's result (r[i].layers has nets[i]->nlayers
 * entries; free each with cb_bench_result_free). */
cb_status cb_bench_nets(cb_net *const *nets, int count, const cb_bench_opts *o, cb_bench_result *r);

void cb_bench_result_free(cb_bench_result *r);

#endif
