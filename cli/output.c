/* output.c: the bench report as tables (per backend, a layer-by-layer
 * comparison when there are several, and the convnet-benchmarks summary),
 * as CSV (one row per layer and backend plus a total per backend) and as
 * JSON. */
#include "cli.h"
#include "peer.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* GFLOP/s of flops done in ms; 0 when either is missing. */
static double gflops(double flops, double ms) {
  return flops > 0 && ms > 0 ? flops / (ms * 1e6) : 0.0;
}

/* "12.345 (12.001)": median and min, or "-" when not measured. */
static void fmt_timing(char *buf, size_t len, const cb_timing *t) {
  if (t->samples == 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.3f (%.3f)", t->median, t->min);
}

/* The machine's peak at the report's thread count, or 0 when unknown. */
static double peak_of(const cli_report *r) {
  return r->session && r->session->have_peak ? r->session->peak.gflops : 0.0;
}

/* "204.4 91%": GFLOP/s and, when the peak is known, its fraction of it. */
static void fmt_rate(char *buf, size_t len, double flops, const cb_timing *t, double peak) {
  double g = gflops(flops, t->samples ? t->median : 0);
  if (g <= 0)
    snprintf(buf, len, "-");
  else if (peak > 0)
    snprintf(buf, len, "%.1f %3.0f%%", g, 100.0 * g / peak);
  else
    snprintf(buf, len, "%.1f", g);
}

static int name_width(const cli_report *r) {
  int w = 5;
  for (int b = 0; b < r->nresults; b++)
    for (int i = 0; i < r->results[b].nrows; i++) {
      int n = (int)strlen(r->results[b].rows[i].name);
      if (n > w) w = n;
    }
  return w;
}

/* One backend's per-layer table and its totals. */
static void print_layers(FILE *f, const cli_report *r, const cli_result *res, int wname) {
  bool any_impl = false;
  for (int i = 0; i < res->nrows; i++) any_impl |= res->rows[i].impl[0] != '\0';
  double peak = peak_of(r);
  fprintf(f, "%3s  %-*s  %-7s %-12s %21s %21s %12s %12s  %s%s\n", "#", wname, "layer", "kind",
          "output", "forward ms", "backward ms", peak > 0 ? "fwd GF/s %pk" : "fwd GF/s",
          peak > 0 ? "bwd GF/s %pk" : "bwd GF/s", "kernels", any_impl ? "  [implementation]" : "");
  bool any_fallback = false;
  for (int i = 0; i < res->nrows; i++) {
    const cli_row *row = &res->rows[i];
    char fwd[48], bwd[48], gf[24], gb[24];
    fmt_timing(fwd, sizeof fwd, &row->t.fwd);
    fmt_timing(bwd, sizeof bwd, &row->t.bwd);
    fmt_rate(gf, sizeof gf, row->fwd_flops, &row->t.fwd, peak);
    fmt_rate(gb, sizeof gb, row->bwd_flops, &row->t.bwd, peak);
    any_fallback |= row->fallback;
    fprintf(f, "%3d  %-*s  %-7s %-12s %21s %21s %12s %12s  %s%s%s%s%s\n", i + 1, wname, row->name,
            row->kind, row->out_shape, fwd, bwd, gf, gb, row->kernels, row->fallback ? " *" : "",
            row->impl[0] ? "  [" : "", row->impl, row->impl[0] ? "]" : "");
  }
  if (any_fallback)
    fprintf(f, "* part of this layer ran on ref: backend %s does not support it\n", res->backend);

  char tot[48], fwd[48], bwd[48];
  fmt_timing(tot, sizeof tot, &res->total);
  fmt_timing(fwd, sizeof fwd, &res->fwd);
  fmt_timing(bwd, sizeof bwd, &res->bwd);
  double gfw = gflops(res->fwd_flops, res->fwd.median),
         gbw = gflops(res->bwd_flops, res->bwd.median);
  fprintf(f, "%s: total %s, forward %s, backward %s ms; %.1f / %.1f GFLOP/s fwd / bwd",
          r->shapes ? "sum of layers" : "whole net", tot, fwd, bwd, gfw, gbw);
  if (peak > 0)
    fprintf(f, " (%.0f%% / %.0f%% of the %.0f GFLOP/s peak)", 100 * gfw / peak, 100 * gbw / peak,
            peak);
  fputc('\n', f);
}

/* Forward + backward median per layer, a column per backend, the fastest
 * marked: the "which backend for which layer" view. */
static void print_comparison(FILE *f, const cli_report *r, int wname) {
  const cli_result *first = &r->results[0];
  fprintf(f, "forward + backward ms per layer (median; '<' marks the fastest):\n");
  fprintf(f, "%3s  %-*s  %-7s", "#", wname, "layer", "kind");
  for (int b = 0; b < r->nresults; b++) fprintf(f, " %12s", r->results[b].backend);
  fputc('\n', f);
  for (int i = 0; i < first->nrows; i++) {
    int best = -1;
    double best_ms = 0;
    for (int b = 0; b < r->nresults; b++) {
      if (i >= r->results[b].nrows) continue;
      double ms = r->results[b].rows[i].t.fwd.median + r->results[b].rows[i].t.bwd.median;
      if (best < 0 || ms < best_ms) best = b, best_ms = ms;
    }
    fprintf(f, "%3d  %-*s  %-7s", i + 1, wname, first->rows[i].name, first->rows[i].kind);
    for (int b = 0; b < r->nresults; b++) {
      if (i >= r->results[b].nrows) {
        fprintf(f, " %12s", "-");
        continue;
      }
      const cli_row *row = &r->results[b].rows[i];
      fprintf(f, " %10.3f%c%c", row->t.fwd.median + row->t.bwd.median, row->fallback ? '*' : ' ',
              b == best && r->nresults > 1 ? '<' : ' ');
    }
    fputc('\n', f);
  }
}

/* The convnet-benchmarks summary: a row per backend, medians, ms per batch. */
static void print_summary(FILE *f, const cli_report *r) {
  int wnet = (int)strlen(r->net) > 7 ? (int)strlen(r->net) : 7, wb = 7;
  for (int b = 0; b < r->nresults; b++)
    if ((int)strlen(r->results[b].backend) > wb) wb = (int)strlen(r->results[b].backend);
  static const char dashes[] = "------------------------------------------------------------------";
  fprintf(f, "| %-*s | %-*s | %10s | %10s | %11s |\n", wnet, "Network", wb, "Backend", "Total ms",
          "Forward ms", "Backward ms");
  fprintf(f, "|%.*s|%.*s|-----------:|-----------:|------------:|\n", wnet + 2, dashes, wb + 2,
          dashes);
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    if (res->total.samples == 0) continue;
    fprintf(f, "| %-*s | %-*s | %10.1f | %10.1f | %11.1f |\n", wnet, r->net, wb, res->backend,
            res->total.median, res->fwd.median, res->bwd.median);
  }
}

