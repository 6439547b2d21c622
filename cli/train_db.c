/* train_db.c: inserts into train_steps, train_epochs and grad_checks, each
 * batch of rows one transaction, every value bound, errors as CB_ERR_DB
 * naming the table. */
#include "train_common.h"

#include <sqlite3.h>

#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* Prepares sql; CB_ERR_DB naming what on failure. */
static cb_status prepare(cb_db *db, const char *sql, const char *what, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(cb_db_handle(db), sql, -1, st, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "cannot prepare the insert into %s: %s", what,
                    sqlite3_errmsg(cb_db_handle(db)));
  return CB_OK;
}

/* Steps and resets one insert. */
static cb_status step(cb_db *db, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE)
    return cb_error(CB_ERR_DB, "cannot insert into %s: %s", what, sqlite3_errmsg(cb_db_handle(db)));
  return CB_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Ends the transaction: commit when everything went in, else roll back. */
static cb_status finish(cb_db *db, sqlite3_stmt *st, cb_status s) {
  sqlite3_finalize(st);
  if (s != CB_OK) {
    cb_db_rollback(db);
    return s;
  }
  return cb_db_commit(db);
}

cb_status cli_db_put_train_steps(cb_db *db, const cli_train_rec *r, const cb_train_step *steps,
                                 int n) {
  if (!db || n == 0) return CB_OK;
  sqlite3_stmt *st = NULL;
  cb_status s =
      prepare(db,
              "INSERT INTO train_steps (run_id, net, backend, epoch, step, loss, accuracy,"
              " lr, images_per_s, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              "train_steps", &st);
  if (s != CB_OK) return s;
  if ((s = cb_db_begin(db)) != CB_OK) {
    sqlite3_finalize(st);
    return s;
  }
  for (int i = 0; i < n && s == CB_OK; i++) {
    const cb_train_step *t = &steps[i];
    sqlite3_bind_int64(st, 1, r->run_id);
    bind_text(st, 2, r->net);
    bind_text(st, 3, r->backend);
    sqlite3_bind_int(st, 4, t->epoch);
    sqlite3_bind_int64(st, 5, t->step);
    sqlite3_bind_double(st, 6, t->loss);
    sqlite3_bind_double(st, 7, t->accuracy);
    sqlite3_bind_double(st, 8, t->lr);
    sqlite3_bind_double(st, 9, t->images_per_s);
    sqlite3_bind_double(st, 10, t->seconds);
    s = step(db, st, "train_steps");
  }
  return finish(db, st, s);
}

cb_status cli_db_put_train_epoch(cb_db *db, const cli_train_rec *r, const cb_train_epoch *e) {
  if (!db) return CB_OK;
  sqlite3_stmt *st = NULL;
  cb_status s = prepare(
      db,
      "INSERT INTO train_epochs (run_id, net, backend, dataset, batch, threads, epoch, steps,"
      " train_loss, train_accuracy, test_loss, test_accuracy, lr, images_per_s, epoch_seconds,"
      " seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " NOW ")",
      "train_epochs", &st);
  if (s != CB_OK) return s;
  if ((s = cb_db_begin(db)) != CB_OK) {
    sqlite3_finalize(st);
    return s;
  }
  sqlite3_bind_int64(st, 1, r->run_id);
  bind_text(st, 2, r->net);
  bind_text(st, 3, r->backend);
  bind_text(st, 4, r->dataset);
  sqlite3_bind_int64(st, 5, r->batch);
  sqlite3_bind_int(st, 6, r->threads);
  sqlite3_bind_int(st, 7, e->epoch);
  sqlite3_bind_int64(st, 8, e->steps);
  sqlite3_bind_double(st, 9, e->train_loss);
  sqlite3_bind_double(st, 10, e->train_accuracy);
  if (e->test.count > 0) {
    sqlite3_bind_double(st, 11, e->test.loss);
    sqlite3_bind_double(st, 12, e->test.accuracy);
  }
  sqlite3_bind_double(st, 13, e->lr);
  sqlite3_bind_double(st, 14, e->images_per_s);
  sqlite3_bind_double(st, 15, e->epoch_seconds);
  sqlite3_bind_double(st, 16, e->seconds);
  s = step(db, st, "train_epochs");
  return finish(db, st, s);
}

cb_status cli_db_put_grad_checks(cb_db *db, const cli_train_rec *r, const cb_grad_result *res,
                                 int n) {
  if (!db || n == 0) return CB_OK;
  sqlite3_stmt *st = NULL;
  cb_status s = prepare(db,
                        "INSERT INTO grad_checks (run_id, net, layer, kind, backend, variant, what,"
                        " batch, max_abs_err, max_rel_err, threshold, pass, created)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " NOW ")",
                        "grad_checks", &st);
  if (s != CB_OK) return s;
  if ((s = cb_db_begin(db)) != CB_OK) {
    sqlite3_finalize(st);
    return s;
  }
  for (int i = 0; i < n && s == CB_OK; i++) {
    const cb_grad_result *g = &res[i];
    sqlite3_bind_int64(st, 1, r->run_id);
    bind_text(st, 2, r->net);
    bind_text(st, 3, g->layer);
    bind_text(st, 4, g->kind);
    bind_text(st, 5, g->backend);
    if (g->variant[0]) bind_text(st, 6, g->variant);
    bind_text(st, 7, g->what);
    sqlite3_bind_int64(st, 8, r->batch);
    /* An infinite error (a NaN in the result) is stored as the largest
     * double: the columns are NOT NULL and SQLite has no infinity. */
    sqlite3_bind_double(st, 9, g->max_abs < 1.7e308 ? g->max_abs : 1.7e308);
    sqlite3_bind_double(st, 10, g->max_rel < 1.7e308 ? g->max_rel : 1.7e308);
    sqlite3_bind_double(st, 11, g->threshold);
    sqlite3_bind_int(st, 12, g->pass);
    s = step(db, st, "grad_checks");
  }
  return finish(db, st, s);
}
