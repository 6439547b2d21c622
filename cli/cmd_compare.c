/* cmd_compare.c: `convbench compare A B`: two runs or two databases side
 * by side with ratios B/A, for before/after a change or machine against
 * machine. Matching is in reports/compare.c; this file resolves A and B,
 * prints the table and the geometric mean of the ratios. */
#include "options.h"
#include "compare.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fputs("usage: convbench compare A B [--db PATH] [--any-threads] [--format table|csv|md]\n"
        "\n"
        "Puts two sets of benchmark results side by side: per net (or .shapes\n"
        "entry), backend, batch and threads, total / forward / backward ms of A and B and\n"
        "the ratio B/A (above 1: B is slower). A and B are each a run id (in\n"
        "--db) or the path of a database (its latest result of every net,\n"
        "backend and batch). Results on one side only are listed with '-'.\n"
        "The last line is the geometric mean of B/A over the matched totals.\n"
        "\n"
        "  convbench compare 3 7                 run 3 against run 7 of results.db\n"
        "  convbench compare old.db new.db       machine against machine\n"
        "\n"
        "options:\n"
        "  --db PATH     the database run ids refer to (default ./results.db)\n"
        "  --any-threads match results whatever their thread counts (machine against\n"
        "                machine); each side's latest result per net, backend, batch\n"
        "  --format F    table (default), csv or md (a Markdown table)\n"
        "  -h, --help    this help\n"
        "\n"
        "Exit status: 0 ok, 1 a database failed, 2 bad arguments (a run or file\n"
        "that does not exist included).\n",
        f);
}

typedef enum { FMT_TABLE, FMT_CSV, FMT_MD } cmp_format;

static bool is_run_id(const char *s) {
  if (!*s) return false;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  return true;
}

