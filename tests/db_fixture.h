/* db_fixture.h: what the database tests (test_db.c, test_cache.c) share: a
 * private temporary directory for their files, and plain-SQL reading, so
 * that rows are checked column by column without going through the code
 * that wrote them (a value in the wrong column or dropped shows).
 *
 * Functions are static inline so that a test using only some of them
 * builds without unused-function warnings. */
#ifndef CB_DB_FIXTURE_H
#define CB_DB_FIXTURE_H

#include "cb_test.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

/* Makes tmpdir, $TMPDIR/<prefix>.XXXXXX (or under /tmp); false after
 * printing why when it cannot. */
static inline bool tmpdir_make(const char *prefix) {
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX", base && *base ? base : "/tmp", prefix);
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return false;
  }
  return true;
}

static inline int tmpdir_remove_entry(const char *path, const struct stat *st, int flag,
                                      struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* Removes tmpdir and everything in it. */
static inline void tmpdir_remove(void) {
  nftw(tmpdir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/name in a rotating static buffer (a few paths live at once). */
static inline const char *tmp_path(const char *name) {
  static char buf[4][512];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
  return p;
}

/* ---- plain-SQL reading ---------------------------------------------------- */

/* One integer from sql (-999 when the query fails). */
static inline int64_t sql_int(sqlite3 *h, const char *sql) {
  sqlite3_stmt *s;
  int64_t v = -999;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "sql_int: %s: %s\n", sql, sqlite3_errmsg(h));
    return v;
  }
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* A prepared query positioned on its first row, or NULL (counted as a
 * failed check) when there is none. */
static inline sqlite3_stmt *row(sqlite3 *h, const char *sql) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);
  CHECK_MSG(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(h));
  if (rc != SQLITE_OK) return NULL;
  rc = sqlite3_step(s);
  CHECK_MSG(rc == SQLITE_ROW, "%s: no row (%s)", sql, sqlite3_errmsg(h));
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(s);
    return NULL;
  }
  return s;
}

/* The index of column name in s; -1 (and a failed check) when absent. */
static inline int col(sqlite3_stmt *s, const char *name) {
  for (int i = 0; i < sqlite3_column_count(s); i++)
    if (strcmp(sqlite3_column_name(s, i), name) == 0) return i;
  CHECK_MSG(0, "no column %s", name);
  return -1;
}

static inline const char *col_text(sqlite3_stmt *s, const char *name) {
  int i = col(s, name);
  const char *t = i < 0 ? NULL : (const char *)sqlite3_column_text(s, i);
  return t ? t : "(NULL)";
}

static inline int64_t col_int(sqlite3_stmt *s, const char *name) {
  int i = col(s, name);
  return i < 0 ? -999 : sqlite3_column_int64(s, i);
}

static inline double col_double(sqlite3_stmt *s, const char *name) {
  int i = col(s, name);
  return i < 0 ? -999 : sqlite3_column_double(s, i);
}

static inline bool col_null(sqlite3_stmt *s, const char *name) {
  int i = col(s, name);
  return i >= 0 && sqlite3_column_type(s, i) == SQLITE_NULL;
}

#endif