static void print_table(FILE *f, const cli_report *r) {
  fprintf(f, "%s: batch %lld, %d thread%s, %d iteration%s after %d warm-up", r->net,
          (long long)r->batch, r->threads, r->threads == 1 ? "" : "s", r->iters,
          r->iters == 1 ? "" : "s", r->warmup);
  if (r->nresults == 1)
    fprintf(f, ", backend %s\n", r->results[0].backend);
  else
    fprintf(f, "; %d backends timed %s\n", r->nresults,
            r->interleaved ? "interleaved, round by round" : "one after another");
  if (r->session)
    fprintf(f, "machine: %s (%s, %d cores); build %.12s%s\n", r->session->machine.cpu_model,
            r->session->machine.isa_level, r->session->machine.cores, r->session->build.git_rev,
            r->session->build.git_dirty ? "+dirty" : "");
  fprintf(f, "times in ms per batch: median over iterations (min in brackets)%s\n",
          r->shapes ? "; each layer timed alone" : "");
  if (r->interrupted) fprintf(f, "(interrupted: only the layers below finished)\n");

  int wname = name_width(r);
  for (int b = 0; b < r->nresults; b++) {
    if (r->nresults > 1)
      fprintf(f, "\n== %s\n", r->results[b].backend);
    else
      fputc('\n', f);
    print_layers(f, r, &r->results[b], wname);
  }
  if (r->nresults > 1) {
    fputc('\n', f);
    print_comparison(f, r, wname);
  }
  fputc('\n', f);
  print_summary(f, r);
}

/* ---- CSV ------------------------------------------------------------------------ */

/* A field, quoted when it holds a comma or a quote. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Timing columns as median,min; empty when not measured. */
static void csv_timing(FILE *f, const cb_timing *t) {
  if (t->samples)
    fprintf(f, ",%.6f,%.6f", t->median, t->min);
  else
    fputs(",,", f);
}

