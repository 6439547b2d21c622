/* cmd_db.c: `convbench db init|info`: creates (or migrates) a results
 * database, and summarises what one holds. Scripts that record beside
 * convbench (the peers) create their database through `db init`, so the
 * schema has one author. */
#include "options.h"

#include <string.h>

static void usage(FILE *f) {
  fputs("usage: convbench db init|info [--db PATH]\n"
        "\n"
        "  init   create the database (or migrate an older one) and print its schema\n"
        "         version\n"
        "  info   schema version, machines, builds, runs by status, results, and the\n"
        "         last runs with their command lines\n"
        "\n"
        "options:\n"
        "  --db PATH    the database (default ./results.db)\n"
        "  -h, --help   this help\n",
        f);
}

static void count(const char *label, int64_t n) {
  printf("%-16s %lld\n", label, (long long)n);
}

/* Prints one of the last runs; the header comes before the first. */
static int print_run(const cb_run_brief *r, void *user) {
  bool *header = user;
  if (!*header) printf("last runs:\n");
  *header = true;
  printf("  %4lld  %s  %-11s %s\n", (long long)r->id, r->started, r->status, r->command);
  return 0;
}

static void info(cb_db *db, const char *path) {
  cb_db_summary sum;
  cb_db_summarize(db, &sum);
  printf("%-16s %s\n", "database", path);
  count("schema version", sum.schema_version);
  count("machines", sum.machines);
  count("builds", sum.builds);
  count("runs", sum.runs);
  static const char *const statuses[] = {"ok", "failed", "interrupted", "running"};
  for (int i = 0; i < 4; i++) {
    char label[32];
    snprintf(label, sizeof label, "  %s", statuses[i]);
    count(label, sum.runs_status[i]);
  }
  count("net results", sum.net_results);
  count("layer results", sum.layer_results);
  count("problems", sum.problems);
  count("measurements", sum.measurements);
  count("cache entries", sum.cache_entries);
  bool header = false;
  /* No runs still prints the header; a database that cannot list them
   * does not. */
  if (cb_db_recent_runs(db, 5, print_run, &header) == CB_OK && !header) printf("last runs:\n");
}

static int db_main(int argc, char **argv) {
  const cli_options spec = {.cmd = &cli_db, .common = CLI_OPT_DB};
  const cli_command *c = &cli_db;
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  const char *path = o.db;
  if (o.noperands < 1) return cli_usage_error(c, "missing init or info");
  if (o.noperands > 1) return cli_usage_error(c, "unexpected argument '%s'", o.operands[1]);
  const char *what = o.operands[0];
  if (strcmp(what, "init") != 0 && strcmp(what, "info") != 0)
    return cli_usage_error(c, "unknown subcommand '%s' (init or info)", what);
  if (!*path) return cli_usage_error(c, "--db: empty path");

  cb_db *db;
  if (cb_db_open(path, &db) != CB_OK) {
    cli_error("db", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  if (strcmp(what, "init") == 0)
    printf("%s: convbench schema %d\n", path, cb_db_schema_version());
  else
    info(db, path);
  cb_db_close(db);
  return CLI_OK;
}

const cli_command cli_db = {"db", "create or migrate a results database; summarise one", db_main,
                            usage};
