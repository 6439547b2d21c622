/* cache_rows.c: the tune_cache table's rows (cache.h in autotune is the
 * interface: lookup order, export files): upsert, exact and newest-of-a-
 * generation lookups, a snapshot walk, clearing, and whether a device
 * generation has any row. */
#include "db_internal.h"

#include <stdio.h>
#include <string.h>

/* What every tune_cache query returns, in the order read_cache_row()
 * reads it. Provenance comes from the row itself when it was imported, or
 * from the run that measured it when it is local. */
#define CACHE_COLS                                                                                 \
  "SELECT p.key, c.device_fp, c.build_fp, c.backend, c.variant, c.params, c.median_ms,"            \
  " c.min_ms, c.max_ms, c.mad_ms, c.samples, c.runner_up, c.runner_up_median_ms, c.origin,"        \
  " c.measured, c.measurement_id, c.source, COALESCE(c.hostname, r.hostname),"                     \
  " COALESCE(c.cpu_model, ma.cpu_model), COALESCE(c.isa_level, ma.isa_level),"                     \
  " COALESCE(c.cores, ma.cores), COALESCE(c.git_rev, b.git_rev), COALESCE(c.estimate_ms, 0),"      \
  " COALESCE(c.spread, -1), COALESCE(c.load1, -1), c.confidence, c.confidence_why"                 \
  " FROM tune_cache c JOIN problems p ON p.id = c.problem_id"                                      \
  " LEFT JOIN measurements m ON m.id = c.measurement_id LEFT JOIN runs r ON r.id = m.run_id"       \
  " LEFT JOIN machines ma ON ma.id = r.machine_id LEFT JOIN builds b ON b.id = r.build_id"

// clang-format off
/* An upsert: the row keeps its id, everything else is the new entry's. */
static const char cache_put_sql[] =
    "INSERT INTO tune_cache (problem_id, device_fp, device_generation, build_fp, backend,"
        " variant, params, median_ms, min_ms, max_ms, mad_ms, samples, runner_up,"
        " runner_up_median_ms, source, origin, measured, measurement_id, hostname, cpu_model,"
        " isa_level, cores, git_rev, estimate_ms, spread, load1, confidence, confidence_why)"
        " VALUES (:problem_id, :device_fp, :device_generation, :build_fp, :backend,"
        " :variant, :params, :median_ms, :min_ms, :max_ms, :mad_ms, :samples, :runner_up,"
        " :runner_up_median_ms, :source, :origin, :measured, :measurement_id, :hostname,"
        " :cpu_model, :isa_level, :cores, :git_rev, :estimate_ms, :spread, :load1, :confidence,"
        " :confidence_why)"
        " ON CONFLICT (problem_id, device_fp, build_fp, source) DO UPDATE SET"
        " device_generation = excluded.device_generation, backend = excluded.backend,"
        " variant = excluded.variant, params = excluded.params, median_ms = excluded.median_ms,"
        " min_ms = excluded.min_ms, max_ms = excluded.max_ms, mad_ms = excluded.mad_ms,"
        " samples = excluded.samples, runner_up = excluded.runner_up,"
        " runner_up_median_ms = excluded.runner_up_median_ms, origin = excluded.origin,"
        " measured = excluded.measured, measurement_id = excluded.measurement_id,"
        " hostname = excluded.hostname, cpu_model = excluded.cpu_model,"
        " isa_level = excluded.isa_level, cores = excluded.cores, git_rev = excluded.git_rev,"
        " estimate_ms = excluded.estimate_ms, spread = excluded.spread, load1 = excluded.load1,"
        " confidence = excluded.confidence, confidence_why = excluded.confidence_why";

static const char cache_get_sql[] =
    CACHE_COLS " WHERE p.key = :key AND c.device_fp = :device_fp"
                                " AND c.build_fp = :build_fp AND c.source = :source";

/* Newest first; the id breaks ties between rows measured in the same
     * millisecond, so the answer never depends on the query plan. */
static const char cache_newest_sql[] =
    CACHE_COLS " WHERE p.key = :key AND c.device_generation = :generation"
                                   " ORDER BY c.measured DESC, c.id DESC LIMIT 1";

static const char cache_each_sql[] =
    CACHE_COLS " ORDER BY p.key, c.device_fp, c.build_fp, c.source";

static const char cache_clear_sql[] =
    "DELETE FROM tune_cache";
/* Whether a generation has any row: EXISTS stops at the first, which
 * tune_cache_device_generation (migration 7) finds without a scan. */
static const char cache_generation_sql[] =
    "SELECT EXISTS (SELECT 1 FROM tune_cache WHERE device_generation = :generation LIMIT 1)";
// clang-format on

/* Text column i into buf ("" for NULL); false when it does not fit. */
static bool col_text(sqlite3_stmt *s, int i, char *buf, size_t len) {
  const unsigned char *t = sqlite3_column_text(s, i);
  int n = snprintf(buf, len, "%s", t ? (const char *)t : "");
  return n >= 0 && (size_t)n < len;
}

