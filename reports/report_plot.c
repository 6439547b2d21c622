/* report_plot.c: every plot of the report through gnuplot. Each plot is
 * written as NAME.dat (its data, commented) and NAME.gp (a script that
 * draws NAME.svg and NAME.png from it, runnable by hand in that
 * directory: `gnuplot NAME.gp`); then gnuplot runs once per script, in
 * the plots directory, its messages kept in NAME.log. Terminals: svg and
 * pngcairo, both in Debian's gnuplot-nox. */
#include "report_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

/* Text inside a gnuplot double-quoted string or a quoted data field:
 * quotes and backslashes (escapes there) become harmless look-alikes. */
static void gp_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    char c = *s;
    if (c == '"')
      c = '\'';
    else if (c == '\\')
      c = '/';
    else if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
    fputc(c, f);
  }
  fputc('"', f);
}

static void gp_num(FILE *f, double v) {
  if (isnan(v) || isinf(v))
    fputs(" ?", f);
  else
    fprintf(f, " %.9g", v);
}

static void write_bars_data(FILE *f, const rp_plot *p) {
  fputs("# category", f);
  for (int s = 0; s < p->nseries; s++) fprintf(f, " | %s", p->series[s].name);
  fputs(" | label\n", f);
  for (int c = 0; c < p->ncat; c++) {
    gp_str(f, p->cat[c]);
    for (int s = 0; s < p->nseries; s++) gp_num(f, p->val[(size_t)c * (size_t)p->nseries + s]);
    fputc(' ', f);
    gp_str(f, p->bar_label[c] ? p->bar_label[c] : "");
    fputc('\n', f);
  }
}

static void write_lines_data(FILE *f, const rp_plot *p) {
  for (int s = 0; s < p->nseries; s++) {
    const rp_series *r = &p->series[s];
    if (!r->n) continue;
    fprintf(f, "# %s\n", r->name);
    for (int i = 0; i < r->n; i++) {
      gp_num(f, r->x[i]);
      gp_num(f, r->y[i]);
      fputc('\n', f);
    }
    fputs("\n\n", f);
  }
}

/* Canvas width: wide enough for every bar to stay readable. */
static int plot_width(const rp_plot *p) {
  if (p->kind != RP_BARS) return 900;
  int w = 560 + 22 * p->ncat * (p->nseries < 1 ? 1 : p->nseries);
  return w < 900 ? 900 : w > 1800 ? 1800 : w;
}

static void write_bars_plot(FILE *f, const rp_plot *p) {
  fputs("set style data histograms\n"
        "set style histogram clustered gap 1\n"
        "set style fill solid 0.85 border -1\n"
        "set boxwidth 0.9\n"
        "set yrange [0:*]\n"
        "set offsets 0, 0, graph 0.08, 0\n",
        f);
  if (p->ncat > 5) fputs("set xtics rotate by -35 left\n", f);
  const char *sep = "plot ";
  for (int s = 0; s < p->nseries; s++) {
    fprintf(f, "%s\"%s.dat\" using %d%s title ", sep, p->name, s + 2, s == 0 ? ":xtic(1)" : "");
    gp_str(f, p->series[s].name);
    sep = ", \\\n     ";
  }
  bool labels = false;
  for (int c = 0; c < p->ncat; c++) labels |= p->bar_label[c] && p->bar_label[c][0];
  if (labels && p->nseries == 1)
    fprintf(f, "%s\"%s.dat\" using 0:2:(stringcolumn(%d)) with labels offset 0,0.8 notitle", sep,
            p->name, p->nseries + 2);
  if (!isnan(p->hline)) {
    fprintf(f, "%s%.9g with lines dashtype 2 linewidth 2 linecolor rgb \"black\" title ", sep,
            p->hline);
    gp_str(f, p->hline_label ? p->hline_label : "");
  }
  fputc('\n', f);
}

static void write_lines_plot(FILE *f, const rp_plot *p) {
  bool y2 = false;
  for (int s = 0; s < p->nseries; s++) y2 |= p->series[s].y2 && p->series[s].n;
  if (y2) fputs("set ytics nomirror\nset y2tics\n", f);
  const char *sep = "plot ";
  int index = 0;
  for (int s = 0; s < p->nseries; s++) {
    const rp_series *r = &p->series[s];
    if (!r->n) continue;
    fprintf(f, "%s\"%s.dat\" index %d using 1:2 with linespoints pointsize 0.5 axes x1%s title ",
            sep, p->name, index++, r->y2 ? "y2" : "y1");
    gp_str(f, r->name);
    sep = ", \\\n     ";
  }
  fputc('\n', f);
}

