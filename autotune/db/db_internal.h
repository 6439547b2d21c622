/* db_internal.h: what the files of the database layer share and nobody
 * else may use: the cb_db handle, the prepared-statement slots, binding by
 * parameter name and the stepping helpers. Not installed with db.h:
 * code above the layer goes through db.h's functions. */
#ifndef CB_DB_INTERNAL_H
#define CB_DB_INTERNAL_H

#include "db.h"

#include <sqlite3.h>

/* PRAGMA application_id of our files, 0x43424e43 ("CBNC"): set by
 * migration 1, checked on open. */
#define CB_APPLICATION_ID 1128418883

/* The schema migrations (migrations.c): migrations[i] is a NULL-terminated
 * list of statements that takes the schema from version i to i + 1. */
extern const char *const *const cb_db_migrations[];

/* One slot per persistent statement; each file passes its own SQL text
 * with its slot, so the text stays beside the code that binds it. */
typedef enum cb_stmt_id {
  ST_MACHINE_PUT,
  ST_MACHINE_GET,
  ST_BUILD_PUT,
  ST_BUILD_GET,
  ST_RUN_BEGIN,
  ST_RUN_END,
  ST_PROBLEM_PUT,
  ST_PROBLEM_GET,
  ST_NET_PUT,
  ST_LAYER_PUT,
  ST_SAMPLE_PUT,
  ST_PEAK_PUT,
  ST_PEAK_GET,
  ST_MEASUREMENT_PUT,
  ST_CACHE_PUT,
  ST_CACHE_GET,
  ST_CACHE_NEWEST,
  ST_CACHE_EACH,
  ST_CACHE_CLEAR,
  ST_CACHE_GENERATION,
  ST_TRAIN_STEP_PUT,
  ST_TRAIN_EPOCH_PUT,
  ST_GRAD_CHECK_PUT,
  ST_COUNT
} cb_stmt_id;

struct cb_db {
  sqlite3 *h;
  char *path;
  sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use */
  bool ready;                   /* opened, checked and migrated */
};

/* CB_ERR_DB with "database 'path': what: sqlite's message". */
cb_status cb_db_fail(cb_db *db, const char *what);

/* Starts a transaction unless the caller has one open (then the caller's
 * commit decides); *owned says whether this one is ours to end (db.c). */
cb_status cb_db_tx_enter(cb_db *db, bool *owned);

/* Ends what cb_db_tx_enter started: commit after success, roll back after
 * a failure st (which is returned). */
cb_status cb_db_tx_leave(cb_db *db, bool owned, cb_status st);

/* Binding by parameter name, so that a value can never land in the wrong
 * column. A binder remembers its first failure, so a run of bind calls is
 * checked once at the end. */
typedef struct cb_binder {
  cb_db *db;
  sqlite3_stmt *s;
  cb_status st;
} cb_binder;

/* A binder on statement slot id (prepared from sql the first time), reset
 * and with its bindings cleared; b->st says whether it is usable. */
cb_binder cb_db_stmt(cb_db *db, cb_stmt_id id, const char *sql);

/* NULL text binds SQL NULL. */
void cb_bind_text(cb_binder *b, const char *name, const char *v);
/* Text that may be absent: NULL or "" binds SQL NULL. */
void cb_bind_opt_text(cb_binder *b, const char *name, const char *v);
void cb_bind_int(cb_binder *b, const char *name, int64_t v);
void cb_bind_double(cb_binder *b, const char *name, double v);
void cb_bind_null(cb_binder *b, const char *name);
/* A reading that may be unknown: NULL unless known and finite. */
void cb_bind_reading(cb_binder *b, const char *name, double v, bool known);
/* ":<p>_median_ms" ... ":<p>_samples" (":median_ms" ... when p is ""); the
 * four statistics are NULL when nothing was timed, so AVG() and friends
 * skip them. */
void cb_bind_timing(cb_binder *b, const char *p, const cb_timing *t);

/* Binds n samples (ms) as the JSON array text the *_samples_ms columns
 * hold ("[1.234,1.25]"); NULL when n == 0. One text format, not a blob, so
 * sqlite3, Python peers and the reports read the same column. */
void cb_bind_samples(cb_binder *b, const char *name, const double *v, int n);
/* The time of the call, as cb_iso_now writes it (when a row was made). */
void cb_bind_now(cb_binder *b, const char *name);

/* Steps a statement that returns no rows, then resets it. */
cb_status cb_db_exec(cb_binder *b, const char *what);

/* cb_db_exec for an INSERT; on success *id is the new row's id. */
cb_status cb_db_insert(cb_binder *b, const char *what, int64_t *id);

/* Steps a query for one integer, then resets it; CB_ERR_DB when no row. */
cb_status cb_db_query_id(cb_binder *b, const char *what, int64_t *id);

/* One integer from an SQL text without parameters (pragmas, counts);
 * returns SQLite's result code. */
int cb_db_query_int(sqlite3 *h, const char *sql, int64_t *out);

#endif
