/* report_train.c: training and gradient checks. Training curves are one
 * series per (run, net, backend) from train_steps, so convbench's own
 * training and peers' (backend 'pytorch', ...) share the axes: loss and
 * accuracy, each against the step and against wall-clock seconds. The
 * epochs table comes from train_epochs; gradient checks are summarised
 * per net, backend and comparison, failures listed. Empty tables (no
 * training or checks recorded yet) are said so, not left out silently. */
#include "report_section.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The four curves: which column is y, which is x. */
typedef struct tr_curve {
  const char *name, *title, *xlabel, *ylabel;
  int xcol, ycol; /* columns of the steps query */
} tr_curve;

static const tr_curve curves[] = {
    {"train_loss_step", "Training loss per step", "step", "loss", 4, 5},
    {"train_loss_time", "Training loss against wall-clock time", "seconds", "loss", 7, 5},
    {"train_acc_step", "Training accuracy per step", "step", "accuracy", 4, 6},
    {"train_acc_time", "Training accuracy against wall-clock time", "seconds", "accuracy", 7, 6},
};

static cb_status train_curves(rp_ctx *c, int64_t **runs, int *nruns) {
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "training steps",
                           "SELECT t.run_id, t.net, t.backend, t.epoch, t.step, t.loss,"
                           " t.accuracy, t.seconds FROM train_steps t"
                           " JOIN temp.report_runs s ON s.id = t.run_id"
                           " ORDER BY t.run_id, t.net, t.backend, t.step",
                           &st);
  if (s != CB_OK) return s;
  rp_plot *p[4] = {NULL};
  for (int i = 0; i < 4; i++)
    if (!(p[i] = rp_plot_new(RP_LINES, curves[i].name, curves[i].title, curves[i].xlabel,
                             curves[i].ylabel)))
      s = rp_nomem();
  char key[256] = "";
  int series[4] = {-1, -1, -1, -1}, n = 0;
  bool row, any_acc = false;
  while (s == CB_OK && (s = rp_step(c->h, "training steps", st, &row)) == CB_OK && row) {
    char k[256];
    snprintf(k, sizeof k, "%s %s (run %lld)", rp_col_text(st, 1), rp_col_text(st, 2),
             (long long)sqlite3_column_int64(st, 0));
    if (strcmp(k, key) != 0) {
      snprintf(key, sizeof key, "%s", k);
      for (int i = 0; i < 4; i++)
        if ((series[i] = rp_lines_series(p[i], k, false)) < 0) s = rp_nomem();
      if (s == CB_OK) s = rp_ids_add(runs, nruns, sqlite3_column_int64(st, 0));
      n++;
    }
    for (int i = 0; s == CB_OK && i < 4; i++) {
      double x = rp_col_num(st, curves[i].xcol), y = rp_col_num(st, curves[i].ycol);
      if (isnan(x) || isnan(y)) continue;
      if (curves[i].ycol == 6) any_acc = true;
      s = rp_lines_point(p[i], series[i], x, y);
    }
  }
  sqlite3_finalize(st);
  c->sum->train_series = n;
  for (int i = 0; i < 4; i++) {
    bool keep = s == CB_OK && n > 0 && (curves[i].ycol != 6 || any_acc);
    if (keep) {
      s = rp_plot_add(c->doc, p[i]);
    } else {
      rp_plot_free(p[i]);
    }
    p[i] = NULL;
  }
  return s;
}

static cb_status epochs(rp_ctx *c, int64_t **runs, int *nruns) {
  sqlite3_stmt *st;
  cb_status s = rp_prepare(
      c->h, "training epochs",
      "SELECT e.run_id, e.net, e.backend, e.dataset, e.batch, e.threads, e.epoch, e.train_loss,"
      " e.train_accuracy, e.test_loss, e.test_accuracy, e.images_per_s, e.seconds"
      " FROM train_epochs e JOIN temp.report_runs s ON s.id = e.run_id"
      " ORDER BY e.net, e.run_id, e.backend, e.epoch",
      &st);
  if (s != CB_OK) return s;
  static const char *const head[] = {
      ">Run",        "Net",        "Backend",    "Dataset",   ">Batch",    ">Thr",    ">Epoch",
      ">Train loss", ">Train acc", ">Test loss", ">Test acc", ">Images/s", ">Seconds"};
  rp_table *t = NULL;
  bool row;
  while ((s = rp_step(c->h, "training epochs", st, &row)) == CB_OK && row) {
    if (!t && !(t = rp_table_add(c->doc, "Epochs (accuracy as a fraction)", 13, head))) {
      s = rp_nomem();
      break;
    }
    char b[7][32];
    const char *cells[13];
    for (int i = 0; i < 7; i++) cells[i] = rp_col_text(st, i);
    for (int i = 0; i < 6; i++) {
      double v = rp_col_num(st, 7 + i);
      if (isnan(v))
        snprintf(b[i], sizeof b[i], "-");
      else
        snprintf(b[i], sizeof b[i], i == 4 ? "%.0f" : i == 5 ? "%.1f" : "%.4f", v);
      cells[7 + i] = b[i];
    }
    if ((s = rp_row(t, cells)) != CB_OK) break;
    if ((s = rp_ids_add(runs, nruns, sqlite3_column_int64(st, 0))) != CB_OK) break;
  }
  sqlite3_finalize(st);
  return s;
}

