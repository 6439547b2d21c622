/* train_rows.c: the rows of training and gradient checks (schema 5):
 * train_steps, train_epochs and grad_checks. Each call's rows are one
 * transaction, so a batch of steps lands whole or not at all. */
#include "db_internal.h"

/* created is the time of the insert, in the form every timestamp has. */
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

// clang-format off
static const char train_step_put_sql[] =
    "INSERT INTO train_steps (run_id, net, backend, epoch, step, loss, accuracy, lr,"
    " images_per_s, seconds)"
    " VALUES (:run_id, :net, :backend, :epoch, :step, :loss, :accuracy, :lr,"
    " :images_per_s, :seconds)";
static const char train_epoch_put_sql[] =
    "INSERT INTO train_epochs (run_id, net, backend, dataset, batch, threads, epoch, steps,"
    " train_loss, train_accuracy, test_loss, test_accuracy, lr, images_per_s, epoch_seconds,"
    " seconds, created)"
    " VALUES (:run_id, :net, :backend, :dataset, :batch, :threads, :epoch, :steps,"
    " :train_loss, :train_accuracy, :test_loss, :test_accuracy, :lr, :images_per_s,"
    " :epoch_seconds, :seconds, " NOW ")";
static const char grad_check_put_sql[] =
    "INSERT INTO grad_checks (run_id, net, layer, kind, backend, variant, what, batch,"
    " max_abs_err, max_rel_err, threshold, pass, created)"
    " VALUES (:run_id, :net, :layer, :kind, :backend, :variant, :what, :batch,"
    " :max_abs_err, :max_rel_err, :threshold, :pass, " NOW ")";
// clang-format on

/* Ends the transaction cb_db_begin started: commit when everything went
 * in, else roll back and return the failure. */
static cb_status finish(cb_db *db, cb_status st) {
  if (st != CB_OK) {
    cb_db_rollback(db);
    return st;
  }
  return cb_db_commit(db);
}

/* The columns every training row starts with: which run, net and backend. */
static void bind_train_rec(cb_binder *b, const cb_train_rec *r) {
  cb_bind_int(b, ":run_id", r->run_id);
  cb_bind_text(b, ":net", r->net);
  cb_bind_text(b, ":backend", r->backend);
}

static cb_status put_step(cb_db *db, const cb_train_rec *r, const cb_train_step *t) {
  cb_binder b = cb_db_stmt(db, ST_TRAIN_STEP_PUT, train_step_put_sql);
  bind_train_rec(&b, r);
  cb_bind_int(&b, ":epoch", t->epoch);
  cb_bind_int(&b, ":step", t->step);
  cb_bind_double(&b, ":loss", t->loss);
  cb_bind_double(&b, ":accuracy", t->accuracy);
  cb_bind_double(&b, ":lr", t->lr);
  cb_bind_double(&b, ":images_per_s", t->images_per_s);
  cb_bind_double(&b, ":seconds", t->seconds);
  return cb_db_exec(&b, "cannot insert into train_steps");
}

cb_status cb_db_put_train_steps(cb_db *db, const cb_train_rec *r, const cb_train_step *steps,
                                int n) {
  if (!db || n == 0) return CB_OK;
  cb_status st = cb_db_begin(db);
  if (st != CB_OK) return st;
  for (int i = 0; i < n && st == CB_OK; i++) st = put_step(db, r, &steps[i]);
  return finish(db, st);
}

cb_status cb_db_put_train_epoch(cb_db *db, const cb_train_rec *r, const cb_train_epoch *e) {
  if (!db) return CB_OK;
  cb_status st = cb_db_begin(db);
  if (st != CB_OK) return st;
  cb_binder b = cb_db_stmt(db, ST_TRAIN_EPOCH_PUT, train_epoch_put_sql);
  bind_train_rec(&b, r);
  cb_bind_text(&b, ":dataset", r->dataset);
  cb_bind_int(&b, ":batch", r->batch);
  cb_bind_int(&b, ":threads", r->threads);
  cb_bind_int(&b, ":epoch", e->epoch);
  cb_bind_int(&b, ":steps", e->steps);
  cb_bind_double(&b, ":train_loss", e->train_loss);
  cb_bind_double(&b, ":train_accuracy", e->train_accuracy);
  if (e->test.count > 0) {
    cb_bind_double(&b, ":test_loss", e->test.loss);
    cb_bind_double(&b, ":test_accuracy", e->test.accuracy);
  } else { /* no test set */
    cb_bind_null(&b, ":test_loss");
    cb_bind_null(&b, ":test_accuracy");
  }
  cb_bind_double(&b, ":lr", e->lr);
  cb_bind_double(&b, ":images_per_s", e->images_per_s);
  cb_bind_double(&b, ":epoch_seconds", e->epoch_seconds);
  cb_bind_double(&b, ":seconds", e->seconds);
  return finish(db, cb_db_exec(&b, "cannot insert into train_epochs"));
}

/* An infinite error (a NaN in the result) is stored as the largest
 * double: the columns are NOT NULL and SQLite has no infinity. */
static double finite_err(double v) {
  return v < 1.7e308 ? v : 1.7e308;
}

static cb_status put_grad_check(cb_db *db, const cb_train_rec *r, const cb_grad_result *g) {
  cb_binder b = cb_db_stmt(db, ST_GRAD_CHECK_PUT, grad_check_put_sql);
  cb_bind_int(&b, ":run_id", r->run_id);
  cb_bind_text(&b, ":net", r->net);
  cb_bind_text(&b, ":layer", g->layer);
  cb_bind_text(&b, ":kind", g->kind);
  cb_bind_text(&b, ":backend", g->backend);
  cb_bind_opt_text(&b, ":variant", g->variant); /* NULL for finite differences */
  cb_bind_text(&b, ":what", g->what);
  cb_bind_int(&b, ":batch", r->batch);
  cb_bind_double(&b, ":max_abs_err", finite_err(g->max_abs));
  cb_bind_double(&b, ":max_rel_err", finite_err(g->max_rel));
  cb_bind_double(&b, ":threshold", g->threshold);
  cb_bind_int(&b, ":pass", g->pass);
  return cb_db_exec(&b, "cannot insert into grad_checks");
}

cb_status cb_db_put_grad_checks(cb_db *db, const cb_train_rec *r, const cb_grad_result *res,
                                int n) {
  if (!db || n == 0) return CB_OK;
  cb_status st = cb_db_begin(db);
  if (st != CB_OK) return st;
  for (int i = 0; i < n && st == CB_OK; i++) st = put_grad_check(db, r, &res[i]);
  return finish(db, st);
}
