/* report_sql.c: the report's SQLite helpers (report_sql.h). */
#include "report_sql.h"
#include "records.h" /* CB_PEAK_MIN_REPEATS, CB_PEAK_FAULT_TOLERANCE */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cb_status rp_prepare(sqlite3 *h, const char *what, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(h, sql, -1, st, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "report: querying %s: %s", what, sqlite3_errmsg(h));
  return CB_OK;
}

cb_status rp_step(sqlite3 *h, const char *what, sqlite3_stmt *st, bool *row) {
  int rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return CB_OK;
  return cb_error(CB_ERR_DB, "report: reading %s: %s", what, sqlite3_errmsg(h));
}

const char *rp_col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

double rp_col_num(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

double rp_peak(sqlite3 *h, int64_t machine_id, int threads) {
  sqlite3_stmt *st;
  double v = NAN;
  if (sqlite3_prepare_v2(h,
                         /* As cb_db_get_peak: a brief or faulty row never stands. */
                         "SELECT gflops FROM peaks WHERE machine_id = ?1 AND threads = ?2"
                         " AND repeats >= ?3"
                         " AND (theoretical_gflops IS NULL OR theoretical_gflops <= 0"
                         "      OR gflops <= theoretical_gflops * ?4)"
                         " ORDER BY id DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK)
    return NAN;
  sqlite3_bind_int64(st, 1, machine_id);
  sqlite3_bind_int(st, 2, threads);
  sqlite3_bind_int(st, 3, CB_PEAK_MIN_REPEATS);
  sqlite3_bind_double(st, 4, 1 + CB_PEAK_FAULT_TOLERANCE);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

cb_status rp_nomem(void) {
  return cb_error(CB_ERR_NOMEM, "report: out of memory");
}

cb_status rp_ids_add(int64_t **ids, int *n, int64_t id) {
  int64_t *a = realloc(*ids, (size_t)(*n + 1) * sizeof *a);
  if (!a) return rp_nomem();
  *ids = a;
  a[(*n)++] = id;
  return CB_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Whether text (lines ending in '\n') holds line exactly. */
static bool has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; *p; p = strchr(p, '\n') + 1)
    if (strncmp(p, line, n) == 0 && p[n] == '\n') return true;
  return false;
}

/* Appends "line\n" to the heap string *text of *len bytes in *cap. */
static cb_status append_line(char **text, size_t *len, size_t *cap, const char *line) {
  size_t need = *len + strlen(line) + 2;
  if (need > *cap) {
    char *t = realloc(*text, *cap = need * 2);
    if (!t) return rp_nomem();
    *text = t;
  }
  *len += (size_t)sprintf(*text + *len, "%s\n", line);
  return CB_OK;
}

cb_status rp_run_commands(sqlite3 *h, const int64_t *ids, int n, char **text) {
  *text = NULL;
  if (n == 0) return (*text = strdup("(no runs)")) ? CB_OK : rp_nomem();
  /* Sorted, so that the commands come in run order whoever asked. */
  int64_t *sorted = malloc((size_t)n * sizeof *sorted);
  if (!sorted) return rp_nomem();
  memcpy(sorted, ids, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
  sqlite3_stmt *st;
  cb_status s = rp_prepare(h, "run commands", "SELECT command FROM runs WHERE id = ?1", &st);
  size_t len = 0, cap = 256;
  char *out = malloc(cap);
  if (s == CB_OK && !out) s = rp_nomem();
  if (out) out[0] = '\0';
  for (int i = 0; s == CB_OK && i < n; i++) {
    if (i > 0 && sorted[i] == sorted[i - 1]) continue;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, sorted[i]);
    bool row;
    s = rp_step(h, "run commands", st, &row);
    if (s != CB_OK || !row) continue;
    const char *cmd = rp_col_text(st, 0);
    if (has_line(out, cmd)) continue; /* the same command run twice: once is enough */
    s = append_line(&out, &len, &cap, cmd);
  }
  sqlite3_finalize(st);
  free(sorted);
  if (s != CB_OK) {
    free(out);
    return s;
  }
  *text = out;
  return CB_OK;
}
