/* compare.c: matching two sides' benchmark results and testing the
 * differences (compare.h). Each side is read into a list of its latest
 * result per key, with the stored samples; the two lists are then merged
 * and every matched pass gets its intervals and test (kernels/stats.c).
 * Columns are read through report_sql.h, the one place that maps NULL to
 * "" and NAN. */
#include "compare.h"
#include "report_sql.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A side's result with the samples of each pass (n 0: none stored). */
typedef struct side_row {
  cb_cmp_row r;
  char key_backend[64]; /* "" when the sides are filtered to a backend each */
  double *s[CB_CMP_NPASS];
  int n[CB_CMP_NPASS];
} side_row;

const char *cb_cmp_pass_name(cb_cmp_pass p) {
  static const char *const names[] = {"total", "fwd", "bwd"};
  return p < CB_CMP_NPASS ? names[p] : "?";
}

static int cmp_key(const side_row *x, const side_row *y) {
  int c = strcmp(x->r.net, y->r.net);
  if (!c) c = (x->r.layer >= 0) - (y->r.layer >= 0);
  if (!c) c = strcmp(x->r.entry, y->r.entry);
  if (!c) c = strcmp(x->key_backend, y->key_backend);
  if (!c) c = (x->r.batch > y->r.batch) - (x->r.batch < y->r.batch);
  if (!c) c = (x->r.threads_key > y->r.threads_key) - (x->r.threads_key < y->r.threads_key);
  return c;
}

static int cmp_rows(const void *a, const void *b) {
  const cb_cmp_row *x = a, *y = b;
  int c = strcmp(x->net, y->net);
  /* A net's row, then its layers in order, by index. */
  if (!c) c = (x->layer > y->layer) - (x->layer < y->layer);
  if (!c) c = strcmp(x->entry, y->entry);
  if (!c)
    c = strcmp(x->backend[0][0] ? x->backend[0] : x->backend[1],
               y->backend[0][0] ? y->backend[0] : y->backend[1]);
  if (!c) c = (x->batch > y->batch) - (x->batch < y->batch);
  if (!c) c = (x->threads_key > y->threads_key) - (x->threads_key < y->threads_key);
  return c;
}

static void side_row_free(side_row *r) {
  for (int p = 0; p < CB_CMP_NPASS; p++) {
    free(r->s[p]);
    r->s[p] = NULL;
    r->n[p] = 0;
  }
}

