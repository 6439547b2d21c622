/* db.c: the database handle: opening (checks on the path, creation
 * without a half-made file, refusing files that are not ours or are
 * newer), migrating forward (migrations.c holds the list), WAL mode and
 * the busy timeout, closing, and transactions.
 *
 * A cb_db is used by one thread at a time; processes share a file through
 * WAL mode and the busy timeout. */
#include "db_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest database path accepted; buffers for the path plus a suffix
 * (".new-XXXXXX", "-wal") are sized from it. */
#define CB_PATH_MAX 4096

/* How long a writer waits for another process's transaction to finish. */
#define CB_BUSY_TIMEOUT_MS 10000

/* ---- opening ------------------------------------------------------------------------ */

/* The directory part of path ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t len) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, len, ".");
  else if (slash == path)
    snprintf(dir, len, "/");
  else
    snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Refuses paths that cannot work before SQLite sees them, with a reason
 * that names what to fix; sets *exists to whether the file is there. */
static cb_status check_path(const char *path, bool *exists) {
  char dir[CB_PATH_MAX];
  dir_of(path, dir, sizeof dir);
  struct stat st;
  *exists = stat(path, &st) == 0;
  if (*exists) {
    if (S_ISDIR(st.st_mode))
      return cb_error(CB_ERR_DB, "cannot open database '%s': it is a directory", path);
    if (access(path, R_OK | W_OK) != 0)
      return cb_error(CB_ERR_DB, "cannot write database '%s': the file is read-only (%s)", path,
                      strerror(errno));
    /* WAL mode keeps path-wal and path-shm beside the database. */
    if (access(dir, W_OK | X_OK) != 0)
      return cb_error(CB_ERR_DB,
                      "cannot write database '%s': directory '%s' is not writable (%s), and the "
                      "database needs its -wal and -shm files there",
                      path, dir, strerror(errno));
    return CB_OK;
  }
  if (errno != ENOENT)
    return cb_error(CB_ERR_DB, "cannot open database '%s': %s", path, strerror(errno));
  if (stat(dir, &st) != 0)
    return cb_error(CB_ERR_DB, "cannot create database '%s': directory '%s' does not exist", path,
                    dir);
  if (!S_ISDIR(st.st_mode))
    return cb_error(CB_ERR_DB, "cannot create database '%s': '%s' is not a directory", path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return cb_error(CB_ERR_DB, "cannot create database '%s': directory '%s' is not writable (%s)",
                    path, dir, strerror(errno));
  return CB_OK;
}

/* What is in the file: nothing yet, ours (at some version), or not ours. */
static cb_status check_owner(cb_db *db, int64_t *version) {
  /* One statement, so one snapshot: read separately, the three could
   * straddle another process's migration and look like a foreign file. */
  static const char *const sql = "SELECT (SELECT application_id FROM pragma_application_id),"
                                 " (SELECT user_version FROM pragma_user_version),"
                                 " (SELECT count(*) FROM sqlite_master)";
  int64_t app = 0, objects = 0;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    app = sqlite3_column_int64(s, 0);
    *version = sqlite3_column_int64(s, 1);
    objects = sqlite3_column_int64(s, 2);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if ((rc & 0xff) == SQLITE_NOTADB)
    return cb_error(CB_ERR_DB, "'%s' is not an SQLite database (%s)", db->path,
                    sqlite3_errmsg(db->h));
  if (rc != SQLITE_OK) return cb_db_fail(db, "cannot read the schema");

  bool empty = app == 0 && *version == 0 && objects == 0;
  if (!empty && app != CB_APPLICATION_ID)
    return cb_error(
        CB_ERR_DB,
        "'%s' is an SQLite database but not a convbench one (it has other tables and no "
        "convbench schema)",
        db->path);
  if (*version > cb_db_schema_version())
    return cb_error(CB_ERR_DB,
                    "'%s' was written by a newer convbench (schema %lld, this build knows %d)",
                    db->path, (long long)*version, cb_db_schema_version());
  return CB_OK;
}

/* Connection settings: NORMAL sync is durable in WAL mode except for the
 * last transactions on power loss, which a benchmark can afford; foreign
 * keys are off by default in SQLite. */
static cb_status configure(cb_db *db) {
  if (sqlite3_exec(db->h, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL,
                   NULL) != SQLITE_OK)
    return cb_db_fail(db, "cannot configure the connection");
  return CB_OK;
}

/* WAL mode, so readers never block the writer and several processes can
 * record into one file. It is a property of the file: a no-op once set.
 * Switching needs every other connection gone, and SQLite answers BUSY at
 * once instead of waiting, so this waits here (up to the busy timeout). */
static cb_status set_wal(cb_db *db) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
    return cb_db_fail(db, "cannot set WAL mode");
  int rc;
  for (int waited_ms = 0;; waited_ms += 10) {
    rc = sqlite3_step(s);
    if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= CB_BUSY_TIMEOUT_MS) break;
    sqlite3_reset(s);
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  char mode[16] = "";
  if (rc == SQLITE_ROW) snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) return cb_db_fail(db, "cannot set WAL mode");
  if (strcmp(mode, "wal") != 0)
    cb_log(CB_LOG_WARN, "database '%s': journal mode is %s, not wal (concurrent writers will wait)",
           db->path, mode);
  return CB_OK;
}