/* The last column: the peak the GFLOP/s compare with (empty if unknown). */
static void csv_peak(FILE *f, const cli_report *r) {
  if (peak_of(r) > 0)
    fprintf(f, ",%.3f\n", peak_of(r));
  else
    fputs(",\n", f);
}

static void print_csv(FILE *f, const cli_report *r) {
  fputs("net,backend,batch,threads,iters,index,layer,kind,in_shape,out_shape,fwd_ms,fwd_min_ms,"
        "bwd_ms,bwd_min_ms,bwd_data_ms,bwd_data_min_ms,bwd_filter_ms,bwd_filter_min_ms,fwd_gflops,"
        "bwd_gflops,kernels,fallback,impl,peak_gflops\n",
        f);
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    for (int i = 0; i < res->nrows; i++) {
      const cli_row *row = &res->rows[i];
      csv_field(f, r->net);
      fprintf(f, ",%s,%lld,%d,%d,%d,", res->backend, (long long)r->batch, r->threads, r->iters,
              i + 1);
      csv_field(f, row->name);
      fprintf(f, ",%s,%s,%s", row->kind, row->in_shape, row->out_shape);
      csv_timing(f, &row->t.fwd);
      csv_timing(f, &row->t.bwd);
      csv_timing(f, &row->t.bwd_data);
      csv_timing(f, &row->t.bwd_filter);
      fprintf(f, ",%.4f,%.4f,", gflops(row->fwd_flops, row->t.fwd.median),
              gflops(row->bwd_flops, row->t.bwd.median));
      csv_field(f, row->kernels);
      fprintf(f, ",%d,", row->fallback);
      csv_field(f, row->impl);
      csv_peak(f, r);
    }
    if (res->total.samples == 0) continue;
    csv_field(f, r->net);
    fprintf(f, ",%s,%lld,%d,%d,,%s,total,,", res->backend, (long long)r->batch, r->threads,
            r->iters, r->shapes ? "sum" : "net");
    csv_timing(f, &res->fwd);
    csv_timing(f, &res->bwd);
    fputs(",,,,", f);
    fprintf(f, ",%.4f,%.4f,,,", gflops(res->fwd_flops, res->fwd.median),
            gflops(res->bwd_flops, res->bwd.median));
    csv_peak(f, r);
  }
}

/* ---- JSON ----------------------------------------------------------------------- */

static void json_timing(FILE *f, const char *key, const cb_timing *t) {
  fprintf(f, "\"%s\": ", key);
  if (!t->samples) {
    fputs("null", f);
    return;
  }
  fprintf(f,
          "{\"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, \"mad_ms\": %.6f, "
          "\"samples\": %d}",
          t->median, t->min, t->max, t->mad, t->samples);
}

static void json_row(FILE *f, int index, const cli_row *row) {
  fprintf(f, "\n    {\"index\": %d, \"name\": ", index);
  cb_json_string(f, row->name);
  fputs(", \"kind\": ", f);
  cb_json_string(f, row->kind);
  fputs(", \"in_shape\": ", f);
  cb_json_string(f, row->in_shape);
  fputs(", \"out_shape\": ", f);
  cb_json_string(f, row->out_shape);
  fputs(", \"kernels\": ", f);
  cb_json_string(f, row->kernels);
  fputs(", \"impl\": ", f);
  cb_json_string(f, row->impl);
  fprintf(f, ", \"fallback\": %s, ", row->fallback ? "true" : "false");
  json_timing(f, "fwd", &row->t.fwd);
  fputs(", ", f);
  json_timing(f, "bwd", &row->t.bwd);
  fputs(", ", f);
  json_timing(f, "bwd_data", &row->t.bwd_data);
  fputs(", ", f);
  json_timing(f, "bwd_filter", &row->t.bwd_filter);
  fprintf(f, ", \"fwd_flops\": %.0f, \"bwd_flops\": %.0f}", row->fwd_flops, row->bwd_flops);
}

