/* compare.h: `convbench compare`: two runs, or two databases, side by
 * side. A side is a database and optionally one run in it; without a run
 * it is the latest result of every (net, entry, backend, batch) in the
 * database. Results are matched on (net, entry, backend, batch, threads):
 * a .shapes entry is matched by its layer name, a whole net has entry "";
 * with any_threads, thread counts are not matched (machine against
 * machine), and each side keeps its latest result per key. */
#ifndef CB_COMPARE_H
#define CB_COMPARE_H

#include "db.h"

typedef struct cb_cmp_side {
  cb_db *db;
  int64_t run_id; /* 0: every run of db */
} cb_cmp_side;

typedef struct cb_cmp_opts {
  bool any_threads; /* match results whatever their thread counts */
} cb_cmp_opts;

/* One matched (or one-sided) result: times in ms, NAN where absent. */
typedef struct cb_cmp_row {
  char net[96], entry[96], backend[64];
  int64_t batch;
  int threads_key; /* the thread count matched on; 0 with any_threads */
  int threads[2];  /* 0 on the side that lacks it */
  double fwd[2], bwd[2], total[2];
} cb_cmp_row;

/* What a side is, for the header: its run's kind and command, or the
 * number of runs in the database. */
typedef struct cb_cmp_info {
  char kind[32];
  char command[1024];
  char started[32];
  char host[128], cpu[128];
  int runs; /* runs with results on this side */
} cb_cmp_info;

/* Matches the results of a and b (o may be NULL: threads matched); *rows
 * (free() it) sorted by net, entry, backend, batch, threads.
 * CB_ERR_INVALID when a side's run is not in its database; CB_ERR_DB when
 * a query fails. */
cb_status cb_compare_results(const cb_cmp_side *a, const cb_cmp_side *b, const cb_cmp_opts *o,
                             cb_cmp_row **rows, int *nrows, cb_cmp_info info[2]);

#endif
