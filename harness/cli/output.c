/* output.c: the bench report as a table (with the convnet-benchmarks
 * summary), as CSV (one row per layer plus a total) and as JSON. */
#include "cli.h"

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

static void fmt_rate(char *buf, size_t len, double flops, const cb_timing *t) {
  double g = gflops(flops, t->samples ? t->median : 0);
  if (g > 0)
    snprintf(buf, len, "%.2f", g);
  else
    snprintf(buf, len, "-");
}

static void print_table(FILE *f, const cli_report *r) {
  fprintf(f, "%s: batch %lld, backend %s, %d thread%s, %d iteration%s after %d warm-up\n", r->net,
          (long long)r->batch, r->backend, r->threads, r->threads == 1 ? "" : "s", r->iters,
          r->iters == 1 ? "" : "s", r->warmup);
  if (r->session)
    fprintf(f, "machine: %s (%s, %d cores); build %.12s%s\n", r->session->machine.cpu_model,
            r->session->machine.isa_level, r->session->machine.cores, r->session->build.git_rev,
            r->session->build.git_dirty ? "+dirty" : "");
  fprintf(f, "times in ms per batch: median over iterations (min in brackets)%s\n\n",
          r->shapes ? "; each layer timed alone" : "");

  int wname = 5;
  for (int i = 0; i < r->nrows; i++) {
    int n = (int)strlen(r->rows[i].name);
    if (n > wname) wname = n;
  }
  fprintf(f, "%3s  %-*s  %-7s %-12s %21s %21s %9s %9s  %s\n", "#", wname, "layer", "kind", "output",
          "forward ms", "backward ms", "fwd GF/s", "bwd GF/s", "kernels");
  bool any_fallback = false;
  for (int i = 0; i < r->nrows; i++) {
    const cli_row *row = &r->rows[i];
    char fwd[48], bwd[48], gf[24], gb[24];
    fmt_timing(fwd, sizeof fwd, &row->t.fwd);
    fmt_timing(bwd, sizeof bwd, &row->t.bwd);
    fmt_rate(gf, sizeof gf, row->fwd_flops, &row->t.fwd);
    fmt_rate(gb, sizeof gb, row->bwd_flops, &row->t.bwd);
    any_fallback |= row->fallback;
    fprintf(f, "%3d  %-*s  %-7s %-12s %21s %21s %9s %9s  %s%s\n", i + 1, wname, row->name,
            row->kind, row->out_shape, fwd, bwd, gf, gb, row->kernels, row->fallback ? " *" : "");
  }
  if (any_fallback)
    fprintf(f, "* part of this layer ran on ref: backend %s does not support it\n", r->backend);
  if (r->interrupted) fprintf(f, "(interrupted: only the layers above finished)\n");

  const char *what = r->shapes ? "sum of layers" : "whole net";
  char tot[48], fwd[48], bwd[48];
  fmt_timing(tot, sizeof tot, &r->total);
  fmt_timing(fwd, sizeof fwd, &r->fwd);
  fmt_timing(bwd, sizeof bwd, &r->bwd);
  fprintf(f, "\n%s: total %s, forward %s, backward %s ms; %.2f / %.2f GFLOP/s fwd / bwd\n\n", what,
          tot, fwd, bwd, gflops(r->fwd_flops, r->fwd.median), gflops(r->bwd_flops, r->bwd.median));

  /* The convnet-benchmarks summary line: medians, ms per batch. */
  int wnet = (int)strlen(r->net) > 7 ? (int)strlen(r->net) : 7;
  int wb = (int)strlen(r->backend) > 7 ? (int)strlen(r->backend) : 7;
  fprintf(f, "| %-*s | %-*s | %10s | %10s | %11s |\n", wnet, "Network", wb, "Backend", "Total ms",
          "Forward ms", "Backward ms");
  fprintf(f, "|%.*s|%.*s|-----------:|-----------:|------------:|\n", wnet + 2,
          "--------------------------------------------------------------------------------",
          wb + 2,
          "--------------------------------------------------------------------------------");
  fprintf(f, "| %-*s | %-*s | %10.1f | %10.1f | %11.1f |\n", wnet, r->net, wb, r->backend,
          r->total.median, r->fwd.median, r->bwd.median);
}

