/* cmd_compare.c: `convbench compare`: two runs, two databases or two
 * backends side by side: per pass, each side's median with its interval,
 * the ratio B/A with its interval and a Mann-Whitney test on the stored
 * samples, then the geometric mean of the ratios. Matching and the
 * statistics are in reports/compare.c and kernels/stats.c; this file
 * resolves A and B and prints. */
#include "options.h"
#include "compare.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fputs("usage: convbench compare A B [--a BACKEND --b BACKEND] [--alpha P] [--layers]\n"
        "                        [--any-threads] [--db PATH] [--format table|csv|md|json]\n"
        "       convbench compare [A] --a BACKEND --b BACKEND ...\n"
        "\n"
        "Puts two sets of benchmark results side by side: per net (or .shapes entry),\n"
        "backend, batch and threads, and per pass (total, fwd, bwd): the median ms of\n"
        "A and of B, each with a confidence interval, the ratio B/A of the medians\n"
        "(above 1: B is slower) with its interval, and the p-value of a two-sided\n"
        "Mann-Whitney U test on the per-iteration samples the runs stored, as benchstat\n"
        "and Google Benchmark's compare.py do. The verdict is 'B slower' or 'B faster'\n"
        "when p < alpha, else 'no significant difference'; 'no test: N samples' when a\n"
        "side has fewer than 3 samples (rows recorded before samples were kept have\n"
        "none). Results on one side only are listed with '-'. Two runs at different\n"
        "times can differ because the machine did (load, clock): backends timed in\n"
        "one run (bench --backend X,Y interleaves them) compare like with like.\n"
        "\n"
        "A and B are each a run id (in --db) or the path of a database (its latest\n"
        "result of every net, backend and batch). With --a and --b, side A is only\n"
        "backend --a's results and side B only --b's, matched whatever their backend\n"
        "names: one run or database (A alone, or --db when no operand) against itself,\n"
        "or two.\n"
        "\n"
        "Intervals, all at level 1 - alpha: a median's is distribution-free, from\n"
        "order statistics; B/A's is the Moses interval of the scale shift, the one\n"
        "the Mann-Whitney test inverts, so (barring tied samples) it excludes 1\n"
        "exactly when the verdict is significant. With too few samples for the level\n"
        "(fewer than 6 for a median at 95%) the widest interval the samples give is\n"
        "shown, marked '*', and the footnote says so. The geometric mean of B/A over\n"
        "the matched nets and entries (last lines, per pass) has a t-interval on the\n"
        "log ratios: how the ratios spread across those rows (wide with few rows).\n"
        "\n"
        "  convbench compare 3 7                      run 3 against run 7 of results.db\n"
        "  convbench compare old.db new.db            machine against machine\n"
        "  convbench compare 3 --a onednn --b ref     two backends of run 3\n"
        "  convbench compare 3 4 --a onednn --b pytorch  a bench run against a peer run\n"
        "\n"
        "options:\n"
        "  --a BACKEND   side A is this backend's results only (with --b)\n"
        "  --b BACKEND   side B is this backend's results only (with --a)\n"
        "  --alpha P     significance level of the test, 0 < P < 0.5 (default 0.05);\n"
        "                the intervals are at level 1 - P\n"
        "  --db PATH     the database run ids refer to (default ./results.db)\n"
        "  --layers      also every layer of each whole net, matched by name (fwd and\n"
        "                bwd; not counted in the geometric means)\n"
        "  --any-threads match results whatever their thread counts (machine against\n"
        "                machine); each side's latest result per net, backend, batch\n"
        "  --format F    table (default), csv, md (a Markdown table) or json; table,\n"
        "                csv and md have a line per result and pass, json an object\n"
        "                per result holding its passes\n"
        "  -h, --help    this help\n"
        "\n"
        "Exit status: 0 ok (whatever the verdicts), 1 a database failed, 2 bad\n"
        "arguments (a run or file that does not exist, a backend with no results on\n"
        "its side included).\n",
        f);
}

typedef enum { FMT_TABLE, FMT_CSV, FMT_MD, FMT_JSON } cmp_format;