static void side_rows_free(side_row *rows, int n) {
  for (int i = 0; i < n; i++) side_row_free(&rows[i]);
  free(rows);
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

/* Reads one row's stored samples (columns 8..10: fwd, bwd, total) into r;
 * id is its row in table, for the message. */
static cb_status read_samples(sqlite3_stmt *st, const char *table, int64_t id, side_row *r) {
  static const int col[CB_CMP_NPASS] = {10, 8, 9}; /* cb_cmp_pass order */
  for (int p = 0; p < CB_CMP_NPASS; p++) {
    cb_status s = cb_db_samples_parse(rp_col_text(st, col[p]), &r->s[p], &r->n[p]);
    if (s != CB_OK) {
      side_row_free(r);
      return cb_error_wrap(s, "%s row %lld, %s_samples_ms: ", table, (long long)id,
                           cb_cmp_pass_name((cb_cmp_pass)p));
    }
  }
  return CB_OK;
}

/* The results of one side: net_results rows (a net or a .shapes entry),
 * then, with layers, the layer_results rows of whole nets; the same
 * columns either way, so one loop reads both. */
static const char *const side_sql[2] = {
    "SELECT n.net, CASE n.single_layer WHEN 1 THEN (SELECT name FROM layer_results l"
    " WHERE l.net_result_id = n.id ORDER BY idx LIMIT 1) ELSE '' END, n.backend, n.batch,"
    " n.threads, n.fwd_median_ms, n.bwd_median_ms, n.total_median_ms, n.fwd_samples_ms,"
    " n.bwd_samples_ms, n.total_samples_ms, n.id, -1 FROM net_results n"
    " WHERE (?1 = 0 OR n.run_id = ?1) AND (?2 IS NULL OR n.backend = ?2) ORDER BY n.id",
    "SELECT n.net, l.name, n.backend, n.batch, n.threads, l.fwd_median_ms, l.bwd_median_ms,"
    " NULL, l.fwd_samples_ms, l.bwd_samples_ms, NULL, l.id, l.idx FROM layer_results l"
    " JOIN net_results n ON n.id = l.net_result_id WHERE n.single_layer = 0"
    " AND (?1 = 0 OR n.run_id = ?1) AND (?2 IS NULL OR n.backend = ?2) ORDER BY n.id, l.idx",
};

/* Appends (or, for a key already there, replaces: rows come by id, so the
 * latest wins) the rows of query q to *rows. */
static cb_status side_query(const cb_cmp_side *s, int q, int k, bool any_threads,
                            bool match_backend, side_row **rows, int *nrows, int *read) {
  sqlite3 *h = cb_db_handle(s->db);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(h, side_sql[q], -1, &st, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  sqlite3_bind_int64(st, 1, s->run_id);
  if (s->backend)
    sqlite3_bind_text(st, 2, s->backend, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 2);
  int rc;
  cb_status ret = CB_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    side_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.r.net, sizeof r.r.net, "%s", rp_col_text(st, 0));
    snprintf(r.r.entry, sizeof r.r.entry, "%s", rp_col_text(st, 1));
    snprintf(r.r.backend[k], sizeof r.r.backend[k], "%s", rp_col_text(st, 2));
    snprintf(r.key_backend, sizeof r.key_backend, "%s", match_backend ? r.r.backend[k] : "");
    r.r.batch = sqlite3_column_int64(st, 3);
    r.r.threads[k] = sqlite3_column_int(st, 4);
    r.r.threads_key = any_threads ? 0 : r.r.threads[k];
    r.r.layer = sqlite3_column_int(st, 12);
    for (int p = 0; p < CB_CMP_NPASS; p++) r.r.pass[p].median[0] = r.r.pass[p].median[1] = NAN;
    r.r.pass[CB_CMP_FWD].median[k] = rp_col_num(st, 5);
    r.r.pass[CB_CMP_BWD].median[k] = rp_col_num(st, 6);
    r.r.pass[CB_CMP_TOTAL].median[k] = rp_col_num(st, 7);
    ret = read_samples(st, q ? "layer_results" : "net_results", sqlite3_column_int64(st, 11), &r);
    if (ret != CB_OK) break;
    (*read)++;
    int i = 0;
    while (i < *nrows && cmp_key(&(*rows)[i], &r) != 0) i++;
    if (i == *nrows) {
      side_row *g = realloc(*rows, (size_t)(*nrows + 1) * sizeof *g);
      if (!g) {
        side_row_free(&r);
        ret = cb_error(CB_ERR_NOMEM, "compare: out of memory");
        break;
      }
      *rows = g;
      (*nrows)++;
    } else {
      side_row_free(&(*rows)[i]);
    }
    (*rows)[i] = r;
  }
  if (ret == CB_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    ret = cb_error(CB_ERR_DB, "compare: %s", sqlite3_errmsg(h));
  sqlite3_finalize(st);
  return ret;
}

/* The latest result per key of one side, as rows with only side k set;
 * *read counts the rows read (net results and layers). */
static cb_status side_rows(const cb_cmp_side *s, int k, const cb_cmp_opts *o, bool match_backend,
                           side_row **out, int *n, int *read) {
  side_row *rows = NULL;
  int nrows = 0;
  *read = 0;
  cb_status ret = CB_OK;
  for (int q = 0; q < (o && o->layers ? 2 : 1) && ret == CB_OK; q++)
    ret = side_query(s, q, k, o && o->any_threads, match_backend, &rows, &nrows, read);
  if (ret != CB_OK) {
    side_rows_free(rows, nrows);
    return ret;
  }
  *out = rows;
  *n = nrows;
  return CB_OK;
}

/* Fills the statistics of one pass from each side's samples (a and b may
 * be NULL: no samples); the medians are already set. */
static void pass_stats(cb_cmp_stat *t, const double *a, int na, const double *b, int nb,
                       double alpha) {
  const double *v[2] = {a, b};
  int n[2] = {a ? na : 0, b ? nb : 0};
  double conf = 1 - alpha;
  t->ratio = t->median[0] > 0 && !isnan(t->median[1]) ? t->median[1] / t->median[0] : NAN;
  t->ratio_lo = t->ratio_hi = t->p = NAN;
  t->ratio_cover = 0;
  for (int k = 0; k < 2; k++) {
    t->n[k] = n[k];
    t->lo[k] = t->hi[k] = NAN;
    t->cover[k] = n[k] ? cb_median_ci(v[k], n[k], conf, &t->lo[k], &t->hi[k]) : 0;
  }
  if (isnan(t->ratio)) {
    t->verdict = CB_CMP_ONE_SIDED;
    return;
  }
  if (n[0] < CB_CMP_MIN_SAMPLES || n[1] < CB_CMP_MIN_SAMPLES) {
    t->verdict = CB_CMP_NO_TEST;
    return;
  }
  double est;
  t->ratio_cover = cb_ratio_ci(a, na, b, nb, conf, &est, &t->ratio_lo, &t->ratio_hi);
  t->p = cb_mann_whitney(a, na, b, nb, NULL, NULL);
  if (t->p >= alpha)
    t->verdict = CB_CMP_SAME;
  else
    t->verdict = t->ratio > 1 ? CB_CMP_SLOWER : CB_CMP_FASTER;
}

cb_status cb_compare_results(const cb_cmp_side *a, const cb_cmp_side *b, const cb_cmp_opts *o,
                             cb_cmp_row **rows, int *nrows, cb_cmp_info info[2]) {
  double alpha = o && o->alpha != 0 ? o->alpha : 0.05;
  if (!(alpha > 0 && alpha < 0.5))
    return cb_error(CB_ERR_INVALID, "compare: alpha %g is not in (0, 0.5)", alpha);
  /* A backend named on either side: backends are not matched. */
  bool match_backend = !a->backend && !b->backend;
  const cb_cmp_side *side[2] = {a, b};
  side_row *r[2] = {NULL, NULL};
  int n[2] = {0, 0};
  cb_status s = CB_OK;
  for (int k = 0; k < 2 && s == CB_OK; k++) {
    s = side_info(cb_db_handle(side[k]->db), side[k], &info[k]);
    if (s == CB_OK) s = side_rows(side[k], k, o, match_backend, &r[k], &n[k], &info[k].results);
    if (s != CB_OK) cb_error_wrap(s, "%s: ", k == 0 ? "A" : "B");
  }
  side_row *m = s == CB_OK ? calloc((size_t)n[0] + (size_t)n[1] + 1, sizeof *m) : NULL;
  if (s == CB_OK && !m) s = cb_error(CB_ERR_NOMEM, "compare: out of memory");
  cb_cmp_row *out = s == CB_OK ? calloc((size_t)n[0] + (size_t)n[1] + 1, sizeof *out) : NULL;
  if (s == CB_OK && !out) s = cb_error(CB_ERR_NOMEM, "compare: out of memory");
  int count = 0;
  /* m[i] holds A's row (its samples) and, in b_of[i], B's match. */
  int *b_of = s == CB_OK ? malloc(((size_t)n[0] + (size_t)n[1] + 1) * sizeof *b_of) : NULL;
  if (s == CB_OK && !b_of) s = cb_error(CB_ERR_NOMEM, "compare: out of memory");
  for (int i = 0; s == CB_OK && i < n[0]; i++) {
    m[count] = r[0][i];
    b_of[count++] = -1;
  }
  for (int j = 0; s == CB_OK && j < n[1]; j++) {
    int i = 0;
    while (i < n[0] && cmp_key(&m[i], &r[1][j]) != 0) i++;
    if (i == n[0]) {
      i = count++;
      m[i].r = r[1][j].r;
      m[i].key_backend[0] = 0;
      for (int p = 0; p < CB_CMP_NPASS; p++) m[i].s[p] = NULL, m[i].n[p] = 0;
    }
    b_of[i] = j;
    cb_cmp_row *x = &m[i].r;
    snprintf(x->backend[1], sizeof x->backend[1], "%s", r[1][j].r.backend[1]);
    x->threads[1] = r[1][j].r.threads[1];
    for (int p = 0; p < CB_CMP_NPASS; p++) x->pass[p].median[1] = r[1][j].r.pass[p].median[1];
  }
  for (int i = 0; s == CB_OK && i < count; i++) {
    out[i] = m[i].r;
    const side_row *bs = b_of[i] >= 0 ? &r[1][b_of[i]] : NULL;
    for (int p = 0; p < CB_CMP_NPASS; p++)
      pass_stats(&out[i].pass[p], m[i].s[p], m[i].n[p], bs ? bs->s[p] : NULL, bs ? bs->n[p] : 0,
                 alpha);
  }
  /* m's A rows share r[0]'s samples; free them once, through r. */
  free(m);
  free(b_of);
  side_rows_free(r[0], n[0]);
  side_rows_free(r[1], n[1]);
  if (s != CB_OK) {
    free(out);
    return s;
  }
  qsort(out, (size_t)count, sizeof *out, cmp_rows);
  *rows = out;
  *nrows = count;
  return CB_OK;
}

void cb_compare_geomean(const cb_cmp_row *rows, int n, cb_cmp_pass p, double conf, double *g,
                        double *lo, double *hi, int *matched) {
  *g = *lo = *hi = NAN;
  *matched = 0;
  double *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
  if (!r) return;
  for (int i = 0; i < n; i++) {
    const cb_cmp_stat *t = &rows[i].pass[p];
    if (rows[i].layer < 0 && t->median[0] > 0 && t->median[1] > 0)
      r[(*matched)++] = t->median[1] / t->median[0];
  }
  if (*matched) *g = cb_geomean_ci(r, *matched, conf, lo, hi);
  free(r);
}