static void print_json(FILE *f, const cli_report *r) {
  fputs("{\"net\": ", f);
  cb_json_string(f, r->net);
  fputs(", \"netdef\": ", f);
  cb_json_string(f, r->netdef);
  fprintf(f, ", \"batch\": %lld, \"threads\": %d, \"iters\": %d, \"warmup\": %d, ",
          (long long)r->batch, r->threads, r->iters, r->warmup);
  fprintf(f, "\"shapes\": %s, \"interleaved\": %s, \"interrupted\": %s, ",
          r->shapes ? "true" : "false", r->interleaved ? "true" : "false",
          r->interrupted ? "true" : "false");
  if (r->session && r->session->db) fprintf(f, "\"run_id\": %lld, ", (long long)r->session->run_id);
  if (peak_of(r) > 0) fprintf(f, "\"peak_gflops\": %.3f, ", peak_of(r));
  fputs("\"results\": [", f);
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    fprintf(f, "%s\n  {\"backend\": ", b ? "," : "");
    cb_json_string(f, res->backend);
    fputs(", \"layers\": [", f);
    for (int i = 0; i < res->nrows; i++) {
      if (i) fputc(',', f);
      json_row(f, i + 1, &res->rows[i]);
    }
    fputs("\n  ], ", f);
    json_timing(f, "fwd", &res->fwd);
    fputs(", ", f);
    json_timing(f, "bwd", &res->bwd);
    fputs(", ", f);
    json_timing(f, "total", &res->total);
    fprintf(f, ", \"fwd_flops\": %.0f, \"bwd_flops\": %.0f}", res->fwd_flops, res->bwd_flops);
  }
  fputs("\n]}\n", f);
}

void cli_report_print(FILE *f, cli_format fmt, const cli_report *r) {
  switch (fmt) {
  case CLI_FORMAT_TABLE:
    print_table(f, r);
    break;
  case CLI_FORMAT_CSV:
    print_csv(f, r);
    break;
  case CLI_FORMAT_JSON:
    print_json(f, r);
    break;
  }
}

/* ---- bench --compare: one table, convbench's backends and PyTorch ------------------ */

/* One row of the comparison. */
typedef struct compare_row {
  char label[96];
  const cb_timing *total, *fwd, *bwd;
  bool peer;
} compare_row;

/* "tuned (heuristic plan: 0 of 46 ops cached)": what the tuned row ran. */
static void tuned_label(char *buf, size_t len, const cli_plan_counts *pc) {
  int cached = pc->exact + pc->generation, all = cached + pc->heuristic;
  if (all == 0)
    snprintf(buf, len, "tuned");
  else if (cached == 0)
    snprintf(buf, len, "tuned (heuristic plan: 0 of %d ops cached)", all);
  else if (pc->heuristic > 0)
    snprintf(buf, len, "tuned (%d of %d ops cached)", cached, all);
  else
    snprintf(buf, len, "tuned (all %d ops cached)", all);
}

/* "1.52x faster" / "2.10x slower" than PyTorch's total. */
static void fmt_ratio(char *buf, size_t len, double pytorch_ms, double ms) {
  if (pytorch_ms <= 0 || ms <= 0)
    snprintf(buf, len, "-");
  else if (pytorch_ms >= ms)
    snprintf(buf, len, "%.2fx faster", pytorch_ms / ms);
  else
    snprintf(buf, len, "%.2fx slower", ms / pytorch_ms);
}

static int cmp_rows(const void *pa, const void *pb) {
  const compare_row *a = pa, *b = pb;
  return (a->total->median > b->total->median) - (a->total->median < b->total->median);
}