/* A section's last words when s is still CB_OK: the skip note when it
 * found nothing (empty), else how to reproduce its runs. Frees runs either
 * way, so every exit path of a section ends here. */
static cb_status end_section(rp_ctx *c, cb_status s, bool empty, const char *skipped, int64_t *runs,
                             int nruns) {
  if (s == CB_OK && empty)
    s = rp_text(c->doc, "%s", skipped);
  else if (s == CB_OK)
    s = rp_reproduce(c, runs, nruns);
  free(runs);
  return s;
}

static cb_status grad_checks(rp_ctx *c) {
  sqlite3_stmt *st;
  cb_status s = rp_section_query(
      c, "Gradient checks", "gradient checks",
      "SELECT g.net, g.backend, g.what, count(*), sum(g.pass), max(g.max_abs_err),"
      " max(g.max_rel_err), group_concat(CASE g.pass WHEN 0 THEN g.layer END, ' '),"
      " group_concat(DISTINCT g.run_id)"
      " FROM grad_checks g JOIN temp.report_runs s ON s.id = g.run_id"
      " GROUP BY g.net, g.backend, g.what ORDER BY g.net, g.backend, g.what",
      &st);
  if (s != CB_OK) return s;
  static const char *const head[] = {"Net",     "Backend",      "Check",        ">Checks",
                                     ">Passed", ">Max abs err", ">Max rel err", "Failed layers"};
  rp_table *t = NULL;
  bool row;
  int n = 0;
  int64_t *runs = NULL;
  int nruns = 0;
  while ((s = rp_step(c->h, "gradient checks", st, &row)) == CB_OK && row) {
    if (!t && !(t = rp_table_add(c->doc, "Gradient checks against ref", 8, head))) {
      s = rp_nomem();
      break;
    }
    char a[32], b[32];
    snprintf(a, sizeof a, "%.3g", sqlite3_column_double(st, 5));
    snprintf(b, sizeof b, "%.3g", sqlite3_column_double(st, 6));
    const char *cells[] = {rp_col_text(st, 0),
                           rp_col_text(st, 1),
                           rp_col_text(st, 2),
                           rp_col_text(st, 3),
                           rp_col_text(st, 4),
                           a,
                           b,
                           rp_col_text(st, 7)};
    if ((s = rp_row(t, cells)) != CB_OK) break;
    /* group_concat of run ids: "3,5". */
    for (const char *p = rp_col_text(st, 8); s == CB_OK && *p;) {
      char *end;
      long long id = strtoll(p, &end, 10);
      if (end == p) break;
      s = rp_ids_add(&runs, &nruns, id);
      p = *end == ',' ? end + 1 : end;
    }
    if (s != CB_OK) break;
    n++;
  }
  sqlite3_finalize(st);
  c->sum->grad_rows = n;
  return end_section(c, s, n == 0,
                     "No gradient checks in the selected runs (grad_checks is empty): "
                     "section skipped.",
                     runs, nruns);
}

cb_status rp_train(rp_ctx *c) {
  if (!rp_section_add(c->doc, 2, "Training")) return rp_nomem();
  int64_t *runs = NULL;
  int nruns = 0;
  cb_status s = train_curves(c, &runs, &nruns);
  if (s == CB_OK) s = epochs(c, &runs, &nruns);
  s = end_section(c, s, nruns == 0,
                  "No training in the selected runs (train_steps and train_epochs are "
                  "empty): section skipped.",
                  runs, nruns);
  if (s == CB_OK) s = grad_checks(c);
  return s;
}
