/* report_nets.c: the report's benchmark sections, from net_results and
 * layer_results. Results are grouped by (machine, net, batch, threads);
 * within a group the latest result of each backend counts (and, for a
 * .shapes set, of each backend and entry). Peers (pytorch, darknet) are
 * backends like any other.
 *
 * A whole net gets the convnet-benchmarks table (a row per backend,
 * fastest first: total / forward / backward ms per batch), its layers
 * per backend, and GFLOP/s per conv and fc layer against the machine's
 * measured peak. A .shapes set (convnet-benchmarks' L1..L5) gets the
 * layer-wise table (sums over entries), the breakdown per entry, and
 * GFLOP/s per entry. Each table is followed by the commands that made it. */
#include "report_section.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Backends per group and rows per breakdown shown; more are left out. */
#define NR_MAX_BACKENDS 64
#define NR_MAX_ROWS     1024

typedef struct nr_layer {
  char name[96], kind[16];
  double fwd, bwd, fwd_flops, bwd_flops; /* ms NAN when not timed */
} nr_layer;

typedef struct nr_result {
  int64_t id, run_id;
  char backend[64];
  char entry[96]; /* a .shapes entry's layer name; "" for a whole net */
  double fwd, bwd, total, fwd_flops, bwd_flops;
  int nlayers;
  nr_layer *layers;
} nr_result;

typedef struct nr_group {
  int64_t machine_id;
  char net[96];
  int64_t batch;
  int threads;
  bool shapes;
  int n;
  nr_result *r;
} nr_group;

static void group_free(nr_group *g) {
  for (int i = 0; i < g->n; i++) free(g->r[i].layers);
  free(g->r);
  g->r = NULL;
  g->n = 0;
}

/* "s" after a count other than 1: "1 thread", "2 threads". */
static const char *plural(int n) {
  return n == 1 ? "" : "s";
}

static double sum_ms(double a, double b) {
  return isnan(a) ? b : isnan(b) ? a : a + b;
}

/* GFLOP/s of a forward + backward pass; NAN without a time. */
static double gflops(double fwd_flops, double bwd_flops, double fwd, double bwd) {
  double flops = (isnan(fwd) ? 0 : fwd_flops) + (isnan(bwd) ? 0 : bwd_flops);
  double ms = sum_ms(fwd, bwd);
  return (isnan(ms) || ms <= 0 || flops <= 0) ? NAN : flops / (ms * 1e6);
}

static cb_status load_layers(rp_ctx *c, nr_result *r) {
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "layer results",
                           "SELECT name, kind, fwd_median_ms, bwd_median_ms, fwd_flops, bwd_flops"
                           " FROM layer_results WHERE net_result_id = ?1 ORDER BY idx",
                           &st);
  if (s != CB_OK) return s;
  sqlite3_bind_int64(st, 1, r->id);
  bool row;
  int cap = 0;
  while ((s = rp_step(c->h, "layer results", st, &row)) == CB_OK && row) {
    if (r->nlayers == cap) {
      cap = cap ? cap * 2 : 32;
      nr_layer *l = realloc(r->layers, (size_t)cap * sizeof *l);
      if (!l) {
        s = rp_nomem();
        break;
      }
      r->layers = l;
    }
    nr_layer *l = &r->layers[r->nlayers++];
    snprintf(l->name, sizeof l->name, "%s", rp_col_text(st, 0));
    snprintf(l->kind, sizeof l->kind, "%s", rp_col_text(st, 1));
    l->fwd = rp_col_num(st, 2);
    l->bwd = rp_col_num(st, 3);
    l->fwd_flops = sqlite3_column_double(st, 4);
    l->bwd_flops = sqlite3_column_double(st, 5);
  }
  sqlite3_finalize(st);
  return s;
}

/* Adds r to g, replacing (and freeing the layers of) an older result of
 * the same backend and entry. */
