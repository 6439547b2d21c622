/* store.h: the SQLite database everything records into (results.db).
 *
 * Tables: machines, builds, runs, problems, net_results, layer_results,
 * device_samples (schema in store.c, versioned with PRAGMA user_version and
 * migrated forward on open). WAL mode and a busy timeout let several
 * processes write one file; each finished measurement is one transaction,
 * so an interrupted run keeps what it finished and nothing half-written. */
#ifndef CB_STORE_H
#define CB_STORE_H

#include "buildinfo.h"
#include "devstate.h"
#include "machine.h"
#include "peak.h"

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

/* Statistics of one timed series, in milliseconds. */
typedef struct cb_timing {
  double median, min, max, mad; /* mad: median absolute deviation */
  int samples;
} cb_timing;

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
  double fwd_flops, bwd_flops;
} cb_net_rec;

/* Writes a net result, its layer results and the device samples taken
 * before and after it, in one transaction. */
cb_status cb_db_put_net_result(cb_db *db, const cb_net_rec *net, int nlayers,
                               const cb_layer_rec *layers, const cb_devstate *before,
                               const cb_devstate *after, int64_t *id);

/* Records a peak measured during run run_id (on that run's machine). */
cb_status cb_db_put_peak(cb_db *db, int64_t run_id, const cb_peak *p);

/* The latest peak recorded for the machine with this fingerprint at this
 * thread count; *found is false when there is none. */
cb_status cb_db_get_peak(cb_db *db, const char *machine_fingerprint, int threads, cb_peak *out,
                         bool *found);

/* The underlying handle, for tests and reports that query directly. */
struct sqlite3 *cb_db_handle(cb_db *db);

#endif