typedef struct compare_opts {
  cb_cmp_opts cmp;
  const char *backend[2]; /* --a, --b */
  const char *alpha_arg;
} compare_opts;

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

static void print_side(const char *name, const char *arg, const char *label, const cb_cmp_info *i,
                       int64_t run, const char *backend) {
  char be[96] = "";
  if (backend) snprintf(be, sizeof be, ", backend %s", backend);
  if (run)
    printf("%s: run %lld in %s%s (%s, %s, %s on %s)\n   %s\n", name, (long long)run, label, be,
           i->kind, i->started, i->host, i->cpu, i->command);
  else
    printf("%s: %s%s, latest results of %d run%s (%s: %s)\n", name, arg, be, i->runs,
           i->runs == 1 ? "" : "s", i->host[0] ? i->host : "no results", i->cpu);
}

/* ---- cells --------------------------------------------------------------------- */

/* "12.345 [12.1, 12.9]", with '*' when the interval falls short of conf. */
static void cell(char *buf, size_t n, double v, double lo, double hi, double cover, double conf) {
  if (isnan(v))
    snprintf(buf, n, "-");
  else if (isnan(lo))
    snprintf(buf, n, "%.3f", v);
  else
    snprintf(buf, n, "%.3f [%.3f, %.3f]%s", v, lo, hi, cover < conf - 1e-9 ? "*" : "");
}

static void verdict(char *buf, size_t n, const cb_cmp_stat *t) {
  int few = t->n[0] < t->n[1] ? t->n[0] : t->n[1];
  switch (t->verdict) {
  case CB_CMP_ONE_SIDED:
    snprintf(buf, n, "%s",
             isnan(t->median[0]) == isnan(t->median[1]) ? "-"
             : isnan(t->median[0])                      ? "only B"
                                                        : "only A");
    break;
  case CB_CMP_NO_TEST:
    if (few)
      snprintf(buf, n, "no test: %d sample%s", few, few == 1 ? "" : "s");
    else
      snprintf(buf, n, "no test: no samples");
    break;
  case CB_CMP_SAME:
    snprintf(buf, n, "no significant difference");
    break;
  case CB_CMP_SLOWER:
    snprintf(buf, n, "B slower (+%.1f%%)", 100 * (t->ratio - 1));
    break;
  case CB_CMP_FASTER:
    snprintf(buf, n, "B faster (-%.1f%%)", 100 * (1 - t->ratio));
    break;
  }
}

static const char *backend_label(const cb_cmp_row *r, char *buf, size_t n) {
  const char *a = r->backend[0], *b = r->backend[1];
  if (!*a || !*b || !strcmp(a, b))
    snprintf(buf, n, "%s", *a ? a : b);
  else
    snprintf(buf, n, "%s/%s", a, b);
  return buf;
}

static void threads_label(const cb_cmp_row *r, char *buf, size_t n) {
  /* "2", or "8/2" when the sides' counts differ (--any-threads). */
  if (r->threads[0] && r->threads[1] && r->threads[0] != r->threads[1])
    snprintf(buf, n, "%d/%d", r->threads[0], r->threads[1]);
  else
    snprintf(buf, n, "%d", r->threads[0] ? r->threads[0] : r->threads[1]);
}

/* CSV and JSON numbers: empty / null where absent. */
static void csv_num(double v) {
  if (!isnan(v)) printf("%.6g", v);
}

static void json_num(double v) {
  if (isnan(v) || isinf(v))
    printf("null");
  else
    printf("%.6g", v);
}

/* ---- formats ------------------------------------------------------------------ */

