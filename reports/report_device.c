/* report_device.c: device state over each chosen run: the CPU clock
 * (measured where the sampler measured it, else the kernel's), the load
 * and the temperature from device_samples (before and after every
 * measured net) and from the tuner's measurements; the GPU's clocks,
 * temperature and power where a GPU was sampled. Time is seconds since
 * the run started. A table summarises every run; plots show the latest
 * runs (MAX_PLOTTED) so a long history does not drown the report. */
#include "report_section.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLOTTED 8

/* What one run's samples came to. */
typedef struct dv_run {
  int64_t id;
  char kind[32];
  int samples;
  double mhz_min, mhz_max, load_max, temp_max, gpu_temp_max, gpu_power_max;
} dv_run;

static void track(double *lo, double *hi, double v) {
  if (isnan(v)) return;
  if (lo && (isnan(*lo) || v < *lo)) *lo = v;
  if (hi && (isnan(*hi) || v > *hi)) *hi = v;
}

/* Points of one run: device samples, then the tuner's measurements. The
 * columns of both queries line up: t, mhz, load, temp, gpu sm, gpu mem,
 * gpu temp, gpu power. */
static const char *const dv_sql =
    "SELECT t_unix - ?2, COALESCE(cpu_mhz_measured, cpu_mhz_reported), load1, temp_c,"
    " gpu_sm_mhz, gpu_mem_mhz, gpu_temp_c, gpu_power_w FROM device_samples WHERE run_id = ?1"
    " UNION ALL"
    " SELECT (julianday(created) - 2440587.5) * 86400.0 - ?2, mhz_after, load_after, temp_after,"
    " gpu_sm_mhz_after, NULL, gpu_temp_after, gpu_power_after FROM measurements"
    " WHERE run_id = ?1 AND (mhz_after IS NOT NULL OR load_after IS NOT NULL"
    "  OR gpu_sm_mhz_after IS NOT NULL)"
    " ORDER BY 1";

static cb_status run_plots(rp_ctx *c, dv_run *r, double t0, bool plot) {
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "device samples", dv_sql, &st);
  if (s != CB_OK) return s;
  sqlite3_bind_int64(st, 1, r->id);
  sqlite3_bind_double(st, 2, t0);
  char *name = cb_strdup_printf("device_run%lld", (long long)r->id);
  char *title =
      cb_strdup_printf("Run %lld (%s): CPU clock, load and temperature", (long long)r->id, r->kind);
  char *gname = cb_strdup_printf("gpu_run%lld", (long long)r->id);
  char *gtitle = cb_strdup_printf("Run %lld (%s): GPU clocks, temperature and power",
                                  (long long)r->id, r->kind);
  rp_plot *p = name && title
                   ? rp_plot_new(RP_LINES, name, title, "seconds since the run started", "CPU MHz")
                   : NULL;
  rp_plot *g = gname && gtitle
                   ? rp_plot_new(RP_LINES, gname, gtitle, "seconds since the run started", "MHz")
                   : NULL;
  free(name);
  free(title);
  free(gname);
  free(gtitle);
  int cpu[3] = {-1, -1, -1}, gpu[4] = {-1, -1, -1, -1};
  if (p && g) {
    free(p->y2label);
    p->y2label = strdup("load (1 min) / temperature (C)");
    free(g->y2label);
    g->y2label = strdup("temperature (C) / power (W)");
    cpu[0] = rp_lines_series(p, "CPU MHz", false);
    cpu[1] = rp_lines_series(p, "load (1 min)", true);
    cpu[2] = rp_lines_series(p, "CPU temperature (C)", true);
    gpu[0] = rp_lines_series(g, "GPU SM MHz", false);
    gpu[1] = rp_lines_series(g, "GPU memory MHz", false);
    gpu[2] = rp_lines_series(g, "GPU temperature (C)", true);
    gpu[3] = rp_lines_series(g, "GPU power (W)", true);
  }
  for (int i = 0; i < 3; i++)
    if (cpu[i] < 0 || gpu[i] < 0 || gpu[3] < 0) s = rp_nomem();
  bool row, any_cpu = false, any_gpu = false;
  while (s == CB_OK && (s = rp_step(c->h, "device samples", st, &row)) == CB_OK && row) {
    double t = rp_col_num(st, 0);
    double v[7];
    for (int i = 0; i < 7; i++) v[i] = rp_col_num(st, i + 1);
    r->samples++;
    track(&r->mhz_min, &r->mhz_max, v[0]);
    track(NULL, &r->load_max, v[1]);
    track(NULL, &r->temp_max, v[2]);
    track(NULL, &r->gpu_temp_max, v[5]);
    track(NULL, &r->gpu_power_max, v[6]);
    for (int i = 0; s == CB_OK && i < 3; i++)
      if (!isnan(v[i]) && !isnan(t)) {
        s = rp_lines_point(p, cpu[i], t, v[i]);
        any_cpu = true;
      }
    for (int i = 0; s == CB_OK && i < 4; i++)
      if (!isnan(v[3 + i]) && !isnan(t)) {
        s = rp_lines_point(g, gpu[i], t, v[3 + i]);
        any_gpu = true;
      }
  }
  sqlite3_finalize(st);
  if (s == CB_OK && plot && any_cpu) {
    s = rp_plot_add(c->doc, p);
    p = NULL;
  }
  if (s == CB_OK && plot && any_gpu) {
    s = rp_plot_add(c->doc, g);
    g = NULL;
  }
  rp_plot_free(p);
  rp_plot_free(g);
  return s;
}