/* Opens the database of one side (an id uses --db), never creating one. */
static int open_side(const char *arg, const char *dbpath, cb_db **db, int64_t *run,
                     const char **label) {
  const char *path = is_run_id(arg) ? dbpath : arg;
  *run = is_run_id(arg) ? strtoll(arg, NULL, 10) : 0;
  *label = path;
  if (is_run_id(arg) && *run <= 0) {
    cli_error("compare", "'%s': run ids start at 1", arg);
    return CLI_USAGE;
  }
  if (access(path, R_OK) != 0) {
    cli_error("compare",
              is_run_id(arg) ? "run %s: no database at '%s' (--db PATH)"
                             : "'%s' is neither a run id nor a database file%s",
              arg, is_run_id(arg) ? path : "");
    return CLI_USAGE;
  }
  if (cb_db_open(path, db) != CB_OK) {
    cli_error("compare", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  return CLI_OK;
}

static void num(char *buf, size_t n, double v, const char *fmt) {
  if (isnan(v))
    snprintf(buf, n, "-");
  else
    snprintf(buf, n, fmt, v);
}

static void print_side(const char *name, const char *arg, const char *label, const cb_cmp_info *i,
                       int64_t run) {
  if (run)
    printf("%s: run %lld in %s (%s, %s, %s on %s)\n   %s\n", name, (long long)run, label, i->kind,
           i->started, i->host, i->cpu, i->command);
  else
    printf("%s: %s, latest results of %d run%s (%s: %s)\n", name, arg, i->runs,
           i->runs == 1 ? "" : "s", i->host[0] ? i->host : "no results", i->cpu);
}

static void print_rows(cmp_format fmt, const cb_cmp_row *r, int n) {
  static const char *const cols[] = {"net",     "entry",   "backend", "batch", "threads",
                                     "A total", "B total", "B/A",     "A fwd", "B fwd",
                                     "B/A",     "A bwd",   "B bwd",   "B/A"};
  if (fmt == FMT_CSV) {
    puts("net,entry,backend,batch,threads_a,threads_b,a_total_ms,b_total_ms,total_ratio,"
         "a_fwd_ms,b_fwd_ms,fwd_ratio,a_bwd_ms,b_bwd_ms,bwd_ratio");
  } else if (fmt == FMT_MD) {
    printf("|");
    for (int i = 0; i < 14; i++) printf(" %s |", cols[i]);
    printf("\n| :--- | :--- | :--- |");
    for (int i = 3; i < 14; i++) printf(" ---: |");
    printf("\n");
  } else {
    printf("\n%-16s %-8s %-10s %5s %7s %10s %10s %6s %9s %9s %6s %9s %9s %6s\n", cols[0], cols[1],
           cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10],
           cols[11], cols[12], cols[13]);
  }
  for (int i = 0; i < n; i++) {
    char v[9][32], thr[32];
    /* "2", or "8/2" when --any-threads matched different counts. */
    if (r[i].threads[0] && r[i].threads[1] && r[i].threads[0] != r[i].threads[1])
      snprintf(thr, sizeof thr, "%d/%d", r[i].threads[0], r[i].threads[1]);
    else
      snprintf(thr, sizeof thr, "%d", r[i].threads[0] ? r[i].threads[0] : r[i].threads[1]);
    const double *sets[3] = {r[i].total, r[i].fwd, r[i].bwd};
    for (int k = 0; k < 3; k++) {
      num(v[k * 3], 32, sets[k][0], "%.3f");
      num(v[k * 3 + 1], 32, sets[k][1], "%.3f");
      num(v[k * 3 + 2], 32, sets[k][0] > 0 ? sets[k][1] / sets[k][0] : NAN, "%.3f");
    }
    if (fmt == FMT_CSV)
      printf("%s,%s,%s,%lld,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", r[i].net, r[i].entry, r[i].backend,
             (long long)r[i].batch, r[i].threads[0], r[i].threads[1], v[0], v[1], v[2], v[3], v[4],
             v[5], v[6], v[7], v[8]);
    else if (fmt == FMT_MD)
      printf("| %s | %s | %s | %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
             r[i].net, r[i].entry[0] ? r[i].entry : "-", r[i].backend, (long long)r[i].batch, thr,
             v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    else
      printf("%-16s %-8s %-10s %5lld %7s %10s %10s %6s %9s %9s %6s %9s %9s %6s\n", r[i].net,
             r[i].entry[0] ? r[i].entry : "-", r[i].backend, (long long)r[i].batch, thr, v[0], v[1],
             v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
  }
}

static int compare_own_option(const cli_command *c, int ch, const char *arg, void *user) {
  (void)c, (void)ch, (void)arg;
  ((cb_cmp_opts *)user)->any_threads = true; /* --any-threads */
  return CLI_OK;
}

static int compare_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "csv", "md", NULL}; /* cmp_format's order */
  static const cli_option own[] = {{"any-threads", false, 'a'}, {NULL, false, 0}};
  cb_cmp_opts opts_cmp = {.any_threads = false};
  const cli_options spec = {.cmd = &cli_compare,
                            .common = CLI_OPT_DB | CLI_OPT_FORMAT,
                            .formats = formats,
                            .own = own,
                            .own_fn = compare_own_option,
                            .user = &opts_cmp,
                            .max_operands = 2};
  const cli_command *c = &cli_compare;
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  if (o.noperands < 2) return cli_usage_error(c, "expected two runs or databases, A and B");
  const char *dbpath = o.db, *const *args = o.operands;
  cmp_format fmt = (cmp_format)o.format;

  cb_db *db[2] = {NULL, NULL};
  int64_t run[2];
  const char *label[2];
  rc = open_side(args[0], dbpath, &db[0], &run[0], &label[0]);
  if (rc == CLI_OK) {
    /* Two ids share one database handle. */
    if (is_run_id(args[0]) && is_run_id(args[1])) {
      db[1] = db[0];
      run[1] = strtoll(args[1], NULL, 10);
      label[1] = label[0];
      if (run[1] <= 0) {
        cli_error("compare", "'%s': run ids start at 1", args[1]);
        rc = CLI_USAGE;
      }
    } else {
      rc = open_side(args[1], dbpath, &db[1], &run[1], &label[1]);
    }
  }
  cb_cmp_row *rows = NULL;
  int n = 0;
  cb_cmp_info info[2];
  if (rc == CLI_OK) {
    cb_cmp_side a = {db[0], run[0]}, b = {db[1], run[1]};
    cb_status st = cb_compare_results(&a, &b, &opts_cmp, &rows, &n, info);
    if (st != CB_OK) {
      cli_error("compare", "%s", cb_errmsg());
      rc = cli_exit_code(st);
    }
  }
  if (rc == CLI_OK) {
    if (fmt == FMT_TABLE) {
      print_side("A", args[0], label[0], &info[0], run[0]);
      print_side("B", args[1], label[1], &info[1], run[1]);
    }
    print_rows(fmt, rows, n);
    double logsum = 0;
    int matched = 0;
    for (int i = 0; i < n; i++)
      if (rows[i].total[0] > 0 && rows[i].total[1] > 0) {
        logsum += log(rows[i].total[1] / rows[i].total[0]);
        matched++;
      }
    if (fmt != FMT_CSV) {
      if (matched)
        printf("\n%d matched of %d; geometric mean of B/A (total): %.3f\n", matched, n,
               exp(logsum / matched));
      else
        printf("\n%d results, none on both sides: nothing to compare\n", n);
    }
  }
  free(rows);
  if (db[1] && db[1] != db[0]) cb_db_close(db[1]);
  if (db[0]) cb_db_close(db[0]);
  return rc;
}

const cli_command cli_compare = {"compare", "two runs or two databases side by side, with ratios",
                                 compare_main, usage};