/* Applies migration `to` (taking the schema to version `to`) in one
 * transaction. Another process may have done it since we looked, so the
 * version is read again under the write lock. */
static cb_status migrate_one(cb_db *db, int to) {
  char what[64];
  snprintf(what, sizeof what, "cannot upgrade to schema %d", to);
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return cb_db_fail(db, what);
  int64_t version = 0;
  int rc = cb_db_query_int(db->h, "PRAGMA user_version", &version);
  for (const char *const *sql = cb_db_migrations[to - 1]; rc == SQLITE_OK && version < to && *sql;
       sql++)
    rc = sqlite3_exec(db->h, *sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK && version < to) {
    /* Pragmas take no parameters; to is our own integer, not user data. */
    char bump[48];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", to);
    rc = sqlite3_exec(db->h, bump, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    cb_status st = cb_db_fail(db, what);
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return CB_OK;
}

/* Removes file and its journal companions. */
static void remove_files(const char *file) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char name[CB_PATH_MAX + 32];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "%s%s", file, suffix[i]);
    unlink(name);
  }
}

/* A cb_db for path, not yet opened. */
static cb_db *db_new(const char *path) {
  cb_db *db = calloc(1, sizeof *db);
  if (db && !(db->path = strdup(path))) {
    free(db);
    db = NULL;
  }
  return db;
}

/* Opens file, an existing file (SQLite is never asked to create one:
 * create_new() does that), checks that it is ours and brings its schema
 * up to date. Messages name db->path, the path the caller asked for. */
