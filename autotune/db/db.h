/* db.h: the SQLite database everything records into (results.db): the
 * public interface of the cb_db library (autotune/db/).
 *
 * Tables: machines, builds, runs, problems, net_results, layer_results,
 * device_samples, peaks, measurements, tune_cache, train_steps,
 * train_epochs, grad_checks (schema in migrations.c, versioned with PRAGMA
 * user_version and migrated forward on open by db.c). Writers: runs.c
 * (machines, builds, runs, problems), results.c (net and layer results,
 * device samples, peaks), measurements.c, cache_rows.c, train_rows.c;
 * summary.c reads for the command line. The row types are in records.h. WAL mode and a busy timeout
 * let several processes write one file; each finished measurement is one transaction, so an
 * interrupted run keeps what it finished and nothing half-written. */
#ifndef CB_DB_H
#define CB_DB_H

#include "records.h"

typedef struct cb_db cb_db;

/* Opens (creating if needed) and migrates the database at path.
 * CB_ERR_DB with a message naming path when it cannot be created or
 * written, is not an SQLite file, belongs to something else, or was made
 * by a newer convbench. */
cb_status cb_db_open(const char *path, cb_db **out);
void cb_db_close(cb_db *db);

/* The schema version this build writes. */
int cb_db_schema_version(void);

/* Inserts the machine / build if its fingerprint is new, returns its id. */
cb_status cb_db_put_machine(cb_db *db, const cb_machine *m, int64_t *id);
cb_status cb_db_put_build(cb_db *db, const cb_build *b, int64_t *id);

typedef struct cb_run_rec {
  int64_t machine_id, build_id;
  const char *command; /* the full command line, shell-quoted */
  const char *kind;    /* "bench", "tune", ... */
  uint64_t seed;
  int threads;
} cb_run_rec;

/* A run starts as 'running' and ends 'ok', 'failed' (with an error
 * message) or 'interrupted'. */
cb_status cb_db_run_begin(cb_db *db, const cb_run_rec *r, int64_t *run_id);
cb_status cb_db_run_end(cb_db *db, int64_t run_id, const char *status, const char *error);

/* The id of a problem key, inserting it the first time. */
cb_status cb_db_put_problem(cb_db *db, const cb_problem *p, int64_t *id);

/* One layer's result. Problems are NULL for layers without kernels;
 * timings with samples == 0 are stored as NULL. */
typedef struct cb_layer_rec {
  int index;
  const char *name, *kind;
  const char *in_shape, *out_shape; /* "CxHxW" */
  const char *backend;              /* the backend asked for */
  const char *variants;             /* "fwd=ref/direct bwd_data=ref/direct ..." as run */
  const char *impl;                 /* what the libraries chose, "fwd=brgconv:avx512_core ..." */
  bool fallback;                    /* some op ran on ref instead */
  const cb_problem *problem[3];     /* fwd, bwd_data, bwd_filter (or gemm x3) */
  cb_timing fwd, bwd, bwd_data, bwd_filter;
  /* The samples behind each timing (its .samples values, in iteration
   * order), stored as *_samples_ms; NULL stores NULL (not kept). */
  const double *fwd_samples, *bwd_samples, *bwd_data_samples, *bwd_filter_samples;
  double fwd_flops, bwd_flops; /* per pass */
} cb_layer_rec;

/* A whole net's result (or a .shapes file's single layer, nlayers = 1). */
typedef struct cb_net_rec {
  int64_t run_id;
  const char *net;    /* netdef name */
  const char *netdef; /* path as given */
  const char *netdef_sha256;
  const char *backend;
  bool single_layer; /* a .shapes entry timed alone, not a whole net */
  int64_t batch;
  int threads, iters, warmup;
  bool input_grad;
  cb_timing fwd, bwd, total;
  /* As cb_layer_rec's: total_samples[i] is the sum of the same iteration's
   * forward and backward. NULL: not kept. */
  const double *fwd_samples, *bwd_samples, *total_samples;
  double fwd_flops, bwd_flops;
} cb_net_rec;