static void print_text(cmp_format fmt, const cb_cmp_row *r, int n, double conf, bool *short_ci) {
  static const char *const cols[] = {"net",  "entry", "backend", "batch", "threads", "pass",
                                     "A ms", "B ms",  "B/A",     "p",     "n",       "verdict"};
  char ms_hdr[2][32], ratio_hdr[32];
  int pct = (int)lround(conf * 100);
  snprintf(ms_hdr[0], sizeof ms_hdr[0], "A ms [%d%% CI]", pct);
  snprintf(ms_hdr[1], sizeof ms_hdr[1], "B ms [%d%% CI]", pct);
  snprintf(ratio_hdr, sizeof ratio_hdr, "B/A [%d%% CI]", pct);
  if (fmt == FMT_MD) {
    printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cols[0], cols[1],
           cols[2], cols[3], cols[4], cols[5], ms_hdr[0], ms_hdr[1], ratio_hdr, cols[9], cols[10],
           cols[11]);
    printf(
        "| :--- | :--- | :--- | ---: | ---: | :--- | ---: | ---: | ---: | ---: | ---: | :--- |\n");
  } else {
    printf("\n%-16s %-8s %-14s %5s %7s %-5s %-28s %-28s %-24s %7s %7s %s\n", cols[0], cols[1],
           cols[2], cols[3], cols[4], cols[5], ms_hdr[0], ms_hdr[1], ratio_hdr, cols[9], cols[10],
           cols[11]);
  }
  for (int i = 0; i < n; i++) {
    char be[160], thr[32];
    backend_label(&r[i], be, sizeof be);
    threads_label(&r[i], thr, sizeof thr);
    for (int p = 0; p < CB_CMP_NPASS; p++) {
      const cb_cmp_stat *t = &r[i].pass[p];
      if (isnan(t->median[0]) && isnan(t->median[1])) continue; /* a pass never timed */
      char a[96], b[96], ratio[96], pv[32], ns[32], v[64];
      cell(a, sizeof a, t->median[0], t->lo[0], t->hi[0], t->cover[0], conf);
      cell(b, sizeof b, t->median[1], t->lo[1], t->hi[1], t->cover[1], conf);
      cell(ratio, sizeof ratio, t->ratio, t->ratio_lo, t->ratio_hi, t->ratio_cover, conf);
      *short_ci |= strchr(a, '*') || strchr(b, '*') || strchr(ratio, '*');
      if (isnan(t->p))
        snprintf(pv, sizeof pv, "-");
      else
        snprintf(pv, sizeof pv, t->p < 0.001 ? "%.1e" : "%.3f", t->p);
      snprintf(ns, sizeof ns, "%d/%d", t->n[0], t->n[1]);
      verdict(v, sizeof v, t);
      const char *pass = cb_cmp_pass_name((cb_cmp_pass)p);
      if (fmt == FMT_MD)
        printf("| %s | %s | %s | %lld | %s | %s | %s | %s | %s | %s | %s | %s |\n", r[i].net,
               r[i].entry[0] ? r[i].entry : "-", be, (long long)r[i].batch, thr, pass, a, b, ratio,
               pv, ns, v);
      else
        printf("%-16s %-8s %-14s %5lld %7s %-5s %-28s %-28s %-24s %7s %7s %s\n", r[i].net,
               r[i].entry[0] ? r[i].entry : "-", be, (long long)r[i].batch, thr, pass, a, b, ratio,
               pv, ns, v);
    }
  }
}

static void print_csv(const cb_cmp_row *r, int n) {
  puts("net,entry,layer,backend_a,backend_b,batch,threads_a,threads_b,pass,a_median_ms,a_ci_lo,"
       "a_ci_hi,a_samples,b_median_ms,b_ci_lo,b_ci_hi,b_samples,ratio,ratio_ci_lo,ratio_ci_hi,"
       "p_value,verdict");
  for (int i = 0; i < n; i++)
    for (int p = 0; p < CB_CMP_NPASS; p++) {
      const cb_cmp_stat *t = &r[i].pass[p];
      if (isnan(t->median[0]) && isnan(t->median[1])) continue;
      char v[64];
      verdict(v, sizeof v, t);
      printf("%s,%s,", r[i].net, r[i].entry);
      if (r[i].layer >= 0) printf("%d", r[i].layer);
      printf(",%s,%s,%lld,%d,%d,%s,", r[i].backend[0], r[i].backend[1], (long long)r[i].batch,
             r[i].threads[0], r[i].threads[1], cb_cmp_pass_name((cb_cmp_pass)p));
      for (int k = 0; k < 2; k++) {
        csv_num(t->median[k]);
        putchar(',');
        csv_num(t->lo[k]);
        putchar(',');
        csv_num(t->hi[k]);
        printf(",%d,", t->n[k]);
      }
      csv_num(t->ratio);
      putchar(',');
      csv_num(t->ratio_lo);
      putchar(',');
      csv_num(t->ratio_hi);
      putchar(',');
      csv_num(t->p);
      printf(",%s\n", v);
    }
}