static cb_status group_put(nr_group *g, const nr_result *r) {
  for (int i = 0; i < g->n; i++)
    if (strcmp(g->r[i].backend, r->backend) == 0 && strcmp(g->r[i].entry, r->entry) == 0) {
      free(g->r[i].layers);
      g->r[i] = *r; /* ordered by id: r is newer */
      return CB_OK;
    }
  nr_result *a = realloc(g->r, (size_t)(g->n + 1) * sizeof *a);
  if (!a) return rp_nomem();
  g->r = a;
  g->r[g->n++] = *r;
  return CB_OK;
}

/* Distinct backends (or, with entries, .shapes entries) of g in order of
 * first appearance, at most max; returns the count. */
static int distinct_of(const nr_group *g, bool entries, const char **out, int max) {
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const char *v = entries ? g->r[i].entry : g->r[i].backend;
    int j = 0;
    while (j < n && strcmp(out[j], v) != 0) j++;
    if (j == n && n < max) out[n++] = v;
  }
  return n;
}

static const nr_result *find(const nr_group *g, const char *backend, const char *entry) {
  for (int i = 0; i < g->n; i++)
    if (strcmp(g->r[i].backend, backend) == 0 && strcmp(g->r[i].entry, entry) == 0) return &g->r[i];
  return NULL;
}

/* Run ids of g's results, for the commands block. */
static cb_status group_commands(rp_ctx *c, const nr_group *g) {
  int64_t *ids = malloc(((size_t)g->n + 1) * sizeof *ids);
  if (!ids) return rp_nomem();
  for (int i = 0; i < g->n; i++) ids[i] = g->r[i].run_id;
  cb_status s = rp_reproduce(c, ids, g->n);
  free(ids);
  return s;
}

/* A backend's totals over a group: the whole net's, or sums over a
 * .shapes set's entries (with the count of entries present). */
typedef struct nr_total {
  const char *backend;
  double fwd, bwd, total, fwd_flops, bwd_flops;
  int entries;
} nr_total;

/* Fastest first; a .shapes backend missing entries after the complete
 * ones (its sum is over fewer layers, not faster). */
static int cmp_total(const void *a, const void *b) {
  const nr_total *p = a, *q = b;
  if (p->entries != q->entries) return p->entries < q->entries ? 1 : -1;
  double x = p->total, y = q->total;
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
  return (x > y) - (x < y);
}

/* A bars plot of g, its file stem KIND_NET_bBATCH_tTHREADS[_mMACHINE];
 * takes title (freed; NULL when its rp_strf failed). NULL when out of
 * memory. */
static rp_plot *group_plot(const nr_group *g, const char *kind, bool several_machines, char *title,
                           const char *xlabel, const char *ylabel) {
  char *name =
      several_machines
          ? cb_strdup_printf("%s_%s_b%lld_t%d_m%lld", kind, g->net, (long long)g->batch, g->threads,
                             (long long)g->machine_id)
          : cb_strdup_printf("%s_%s_b%lld_t%d", kind, g->net, (long long)g->batch, g->threads);
  rp_plot *p = name && title ? rp_plot_new(RP_BARS, name, title, xlabel, ylabel) : NULL;
  free(name);
  free(title);
  return p;
}

