/* output.c: the bench report as tables (per backend, a layer-by-layer
 * comparison when there are several, and the convnet-benchmarks summary),
 * as CSV (one row per layer and backend plus a total per backend, after a
 * commented context header) and as JSON (with a context block); and what
 * bench, run and gemm share around their numbers: the context of a run,
 * the noise verdict of a timing and the warnings about it, the load and
 * clock line, and why a rate may exceed the peak. */
#include "cli.h"
#include "peer.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
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

/* "204.4 91%": GFLOP/s and, when the peak is known, its fraction of it;
 * over 100% the reason is marked: 'w' (Winograd/FFT credit direct flops)
 * or '!' (a measurement fault). *over (may be NULL) gets the mark or 0. */
static void fmt_rate(char *buf, size_t len, double flops, const cb_timing *t, double peak,
                     const cli_row *row, char *over) {
  double g = gflops(flops, t->samples ? t->median : 0);
  char mark = 0;
  if (g > 0 && peak > 0 && g > peak)
    mark = strcmp(cli_over_peak_reason(row ? row->kernels : "", row ? row->impl : ""),
                  "measurement fault") == 0
               ? '!'
               : 'w';
  if (over) *over = mark;
  if (g <= 0)
    snprintf(buf, len, "-");
  else if (peak > 0)
    snprintf(buf, len, "%.1f %3.0f%%%c", g, 100.0 * g / peak, mark ? mark : ' ');
  else
    snprintf(buf, len, "%.1f", g);
}

/* The worse verdict of a layer's forward and backward timings. */
static void row_noise(const cli_row *row, char *buf, size_t len) {
  const cb_timing *t = &row->t.fwd;
  if (row->t.bwd.samples &&
      (cb_timing_noise(&row->t.bwd, NULL) > cb_timing_noise(t, NULL) || !t->samples))
    t = &row->t.bwd;
  cli_noise_cell(t, buf, len);
}

/* Noisy and preempted counts over a timing. */
static void count_noise(const cb_timing *t, int *timed, int *noisy, int *preempted) {
  if (!t->samples) return;
  (*timed)++;
  cb_noise_level l = cb_timing_noise(t, NULL);
  *noisy += l == CB_NOISE_NOISY;
  *preempted += l == CB_NOISE_PREEMPTED;
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
  fprintf(f, "%3s  %-*s  %-7s %-12s %21s %21s %-15s %13s %13s  %s%s\n", "#", wname, "layer", "kind",
          "output", "forward ms", "backward ms", "noise", peak > 0 ? "fwd GF/s %pk" : "fwd GF/s",
          peak > 0 ? "bwd GF/s %pk" : "bwd GF/s", "kernels", any_impl ? "  [implementation]" : "");
  bool any_fallback = false, any_w = false, any_fault = false;
  for (int i = 0; i < res->nrows; i++) {
    const cli_row *row = &res->rows[i];
    char fwd[48], bwd[48], gf[32], gb[32], noise[32], of, ob;
    fmt_timing(fwd, sizeof fwd, &row->t.fwd);
    fmt_timing(bwd, sizeof bwd, &row->t.bwd);
    row_noise(row, noise, sizeof noise);
    fmt_rate(gf, sizeof gf, row->fwd_flops, &row->t.fwd, peak, row, &of);
    fmt_rate(gb, sizeof gb, row->bwd_flops, &row->t.bwd, peak, row, &ob);
    any_w |= of == 'w' || ob == 'w';
    any_fault |= of == '!' || ob == '!';
    any_fallback |= row->fallback;
    fprintf(f, "%3d  %-*s  %-7s %-12s %21s %21s %-15s %13s %13s  %s%s%s%s%s\n", i + 1, wname,
            row->name, row->kind, row->out_shape, fwd, bwd, noise, gf, gb, row->kernels,
            row->fallback ? " *" : "", row->impl[0] ? "  [" : "", row->impl,
            row->impl[0] ? "]" : "");
  }
  if (any_fallback)
    fprintf(f, "* part of this layer ran on ref: backend %s does not support it\n", res->backend);
  if (any_w)
    fprintf(f, "w over 100%% of peak: winograd credits direct flops (a Winograd or FFT kernel "
               "does fewer flops than the direct convolution it is credited with)\n");
  if (any_fault)
    fprintf(f, "! over 100%% of peak with a direct kernel: a measurement fault (preempted "
               "minimum, timer, or a wrong peak), not a real rate\n");

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

/* Whether a total differs from forward + backward by more than the
 * summary's rounding (0.1 ms). */
static bool total_differs(const cli_result *res) {
  return fabs(res->total.median - (res->fwd.median + res->bwd.median)) >= 0.05;
}

/* The convnet-benchmarks summary: a row per backend, medians, ms per batch. */
static void print_summary(FILE *f, const cli_report *r) {
  int wnet = (int)strlen(r->net) > 7 ? (int)strlen(r->net) : 7, wb = 7;
  for (int b = 0; b < r->nresults; b++)
    if ((int)strlen(r->results[b].backend) > wb) wb = (int)strlen(r->results[b].backend);
  static const char dashes[] = "------------------------------------------------------------------";
  fprintf(f, "| %-*s | %-*s | %10s | %10s | %11s | %-14s |\n", wnet, "Network", wb, "Backend",
          "Total ms", "Forward ms", "Backward ms", "Noise (total)");
  fprintf(f, "|%.*s|%.*s|-----------:|-----------:|------------:|:---------------|\n", wnet + 2,
          dashes, wb + 2, dashes);
  bool differs = false;
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    if (res->total.samples == 0) continue;
    char noise[32] = "see layers";
    /* A .shapes total is a sum of medians: it has no samples of its own. */
    if (!r->shapes) cli_noise_cell(&res->total, noise, sizeof noise);
    differs |= total_differs(res);
    fprintf(f, "| %-*s | %-*s | %10.1f | %10.1f | %11.1f | %-14s |\n", wnet, r->net, wb,
            res->backend, res->total.median, res->fwd.median, res->bwd.median, noise);
  }
  if (r->shapes)
    fprintf(f, "totals are sums of the layers' medians (each layer timed alone)\n");
  else if (differs)
    fprintf(f, "total = median of per-iteration fwd+bwd sums (not the sum of the fwd and bwd "
               "medians: a slow forward and a slow backward seldom share an iteration)\n");
}