static void json_side_info(const char *name, const char *arg, const cb_cmp_info *i, int64_t run,
                           const char *backend) {
  printf("  \"%s\": {\"operand\": ", name);
  cb_json_string(stdout, arg);
  printf(", \"run\": ");
  if (run)
    printf("%lld", (long long)run);
  else
    printf("null");
  printf(", \"backend\": ");
  if (backend)
    cb_json_string(stdout, backend);
  else
    printf("null");
  printf(", \"host\": ");
  cb_json_string(stdout, i->host);
  printf(", \"cpu\": ");
  cb_json_string(stdout, i->cpu);
  printf(", \"command\": ");
  cb_json_string(stdout, i->command);
  printf("},\n");
}

static void print_json(const cb_cmp_row *r, int n, double alpha, const char *const args[2],
                       const cb_cmp_info info[2], const int64_t run[2],
                       const char *const backend[2]) {
  printf("{\n");
  json_side_info("a", args[0], &info[0], run[0], backend[0]);
  json_side_info("b", args[1], &info[1], run[1], backend[1]);
  printf("  \"alpha\": %g,\n  \"test\": \"mann-whitney-u two-sided\",\n  \"rows\": [", alpha);
  for (int i = 0; i < n; i++) {
    printf("%s\n    {\"net\": ", i ? "," : "");
    cb_json_string(stdout, r[i].net);
    printf(", \"entry\": ");
    cb_json_string(stdout, r[i].entry);
    printf(", \"backend_a\": ");
    cb_json_string(stdout, r[i].backend[0]);
    printf(", \"backend_b\": ");
    cb_json_string(stdout, r[i].backend[1]);
    printf(", \"layer\": ");
    if (r[i].layer >= 0)
      printf("%d", r[i].layer);
    else
      printf("null");
    printf(", \"batch\": %lld, \"threads_a\": %d, \"threads_b\": %d", (long long)r[i].batch,
           r[i].threads[0], r[i].threads[1]);
    for (int p = 0; p < CB_CMP_NPASS; p++) {
      const cb_cmp_stat *t = &r[i].pass[p];
      char v[64];
      verdict(v, sizeof v, t);
      printf(",\n     \"%s\": {", cb_cmp_pass_name((cb_cmp_pass)p));
      for (int k = 0; k < 2; k++) {
        printf("\"%s\": {\"median_ms\": ", k ? "b" : "a");
        json_num(t->median[k]);
        printf(", \"ci\": [");
        json_num(t->lo[k]);
        printf(", ");
        json_num(t->hi[k]);
        printf("], \"ci_level\": ");
        json_num(t->n[k] ? t->cover[k] : NAN);
        printf(", \"samples\": %d}, ", t->n[k]);
      }
      printf("\"ratio\": ");
      json_num(t->ratio);
      printf(", \"ratio_ci\": [");
      json_num(t->ratio_lo);
      printf(", ");
      json_num(t->ratio_hi);
      printf("], \"p_value\": ");
      json_num(t->p);
      printf(", \"verdict\": ");
      cb_json_string(stdout, v);
      printf("}");
    }
    printf("}");
  }
  printf("\n  ],\n  \"geomean\": {");
  for (int p = 0; p < CB_CMP_NPASS; p++) {
    double g, lo, hi;
    int matched;
    cb_compare_geomean(r, n, (cb_cmp_pass)p, 1 - alpha, &g, &lo, &hi, &matched);
    printf("%s\"%s\": {\"ratio\": ", p ? ", " : "", cb_cmp_pass_name((cb_cmp_pass)p));
    json_num(g);
    printf(", \"ci\": [");
    json_num(lo);
    printf(", ");
    json_num(hi);
    printf("], \"rows\": %d}", matched);
  }
  printf("}\n}\n");
}

