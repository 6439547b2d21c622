/* report_tune.c: the autotune section: the winner of every cached
 * problem (which backend and variant, how fast, by how much over the
 * runner-up), how often each backend won, and a bar per problem of the
 * winner's margin. Local cache rows belong to the chosen runs through
 * their measurement; imported rows appear when every run is reported. */
#include "report_section.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINS 64

typedef struct tn_wins {
  char backend[64];
  int wins;
} tn_wins;

static void count_win(tn_wins *w, int *n, const char *backend) {
  for (int i = 0; i < *n; i++)
    if (strcmp(w[i].backend, backend) == 0) {
      w[i].wins++;
      return;
    }
  if (*n == MAX_WINS) return;
  snprintf(w[*n].backend, sizeof w[*n].backend, "%s", backend);
  w[(*n)++].wins = 1;
}

/* The margin plot's bars as the winners table is read: a category (the
 * problem's row number), the winner above the bar, and the margin. */
typedef struct tn_bars {
  int n;
  char **cats, **labels;
  double *margin;
} tn_bars;

static cb_status bars_add(tn_bars *b, const char *cat, const char *label, double margin) {
  char **nc = realloc(b->cats, (size_t)(b->n + 1) * sizeof *nc);
  if (nc) b->cats = nc;
  char **nl = nc ? realloc(b->labels, (size_t)(b->n + 1) * sizeof *nl) : NULL;
  if (nl) b->labels = nl;
  double *nm = nl ? realloc(b->margin, (size_t)(b->n + 1) * sizeof *nm) : NULL;
  if (nm) b->margin = nm;
  if (!nm) return rp_nomem();
  b->cats[b->n] = strdup(cat);
  b->labels[b->n] = strdup(label);
  b->margin[b->n] = margin;
  b->n++;
  return b->cats[b->n - 1] && b->labels[b->n - 1] ? CB_OK : rp_nomem();
}

static void bars_free(tn_bars *b) {
  for (int i = 0; i < b->n; i++) {
    free(b->cats[i]);
    free(b->labels[i]);
  }
  free(b->cats);
  free(b->labels);
  free(b->margin);
}

/* The margin plot of b (its labels move into the plot). */
static cb_status bars_plot(tn_bars *b, rp_plot **plot) {
  rp_plot *p =
      rp_plot_new(RP_BARS, "tune_winners",
                  "Autotune: runner-up median / winner median per problem (winner above the bar)",
                  "problem (see the table)", "margin over the runner-up (x)");
  static const char *const series[] = {"runner-up / winner"};
  cb_status s = p ? rp_bars_shape(p, b->n, (const char *const *)b->cats, 1, series) : rp_nomem();
  for (int i = 0; s == CB_OK && i < b->n; i++) {
    p->val[i] = b->margin[i];
    p->bar_label[i] = b->labels[i];
    b->labels[i] = NULL;
  }
  if (s == CB_OK) p->hline = 1.0, p->hline_label = strdup("no margin (1x)");
  if (s != CB_OK) {
    rp_plot_free(p);
    return s;
  }
  *plot = p;
  return CB_OK;
}

static cb_status wins_table(rp_ctx *c, const tn_wins *wins, int nwins) {
  static const char *const wh[] = {"Backend", ">Wins"};
  rp_table *w = rp_table_add(c->doc, "Wins per backend", 2, wh);
  if (!w) return rp_nomem();
  cb_status s = CB_OK;
  for (int i = 0; s == CB_OK && i < nwins; i++) {
    char k[16];
    snprintf(k, sizeof k, "%d", wins[i].wins);
    const char *cells[] = {wins[i].backend, k};
    s = rp_row(w, cells);
  }
  return s;
}

/* The table of winners, then the margin plot (into *plot, NULL when no
 * problem was tuned) and the wins per backend. */