/* Writes a net result, its layer results and the device samples taken
 * before and after it, in one transaction. */
cb_status cb_db_put_net_result(cb_db *db, const cb_net_rec *net, int nlayers,
                               const cb_layer_rec *layers, const cb_devstate *before,
                               const cb_devstate *after, int64_t *id);

/* One candidate's measurement while tuning (the measurements table). */
typedef struct cb_measurement_rec {
  int64_t run_id;
  const cb_problem *problem;
  const char *device_fp, *build_fp;
  int threads;
  const char *backend, *variant;
  const char *params;       /* "16,4", "" when the variant has none */
  const char *status;       /* "ok", "pruned", "mismatch", "error" */
  double max_rel_err;       /* against ref; NAN when not validated */
  cb_timing t;              /* samples == 0: not timed (columns NULL) */
  double gflops;            /* at the median; 0 when not timed */
  const char *impl, *error; /* may be NULL */
  bool noisy;
  const cb_devstate *before, *after; /* the device around the problem's tuning; may be NULL */
} cb_measurement_rec;

/* Records one candidate's measurement (and its problem, the first time)
 * and returns its row id. Inside cb_db_begin/commit it joins that
 * transaction; otherwise it is a transaction of its own. CB_ERR_INVALID
 * for a status other than the four above or a thread count below 1. */
cb_status cb_db_put_measurement(cb_db *db, const cb_measurement_rec *m, int64_t *id);

/* Groups writes into one transaction (BEGIN IMMEDIATE; the busy timeout
 * waits for other writers): a problem's measurements and its cache entry
 * land together or not at all. A failed commit rolls everything back;
 * cb_db_rollback is a no-op when no transaction is open. */
cb_status cb_db_begin(cb_db *db);
cb_status cb_db_commit(cb_db *db);
void cb_db_rollback(cb_db *db);

/* ---- the tune cache's rows (cache.h is the interface: lookup order, files) */

/* Inserts or replaces the row for (e's key, device, build, source).
 * generation is cb_device_generation(e->device_fp). A local row
 * (imported false) must name its measurement (e->measurement_id) and is
 * stored with origin "local"; an imported one keeps e->origin and prov.
 * An empty e->measured is stored as now. Joins an open transaction. */
cb_status cb_db_cache_put(cb_db *db, const cb_cache_entry *e, const char *generation, bool imported,
                          const cb_cache_prov *prov);

/* The row for exactly (key, device, build) from one source; *found is
 * false when there is none. */
cb_status cb_db_cache_get(cb_db *db, const char *key, const char *device_fp, const char *build_fp,
                          bool imported, cb_cache_entry *out, bool *found);

/* The newest measured row for key in a device generation, whatever its
 * device, build or source; *found is false when there is none. */
cb_status cb_db_cache_newest(cb_db *db, const char *key, const char *generation,
                             cb_cache_entry *out, bool *found);

/* Calls fn for every row in (key, device, build, source) order, all read
 * from one snapshot; fn returning non-zero stops. fn may read the database
 * but must not write tune_cache or call cb_db_cache_each. */
typedef int (*cb_cache_row_fn)(const cb_cache_entry *e, bool imported, const cb_cache_prov *prov,
                               void *user);
cb_status cb_db_cache_each(cb_db *db, cb_cache_row_fn fn, void *user);

/* Deletes every row; *deleted says how many. */
cb_status cb_db_cache_clear(cb_db *db, int64_t *deleted);

/* Whether any tune_cache row (local or imported, any device or build) is
 * of device generation `generation` (cb_device_generation()): one indexed
 * existence query. *found is false when there is none. */
cb_status cb_db_cache_generation_known(cb_db *db, const char *generation, bool *found);

/* ---- training and gradient checks (train_rows.c) */

