/* summary.c: read-only views for the command line: what a database holds
 * (`convbench db info`), its latest runs, and every measurement of one
 * problem (`convbench cache show`). The CLI prints; these only read. */
#include "db_internal.h"

/* The counts, in cb_db_summary's field order after schema_version. */
static const char *const count_sql[] = {
    "SELECT count(*) FROM machines",
    "SELECT count(*) FROM builds",
    "SELECT count(*) FROM runs",
    "SELECT count(*) FROM runs WHERE status = 'ok'",
    "SELECT count(*) FROM runs WHERE status = 'failed'",
    "SELECT count(*) FROM runs WHERE status = 'interrupted'",
    "SELECT count(*) FROM runs WHERE status = 'running'",
    "SELECT count(*) FROM net_results",
    "SELECT count(*) FROM layer_results",
    "SELECT count(*) FROM problems",
    "SELECT count(*) FROM measurements",
    "SELECT count(*) FROM tune_cache",
};

/* One count, -1 when it cannot be read. */
static int64_t count(sqlite3 *h, const char *sql) {
  int64_t n = -1;
  return cb_db_query_int(h, sql, &n) == SQLITE_OK ? n : -1;
}

cb_status cb_db_summarize(cb_db *db, cb_db_summary *out) {
  if (!db || !out) return cb_error(CB_ERR_INVALID, "cb_db_summarize: missing arguments");
  out->schema_version = count(db->h, "PRAGMA user_version");
  int64_t *field[] = {&out->machines,       &out->builds,         &out->runs,
                      &out->runs_status[0], &out->runs_status[1], &out->runs_status[2],
                      &out->runs_status[3], &out->net_results,    &out->layer_results,
                      &out->problems,       &out->measurements,   &out->cache_entries};
  _Static_assert(sizeof field / sizeof field[0] == sizeof count_sql / sizeof count_sql[0],
                 "one query per count");
  for (size_t i = 0; i < sizeof field / sizeof field[0]; i++)
    *field[i] = count(db->h, count_sql[i]);
  return CB_OK;
}

cb_status cb_db_recent_runs(cb_db *db, int limit, cb_run_brief_fn fn, void *user) {
  if (!db || !fn) return cb_error(CB_ERR_INVALID, "cb_db_recent_runs: missing arguments");
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db->h,
                         "SELECT id, started, status, command FROM runs ORDER BY id DESC LIMIT ?",
                         -1, &s, NULL) != SQLITE_OK)
    return cb_db_fail(db, "cannot read the runs");
  sqlite3_bind_int(s, 1, limit);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cb_run_brief r = {sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                      (const char *)sqlite3_column_text(s, 2),
                      (const char *)sqlite3_column_text(s, 3)};
    if (fn(&r, user)) break;
  }
  cb_status st =
      rc == SQLITE_ROW || rc == SQLITE_DONE ? CB_OK : cb_db_fail(db, "cannot read the runs");
  sqlite3_finalize(s);
  return st;
}

cb_status cb_db_measurements_of(cb_db *db, const char *key, cb_measurement_brief_fn fn,
                                void *user) {
  if (!db || !key || !fn)
    return cb_error(CB_ERR_INVALID, "cb_db_measurements_of: missing arguments");
  static const char *const sql =
      "SELECT m.run_id, m.device_fp, m.backend || '/' || m.variant ||"
      " CASE WHEN m.params <> '' THEN '[' || m.params || ']' ELSE '' END,"
      " m.status, m.median_ms, m.min_ms, m.mad_ms, m.samples, m.gflops"
      " FROM measurements m JOIN problems p ON p.id = m.problem_id WHERE p.key = ?"
      " ORDER BY m.run_id DESC, m.median_ms";
  sqlite3_stmt *s;
  /* The message `cache show` has always printed. */
  if (sqlite3_prepare_v2(db->h, sql, -1, &s, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "cannot read measurements: %s", sqlite3_errmsg(db->h));
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cb_measurement_brief m = {
        .run_id = sqlite3_column_int64(s, 0),
        .device_fp = (const char *)sqlite3_column_text(s, 1),
        .candidate = (const char *)sqlite3_column_text(s, 2),
        .status = (const char *)sqlite3_column_text(s, 3),
        .timed = sqlite3_column_type(s, 4) != SQLITE_NULL,
        .median_ms = sqlite3_column_double(s, 4),
        .min_ms = sqlite3_column_double(s, 5),
        .mad_ms = sqlite3_column_double(s, 6),
        .samples = sqlite3_column_int(s, 7),
        .gflops = sqlite3_column_double(s, 8),
    };
    if (fn(&m, user)) break;
  }
  cb_status st = rc == SQLITE_ROW || rc == SQLITE_DONE
                     ? CB_OK
                     : cb_error(CB_ERR_DB, "cannot read measurements: %s", sqlite3_errmsg(db->h));
  sqlite3_finalize(s);
  return st;
}