static cb_status winners(rp_ctx *c, rp_plot **plot, int64_t **runs, int *nruns) {
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "tune cache",
                           "SELECT p.key, c.backend, c.variant, c.params, c.median_ms, c.runner_up,"
                           " c.runner_up_median_ms, c.source, p.flops, m.run_id, c.device_fp"
                           " FROM tune_cache c JOIN problems p ON p.id = c.problem_id"
                           " LEFT JOIN measurements m ON m.id = c.measurement_id"
                           " WHERE m.run_id IN (SELECT id FROM temp.report_runs)"
                           "  OR (c.source = 'imported' AND ?1)"
                           " ORDER BY c.device_fp, p.key, c.source",
                           &st);
  if (s != CB_OK) return s;
  sqlite3_bind_int(st, 1, c->all_runs);
  static const char *const head[] = {">#",          "Problem",  "Winner",    "Params",
                                     ">Winner ms",  ">GFLOP/s", "Runner-up", ">Runner-up ms",
                                     ">Margin (x)", "Source"};
  rp_table *t = NULL;
  tn_wins wins[MAX_WINS];
  int nwins = 0;
  tn_bars bars = {0};
  bool row;
  while ((s = rp_step(c->h, "tune cache", st, &row)) == CB_OK && row) {
    if (!t &&
        !(t = rp_table_add(c->doc, "Winner per problem (median ms; margin = runner-up / winner)",
                           10, head))) {
      s = rp_nomem();
      break;
    }
    double ms = rp_col_num(st, 4), ru = rp_col_num(st, 6), flops = rp_col_num(st, 8);
    double m = ms > 0 ? ru / ms : NAN;
    char idx[16], a[32], b[32], gf[32], mg[32], winner[160];
    snprintf(idx, sizeof idx, "P%d", bars.n + 1);
    snprintf(winner, sizeof winner, "%s/%s", rp_col_text(st, 1), rp_col_text(st, 2));
    if (flops > 0 && ms > 0)
      snprintf(gf, sizeof gf, "%.1f", flops / (ms * 1e6));
    else
      snprintf(gf, sizeof gf, "-");
    if (isnan(m))
      snprintf(mg, sizeof mg, "-");
    else
      snprintf(mg, sizeof mg, "%.2f", m);
    const char *cells[] = {idx,
                           rp_col_text(st, 0),
                           winner,
                           rp_col_text(st, 3)[0] ? rp_col_text(st, 3) : "-",
                           rp_num(a, ms),
                           gf,
                           rp_col_text(st, 5)[0] ? rp_col_text(st, 5) : "(none)",
                           rp_num(b, ru),
                           mg,
                           rp_col_text(st, 7)};
    if ((s = rp_row(t, cells)) != CB_OK) break;
    count_win(wins, &nwins, rp_col_text(st, 1));
    if ((s = bars_add(&bars, idx, winner, m)) != CB_OK) break;
    /* Imported rows have no measurement here, hence no run. */
    if (sqlite3_column_type(st, 9) != SQLITE_NULL &&
        (s = rp_ids_add(runs, nruns, sqlite3_column_int64(st, 9))) != CB_OK)
      break;
  }
  sqlite3_finalize(st);
  c->sum->tune_rows = bars.n;
  if (s == CB_OK && bars.n > 0) s = bars_plot(&bars, plot);
  if (s == CB_OK && bars.n > 0) s = wins_table(c, wins, nwins);
  bars_free(&bars);
  return s;
}

cb_status rp_tune(rp_ctx *c) {
  if (!rp_section_add(c->doc, 2, "Autotune winners")) return rp_nomem();
  rp_plot *p = NULL;
  int64_t *runs = NULL;
  int nruns = 0;
  cb_status s = winners(c, &p, &runs, &nruns);
  if (s == CB_OK && c->sum->tune_rows == 0)
    s = rp_text(c->doc, "No tuned problems in the selected runs (tune_cache is empty for them): "
                        "run convbench tune.");
  if (s == CB_OK && p) {
    s = rp_plot_add(c->doc, p);
    p = NULL;
    if (s == CB_OK && nruns) s = rp_reproduce(c, runs, nruns);
  }
  rp_plot_free(p);
  free(runs);
  return s;
}