/* The current row of a CACHE_COLS query into e, *imported and prov (both
 * may be NULL). Rows are checked when stored, so a value that does not fit
 * means the file was edited or written by another convbench. */
static cb_status read_cache_row(cb_db *db, sqlite3_stmt *s, cb_cache_entry *e, bool *imported,
                                cb_cache_prov *prov) {
  memset(e, 0, sizeof *e);
  char params[256], source[16];
  bool ok =
      col_text(s, 0, e->key, sizeof e->key) && col_text(s, 1, e->device_fp, sizeof e->device_fp) &&
      col_text(s, 2, e->build_fp, sizeof e->build_fp) &&
      col_text(s, 3, e->backend, sizeof e->backend) &&
      col_text(s, 4, e->variant, sizeof e->variant) && col_text(s, 5, params, sizeof params) &&
      col_text(s, 11, e->runner_up, sizeof e->runner_up) &&
      col_text(s, 13, e->origin, sizeof e->origin) &&
      col_text(s, 14, e->measured, sizeof e->measured) && col_text(s, 16, source, sizeof source);
  cb_cache_prov unused;
  if (!prov) prov = &unused;
  memset(prov, 0, sizeof *prov);
  ok = ok && col_text(s, 17, prov->hostname, sizeof prov->hostname) &&
       col_text(s, 18, prov->cpu_model, sizeof prov->cpu_model) &&
       col_text(s, 19, prov->isa_level, sizeof prov->isa_level) &&
       col_text(s, 21, prov->git_rev, sizeof prov->git_rev) &&
       col_text(s, 25, e->confidence, sizeof e->confidence) &&
       col_text(s, 26, e->confidence_why, sizeof e->confidence_why);
  if (!ok)
    return cb_error(CB_ERR_DB,
                    "database '%s': a tune_cache row for %.100s holds a value too long "
                    "for this build",
                    db->path, e->key);
  if (cb_params_parse(params, e->params, &e->nparams) != CB_OK)
    return cb_error(CB_ERR_DB, "database '%s': the tune_cache row for %.100s has params '%.64s'",
                    db->path, e->key, params);
  e->timing = (cb_timing){.median = sqlite3_column_double(s, 6),
                          .min = sqlite3_column_double(s, 7),
                          .max = sqlite3_column_double(s, 8),
                          .mad = sqlite3_column_double(s, 9),
                          .samples = sqlite3_column_int(s, 10)};
  e->runner_up_median = sqlite3_column_double(s, 12);
  e->estimate = sqlite3_column_double(s, 22);
  e->spread = sqlite3_column_double(s, 23);
  e->load = sqlite3_column_double(s, 24);
  e->measurement_id = sqlite3_column_int64(s, 15); /* NULL reads as 0 */
  prov->cores = sqlite3_column_int(s, 20);
  if (imported) *imported = strcmp(source, "imported") == 0;
  return CB_OK;
}

/* Steps a CACHE_COLS query for at most one row, then resets it. */
static cb_status query_cache_row(cb_binder *b, cb_cache_entry *out, bool *found) {
  *found = false;
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW) {
    st = read_cache_row(b->db, b->s, out, NULL, NULL);
    *found = st == CB_OK;
  } else if (rc != SQLITE_DONE) {
    st = cb_db_fail(b->db, "cannot read the tune cache");
  }
  sqlite3_reset(b->s);
  return st;
}

static cb_status put_cache_row(cb_db *db, const cb_cache_entry *e, const char *generation,
                               bool imported, const cb_cache_prov *prov) {
  cb_problem p;
  cb_status st = cb_problem_parse(e->key, &p);
  int64_t problem_id = 0;
  if (st == CB_OK) st = cb_db_put_problem(db, &p, &problem_id);
  if (st != CB_OK) return st;
  char params[256], now[32];
  cb_params_format(e->params, e->nparams, params, sizeof params);
  cb_iso_now(now, sizeof now);
  cb_binder b = cb_db_stmt(db, ST_CACHE_PUT, cache_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":problem_id", problem_id);
  cb_bind_text(&b, ":device_fp", e->device_fp);
  cb_bind_text(&b, ":device_generation", generation);
  cb_bind_text(&b, ":build_fp", e->build_fp);
  cb_bind_text(&b, ":backend", e->backend);
  cb_bind_text(&b, ":variant", e->variant);
  cb_bind_text(&b, ":params", params);
  cb_bind_timing(&b, "", &e->timing);
  cb_bind_text(&b, ":runner_up", e->runner_up);
  cb_bind_double(&b, ":runner_up_median_ms", e->runner_up_median);
  cb_bind_text(&b, ":source", imported ? "imported" : "local");
  cb_bind_text(&b, ":origin", imported ? e->origin : "local");
  cb_bind_text(&b, ":measured", e->measured[0] ? e->measured : now);
  /* Unknown confidence (an old export) stays NULL, as in old rows. */
  bool known = e->confidence[0] != '\0';
  cb_bind_reading(&b, ":estimate_ms", e->estimate, e->estimate > 0);
  cb_bind_reading(&b, ":spread", e->spread, known && e->spread >= 0);
  cb_bind_reading(&b, ":load1", e->load, known && e->load >= 0);
  if (known) {
    cb_bind_text(&b, ":confidence", e->confidence);
    cb_bind_text(&b, ":confidence_why", e->confidence_why);
  } else {
    cb_bind_null(&b, ":confidence");
    cb_bind_null(&b, ":confidence_why");
  }
  if (imported) {
    cb_bind_null(&b, ":measurement_id");
    cb_bind_text(&b, ":hostname", prov->hostname);
    cb_bind_text(&b, ":cpu_model", prov->cpu_model);
    cb_bind_text(&b, ":isa_level", prov->isa_level);
    cb_bind_int(&b, ":cores", prov->cores);
    cb_bind_text(&b, ":git_rev", prov->git_rev);
  } else {
    cb_bind_int(&b, ":measurement_id", e->measurement_id);
    cb_bind_null(&b, ":hostname");
    cb_bind_null(&b, ":cpu_model");
    cb_bind_null(&b, ":isa_level");
    cb_bind_null(&b, ":cores");
    cb_bind_null(&b, ":git_rev");
  }
  return cb_db_exec(&b, "cannot record a tune cache entry");
}

