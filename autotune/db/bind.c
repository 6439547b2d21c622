/* bind.c: the statement helpers every file of the database layer uses:
 * persistent statements by slot, binding by parameter name, stepping.
 * Every value is bound to a prepared statement, never pasted into SQL. */
#include "db_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cb_status cb_db_fail(cb_db *db, const char *what) {
  return cb_error(CB_ERR_DB, "database '%s': %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

cb_binder cb_db_stmt(cb_db *db, cb_stmt_id id, const char *sql) {
  cb_binder b = {db, NULL, CB_OK};
  if (!db->stmt[id]) {
    /* PERSISTENT: these live as long as the connection. */
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[id], NULL);
    if (rc != SQLITE_OK) {
      b.st = cb_db_fail(db, "cannot prepare a statement");
      return b;
    }
  }
  sqlite3_reset(db->stmt[id]);
  sqlite3_clear_bindings(db->stmt[id]);
  b.s = db->stmt[id];
  return b;
}

/* The index of parameter name; 0 (and the binder failed) when the
 * statement has none, which is a bug in the caller, not in the data. */
static int param(cb_binder *b, const char *name) {
  if (b->st != CB_OK) return 0;
  int i = sqlite3_bind_parameter_index(b->s, name);
  if (i == 0)
    b->st = cb_error(CB_ERR_INTERNAL, "database '%s': statement has no parameter %s", b->db->path,
                     name);
  return i;
}

static void bind_rc(cb_binder *b, int rc) {
  if (rc != SQLITE_OK && b->st == CB_OK) b->st = cb_db_fail(b->db, "cannot bind a value");
}

void cb_bind_text(cb_binder *b, const char *name, const char *v) {
  int i = param(b, name);
  if (i)
    bind_rc(b,
            v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(b->s, i));
}

void cb_bind_opt_text(cb_binder *b, const char *name, const char *v) {
  cb_bind_text(b, name, v && *v ? v : NULL);
}

void cb_bind_int(cb_binder *b, const char *name, int64_t v) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_int64(b->s, i, v));
}

void cb_bind_double(cb_binder *b, const char *name, double v) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_double(b->s, i, v));
}

void cb_bind_null(cb_binder *b, const char *name) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_null(b->s, i));
}

void cb_bind_reading(cb_binder *b, const char *name, double v, bool known) {
  if (known && isfinite(v))
    cb_bind_double(b, name, v);
  else
    cb_bind_null(b, name);
}

void cb_bind_timing(cb_binder *b, const char *p, const cb_timing *t) {
  static const char *const stat[] = {"median_ms", "min_ms", "max_ms", "mad_ms"};
  const double v[] = {t->median, t->min, t->max, t->mad};
  const char *sep = *p ? "_" : "";
  char name[64];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, ":%s%s%s", p, sep, stat[i]);
    cb_bind_reading(b, name, v[i], t->samples > 0);
  }
  snprintf(name, sizeof name, ":%s%ssamples", p, sep);
  cb_bind_int(b, name, t->samples);
}

void cb_bind_now(cb_binder *b, const char *name) {
  char now[32];
  cb_iso_now(now, sizeof now);
  cb_bind_text(b, name, now);
}

cb_status cb_db_exec(cb_binder *b, const char *what) {
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = rc == SQLITE_DONE ? CB_OK : cb_db_fail(b->db, what);
  sqlite3_reset(b->s);
  return st;
}

cb_status cb_db_insert(cb_binder *b, const char *what, int64_t *id) {
  cb_status st = cb_db_exec(b, what);
  if (st == CB_OK) *id = sqlite3_last_insert_rowid(b->db->h);
  return st;
}

cb_status cb_db_query_id(cb_binder *b, const char *what, int64_t *id) {
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64(b->s, 0);
  else if (rc == SQLITE_DONE)
    st = cb_error(CB_ERR_DB, "database '%s': %s: no such row", b->db->path, what);
  else
    st = cb_db_fail(b->db, what);
  sqlite3_reset(b->s);
  return st;
}

int cb_db_query_int(sqlite3 *h, const char *sql, int64_t *out) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void cb_bind_samples(cb_binder *b, const char *name, const double *v, int n) {
  if (n <= 0 || !v) {
    cb_bind_null(b, name);
    return;
  }
  /* "[" + up to 24 bytes a value + "]": %.8g keeps a microsecond of a
   * 10 s sample, finer than any timing on a shared machine means. */
  size_t cap = 2 + 24 * (size_t)n, used = 0;
  char *text = malloc(cap);
  if (!text) {
    bind_rc(b, SQLITE_NOMEM);
    return;
  }
  text[used++] = '[';
  for (int i = 0; i < n; i++)
    used += (size_t)snprintf(text + used, cap - used, "%s%.8g", i ? "," : "",
                             isfinite(v[i]) ? v[i] : 0.0);
  snprintf(text + used, cap - used, "]");
  cb_bind_text(b, name, text);
  free(text);
}

cb_status cb_db_samples_parse(const char *text, double **out, int *n) {
  *out = NULL;
  *n = 0;
  if (!text || !*text) return CB_OK;
  const char *s = text;
  while (*s == ' ') s++;
  if (*s++ != '[') return cb_error(CB_ERR_PARSE, "samples: expected '[' in \"%.40s\"", text);
  int cap = 16, count = 0;
  double *v = malloc((size_t)cap * sizeof *v);
  if (!v) return cb_error(CB_ERR_NOMEM, "out of memory reading samples");
  while (*s == ' ') s++;
  while (*s != ']') {
    char *end;
    double x = strtod(s, &end);
    if (end == s || !isfinite(x)) {
      free(v);
      return cb_error(CB_ERR_PARSE, "samples: bad number at \"%.20s\"", s);
    }
    if (count == cap) {
      if (cap > (1 << 24)) {
        free(v);
        return cb_error(CB_ERR_PARSE, "samples: more than %d values", cap);
      }
      double *grown = realloc(v, 2 * (size_t)cap * sizeof *v);
      if (!grown) {
        free(v);
        return cb_error(CB_ERR_NOMEM, "out of memory reading samples");
      }
      v = grown;
      cap *= 2;
    }
    v[count++] = x;
    s = end;
    while (*s == ' ') s++;
    if (*s == ',')
      s++;
    else if (*s != ']') {
      free(v);
      return cb_error(CB_ERR_PARSE, "samples: expected ',' or ']' at \"%.20s\"", s);
    }
    while (*s == ' ') s++;
  }
  *out = v;
  *n = count;
  return CB_OK;
}