cb_status rp_device(rp_ctx *c) {
  sqlite3_stmt *st;
  cb_status s = rp_section_query(
      c, "Device state", "runs with device samples",
      "SELECT r.id, r.kind, (julianday(r.started) - 2440587.5) * 86400.0 FROM runs r"
      " JOIN temp.report_runs s ON s.id = r.id"
      " WHERE EXISTS (SELECT 1 FROM device_samples d WHERE d.run_id = r.id)"
      "  OR EXISTS (SELECT 1 FROM measurements m WHERE m.run_id = r.id"
      "   AND (m.mhz_after IS NOT NULL OR m.load_after IS NOT NULL"
      "    OR m.gpu_sm_mhz_after IS NOT NULL))"
      " ORDER BY r.id",
      &st);
  if (s != CB_OK) return s;
  dv_run *runs = NULL;
  double *t0 = NULL;
  int n = 0;
  bool row;
  while ((s = rp_step(c->h, "runs", st, &row)) == CB_OK && row) {
    dv_run *nr = realloc(runs, (size_t)(n + 1) * sizeof *nr);
    if (nr) runs = nr;
    double *nt = nr ? realloc(t0, (size_t)(n + 1) * sizeof *nt) : NULL;
    if (nt) t0 = nt;
    if (!nt) {
      s = rp_nomem();
      break;
    }
    runs[n] = (dv_run){.id = sqlite3_column_int64(st, 0),
                       .mhz_min = NAN,
                       .mhz_max = NAN,
                       .load_max = NAN,
                       .temp_max = NAN,
                       .gpu_temp_max = NAN,
                       .gpu_power_max = NAN};
    snprintf(runs[n].kind, sizeof runs[n].kind, "%s", rp_col_text(st, 1));
    t0[n++] = sqlite3_column_double(st, 2);
  }
  sqlite3_finalize(st);
  c->sum->device_runs = n;
  if (s == CB_OK && n == 0)
    s = rp_text(c->doc, "No device samples in the selected runs: section skipped.");
  if (s == CB_OK && n > MAX_PLOTTED)
    s = rp_text(c->doc, "Plots for the latest %d of %d runs; the table has them all.", MAX_PLOTTED,
                n);
  for (int i = 0; s == CB_OK && i < n; i++) s = run_plots(c, &runs[i], t0[i], i >= n - MAX_PLOTTED);
  if (s == CB_OK && n > 0) {
    static const char *const head[] = {
        ">Run",      "Kind",          ">Samples",          ">CPU MHz min",      ">CPU MHz max",
        ">Load max", ">Temp max (C)", ">GPU temp max (C)", ">GPU power max (W)"};
    rp_table *t = rp_table_add(c->doc, "Device state per run", 9, head);
    if (!t) s = rp_nomem();
    for (int i = 0; s == CB_OK && i < n; i++) {
      char id[24], k[16], a[32], b[32], d[32], e[32], f[32], g[32];
      snprintf(id, sizeof id, "%lld", (long long)runs[i].id);
      snprintf(k, sizeof k, "%d", runs[i].samples);
      const char *cells[] = {id,
                             runs[i].kind,
                             k,
                             rp_num(a, runs[i].mhz_min),
                             rp_num(b, runs[i].mhz_max),
                             rp_num(d, runs[i].load_max),
                             rp_num(e, runs[i].temp_max),
                             rp_num(f, runs[i].gpu_temp_max),
                             rp_num(g, runs[i].gpu_power_max)};
      s = rp_row(t, cells);
    }
  }
  free(runs);
  free(t0);
  return s;
}
