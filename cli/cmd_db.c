/* cmd_db.c: `convbench db init|info`: creates (or migrates) a results
 * database, and summarises what one holds. Scripts that record beside
 * convbench (the peers) create their database through `db init`, so the
 * schema has one author. */
#include "options.h"

#include <sqlite3.h>
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

/* Prints one integer query's answer after a label. */
static void count(sqlite3 *h, const char *label, const char *sql) {
  sqlite3_stmt *s;
  long long n = -1;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  printf("%-16s %lld\n", label, n);
}

static void info(cb_db *db, const char *path) {
  sqlite3 *h = cb_db_handle(db);
  printf("%-16s %s\n", "database", path);
  count(h, "schema version", "PRAGMA user_version");
  count(h, "machines", "SELECT count(*) FROM machines");
  count(h, "builds", "SELECT count(*) FROM builds");
  count(h, "runs", "SELECT count(*) FROM runs");
  static const char *const statuses[] = {"ok", "failed", "interrupted", "running"};
  for (int i = 0; i < 4; i++) {
    char sql[96], label[32];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE status = '%s'", statuses[i]);
    snprintf(label, sizeof label, "  %s", statuses[i]);
    count(h, label, sql);
  }
  count(h, "net results", "SELECT count(*) FROM net_results");
  count(h, "layer results", "SELECT count(*) FROM layer_results");
  count(h, "problems", "SELECT count(*) FROM problems");
  count(h, "measurements", "SELECT count(*) FROM measurements");
  count(h, "cache entries", "SELECT count(*) FROM tune_cache");
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(h,
                         "SELECT id, started, status, command FROM runs ORDER BY id DESC LIMIT 5",
                         -1, &s, NULL) != SQLITE_OK)
    return;
  printf("last runs:\n");
  while (sqlite3_step(s) == SQLITE_ROW)
    printf("  %4lld  %s  %-11s %s\n", (long long)sqlite3_column_int64(s, 0),
           (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
           (const char *)sqlite3_column_text(s, 3));
  sqlite3_finalize(s);
}

static int db_main(int argc, char **argv) {
  const cli_options spec = {.cmd = &cli_db, .common = CLI_OPT_DB};
  const cli_command *c = &cli_db;
  cli_args o;
  cli_args_init(&spec, &o);
  int rc = cli_parse(&spec, argc, argv, &o);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
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
