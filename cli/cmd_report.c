/* cmd_report.c: `convbench report`: the database as a static report
 * directory (index.html, report.md, plots as SVG and PNG). The work is in
 * reports/report*.c; this file parses options and prints the outcome. */
#include "options.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RUNS 256

static void usage(FILE *f) {
  fputs("usage: convbench report [--db PATH] [--out DIR] [--run ID...]\n"
        "\n"
        "Writes a report of the database into DIR: index.html (one static page,\n"
        "no network needed), report.md (convnet-benchmarks tables: per net a row\n"
        "per backend with total / forward / backward ms, the layer-wise L1..L5\n"
        "table, each with the commands that reproduce it) and gnuplot plots under\n"
        "DIR/plots as SVG and PNG, beside the .dat and .gp files that drew them.\n"
        "Peers (pytorch, darknet) appear as backends. Sections: benchmarks (per\n"
        "net, per layer, GFLOP/s against the measured peak), autotune winners,\n"
        "device state over each run, training curves, gradient checks.\n"
        "For each net, backend and batch the latest result counts.\n"
        "\n"
        "options:\n"
        "  --db PATH       the database (default ./results.db); it must exist\n"
        "  --out DIR       output directory (default out/reports), created if missing;\n"
        "                  an earlier report there is replaced (plots/ cleared)\n"
        "  --run ID        only this run (repeat, or a comma-separated list);\n"
        "                  default every run\n"
        "  --gnuplot PATH  the gnuplot program (default: gnuplot in PATH; Debian\n"
        "                  package gnuplot-nox)\n"
        "  -h, --help      this help\n"
        "\n"
        "Exit status: 0 ok, 1 the database, a file or gnuplot failed (gnuplot\n"
        "missing included), 2 bad arguments (an unknown run included).\n",
        f);
}

/* Appends the ids of "3,5,9" to runs. */
static int parse_runs(const char *arg, int64_t *runs, int *n) {
  const cli_command *c = &cli_report_cmd;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", arg);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long long id;
    if (!cli_parse_int(c, "--run", tok, 1, INT64_MAX, &id)) return CLI_USAGE;
    if (*n == MAX_RUNS) return cli_usage_error(c, "--run: at most %d runs", MAX_RUNS);
    runs[(*n)++] = id;
  }
  return CLI_OK;
}

typedef struct report_args {
  const char *out, *gnuplot;
  int64_t runs[MAX_RUNS];
  int nruns;
} report_args;

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  (void)c;
  report_args *a = user;
  if (ch == 'r') return parse_runs(arg, a->runs, &a->nruns);
  if (ch == 'o')
    a->out = arg;
  else
    a->gnuplot = arg;
  return CLI_OK;
}

static int report_main(int argc, char **argv) {
  static const cli_option own[] = {
      {"out", true, 'o'}, {"run", true, 'r'}, {"gnuplot", true, 'g'}, {NULL, false, 0}};
  report_args ra = {.out = "out/reports"};
  const cli_options spec = {
      .cmd = &cli_report_cmd, .common = CLI_OPT_DB, .own = own, .own_fn = own_option, .user = &ra};
  const cli_command *c = &cli_report_cmd;
  cli_args args;
  int rc;
  if (!cli_start(&spec, argc, argv, &args, &rc)) return rc;
  if (args.noperands) return cli_usage_error(c, "unexpected argument '%s'", args.operands[0]);
  const char *path = args.db, *out = ra.out, *gnuplot = ra.gnuplot;
  const int64_t *runs = ra.runs;
  int nruns = ra.nruns;
  if (!*path) return cli_usage_error(c, "--db: empty path");
  if (!*out) return cli_usage_error(c, "--out: empty path");
  /* A report never creates a database: a typo would report an empty one. */
  if (access(path, R_OK) != 0) {
    cli_error("report", "no database at '%s' (--db PATH)", path);
    return CLI_USAGE;
  }
  cb_db *db;
  if (cb_db_open(path, &db) != CB_OK) {
    cli_error("report", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  cb_report_opts o = {
      .out_dir = out, .db_label = path, .runs = runs, .nruns = nruns, .gnuplot = gnuplot};
  cb_report_summary sum;
  cb_status st = cb_report_write(db, &o, &sum);
  cb_db_close(db);
  if (st != CB_OK) {
    cli_error("report", "%s", cb_errmsg());
    return cli_exit_code(st);
  }
  printf("%s/index.html, %s/report.md: %d tables, %d plots (SVG and PNG in %s/plots)\n", out, out,
         sum.tables, sum.plots, out);
  printf("  nets %d, layer-wise sets %d, tuned problems %d, runs with device samples %d,\n"
         "  training series %d, gradient check groups %d\n",
         sum.net_groups, sum.shape_groups, sum.tune_rows, sum.device_runs, sum.train_series,
         sum.grad_rows);
  return CLI_OK;
}

const cli_command cli_report_cmd = {
    "report", "write index.html, report.md and plots from a database", report_main, usage};