void cli_compare_print(FILE *f, const cli_report *r, const cli_compare_info *ci) {
  fprintf(f, "%s: batch %lld, %d thread%s, %d iteration%s after %d warm-up\n", r->net,
          (long long)r->batch, r->threads, r->threads == 1 ? "" : "s", r->iters,
          r->iters == 1 ? "" : "s", r->warmup);
  if (r->session)
    fprintf(f, "machine: %s (%s, %d cores); build %.12s%s%s%s\n", r->session->machine.cpu_model,
            r->session->machine.isa_level, r->session->machine.cores, r->session->build.git_rev,
            r->session->build.git_dirty ? "+dirty" : "", ci->have_peer ? "; PyTorch " : "",
            ci->have_peer ? ci->peer.torch : "");
  fprintf(f, "convbench's %d backends timed %s", r->nresults,
          r->interleaved ? "interleaved, round by round" : "one after another");
  if (ci->have_peer)
    fprintf(f, "; PyTorch %d iteration%s before that block and %d after", ci->peer_before,
            ci->peer_before == 1 ? "" : "s", ci->peer_after);
  fprintf(f,
          "\nms per batch, medians over iterations; total is forward + backward of the "
          "same iteration%s\n\n",
          r->shapes ? ", summed over the layers (each timed alone)" : " (whole net)");

  compare_row rows[CLI_MAX_BACKENDS + 1];
  int n = 0;
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    if (res->total.samples == 0) continue;
    compare_row *row = &rows[n++];
    memset(row, 0, sizeof *row);
    int fallbacks = 0;
    for (int i = 0; i < res->nrows; i++) fallbacks += res->rows[i].fallback;
    if (strcmp(res->backend, "tuned") == 0)
      tuned_label(row->label, sizeof row->label, &ci->plan);
    else
      snprintf(row->label, sizeof row->label, "%s", res->backend);
    if (fallbacks) {
      size_t used = strlen(row->label);
      snprintf(row->label + used, sizeof row->label - used, " *");
    }
    row->total = &res->total, row->fwd = &res->fwd, row->bwd = &res->bwd;
  }
  if (ci->have_peer) {
    compare_row *row = &rows[n++];
    memset(row, 0, sizeof *row);
    snprintf(row->label, sizeof row->label, "pytorch");
    row->total = &ci->peer.total, row->fwd = &ci->peer.fwd, row->bwd = &ci->peer.bwd;
    row->peer = true;
  }
  qsort(rows, (size_t)n, sizeof *rows, cmp_rows);

  int wnet = (int)strlen(r->net) > 7 ? (int)strlen(r->net) : 7, wb = 7;
  for (int i = 0; i < n; i++)
    if ((int)strlen(rows[i].label) > wb) wb = (int)strlen(rows[i].label);
  static const char dashes[] =
      "--------------------------------------------------------------------------------";
  fprintf(f, "| %-*s | %-*s | %10s | %10s | %11s | %14s |\n", wnet, "Network", wb, "Backend",
          "Total ms", "Forward ms", "Backward ms", "vs PyTorch");
  fprintf(f, "|%.*s|%.*s|-----------:|-----------:|------------:|---------------:|\n", wnet + 2,
          dashes, wb + 2, dashes);
  double pt = ci->have_peer ? ci->peer.total.median : 0;
  for (int i = 0; i < n; i++) {
    char ratio[32];
    if (rows[i].peer)
      snprintf(ratio, sizeof ratio, "1.00");
    else
      fmt_ratio(ratio, sizeof ratio, pt, rows[i].total->median);
    fprintf(f, "| %-*s | %-*s | %10.1f | %10.1f | %11.1f | %14s |\n", wnet, r->net, wb,
            rows[i].label, rows[i].total->median, rows[i].fwd->median, rows[i].bwd->median, ratio);
  }

  /* The notes: fallbacks, what the tuned row is, and PyTorch. */
  bool first_fallback = true;
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    int count = 0;
    for (int i = 0; i < res->nrows; i++) count += res->rows[i].fallback;
    if (!count) continue;
    if (first_fallback)
      fprintf(f, "\n* some layers ran on ref, the plain-C oracle (the backend has no kernel for "
                 "them):\n");
    first_fallback = false;
    fprintf(f, "  %s: %d layer%s:", res->backend, count, count == 1 ? "" : "s");
    for (int i = 0, shown = 0; i < res->nrows; i++)
      if (res->rows[i].fallback) fprintf(f, "%s %s", shown++ ? "," : "", res->rows[i].name);
    fputc('\n', f);
  }
  fputc('\n', f);
  const cli_plan_counts *pc = &ci->plan;
  if (pc->exact + pc->generation + pc->heuristic > 0)
    fprintf(f,
            "tuned: %d ops exact cache hits, %d from the same device generation, %d heuristic "
            "picks%s\n",
            pc->exact, pc->generation, pc->heuristic,
            pc->heuristic ? " ('convbench tune NET' tunes them)" : "");
  if (ci->have_peer)
    fprintf(f, "pytorch: %s; vs PyTorch = PyTorch's total / the row's total\n",
            strcmp(ci->peer.measure, "native") == 0
                ? "the whole net as model(x) then loss.backward(), as users run it"
                : "each layer timed alone, summed");
  else
    fprintf(f, "no pytorch row: %s\n", ci->note);
  if (ci->run_id) {
    fprintf(f, "per-layer times: convbench report, convbench compare (run %lld",
            (long long)ci->run_id);
    if (ci->have_peer && ci->peer.run_id)
      fprintf(f, "; PyTorch's run %lld", (long long)ci->peer.run_id);
    fprintf(f, ")\n");
  }
}