/* Where the rows belong: the run, the net and the backend asked for. */
typedef struct cb_train_rec {
  int64_t run_id;
  const char *net, *backend, *dataset;
  int64_t batch;
  int threads;
} cb_train_rec;

/* Writes n steps in one transaction (training calls it every few hundred
 * steps so the database never slows it down). A NULL db or n == 0 writes
 * nothing. Must not be called inside cb_db_begin/commit. */
cb_status cb_db_put_train_steps(cb_db *db, const cb_train_rec *r, const cb_train_step *steps,
                                int n);

/* Writes one epoch's row, in its own transaction (test columns NULL when
 * e->test.count is 0). A NULL db writes nothing. */
cb_status cb_db_put_train_epoch(cb_db *db, const cb_train_rec *r, const cb_train_epoch *e);

/* Writes n gradient-check results of one layer in one transaction. A
 * NULL db or n == 0 writes nothing. */
cb_status cb_db_put_grad_checks(cb_db *db, const cb_train_rec *r, const cb_grad_result *res, int n);

/* ---- summaries for the command line (summary.c) */

/* What `convbench db info` shows; a count that cannot be read is -1. */
typedef struct cb_db_summary {
  int64_t schema_version; /* PRAGMA user_version of the file */
  int64_t machines, builds, runs;
  int64_t runs_status[4]; /* runs 'ok', 'failed', 'interrupted', 'running', in that order */
  int64_t net_results, layer_results, problems, measurements, cache_entries;
} cb_db_summary;

cb_status cb_db_summarize(cb_db *db, cb_db_summary *out);

/* One run, for listings; the strings live until the callback returns. */
typedef struct cb_run_brief {
  int64_t id;
  const char *started, *status, *command;
} cb_run_brief;

/* Calls fn for the last `limit` runs, newest first; fn returning non-zero
 * stops. */
typedef int (*cb_run_brief_fn)(const cb_run_brief *r, void *user);
cb_status cb_db_recent_runs(cb_db *db, int limit, cb_run_brief_fn fn, void *user);

/* One candidate's measurement, for listings; the strings live until the
 * callback returns. candidate is "backend/variant" plus "[params]" when
 * it has any; the timings and gflops mean something only when timed. */
typedef struct cb_measurement_brief {
  int64_t run_id;
  const char *device_fp, *candidate, *status;
  bool timed;
  double median_ms, min_ms, mad_ms, gflops;
  int samples;
} cb_measurement_brief;

/* Calls fn for every measurement of the problem with this key, newest run
 * first and fastest first within a run; fn returning non-zero stops.
 * CB_ERR_DB "cannot read measurements: ..." when the query fails. */
typedef int (*cb_measurement_brief_fn)(const cb_measurement_brief *m, void *user);
cb_status cb_db_measurements_of(cb_db *db, const char *key, cb_measurement_brief_fn fn, void *user);

/* Parses a *_samples_ms column ("[1.234,1.25]", or NULL/"" for none) into
 * a malloc'd array (*out, free it) of *n values. CB_ERR_PARSE names the
 * offending text. */
cb_status cb_db_samples_parse(const char *text, double **out, int *n);

/* Records a peak measured during run run_id (on that run's machine). */
cb_status cb_db_put_peak(cb_db *db, int64_t run_id, const cb_peak *p);

/* The latest usable peak recorded for the machine with this fingerprint
 * at this thread count: from at least CB_PEAK_MIN_REPEATS repeats and not
 * above its theoretical rate by more than CB_PEAK_FAULT_TOLERANCE (brief
 * or faulty rows are skipped); *found is false when there is none. */
cb_status cb_db_get_peak(cb_db *db, const char *machine_fingerprint, int threads, cb_peak *out,
                         bool *found);

/* The underlying handle, for tests and reports that query directly. */
struct sqlite3 *cb_db_handle(cb_db *db);

#endif