/* The summary table and bars: a row per backend, fastest first. */
static cb_status totals_table(rp_ctx *c, const nr_group *g, nr_total *tot, int nb, double peak,
                              bool several_machines) {
  qsort(tot, (size_t)nb, sizeof *tot, cmp_total);
  int nent = 0;
  const char *ents[NR_MAX_ROWS];
  if (g->shapes) nent = distinct_of(g, true, ents, NR_MAX_ROWS);
  char caption[256];
  if (g->shapes)
    snprintf(caption, sizeof caption,
             "Layer-wise: sum over the %d entries (ms per batch of %lld, %d thread%s)", nent,
             (long long)g->batch, g->threads, plural(g->threads));
  else
    snprintf(caption, sizeof caption, "%s: ms per batch of %lld, %d thread%s", g->net,
             (long long)g->batch, g->threads, plural(g->threads));
  static const char *const head[] = {"Backend",        ">Total (ms)", ">Forward (ms)",
                                     ">Backward (ms)", ">GFLOP/s",    ">% of peak"};
  rp_table *t = rp_table_add(c->doc, caption, 6, head);
  if (!t) return rp_nomem();
  for (int i = 0; i < nb; i++) {
    char a[32], b[32], d[32], e[32], f[32], name[96];
    double gf = gflops(tot[i].fwd_flops, tot[i].bwd_flops, tot[i].fwd, tot[i].bwd);
    snprintf(name, sizeof name, "%s%s", tot[i].backend,
             g->shapes && tot[i].entries < nent ? " (incomplete)" : "");
    if (isnan(gf) || isnan(peak))
      snprintf(f, sizeof f, "-");
    else
      snprintf(f, sizeof f, "%.0f%%%s", 100 * gf / peak, gf > peak ? " !" : "");
    const char *cells[] = {name,
                           rp_num(a, tot[i].total),
                           rp_num(b, tot[i].fwd),
                           rp_num(d, tot[i].bwd),
                           isnan(gf) ? "-" : (snprintf(e, sizeof e, "%.1f", gf), e),
                           f};
    cb_status s = rp_row(t, cells);
    if (s != CB_OK) return s;
  }
  cb_status s = group_commands(c, g);
  if (s != CB_OK) return s;

  char *title = cb_strdup_printf("%s: total / forward / backward ms per batch of %lld, %d thread%s",
                                 g->net, (long long)g->batch, g->threads, plural(g->threads));
  rp_plot *p = group_plot(g, g->shapes ? "layerwise" : "net", several_machines, title, "backend",
                          "ms per batch");
  if (!p) return rp_nomem();
  const char *cats[NR_MAX_BACKENDS];
  for (int i = 0; i < nb && i < NR_MAX_BACKENDS; i++) cats[i] = tot[i].backend;
  static const char *const series[] = {"total", "forward", "backward"};
  s = rp_bars_shape(p, nb < NR_MAX_BACKENDS ? nb : NR_MAX_BACKENDS, cats, 3, series);
  for (int i = 0; s == CB_OK && i < p->ncat; i++) {
    p->val[i * 3 + 0] = tot[i].total;
    p->val[i * 3 + 1] = tot[i].fwd;
    p->val[i * 3 + 2] = tot[i].bwd;
  }
  if (s != CB_OK) {
    rp_plot_free(p);
    return s;
  }
  return rp_plot_add(c->doc, p);
}

/* Per-row values of the breakdown tables and plots: rows are the layers
 * of a whole net (from its longest result) or the entries of a set. */
typedef struct nr_cell {
  double fwd, bwd, fwd_flops, bwd_flops;
} nr_cell;

static nr_cell cell_of(const nr_group *g, const char *backend, const char *row, int idx) {
  nr_cell x = {NAN, NAN, 0, 0};
  if (g->shapes) {
    const nr_result *r = find(g, backend, row);
    if (r) x = (nr_cell){r->fwd, r->bwd, r->fwd_flops, r->bwd_flops};
    return x;
  }
  const nr_result *r = find(g, backend, "");
  if (!r) return x;
  /* Layer names are unique within a net; a peer may record fewer layers
   * (darknet fuses ReLU into conv), so a name is looked up when the
   * position does not match. */
  const nr_layer *l =
      idx < r->nlayers && strcmp(r->layers[idx].name, row) == 0 ? &r->layers[idx] : NULL;
  for (int i = 0; !l && i < r->nlayers; i++)
    if (strcmp(r->layers[i].name, row) == 0) l = &r->layers[i];
  if (l) x = (nr_cell){l->fwd, l->bwd, l->fwd_flops, l->bwd_flops};
  return x;
}

