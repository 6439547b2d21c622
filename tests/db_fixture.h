/* db_fixture.h: what the database tests (test_db.c, test_cache.c) share: a
 * private temporary directory for their files, recognisable records to
 * write, child processes that write at once, and plain-SQL reading, so
 * that rows are checked column by column without going through the code
 * that wrote them (a value in the wrong column or dropped shows).
 *
 * Functions are static inline so that a test using only some of them
 * builds without unused-function warnings. */
#ifndef CB_DB_FIXTURE_H
#define CB_DB_FIXTURE_H

#include "cb_test.h"
#include "devstate.h"
#include "machine.h"

#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ---- records and processes ------------------------------------------------ */

/* A machine with every field set to something recognisable. */
static inline cb_machine fake_machine(const char *fingerprint) {
  cb_machine m = {
      .hostname = "node-7",
      .os = "Linux 6.1.0 x86_64",
      .cpu_vendor = "GenuineTest",
      .cpu_model = "Test CPU 9000",
      .isa = "sse4_2 avx avx2 fma",
      .isa_level = "avx2",
      .packages = 2,
      .numa_nodes = 4,
      .cores = 64,
      .pus = 128,
      .l1d_bytes = 48 << 10,
      .l2_bytes = 2 << 20,
      .l3_bytes = (int64_t)105 << 20,
      .l2_count = 64,
      .l3_count = 2,
      .mem_bytes = (int64_t)512 << 30,
      .topology = "2 packages, 64 cores",
  };
  snprintf(m.fingerprint, sizeof m.fingerprint, "%s", fingerprint);
  return m;
}

/* Device samples taken around a measurement, every reading set (the
 * GPU's where a table keeps them). */
static const cb_devstate before_state = {.t = 1700000000.25,
                                         .cpu_mhz_reported = 2600,
                                         .cpu_mhz_measured = 3100.5,
                                         .load1 = 0.5,
                                         .busy = -1,
                                         .temp_c = NAN};
/* With a GPU: readings NVML could not give (NAN, "") must be NULL. */
static const cb_devstate after_state = {.t = 1700000001.5,
                                        .cpu_mhz_measured = 2900,
                                        .load1 = 1.25,
                                        .busy = 0.75,
                                        .temp_c = 61.5,
                                        .has_gpu = true,
                                        .gpu_index = 1,
                                        .gpu = {.name = "NVIDIA H100 80GB HBM3",
                                                .sm_mhz = 1980,
                                                .mem_mhz = 2619,
                                                .temp_c = NAN,
                                                .power_w = 312.5,
                                                .util = 0.97,
                                                .throttle = "sw_power_cap"}};

/* Writes n bytes of data to path (a failed check when it cannot). */
static inline void write_file(const char *path, const unsigned char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK_EQ_INT(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* Forks a child that runs fn(user) and leaves with _exit: status 1 when one
 * of its own checks failed (the parent's earlier failures do not count), 0
 * otherwise. _exit, because a child that changed its uid cannot be
 * inspected by the leak checker; output is flushed first on both sides. */
static inline pid_t child_start(void (*fn)(void *user), void *user) {
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    cb_test_failures = 0;
    fn(user);
    fflush(NULL);
    _exit(cb_test_failures ? 1 : 0);
  }
  return pid;
}

/* Waits for pid; its exit status, or 128 + the signal that ended it. */
static inline int child_wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
