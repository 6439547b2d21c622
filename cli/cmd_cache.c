/* cmd_cache.c: `convbench cache list|show KEY|export FILE|import FILE|clear`:
 * the tuned choices in the database, and shipping them between machines of
 * one generation. */
#include "options.h"

#include "cache.h"

#include <string.h>

static void usage(FILE *f) {
  fputs("usage: convbench cache list|show KEY|export FILE|import FILE|clear [--db PATH]\n"
        "\n"
        "  list          every cached winner: problem, device, build, choice, time,\n"
        "                and its confidence (high, or low and why: tune --retune-noisy\n"
        "                re-measures the low ones), samples, spread and load\n"
        "  show KEY      the cached winners for one problem key and every measurement\n"
        "                of it (each candidate of each tune)\n"
        "  export FILE   write every entry, with its fingerprints, statistics and\n"
        "                origin, as JSON lines (to ship tuned choices to machines of\n"
        "                the same generation)\n"
        "  import FILE   read such a file: entries are stored as imported, with where\n"
        "                they came from; an entry never replaces a local measurement\n"
        "  clear         delete every cache entry (measurements stay)\n"
        "\n"
        "options:\n"
        "  --db PATH     database (default ./results.db)\n"
        "  -h, --help    this help\n",
        f);
}

static void params_str(const cb_cache_entry *e, char *buf, size_t len) {
  buf[0] = '\0';
  for (int i = 0, n = 0; i < e->nparams && n >= 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d%s", i ? "," : "[", e->params[i],
                  i + 1 == e->nparams ? "]" : "");
}

static int print_entry(const cb_cache_entry *e, void *user) {
  const char *only = user;
  if (only && strcmp(only, e->key) != 0) return 0;
  char params[64], choice[160];
  params_str(e, params, sizeof params);
  snprintf(choice, sizeof choice, "%s/%s%s", e->backend, e->variant, params);
  /* The tuner ranked by the estimate (a low quantile); the median, which a
   * preempted series drags up, is shown beside it and is what the
   * runner-up's figure is compared with. */
  printf("%s\n    %-30s build %-16s %-36s", e->key, e->device_fp, e->build_fp, choice);
  if (e->estimate > 0) printf(" est %9.3f ms,", e->estimate);
  printf(" median %9.3f ms", e->timing.median);
  if (e->runner_up[0])
    printf("  runner-up %s median %+.1f%%", e->runner_up,
           100.0 * (e->runner_up_median / e->timing.median - 1.0));
  printf("  [%s]\n", e->origin);
  /* How far the winner can be trusted: tune --retune-noisy re-measures
   * the low ones. */
  printf("    confidence %s: %d samples, estimate %.3f ms, spread %.1f%%",
         e->confidence[0] ? e->confidence : "unknown", e->timing.samples, e->estimate,
         100.0 * (e->spread >= 0 ? e->spread : 0));
  if (e->load >= 0) printf(", load %.1f", e->load);
  if (e->confidence_why[0]) printf(" (%s)", e->confidence_why);
  printf("\n");
  return 0;
}

/* Prints one measurement; the header comes before the first. */
static int print_measurement(const cb_measurement_brief *m, void *user) {
  int *rows = user;
  if ((*rows)++ == 0)
    printf("\nmeasurements:\n  %5s  %-28s %-40s %-9s %10s %10s %8s %4s %9s\n", "run", "device",
           "candidate", "status", "median ms", "min ms", "mad ms", "n", "GFLOP/s");
  printf("  %5lld  %-28s %-40s %-9s", (long long)m->run_id, m->device_fp, m->candidate, m->status);
  if (!m->timed)
    printf(" %10s %10s %8s %4s %9s\n", "-", "-", "-", "-", "-");
  else
    printf(" %10.3f %10.3f %8.3f %4d %9.1f\n", m->median_ms, m->min_ms, m->mad_ms, m->samples,
           m->gflops);
  return 0;
}

/* Every measurement of one problem, newest tune first. */
static void show_measurements(cb_db *db, const char *key) {
  int rows = 0;
  if (cb_db_measurements_of(db, key, print_measurement, &rows) != CB_OK)
    cli_error("cache", "%s", cb_errmsg());
  if (!rows) printf("\nno measurements of %s\n", key);
}

static int cache_main(int argc, char **argv) {
  const cli_options spec = {.cmd = &cli_cache, .common = CLI_OPT_DB};
  const cli_command *c = &cli_cache;
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  const char *path = o.db;
  if (o.noperands < 1) return cli_usage_error(c, "missing list, show, export, import or clear");
  const char *what = o.operands[0];
  int nargs = o.noperands - 1;
  const char *arg = nargs > 0 ? o.operands[1] : NULL;
  bool needs_arg = !strcmp(what, "show") || !strcmp(what, "export") || !strcmp(what, "import");
  if (strcmp(what, "list") && strcmp(what, "clear") && !needs_arg)
    return cli_usage_error(c, "unknown subcommand '%s'", what);
  if (needs_arg && nargs != 1) return cli_usage_error(c, "%s takes one argument", what);
  if (!needs_arg && nargs != 0) return cli_usage_error(c, "%s takes no argument", what);
  if (!strcmp(what, "show")) {
    cb_problem p;
    if (cb_problem_parse(arg, &p) != CB_OK) {
      cli_error("cache", "%s", cb_errmsg());
      return CLI_USAGE;
    }
  }

  cb_db *db;
  if (cb_db_open(path, &db) != CB_OK) {
    cli_error("cache", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  cb_status st = CB_OK;
  int64_t n1 = 0, n2 = 0;
  if (!strcmp(what, "list")) {
    st = cb_cache_each(db, print_entry, NULL);
  } else if (!strcmp(what, "show")) {
    st = cb_cache_each(db, print_entry, (void *)arg);
    if (st == CB_OK) show_measurements(db, arg);
  } else if (!strcmp(what, "export")) {
    cb_machine m;
    if ((st = cb_machine_probe(&m)) == CB_OK) st = cb_cache_export(db, arg, &m, &n1);
    if (st == CB_OK) printf("exported %lld entries to %s\n", (long long)n1, arg);
  } else if (!strcmp(what, "import")) {
    st = cb_cache_import(db, arg, &n1, &n2);
    if (st == CB_OK)
      printf("imported %lld entries from %s; %lld kept the local measurement\n", (long long)n1, arg,
             (long long)n2);
  } else {
    st = cb_cache_clear(db, &n1);
    if (st == CB_OK) printf("cleared %lld cache entries\n", (long long)n1);
  }
  cb_db_close(db);
  if (st != CB_OK) {
    cli_error("cache", "%s", cb_errmsg());
    return st == CB_ERR_PARSE || st == CB_ERR_IO ? CLI_USAGE : CLI_FAIL;
  }
  return CLI_OK;
}

const cli_command cli_cache = {"cache", "list, show, export, import or clear tuned choices",
                               cache_main, usage};