/* What the breakdown tables and plots of a group share: their rows and
 * columns and the peak. */
typedef struct nr_breakdown {
  const nr_group *g;
  const char *rows[NR_MAX_ROWS], *kinds[NR_MAX_ROWS]; /* layers or entries */
  int nrows;
  const char *bk[NR_MAX_BACKENDS]; /* backends with a time in some row */
  int nbk;
  const char *head[NR_MAX_BACKENDS + 3]; /* # | layer | kind | backend... */
  char hbuf[NR_MAX_BACKENDS][96];
  double peak;
  bool several_machines;
  const char *per; /* "entry" or "layer" */
} nr_breakdown;

/* The rows (the layers of a whole net's longest result, or a set's
 * entries) and the backends that have a time in one of them: a backend
 * that recorded no layer (darknet runs a net whole) gets no column, its
 * totals being in the table above. False when nothing is left to show. */
static bool breakdown_shape(nr_breakdown *d, const char **bk, int nb) {
  const nr_group *g = d->g;
  if (g->shapes) {
    d->nrows = distinct_of(g, true, d->rows, NR_MAX_ROWS);
    for (int i = 0; i < d->nrows; i++) d->kinds[i] = "conv";
  } else {
    const nr_result *longest = NULL;
    for (int i = 0; i < g->n; i++)
      if (!longest || g->r[i].nlayers > longest->nlayers) longest = &g->r[i];
    for (int i = 0; longest && i < longest->nlayers && d->nrows < NR_MAX_ROWS; i++) {
      d->rows[d->nrows] = longest->layers[i].name;
      d->kinds[d->nrows++] = longest->layers[i].kind;
    }
  }
  if (d->nrows == 0) return false;
  for (int b = 0; b < nb && b < NR_MAX_BACKENDS; b++) {
    bool any = false;
    for (int r = 0; r < d->nrows && !any; r++) {
      nr_cell x = cell_of(g, bk[b], d->rows[r], r);
      any = !isnan(x.fwd) || !isnan(x.bwd);
    }
    if (any) d->bk[d->nbk++] = bk[b];
  }
  d->head[0] = ">#";
  d->head[1] = g->shapes ? "Entry" : "Layer";
  d->head[2] = "Kind";
  for (int b = 0; b < d->nbk; b++) {
    snprintf(d->hbuf[b], sizeof d->hbuf[b], ">%s", d->bk[b]);
    d->head[3 + b] = d->hbuf[b];
  }
  return d->nbk > 0;
}

/* The time table (cells "total (fwd + bwd)") and its bars. */
static cb_status breakdown_times(rp_ctx *c, const nr_breakdown *d) {
  const nr_group *g = d->g;
  int nbk = d->nbk;
  char caption[256];
  snprintf(caption, sizeof caption,
           "%s per %s: forward + backward ms (forward + backward), batch %lld, %d thread%s", g->net,
           d->per, (long long)g->batch, g->threads, plural(g->threads));
  rp_table *t = rp_table_add(c->doc, caption, 3 + nbk, d->head);
  if (!t) return rp_nomem();
  cb_status s = CB_OK;
  char **cells = calloc((size_t)nbk + 3, sizeof *cells);
  if (!cells) return rp_nomem();
  for (int r = 0; s == CB_OK && r < d->nrows; r++) {
    char idx[16];
    snprintf(idx, sizeof idx, "%d", r + 1);
    cells[0] = idx;
    cells[1] = (char *)d->rows[r];
    cells[2] = (char *)d->kinds[r];
    for (int b = 0; b < nbk; b++) {
      nr_cell x = cell_of(g, d->bk[b], d->rows[r], r);
      char t1[32], t2[32], t3[32];
      cells[3 + b] = isnan(x.fwd) && isnan(x.bwd)
                         ? strdup("-")
                         : cb_strdup_printf("%s (%s + %s)", rp_num(t1, sum_ms(x.fwd, x.bwd)),
                                            rp_num(t2, x.fwd), rp_num(t3, x.bwd));
    }
    s = rp_row(t, (const char *const *)cells);
    for (int b = 0; b < nbk; b++) {
      free(cells[3 + b]);
      cells[3 + b] = NULL;
    }
  }
  free(cells);
  if (s != CB_OK) return s;

  char *title =
      cb_strdup_printf("%s: forward + backward ms per %s and backend (batch %lld, %d thread%s)",
                       g->net, d->per, (long long)g->batch, g->threads, plural(g->threads));
  rp_plot *p = group_plot(g, "layers", d->several_machines, title, d->per, "ms per batch");
  if (!p) return rp_nomem();
  s = rp_bars_shape(p, d->nrows, d->rows, nbk, d->bk);
  for (int r = 0; s == CB_OK && r < d->nrows; r++)
    for (int b = 0; b < nbk; b++) {
      nr_cell x = cell_of(g, d->bk[b], d->rows[r], r);
      p->val[r * nbk + b] = sum_ms(x.fwd, x.bwd);
    }
  if (s != CB_OK) {
    rp_plot_free(p);
    return s;
  }
  return rp_plot_add(c->doc, p);
}