/* The closing lines of the table and md formats: the geometric means and
 * a count of the verdicts. */
static void print_summary(const cb_cmp_row *r, int n, double alpha, bool short_ci, bool one_run) {
  double conf = 1 - alpha;
  int pct = (int)lround(conf * 100);
  if (short_ci)
    printf("\n* fewer samples than a %d%% interval needs: the interval shown is the widest the "
           "samples give ([min, max] for a median), at a lower level\n",
           pct);
  int matched_total = 0, nets = 0; /* nets and .shapes entries: the geometric mean's rows */
  for (int i = 0; i < n; i++) nets += r[i].layer < 0;
  for (int p = 0; p < CB_CMP_NPASS; p++) {
    double g, lo, hi;
    int matched;
    cb_compare_geomean(r, n, (cb_cmp_pass)p, conf, &g, &lo, &hi, &matched);
    if (p == CB_CMP_TOTAL) matched_total = matched;
    if (!matched) continue;
    printf("%s%d matched of %d; geometric mean of B/A (%s): %.3f", p ? "" : "\n", matched, nets,
           cb_cmp_pass_name((cb_cmp_pass)p), g);
    if (isnan(lo))
      printf(" (one row: no interval)\n");
    else
      printf(" [%.3f, %.3f] (%d%% t-interval over the rows)\n", lo, hi, pct);
  }
  if (!matched_total) {
    printf("\n%d results, none on both sides: nothing to compare\n", nets);
    return;
  }
  int count[5] = {0};
  for (int i = 0; i < n; i++)
    for (int p = 0; p < CB_CMP_NPASS; p++)
      if (!isnan(r[i].pass[p].median[0]) || !isnan(r[i].pass[p].median[1]))
        count[r[i].pass[p].verdict]++;
  printf("Mann-Whitney U, two-sided, alpha %g: %d B slower, %d B faster, %d no significant "
         "difference, %d no test\n",
         alpha, count[CB_CMP_SLOWER], count[CB_CMP_FASTER], count[CB_CMP_SAME],
         count[CB_CMP_NO_TEST]);
  /* The test takes each side's samples as they are: two runs at different
   * times on a shared machine can differ by tens of percent with tight
   * samples on both sides (load, clock), and the test rightly calls that
   * significant. Only one interleaved run puts both sides under the same
   * conditions. */
  if (!one_run && (count[CB_CMP_SLOWER] || count[CB_CMP_FASTER]))
    printf("note: A and B ran at different times: a significant difference may be the machine's "
           "(load, clock) as well as the code's; time both in one run (bench --backend X,Y "
           "interleaves them) to tell\n");
}

/* ---- the command --------------------------------------------------------------- */

static int compare_own_option(const cli_command *c, int ch, const char *arg, void *user) {
  compare_opts *o = user;
  switch (ch) {
  case 'a': /* --any-threads */
    o->cmp.any_threads = true;
    return CLI_OK;
  case 'l': /* --layers */
    o->cmp.layers = true;
    return CLI_OK;
  case 'A':
  case 'B':
    if (!*arg) return cli_usage_error(c, "--%c: empty backend name", ch == 'A' ? 'a' : 'b');
    o->backend[ch == 'B'] = arg;
    return CLI_OK;
  case 'p': {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0 && v < 0.5))
      return cli_usage_error(c, "--alpha: expected a number above 0 and below 0.5, got '%s'", arg);
    o->cmp.alpha = v;
    return CLI_OK;
  }
  }
  return cli_usage_error(c, "unknown option");
}

/* Resolves the sides' databases and runs from the operands: two (each its
 * own), one (both sides) or none (--db for both); one or none only with
 * --a and --b. */