static void write_script(FILE *f, const rp_plot *p) {
  int w = plot_width(p);
  fprintf(f, "# %s.gp: run `gnuplot %s.gp` in this directory; data in %s.dat.\n", p->name, p->name,
          p->name);
  fprintf(f,
          "set terminal svg size %d,480 dynamic noenhanced font \"sans,11\""
          " background rgb \"white\"\n"
          "set output \"%s.svg\"\n"
          "set datafile missing \"?\"\n"
          "set key outside right top\n"
          "set grid ytics\n",
          w, p->name);
  const char *const labels[][2] = {
      {"title", p->title}, {"xlabel", p->xlabel}, {"ylabel", p->ylabel}, {"y2label", p->y2label}};
  for (int i = 0; i < 4; i++) {
    fprintf(f, "set %s ", labels[i][0]);
    gp_str(f, labels[i][1]);
    fputc('\n', f);
  }
  if (p->kind == RP_BARS)
    write_bars_plot(f, p);
  else
    write_lines_plot(f, p);
  fprintf(f,
          "set terminal pngcairo size %d,480 noenhanced font \"sans,10\""
          " background rgb \"white\"\n"
          "set output \"%s.png\"\n"
          "replot\n"
          "set output\n",
          w, p->name);
}

/* The first line of gnuplot's log worth quoting: one that says error,
 * else the last non-empty one. */
static void log_excerpt(const char *path, char *buf, size_t len) {
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0]) continue;
    snprintf(buf, len, "%s", line);
    if (strstr(line, "rror")) break;
  }
  fclose(f);
}

static bool nonempty(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && st.st_size > 0;
}

/* Runs `gnuplot NAME.gp` in dir, stdout and stderr to NAME.log. */
static cb_status run_gnuplot(const char *gnuplot, const char *dir, const rp_plot *p) {
  char script[512], log[512], logpath[4200];
  snprintf(script, sizeof script, "%s.gp", p->name);
  snprintf(log, sizeof log, "%s.log", p->name);
  snprintf(logpath, sizeof logpath, "%s/%s", dir, log);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, dir);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  char *argv[] = {(char *)gnuplot, script, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, gnuplot, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return cb_error(CB_ERR_UNAVAILABLE,
                    "cannot run '%s': %s (plots need gnuplot: Debian package gnuplot-nox)", gnuplot,
                    strerror(rc));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return cb_error(CB_ERR_IO, "waiting for gnuplot: %s", strerror(errno));
  char excerpt[512];
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_excerpt(logpath, excerpt, sizeof excerpt);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      return cb_error(CB_ERR_UNAVAILABLE,
                      "cannot run '%s' (plots need gnuplot: Debian package gnuplot-nox)", gnuplot);
    return cb_error(CB_ERR_IO, "gnuplot failed on %s/%s: %s", dir, script,
                    excerpt[0] ? excerpt : "(no message)");
  }
  static const char *const exts[] = {"svg", "png"};
  for (int i = 0; i < 2; i++) {
    char out[4200];
    snprintf(out, sizeof out, "%s/%s.%s", dir, p->name, exts[i]);
    if (!nonempty(out)) {
      log_excerpt(logpath, excerpt, sizeof excerpt);
      return cb_error(CB_ERR_IO, "gnuplot wrote no %s from %s/%s%s%s", out, dir, script,
                      excerpt[0] ? ": " : "", excerpt);
    }
  }
  return CB_OK;
}

/* Writes dir/NAME.EXT with fn. */
static cb_status write_file(const char *dir, const rp_plot *p, const char *ext,
                            void (*fn)(FILE *, const rp_plot *)) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.%s", dir, p->name, ext);
  FILE *f = fopen(path, "w");
  if (!f) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  fn(f, p);
  if (fclose(f) != 0) return cb_error(CB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  return CB_OK;
}

static void write_data(FILE *f, const rp_plot *p) {
  fprintf(f, "# %s\n", p->title);
  if (p->kind == RP_BARS)
    write_bars_data(f, p);
  else
    write_lines_data(f, p);
}

cb_status rp_write_plots(const rp_doc *d, const char *plots_dir, const char *gnuplot) {
  if (!gnuplot) gnuplot = "gnuplot";
  for (int i = 0; i < d->nsections; i++)
    for (int j = 0; j < d->sections[i].nblocks; j++) {
      const rp_plot *p = d->sections[i].blocks[j].plot;
      if (!p) continue;
      cb_status st = write_file(plots_dir, p, "dat", write_data);
      if (st == CB_OK) st = write_file(plots_dir, p, "gp", write_script);
      if (st == CB_OK) st = run_gnuplot(gnuplot, plots_dir, p);
      if (st != CB_OK) return st;
    }
  return CB_OK;
}