/* The GFLOP/s table and bars against the peak, for the rows that compute
 * (conv, fc). */
static cb_status breakdown_gflops(rp_ctx *c, const nr_breakdown *d) {
  const nr_group *g = d->g;
  int nbk = d->nbk;
  double peak = d->peak;
  const char *frows[NR_MAX_ROWS];
  int fidx[NR_MAX_ROWS], nf = 0;
  for (int r = 0; r < d->nrows; r++) {
    bool flops = false;
    for (int b = 0; b < nbk; b++) flops |= cell_of(g, d->bk[b], d->rows[r], r).fwd_flops > 0;
    if (flops) {
      frows[nf] = d->rows[r];
      fidx[nf++] = r;
    }
  }
  if (nf == 0) return CB_OK;
  char peak_text[96], caption[256];
  if (isnan(peak))
    snprintf(peak_text, sizeof peak_text, "no peak recorded for %d thread%s: run convbench peak",
             g->threads, plural(g->threads));
  else
    snprintf(peak_text, sizeof peak_text, "%% of the measured peak, %.1f GFLOP/s", peak);
  snprintf(caption, sizeof caption, "%s: GFLOP/s per %s, forward + backward (%s)", g->net, d->per,
           peak_text);
  rp_table *t = rp_table_add(c->doc, caption, 3 + nbk, d->head);
  if (!t) return rp_nomem();
  char *title = cb_strdup_printf("%s: GFLOP/s per %s (forward + backward), %d thread%s", g->net,
                                 d->per, g->threads, plural(g->threads));
  rp_plot *p = group_plot(g, "gflops", d->several_machines, title, d->per, "GFLOP/s");
  if (!p) return rp_nomem();
  cb_status s = rp_bars_shape(p, nf, frows, nbk, d->bk);
  p->hline = peak;
  if (!isnan(peak)) p->hline_label = cb_strdup_printf("measured peak %.1f GFLOP/s", peak);
  for (int i = 0; s == CB_OK && i < nf; i++) {
    int r = fidx[i];
    char idx[16], cellbuf[NR_MAX_BACKENDS][48];
    const char *row[NR_MAX_BACKENDS + 3];
    snprintf(idx, sizeof idx, "%d", r + 1);
    row[0] = idx;
    row[1] = d->rows[r];
    row[2] = d->kinds[r];
    for (int b = 0; b < nbk; b++) {
      nr_cell x = cell_of(g, d->bk[b], d->rows[r], r);
      double gf = gflops(x.fwd_flops, x.bwd_flops, x.fwd, x.bwd);
      p->val[i * nbk + b] = gf;
      if (isnan(gf))
        snprintf(cellbuf[b], sizeof cellbuf[b], "-");
      else if (isnan(peak))
        snprintf(cellbuf[b], sizeof cellbuf[b], "%.1f", gf);
      else
        snprintf(cellbuf[b], sizeof cellbuf[b], "%.1f (%.0f%%%s)", gf, 100 * gf / peak,
                 gf > peak ? " !" : "");
      row[3 + b] = cellbuf[b];
    }
    s = rp_row(t, row);
  }
  if (s != CB_OK) {
    rp_plot_free(p);
    return s;
  }
  if ((s = rp_plot_add(c->doc, p)) != CB_OK) return s;
  return rp_text(c->doc, "GFLOP/s count a direct convolution's flops (2 N K C R S P Q per pass), "
                         "so FFT and Winograd kernels, which do fewer, can show more than the "
                         "peak; the peak is the host's FMA peak at this thread count (convbench "
                         "peak), not a GPU's. A '!' marks a rate over 100%% of the peak: "
                         "winograd credits direct flops when the layer ran a Winograd or FFT "
                         "kernel; with a direct kernel it is a measurement fault.");
}