static int open_sides(const cli_args *o, const char *const args[2], cb_db *db[2], int64_t run[2],
                      const char *label[2]) {
  int rc = open_side(args[0], o->db, &db[0], &run[0], &label[0]);
  if (rc != CLI_OK) return rc;
  if (o->noperands < 2 || (is_run_id(args[0]) && is_run_id(args[1]))) {
    /* One database for both sides: share the handle. */
    db[1] = db[0];
    label[1] = label[0];
    run[1] = o->noperands < 2 ? run[0] : strtoll(args[1], NULL, 10);
    if (run[1] <= 0 && o->noperands == 2 && is_run_id(args[1])) {
      cli_error("compare", "'%s': run ids start at 1", args[1]);
      return CLI_USAGE;
    }
    return CLI_OK;
  }
  return open_side(args[1], o->db, &db[1], &run[1], &label[1]);
}

static int compare_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "csv", "md", "json", NULL}; /* cmp_format */
  static const cli_option own[] = {
      {"any-threads", false, 'a'}, {"a", true, 'A'},       {"b", true, 'B'},
      {"alpha", true, 'p'},        {"layers", false, 'l'}, {NULL, false, 0}};
  compare_opts co = {.cmp = {.any_threads = false, .alpha = 0.05}};
  const cli_options spec = {.cmd = &cli_compare,
                            .common = CLI_OPT_DB | CLI_OPT_FORMAT,
                            .formats = formats,
                            .own = own,
                            .own_fn = compare_own_option,
                            .user = &co,
                            .max_operands = 2};
  const cli_command *c = &cli_compare;
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  bool by_backend = co.backend[0] || co.backend[1];
  if (by_backend && !(co.backend[0] && co.backend[1]))
    return cli_usage_error(c, "--a and --b go together: name the backend of each side");
  if (!by_backend && o.noperands < 2)
    return cli_usage_error(c, "expected two runs or databases, A and B (or one with --a and --b)");
  const char *args[2] = {o.noperands > 0 ? o.operands[0] : o.db, o.noperands > 1   ? o.operands[1]
                                                                 : o.noperands > 0 ? o.operands[0]
                                                                                   : o.db};
  cmp_format fmt = (cmp_format)o.format;

  cb_db *db[2] = {NULL, NULL};
  int64_t run[2] = {0, 0};
  const char *label[2] = {NULL, NULL};
  rc = open_sides(&o, args, db, run, label);
  cb_cmp_row *rows = NULL;
  int n = 0;
  cb_cmp_info info[2];
  if (rc == CLI_OK) {
    cb_cmp_side a = {db[0], run[0], co.backend[0]}, b = {db[1], run[1], co.backend[1]};
    cb_status st = cb_compare_results(&a, &b, &co.cmp, &rows, &n, info);
    if (st != CB_OK) {
      cli_error("compare", "%s", cb_errmsg());
      rc = cli_exit_code(st);
    }
  }
  for (int k = 0; rc == CLI_OK && by_backend && k < 2; k++)
    if (info[k].results == 0) {
      cli_error("compare", "%s (--%c %s): no results of backend '%s' in %s", k ? "B" : "A",
                k ? 'b' : 'a', co.backend[k], co.backend[k], args[k]);
      rc = CLI_USAGE;
    }
  if (rc == CLI_OK) {
    double conf = 1 - co.cmp.alpha;
    bool short_ci = false;
    if (fmt == FMT_TABLE) {
      print_side("A", args[0], label[0], &info[0], run[0], co.backend[0]);
      print_side("B", args[1], label[1], &info[1], run[1], co.backend[1]);
    }
    if (fmt == FMT_CSV) {
      print_csv(rows, n);
    } else if (fmt == FMT_JSON) {
      print_json(rows, n, co.cmp.alpha, args, info, run, co.backend);
    } else {
      print_text(fmt, rows, n, conf, &short_ci);
      print_summary(rows, n, co.cmp.alpha, short_ci, db[0] == db[1] && run[0] && run[0] == run[1]);
    }
  }
  free(rows);
  if (db[1] && db[1] != db[0]) cb_db_close(db[1]);
  if (db[0]) cb_db_close(db[0]);
  return rc;
}

const cli_command cli_compare = {"compare",
                                 "two runs, databases or backends side by side: ratios, intervals "
                                 "and a significance test",
                                 compare_main, usage};