/* CSV: timing columns as median,min; empty when not measured. */
static void csv_timing(FILE *f, const cb_timing *t) {
  if (t->samples)
    fprintf(f, ",%.6f,%.6f", t->median, t->min);
  else
    fputs(",,", f);
}

static void print_csv(FILE *f, const cli_report *r) {
  fputs("net,backend,batch,threads,iters,index,layer,kind,in_shape,out_shape,fwd_ms,fwd_min_ms,"
        "bwd_ms,bwd_min_ms,bwd_data_ms,bwd_data_min_ms,bwd_filter_ms,bwd_filter_min_ms,fwd_gflops,"
        "bwd_gflops,kernels,fallback\n",
        f);
  for (int i = 0; i < r->nrows; i++) {
    const cli_row *row = &r->rows[i];
    fprintf(f, "%s,%s,%lld,%d,%d,%d,%s,%s,%s,%s", r->net, r->backend, (long long)r->batch,
            r->threads, r->iters, i + 1, row->name, row->kind, row->in_shape, row->out_shape);
    csv_timing(f, &row->t.fwd);
    csv_timing(f, &row->t.bwd);
    csv_timing(f, &row->t.bwd_data);
    csv_timing(f, &row->t.bwd_filter);
    fprintf(f, ",%.4f,%.4f,%s,%d\n", gflops(row->fwd_flops, row->t.fwd.median),
            gflops(row->bwd_flops, row->t.bwd.median), row->kernels, row->fallback);
  }
  fprintf(f, "%s,%s,%lld,%d,%d,,%s,total,,", r->net, r->backend, (long long)r->batch, r->threads,
          r->iters, r->shapes ? "sum" : "net");
  csv_timing(f, &r->fwd);
  csv_timing(f, &r->bwd);
  fputs(",,,,", f);
  fprintf(f, ",%.4f,%.4f,,\n", gflops(r->fwd_flops, r->fwd.median),
          gflops(r->bwd_flops, r->bwd.median));
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

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

static void print_json(FILE *f, const cli_report *r) {
  fputs("{\"net\": ", f);
  json_str(f, r->net);
  fputs(", \"netdef\": ", f);
  json_str(f, r->netdef);
  fputs(", \"backend\": ", f);
  json_str(f, r->backend);
  fprintf(f, ", \"batch\": %lld, \"threads\": %d, \"iters\": %d, \"warmup\": %d, ",
          (long long)r->batch, r->threads, r->iters, r->warmup);
  fprintf(f, "\"shapes\": %s, \"interrupted\": %s, ", r->shapes ? "true" : "false",
          r->interrupted ? "true" : "false");
  if (r->session && r->session->db) fprintf(f, "\"run_id\": %lld, ", (long long)r->session->run_id);
  fputs("\"layers\": [", f);
  for (int i = 0; i < r->nrows; i++) {
    const cli_row *row = &r->rows[i];
    fprintf(f, "%s\n  {\"index\": %d, \"name\": ", i ? "," : "", i + 1);
    json_str(f, row->name);
    fputs(", \"kind\": ", f);
    json_str(f, row->kind);
    fputs(", \"in_shape\": ", f);
    json_str(f, row->in_shape);
    fputs(", \"out_shape\": ", f);
    json_str(f, row->out_shape);
    fputs(", \"kernels\": ", f);
    json_str(f, row->kernels);
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
  fputs("\n], ", f);
  json_timing(f, "fwd", &r->fwd);
  fputs(", ", f);
  json_timing(f, "bwd", &r->bwd);
  fputs(", ", f);
  json_timing(f, "total", &r->total);
  fprintf(f, ", \"fwd_flops\": %.0f, \"bwd_flops\": %.0f}\n", r->fwd_flops, r->bwd_flops);
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