/* The breakdown per layer (or entry): a table of fwd+bwd ms per row and
 * backend, its bars, and the GFLOP/s table and bars against the peak. */
static cb_status breakdown(rp_ctx *c, const nr_group *g, const char **bk, int nb, double peak,
                           bool several_machines) {
  nr_breakdown *d = calloc(1, sizeof *d); /* some 24 KiB: off the stack */
  if (!d) return rp_nomem();
  d->g = g;
  d->peak = peak;
  d->several_machines = several_machines;
  d->per = g->shapes ? "entry" : "layer";
  cb_status s = CB_OK;
  if (breakdown_shape(d, bk, nb)) {
    s = breakdown_times(c, d);
    if (s == CB_OK) s = breakdown_gflops(c, d);
  }
  free(d);
  return s;
}

static cb_status group_section(rp_ctx *c, nr_group *g, bool several_machines) {
  const char *bk[NR_MAX_BACKENDS];
  int nb = distinct_of(g, false, bk, NR_MAX_BACKENDS);
  nr_total tot[NR_MAX_BACKENDS];
  for (int b = 0; b < nb; b++) {
    nr_total *x = &tot[b];
    *x = (nr_total){bk[b], NAN, NAN, NAN, 0, 0, 0};
    for (int i = 0; i < g->n; i++) {
      const nr_result *r = &g->r[i];
      if (strcmp(r->backend, bk[b]) != 0) continue;
      x->fwd = sum_ms(x->fwd, r->fwd);
      x->bwd = sum_ms(x->bwd, r->bwd);
      x->total = sum_ms(x->total, r->total);
      x->fwd_flops += r->fwd_flops;
      x->bwd_flops += r->bwd_flops;
      x->entries++;
    }
  }
  char title[256];
  snprintf(title, sizeof title, "%s%s (batch %lld, %d thread%s%s)", g->net,
           g->shapes ? " (layer-wise)" : "", (long long)g->batch, g->threads, plural(g->threads),
           several_machines ? ", machine below" : "");
  if (!rp_section_add(c->doc, 3, title)) return rp_nomem();
  double peak = rp_peak(c->h, g->machine_id, g->threads);
  cb_status s = CB_OK;
  if (several_machines) {
    sqlite3_stmt *st;
    s = rp_prepare(c->h, "machine", "SELECT hostname, cpu_model FROM machines WHERE id = ?1", &st);
    bool row;
    sqlite3_bind_int64(st, 1, g->machine_id);
    if (s == CB_OK && (s = rp_step(c->h, "machine", st, &row)) == CB_OK && row)
      s = rp_text(c->doc, "Machine: %s (%s).", rp_col_text(st, 0), rp_col_text(st, 1));
    sqlite3_finalize(st);
  }
  if (s == CB_OK) s = totals_table(c, g, tot, nb, peak, several_machines);
  if (s == CB_OK) s = breakdown(c, g, bk, nb, peak, several_machines);
  if (g->shapes)
    c->sum->shape_groups++;
  else
    c->sum->net_groups++;
  return s;
}