static cb_status open_file(cb_db *db, const char *file) {
  int rc = sqlite3_open_v2(file, &db->h, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    return cb_error(CB_ERR_DB, "cannot open database '%s': %s", db->path,
                    db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(db->h, 1);
  sqlite3_busy_timeout(db->h, CB_BUSY_TIMEOUT_MS);

  /* SQLite silently falls back to read-only when it cannot write the file
   * (a read-only mount, say); a benchmark would then fail at its first
   * result, after the work. */
  if (sqlite3_db_readonly(db->h, "main") == 1)
    return cb_error(CB_ERR_DB, "cannot write database '%s': the file is read-only", db->path);
  int64_t version = 0;
  cb_status st = check_owner(db, &version);
  if (st == CB_OK) st = configure(db);
  for (int v = (int)version + 1; st == CB_OK && v <= cb_db_schema_version(); v++)
    st = migrate_one(db, v);
  if (st == CB_OK) st = set_wal(db);
  return st;
}

/* True when file-wal exists and holds something: then file alone is not
 * the whole database. */
static bool wal_has_data(const char *file) {
  char wal[CB_PATH_MAX + 32];
  snprintf(wal, sizeof wal, "%s-wal", file);
  struct stat st;
  return stat(wal, &st) == 0 && st.st_size > 0;
}

/* Makes a new database at path so that nobody ever sees a half-made one:
 * the schema is built in a temporary file beside it (migrations commit in
 * rollback-journal mode, straight into the file; WAL is switched on last),
 * which is then hard-linked into place. link() fails with EEXIST when
 * another process created path meanwhile: ours is dropped and theirs is
 * used. Whatever fails, the temporary file goes and path stays absent. */
static cb_status create_new(const char *path) {
  char tmp[CB_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return cb_error(CB_ERR_DB, "cannot create database '%s': %s", path, strerror(errno));
  /* SQLite's own mode for new files; mkstemp's 0600 would hide results
   * from other users. Failing that, the file stays private but works. */
  if (fchmod(fd, 0644) != 0) cb_log(CB_LOG_DEBUG, "database '%s': chmod failed", path);
  close(fd);

  cb_db *db = db_new(path);
  if (!db) {
    unlink(tmp);
    return cb_error(CB_ERR_NOMEM, "out of memory creating database '%s'", path);
  }
  cb_status st = open_file(db, tmp);
  cb_db_close(db);
  if (st == CB_OK && wal_has_data(tmp))
    st =
        cb_error(CB_ERR_DB, "cannot create database '%s': its schema did not reach the file", path);
  if (st == CB_OK && link(tmp, path) != 0 && errno != EEXIST) {
    /* Some filesystems (FAT, some FUSE mounts) have no hard links; rename
     * is atomic too but replaces, so it is used only if path is still
     * absent (a creator racing in between would lose its first results). */
    int err = errno;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EMLINK)
      err = access(path, F_OK) == 0 || rename(tmp, path) == 0 ? 0 : errno;
    if (err) st = cb_error(CB_ERR_DB, "cannot create database '%s': %s", path, strerror(err));
  }
  remove_files(tmp);
  return st;
}

cb_status cb_db_open(const char *path, cb_db **out) {
  *out = NULL;
  if (!path || !*path) return cb_error(CB_ERR_INVALID, "cb_db_open: empty database path");
  if (strlen(path) >= CB_PATH_MAX)
    return cb_error(CB_ERR_DB, "cannot open database '%.64s...': the path is too long", path);
  bool exists = false;
  cb_status st = check_path(path, &exists);
  if (st == CB_OK && !exists) st = create_new(path);
  if (st != CB_OK) return st;

  cb_db *db = db_new(path);
  if (!db) return cb_error(CB_ERR_NOMEM, "out of memory opening database '%s'", path);
  if ((st = open_file(db, path)) != CB_OK) {
    cb_db_close(db);
    return st;
  }
  db->ready = true;
  *out = db;
  return CB_OK;
}

void cb_db_close(cb_db *db) {
  if (!db) return;
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(db->stmt[i]);
  /* Cheap, and keeps the query planner's statistics current; never run
   * on a file that was refused (it may be another program's). */
  if (db->ready) sqlite3_exec(db->h, "PRAGMA optimize", NULL, NULL, NULL);
  sqlite3_close(db->h);
  free(db->path);
  free(db);
}

struct sqlite3 *cb_db_handle(cb_db *db) {
  return db ? db->h : NULL;
}

/* ---- transactions ------------------------------------------------------------------------ */

cb_status cb_db_begin(cb_db *db) {
  if (!db) return cb_error(CB_ERR_INVALID, "cb_db_begin: no database");
  /* IMMEDIATE takes the write lock now, so the busy timeout applies here
   * rather than a deadlock error half-way through. */
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return cb_db_fail(db, "cannot start a transaction");
  return CB_OK;
}

cb_status cb_db_commit(cb_db *db) {
  if (!db) return cb_error(CB_ERR_INVALID, "cb_db_commit: no database");
  if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return CB_OK;
  /* A failed COMMIT may leave the transaction open; callers are promised
   * all or nothing, so it goes. */
  cb_status st = cb_db_fail(db, "cannot commit");
  cb_db_rollback(db);
  return st;
}

void cb_db_rollback(cb_db *db) {
  if (db && !sqlite3_get_autocommit(db->h)) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

cb_status cb_db_tx_enter(cb_db *db, bool *owned) {
  *owned = sqlite3_get_autocommit(db->h) != 0;
  return *owned ? cb_db_begin(db) : CB_OK;
}

cb_status cb_db_tx_leave(cb_db *db, bool owned, cb_status st) {
  if (!owned) return st;
  if (st == CB_OK) return cb_db_commit(db);
  cb_db_rollback(db);
  return st;
}