cb_status cb_db_cache_put(cb_db *db, const cb_cache_entry *e, const char *generation, bool imported,
                          const cb_cache_prov *prov) {
  if (!db || !e || !generation || (imported && !prov))
    return cb_error(CB_ERR_INVALID, "cb_db_cache_put: missing arguments");
  if (!imported && e->measurement_id <= 0)
    return cb_error(CB_ERR_INVALID,
                    "cache entry for %.100s: a local entry needs the measurement it came from",
                    e->key);
  bool owned = false;
  cb_status st = cb_db_tx_enter(db, &owned);
  if (st == CB_OK) st = cb_db_tx_leave(db, owned, put_cache_row(db, e, generation, imported, prov));
  if (st != CB_OK) return cb_error_wrap(st, "cache entry for %.100s: ", e->key);
  return CB_OK;
}

cb_status cb_db_cache_get(cb_db *db, const char *key, const char *device_fp, const char *build_fp,
                          bool imported, cb_cache_entry *out, bool *found) {
  cb_binder b = cb_db_stmt(db, ST_CACHE_GET, cache_get_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":key", key);
  cb_bind_text(&b, ":device_fp", device_fp);
  cb_bind_text(&b, ":build_fp", build_fp);
  cb_bind_text(&b, ":source", imported ? "imported" : "local");
  return query_cache_row(&b, out, found);
}

cb_status cb_db_cache_newest(cb_db *db, const char *key, const char *generation,
                             cb_cache_entry *out, bool *found) {
  cb_binder b = cb_db_stmt(db, ST_CACHE_NEWEST, cache_newest_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":key", key);
  cb_bind_text(&b, ":generation", generation);
  return query_cache_row(&b, out, found);
}

cb_status cb_db_cache_each(cb_db *db, cb_cache_row_fn fn, void *user) {
  cb_binder b = cb_db_stmt(db, ST_CACHE_EACH, cache_each_sql);
  if (b.st != CB_OK) return b.st;
  /* One statement stepped to the end reads one snapshot, even while
   * other processes write. */
  cb_cache_entry e;
  cb_cache_prov prov;
  bool imported = false;
  cb_status st = CB_OK;
  int rc;
  while ((rc = sqlite3_step(b.s)) == SQLITE_ROW) {
    st = read_cache_row(db, b.s, &e, &imported, &prov);
    if (st != CB_OK || fn(&e, imported, &prov, user)) break;
  }
  if (st == CB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = cb_db_fail(db, "cannot read the tune cache");
  sqlite3_reset(b.s);
  return st;
}

cb_status cb_db_cache_clear(cb_db *db, int64_t *deleted) {
  cb_binder b = cb_db_stmt(db, ST_CACHE_CLEAR, cache_clear_sql);
  if (b.st != CB_OK) return b.st;
  cb_status st = cb_db_exec(&b, "cannot clear the tune cache");
  if (deleted) *deleted = st == CB_OK ? sqlite3_changes64(db->h) : 0;
  return st;
}

cb_status cb_db_cache_generation_known(cb_db *db, const char *generation, bool *found) {
  if (!db || !generation || !found)
    return cb_error(CB_ERR_INVALID, "cb_db_cache_generation_known: missing arguments");
  *found = false;
  cb_binder b = cb_db_stmt(db, ST_CACHE_GENERATION, cache_generation_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":generation", generation);
  int64_t any = 0;
  cb_status st = cb_db_query_id(&b, "cannot read the tune cache", &any);
  if (st == CB_OK) *found = any != 0;
  return st;
}