cb_status rp_nets(rp_ctx *c) {
  sqlite3_stmt *st;
  bool row, several = false;
  cb_status s = rp_section_query(c, "Benchmarks", "machines",
                                 "SELECT count(DISTINCT r.machine_id) FROM net_results n"
                                 " JOIN runs r ON r.id = n.run_id"
                                 " JOIN temp.report_runs s ON s.id = n.run_id",
                                 &st);
  if (s == CB_OK && (s = rp_step(c->h, "machines", st, &row)) == CB_OK && row)
    several = sqlite3_column_int(st, 0) > 1;
  sqlite3_finalize(st);
  if (s != CB_OK) return s;

  s = rp_prepare(c->h, "net results",
                 "SELECT n.id, n.run_id, r.machine_id, n.net, n.single_layer, n.batch, n.threads,"
                 " n.backend, n.fwd_median_ms, n.bwd_median_ms, n.total_median_ms, n.fwd_flops,"
                 " n.bwd_flops, (SELECT name FROM layer_results l WHERE l.net_result_id = n.id"
                 " ORDER BY idx LIMIT 1)"
                 " FROM net_results n JOIN runs r ON r.id = n.run_id"
                 " JOIN temp.report_runs s ON s.id = n.run_id"
                 " ORDER BY r.machine_id, n.single_layer, n.net, n.batch, n.threads, n.id",
                 &st);
  if (s != CB_OK) return s;
  nr_group g = {0};
  int groups = 0;
  while (s == CB_OK && (s = rp_step(c->h, "net results", st, &row)) == CB_OK) {
    nr_result r = {0};
    int64_t machine = 0, batch = 0;
    int threads = 0;
    bool shapes = false;
    const char *net = "";
    if (row) {
      r.id = sqlite3_column_int64(st, 0);
      r.run_id = sqlite3_column_int64(st, 1);
      machine = sqlite3_column_int64(st, 2);
      net = rp_col_text(st, 3);
      shapes = sqlite3_column_int(st, 4) != 0;
      batch = sqlite3_column_int64(st, 5);
      threads = sqlite3_column_int(st, 6);
      snprintf(r.backend, sizeof r.backend, "%s", rp_col_text(st, 7));
      r.fwd = rp_col_num(st, 8);
      r.bwd = rp_col_num(st, 9);
      r.total = rp_col_num(st, 10);
      r.fwd_flops = sqlite3_column_double(st, 11);
      r.bwd_flops = sqlite3_column_double(st, 12);
      if (shapes) snprintf(r.entry, sizeof r.entry, "%s", rp_col_text(st, 13));
    }
    bool same = row && g.n && g.machine_id == machine && strcmp(g.net, net) == 0 &&
                g.batch == batch && g.threads == threads && g.shapes == shapes;
    if (g.n && !same) {
      s = group_section(c, &g, several);
      group_free(&g);
      groups++;
    }
    if (!row || s != CB_OK) break;
    if (!g.n) {
      g.machine_id = machine;
      snprintf(g.net, sizeof g.net, "%s", net);
      g.batch = batch;
      g.threads = threads;
      g.shapes = shapes;
    }
    if (!shapes) s = load_layers(c, &r);
    if (s == CB_OK) s = group_put(&g, &r);
    if (s != CB_OK) free(r.layers);
  }
  sqlite3_finalize(st);
  group_free(&g);
  if (s == CB_OK && groups == 0)
    s = rp_text(c->doc, "No benchmark results in the selected runs (net_results is empty): "
                        "run convbench bench, or a peer in scripts/peers/.");
  return s;
}
