/* compare.c: matching two sides' benchmark results (compare.h). Each side
 * is read into a list of its latest result per key; the two lists are
 * then merged. Columns are read through report_sql.h, the one place that
 * maps NULL to "" and NAN. */
#include "compare.h"
#include "report_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_key(const cb_cmp_row *x, const cb_cmp_row *y) {
  int c = strcmp(x->net, y->net);
  if (!c) c = strcmp(x->entry, y->entry);
  if (!c) c = strcmp(x->backend, y->backend);
  if (!c) c = (x->batch > y->batch) - (x->batch < y->batch);
  if (!c) c = (x->threads_key > y->threads_key) - (x->threads_key < y->threads_key);
  return c;
}

static int cmp_rows(const void *a, const void *b) {
  return cmp_key(a, b);
}

static cb_status side_info(sqlite3 *h, const cb_cmp_side *s, cb_cmp_info *info) {
  memset(info, 0, sizeof *info);
  sqlite3_stmt *st;
  const char *sql = s->run_id
                        ? "SELECT r.kind, r.command, r.started, m.hostname, m.cpu_model,"
                          " (SELECT count(*) FROM net_results n WHERE n.run_id = r.id) > 0"
                          " FROM runs r JOIN machines m ON m.id = r.machine_id WHERE r.id = ?1"
                        : "SELECT '', '', '', group_concat(DISTINCT m.hostname),"
                          " group_concat(DISTINCT m.cpu_model), count(DISTINCT r.id)"
                          " FROM net_results n JOIN runs r ON r.id = n.run_id"
                          " JOIN machines m ON m.id = r.machine_id";
  if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  if (s->run_id) sqlite3_bind_int64(st, 1, s->run_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(info->kind, sizeof info->kind, "%s", rp_col_text(st, 0));
    snprintf(info->command, sizeof info->command, "%s", rp_col_text(st, 1));
    snprintf(info->started, sizeof info->started, "%s", rp_col_text(st, 2));
    snprintf(info->host, sizeof info->host, "%s", rp_col_text(st, 3));
    snprintf(info->cpu, sizeof info->cpu, "%s", rp_col_text(st, 4));
    info->runs = sqlite3_column_int(st, 5);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE && s->run_id)
    return cb_error(CB_ERR_INVALID, "no run %lld in the database", (long long)s->run_id);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  return CB_OK;
}

/* The latest result per key of one side, as rows with only side k set. */
static cb_status side_rows(const cb_cmp_side *s, int k, bool any_threads, cb_cmp_row **out,
                           int *n) {
  sqlite3 *h = cb_db_handle(s->db);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(h,
                         "SELECT n.net, CASE n.single_layer WHEN 1 THEN (SELECT name FROM"
                         " layer_results l WHERE l.net_result_id = n.id ORDER BY idx LIMIT 1)"
                         " ELSE '' END, n.backend, n.batch, n.threads, n.fwd_median_ms,"
                         " n.bwd_median_ms, n.total_median_ms FROM net_results n"
                         " WHERE ?1 = 0 OR n.run_id = ?1 ORDER BY n.id",
                         -1, &st, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  sqlite3_bind_int64(st, 1, s->run_id);
  cb_cmp_row *rows = NULL;
  int nrows = 0, rc;
  cb_status ret = CB_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cb_cmp_row r = {.fwd = {NAN, NAN}, .bwd = {NAN, NAN}, .total = {NAN, NAN}};
    snprintf(r.net, sizeof r.net, "%s", rp_col_text(st, 0));
    snprintf(r.entry, sizeof r.entry, "%s", rp_col_text(st, 1));
    snprintf(r.backend, sizeof r.backend, "%s", rp_col_text(st, 2));
    r.batch = sqlite3_column_int64(st, 3);
    r.threads[k] = sqlite3_column_int(st, 4);
    r.threads_key = any_threads ? 0 : r.threads[k];
    r.fwd[k] = rp_col_num(st, 5);
    r.bwd[k] = rp_col_num(st, 6);
    r.total[k] = rp_col_num(st, 7);
    int i = 0;
    while (i < nrows && cmp_key(&rows[i], &r) != 0) i++;
    if (i == nrows) {
      cb_cmp_row *g = realloc(rows, (size_t)(nrows + 1) * sizeof *g);
      if (!g) {
        ret = cb_error(CB_ERR_NOMEM, "compare: out of memory");
        break;
      }
      rows = g;
      nrows++;
    }
    rows[i] = r; /* by id: the latest wins */
  }
  if (ret == CB_OK && rc != SQLITE_DONE)
    ret = cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  sqlite3_finalize(st);
  if (ret != CB_OK) {
    free(rows);
    return ret;
  }
  *out = rows;
  *n = nrows;
  return CB_OK;
}

cb_status cb_compare_results(const cb_cmp_side *a, const cb_cmp_side *b, const cb_cmp_opts *o,
                             cb_cmp_row **rows, int *nrows, cb_cmp_info info[2]) {
  const cb_cmp_side *side[2] = {a, b};
  cb_cmp_row *r[2] = {NULL, NULL};
  int n[2] = {0, 0};
  cb_status s = CB_OK;
  for (int k = 0; k < 2 && s == CB_OK; k++) {
    s = side_info(cb_db_handle(side[k]->db), side[k], &info[k]);
    if (s != CB_OK)
      cb_error_wrap(s, "%s: ", k == 0 ? "A" : "B");
    else
      s = side_rows(side[k], k, o && o->any_threads, &r[k], &n[k]);
  }
  cb_cmp_row *out = s == CB_OK ? malloc(((size_t)n[0] + (size_t)n[1] + 1) * sizeof *out) : NULL;
  if (s == CB_OK && !out) s = cb_error(CB_ERR_NOMEM, "compare: out of memory");
  int m = 0;
  for (int i = 0; s == CB_OK && i < n[0]; i++) out[m++] = r[0][i];
  for (int j = 0; s == CB_OK && j < n[1]; j++) {
    int i = 0;
    while (i < n[0] && cmp_key(&out[i], &r[1][j]) != 0) i++;
    if (i == n[0]) out[i = m++] = r[1][j];
    out[i].threads[1] = r[1][j].threads[1];
    out[i].fwd[1] = r[1][j].fwd[1];
    out[i].bwd[1] = r[1][j].bwd[1];
    out[i].total[1] = r[1][j].total[1];
  }
  free(r[0]);
  free(r[1]);
  if (s != CB_OK) {
    free(out);
    return s;
  }
  qsort(out, (size_t)m, sizeof *out, cmp_rows);
  *rows = out;
  *nrows = m;
  return CB_OK;
}