/* The command that reproduces the bench, and what a tuned result also
 * depends on: the tune cache's hits. */
static void print_reproduce(FILE *f, const cli_report *r) {
  fprintf(f, "Reproduce with: %s\n", cli_cmdline);
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    if (strcmp(res->backend, "tuned") != 0) continue;
    int ops = 0, exact = 0;
    for (int i = 0; i < res->nrows; i++) ops += res->rows[i].ops, exact += res->rows[i].ops_exact;
    fprintf(f,
            "  tuned depends on the tune cache: %d of %d ops were cache hits, %d heuristic or "
            "borrowed; ship the cache with 'convbench cache export' (and 'cache import' there)\n",
            exact, ops, ops - exact);
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
  if (r->have_state) cli_state_line(f, &r->before, &r->after, r->threads);
  if (r->session && !r->session->have_peak && r->session->no_peak[0])
    fprintf(f, "%s\n", r->session->no_peak);
  print_reproduce(f, r);
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

/* The peak the GFLOP/s compare with (empty if unknown). */
static void csv_peak(FILE *f, const cli_report *r) {
  if (peak_of(r) > 0)
    fprintf(f, ",%.3f", peak_of(r));
  else
    fputs(",", f);
}

/* The last columns: MAD, samples and the noise verdict of forward and
 * backward, why a rate exceeds the peak ("" when none does), then the end
 * of the row. */
static void csv_noise(FILE *f, const cb_timing *fwd, const cb_timing *bwd, const char *over) {
  const cb_timing *t[2] = {fwd, bwd};
  for (int i = 0; i < 2; i++)
    if (t[i]->samples)
      fprintf(f, ",%.6f,%d,%s", t[i]->mad, t[i]->samples,
              cb_noise_name(cb_timing_noise(t[i], NULL)));
    else
      fputs(",,0,", f);
  fprintf(f, ",%s\n", over);
}

/* Why a row's forward or backward rate exceeds the peak, "" if neither does. */
static const char *row_over_peak(const cli_report *r, const cli_row *row) {
  double peak = peak_of(r);
  if (!(peak > 0)) return "";
  if (gflops(row->fwd_flops, row->t.fwd.samples ? row->t.fwd.median : 0) > peak ||
      gflops(row->bwd_flops, row->t.bwd.samples ? row->t.bwd.median : 0) > peak)
    return cli_over_peak_reason(row->kernels, row->impl);
  return "";
}

/* The context of a bench report. */
static cli_context report_context(const cli_report *r) {
  return (cli_context){.session = r->session,
                       .threads = r->threads,
                       .seed = r->seed,
                       .batch = r->batch,
                       .iters = r->iters,
                       .warmup = r->warmup,
                       .before = r->have_state ? &r->before : NULL,
                       .after = r->have_state ? &r->after : NULL};
}

static void print_csv(FILE *f, const cli_report *r) {
  cli_context ctx = report_context(r);
  cli_context_csv(f, &ctx);
  if (r->shapes)
    fputs("# total: sum of the layers' medians (each layer timed alone)\n", f);
  else
    fputs("# total: median of the per-iteration fwd+bwd sums\n", f);
  fputs("net,backend,batch,threads,iters,index,layer,kind,in_shape,out_shape,fwd_ms,fwd_min_ms,"
        "bwd_ms,bwd_min_ms,bwd_data_ms,bwd_data_min_ms,bwd_filter_ms,bwd_filter_min_ms,fwd_gflops,"
        "bwd_gflops,kernels,fallback,impl,peak_gflops,fwd_mad_ms,fwd_samples,fwd_noise,bwd_mad_ms,"
        "bwd_samples,bwd_noise,over_peak\n",
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
      csv_noise(f, &row->t.fwd, &row->t.bwd, row_over_peak(r, row));
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
    csv_noise(f, &res->fwd, &res->bwd, "");
  }
}

/* ---- JSON ----------------------------------------------------------------------- */

static void json_timing(FILE *f, const char *key, const cb_timing *t) {
  fprintf(f, "\"%s\": ", key);
  if (!t->samples) {
    fputs("null", f);
    return;
  }
  double spread;
  cb_noise_level l = cb_timing_noise(t, &spread);
  fprintf(f,
          "{\"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, \"mad_ms\": %.6f, "
          "\"samples\": %d, \"noise\": \"%s\", \"mad_over_median\": %.4f}",
          t->median, t->min, t->max, t->mad, t->samples, cb_noise_name(l), spread);
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
  cli_context ctx = report_context(r);
  cli_context_json(f, &ctx);
  fprintf(f, ", \"total_definition\": \"%s\", ",
          r->shapes ? "sum of the layers' medians" : "median of the per-iteration fwd+bwd sums");
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

/* The noise warning of a bench report, over every layer and total. */
static void report_noise_warn(const cli_report *r) {
  int timed = 0, noisy = 0, preempted = 0;
  for (int b = 0; b < r->nresults; b++) {
    const cli_result *res = &r->results[b];
    for (int i = 0; i < res->nrows; i++) {
      count_noise(&res->rows[i].t.fwd, &timed, &noisy, &preempted);
      count_noise(&res->rows[i].t.bwd, &timed, &noisy, &preempted);
    }
    if (!r->shapes) count_noise(&res->total, &timed, &noisy, &preempted);
  }
  cli_noise_warn("bench", noisy, preempted, timed, r->iters, r->threads,
                 r->session ? r->session->machine.pus : 0, r->have_state ? &r->before : NULL,
                 r->have_state ? &r->after : NULL);
}

void cli_report_print(FILE *f, cli_format fmt, const cli_report *r) {
  report_noise_warn(r);
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
  report_noise_warn(r);
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
  fprintf(f, "| %-*s | %-*s | %10s | %10s | %11s | %14s | %-15s |\n", wnet, "Network", wb,
          "Backend", "Total ms", "Forward ms", "Backward ms", "vs PyTorch", "Noise (total)");
  fprintf(f,
          "|%.*s|%.*s|-----------:|-----------:|------------:|---------------:|:----------------"
          "|\n",
          wnet + 2, dashes, wb + 2, dashes);
  double pt = ci->have_peer ? ci->peer.total.median : 0;
  for (int i = 0; i < n; i++) {
    char ratio[32];
    if (rows[i].peer)
      snprintf(ratio, sizeof ratio, "1.00");
    else
      fmt_ratio(ratio, sizeof ratio, pt, rows[i].total->median);
    char noise[32];
    cli_noise_cell(rows[i].total, noise, sizeof noise);
    fprintf(f, "| %-*s | %-*s | %10.1f | %10.1f | %11.1f | %14s | %-15s |\n", wnet, r->net, wb,
            rows[i].label, rows[i].total->median, rows[i].fwd->median, rows[i].bwd->median, ratio,
            noise);
  }
  if (r->have_state) {
    fputc('\n', f);
    cli_state_line(f, &r->before, &r->after, r->threads);
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

/* ---- context, noise, state ------------------------------------------------------ */

/* "key": value pairs of the context, one writer for JSON and CSV so the
 * two cannot drift apart. */
typedef struct ctx_writer {
  FILE *f;
  bool json, first;
} ctx_writer;

static void ctx_str(ctx_writer *w, const char *key, const char *v) {
  if (w->json) {
    fprintf(w->f, "%s\"%s\": ", w->first ? "" : ", ", key);
    cb_json_string(w->f, v ? v : "");
  } else {
    fprintf(w->f, "# %s: ", key);
    for (const char *p = v ? v : ""; *p; p++) fputc(*p == '\n' ? ' ' : *p, w->f);
    fputc('\n', w->f);
  }
  w->first = false;
}

static void ctx_num(ctx_writer *w, const char *key, const char *fmt, double v) {
  char buf[64];
  if (isnan(v))
    snprintf(buf, sizeof buf, "%s", w->json ? "null" : "");
  else
    snprintf(buf, sizeof buf, fmt, v);
  if (w->json)
    fprintf(w->f, "%s\"%s\": %s", w->first ? "" : ", ", key, buf);
  else
    fprintf(w->f, "# %s: %s\n", key, buf);
  w->first = false;
}

static void context_write(ctx_writer *w, const cli_context *c) {
  const cli_session *s = c->session;
  char now[CB_ISO_TIME_MAX];
  cb_iso_now(now, sizeof now);
  if (s) {
    const cb_machine *m = &s->machine;
    ctx_str(w, "hostname", m->hostname);
    ctx_str(w, "cpu_model", m->cpu_model);
    ctx_str(w, "cpu_vendor", m->cpu_vendor);
    ctx_str(w, "isa_level", m->isa_level);
    ctx_num(w, "cores", "%.0f", m->cores);
    ctx_num(w, "pus", "%.0f", m->pus);
    ctx_str(w, "topology", m->topology);
    ctx_str(w, "os", m->os);
    ctx_str(w, "machine_fingerprint", m->fingerprint);
    char rev[64];
    snprintf(rev, sizeof rev, "%s%s", s->build.git_rev, s->build.git_dirty ? "+dirty" : "");
    ctx_str(w, "git_revision", rev);
    ctx_str(w, "compiler", s->build.compiler);
    ctx_str(w, "build_type", s->build.build_type);
    ctx_str(w, "flags", s->build.flags);
    ctx_str(w, "libraries", s->build.libs);
  }
  ctx_str(w, "date", now);
  ctx_num(w, "run_id", "%.0f", s && s->db ? (double)s->run_id : NAN);
  ctx_str(w, "command_line", c->command ? c->command : cli_cmdline);
  ctx_num(w, "threads", "%.0f", c->threads);
  ctx_num(w, "seed", "%.0f", (double)c->seed);
  ctx_num(w, "batch", "%.0f", c->batch > 0 ? (double)c->batch : NAN);
  ctx_num(w, "iters", "%.0f", c->iters);
  ctx_num(w, "warmup", "%.0f", c->warmup);
  bool pk = s && s->have_peak;
  ctx_num(w, "peak_gflops", "%.3f", pk ? s->peak.gflops : NAN);
  ctx_num(w, "peak_threads", "%.0f", pk ? s->peak.threads : NAN);
  ctx_num(w, "peak_min_gflops", "%.3f", pk && s->peak.repeats ? s->peak.gflops_min : NAN);
  ctx_num(w, "peak_median_gflops", "%.3f", pk && s->peak.repeats ? s->peak.gflops_median : NAN);
  ctx_num(w, "peak_theoretical_gflops", "%.3f",
          pk && s->peak.theoretical_gflops > 0 ? s->peak.theoretical_gflops : NAN);
  ctx_str(w, "peak_stored", pk ? s->peak.measured : (s ? s->no_peak : ""));
  ctx_num(w, "load1_before", "%.2f", c->before ? c->before->load1 : NAN);
  ctx_num(w, "load1_after", "%.2f", c->after ? c->after->load1 : NAN);
  ctx_num(w, "cpu_mhz_before", "%.0f", c->before ? c->before->cpu_mhz_measured : NAN);
  ctx_num(w, "cpu_mhz_after", "%.0f", c->after ? c->after->cpu_mhz_measured : NAN);
}

void cli_context_json(FILE *f, const cli_context *c) {
  ctx_writer w = {f, true, true};
  fputs("\"context\": {", f);
  context_write(&w, c);
  fputc('}', f);
}

void cli_context_csv(FILE *f, const cli_context *c) {
  ctx_writer w = {f, false, true};
  context_write(&w, c);
}

void cli_noise_cell(const cb_timing *t, char *buf, size_t len) {
  if (!t->samples) {
    snprintf(buf, len, "-");
    return;
  }
  double spread;
  cb_noise_level l = cb_timing_noise(t, &spread);
  if (l == CB_NOISE_PREEMPTED)
    snprintf(buf, len, "preempted x%.1f", t->min > 0 ? t->median / t->min : 0.0);
  else
    snprintf(buf, len, "%s %.1f%%", cb_noise_name(l), 100 * spread);
}

bool cli_noise_warn(const char *cmd, int nnoisy, int npreempted, int ntimed, int iters, int threads,
                    int cpus, const cb_devstate *before, const cb_devstate *after) {
  double load = 0, load_before = before ? before->load1 : 0;
  if (before && before->load1 > load) load = before->load1;
  if (after && after->load1 > load) load = after->load1;
  if (cpus < threads) cpus = threads;
  /* What other processes ran while we measured, from the CPU tick
   * counters; the load average only when those are missing (it is a
   * one-minute mean that counts our own threads and whatever ran just
   * before us, a peer or a build). Other processes take cores from ours
   * when they need more than the CPUs our threads leave free. */
  double others = before && after ? cb_devstate_others_cpus(before, after) : -1;
  bool loaded = others >= 0 ? others > cpus - threads + 0.5
                            : load > cpus + 0.5 || load_before > cpus - threads + 1.0;
  if (nnoisy + npreempted == 0 && !loaded) return false;
  char cause[256];
  double mb = before ? before->cpu_mhz_measured : 0, ma = after ? after->cpu_mhz_measured : 0;
  if (loaded && others >= 0)
    snprintf(cause, sizeof cause,
             "preemption by other processes: they kept %.2f CPUs busy while %d thread%s of ours "
             "ran on %d CPUs (load average %.2f)",
             others, threads, threads == 1 ? "" : "s", cpus, load);
  else if (loaded)
    snprintf(cause, sizeof cause,
             "preemption by other processes: load %.2f on %d thread%s (%d CPUs)", load, threads,
             threads == 1 ? "" : "s", cpus);
  else if (mb > 0 && ma > 0 && ma < 0.9 * mb)
    snprintf(cause, sizeof cause, "clock drop: %.0f -> %.0f MHz during the measurement", mb, ma);
  else if (iters < 5)
    snprintf(cause, sizeof cause, "too few iterations (%d): run with --iters 10 or more", iters);
  else if (others >= 0)
    snprintf(cause, sizeof cause,
             "short interruptions (other processes kept %.2f CPUs busy on average; load "
             "average %.2f on %d thread%s)",
             others, load, threads, threads == 1 ? "" : "s");
  else
    snprintf(cause, sizeof cause, "preemption or interrupts (load %.2f on %d thread%s)", load,
             threads, threads == 1 ? "" : "s");
  if (nnoisy + npreempted)
    cli_error(cmd,
              "warning: %d of %d timings noisy (MAD over %.0f%% of the median), %d preempted "
              "(median over %.0fx the min); likely cause: %s",
              nnoisy, ntimed, 100 * CB_NOISE_SPREAD, npreempted, CB_NOISE_PREEMPT, cause);
  else
    cli_error(cmd, "warning: the machine was busy, timings may be slow; likely cause: %s", cause);
  return true;
}

void cli_state_line(FILE *f, const cb_devstate *before, const cb_devstate *after, int threads) {
  fprintf(f,
          "during the measurements: load (1 min) %.2f before, %.2f after, on %d thread%s; "
          "clock %.0f -> %.0f MHz (measured)",
          before->load1, after->load1, threads, threads == 1 ? "" : "s", before->cpu_mhz_measured,
          after->cpu_mhz_measured);
  double others = cb_devstate_others_cpus(before, after);
  if (others >= 0) fprintf(f, "; other processes kept %.2f CPUs busy", others);
  fputc('\n', f);
}

/* Whether s contains word, case-insensitively. */
static bool contains_ci(const char *s, const char *word) {
  size_t n = strlen(word);
  for (; s && *s; s++) {
    size_t i = 0;
    while (i < n && s[i] && tolower((unsigned char)s[i]) == word[i]) i++;
    if (i == n) return true;
  }
  return false;
}

const char *cli_over_peak_reason(const char *kernels, const char *impl) {
  if (contains_ci(kernels, "winograd") || contains_ci(kernels, "fft") ||
      contains_ci(impl, "winograd") || contains_ci(impl, "fft"))
    return "winograd credits direct flops";
  return "measurement fault";
}
