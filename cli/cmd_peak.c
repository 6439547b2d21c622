/* cmd_peak.c: `convbench peak`: measures this machine's FP32 FMA peak on
 * one thread and on all of them, with the spread of the repeats, checks
 * each against the ISA's theoretical rate, records those that pass, and
 * prints them. Every GFLOP/s convbench prints is also shown as a fraction
 * of the peak at the same thread count; bench, run and gemm measure it the
 * same way once when none is recorded (cli_session_peak). */
#include "options.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench peak [options]\n"
          "\n"
          "Measures the FP32 fused multiply-add peak of this machine: independent\n"
          "FMA chains on the widest vector ISA (AVX-512, AVX2 or SSE), on one thread\n"
          "and on T threads at once, R repeats each; the peak is the best repeat,\n"
          "shown with the min and median of the repeats. Each is checked against\n"
          "the theoretical rate, threads x clock x FMA flops/cycle (a table by CPU\n"
          "family, with a labelled default; the clock is cpufreq's maximum or a\n"
          "measured one): above it by more than 5%% is a measurement fault, below\n"
          "40%% of it means the machine was busy; neither is recorded. A peak from\n"
          "at least %d repeats that passes is recorded per machine and thread count,\n"
          "and GFLOP/s elsewhere are shown as a fraction of it (bench, run and gemm\n"
          "measure it like this once when none is recorded).\n"
          "\n"
          "options:\n"
          "  --threads T    threads for the all-cores figure (default: physical cores, %d here)\n"
          "  --seconds S    length of each repeat (default 0.25)\n"
          "  --repeats R    repeats per figure, the best is the peak (default 8;\n"
          "                 fewer than %d are shown but not recorded)\n"
          "  --db PATH      database (default ./results.db)\n"
          "  --no-db        record nothing\n"
          "  --format F     table (default) or json\n"
          "  --quiet        no progress line on stderr\n"
          "  -h, --help     this help\n"
          "\n"
          "Exit status: 0 measured (recorded unless a note says why not), 1 a\n"
          "measurement fault or a database error, 2 bad arguments.\n",
          CB_PEAK_MIN_REPEATS, cli_default_threads(), CB_PEAK_MIN_REPEATS);
}

typedef struct peak_args {
  long long ms, repeats;
} peak_args;

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  peak_args *a = user;
  if (ch == 'r')
    return cli_parse_int(c, "--repeats", arg, 1, 1000, &a->repeats) ? CLI_OK : CLI_USAGE;
  char *end;
  double s = strtod(arg, &end);
  if (end == arg || *end || !(s >= 0.01 && s <= 60))
    return cli_usage_error(c, "--seconds: expected a number from 0.01 to 60, got '%s'", arg);
  a->ms = (long long)(s * 1000);
  return CLI_OK;
}

/* One figure as a JSON object. */
static void json_peak(const cb_peak *p, bool recorded, const char *why) {
  printf("{\"threads\": %d, \"gflops\": %.3f, \"gflops_per_core\": %.3f, \"gflops_min\": %.3f, "
         "\"gflops_median\": %.3f, \"repeats\": %d, \"theoretical_gflops\": %.3f, "
         "\"clock_mhz\": %.0f, \"theoretical_how\": ",
         p->threads, p->gflops, p->gflops_per_core, p->gflops_min, p->gflops_median, p->repeats,
         p->theoretical_gflops, p->clock_mhz);
  cb_json_string(stdout, p->theoretical_how);
  printf(
      ", \"load1_before\": %.2f, \"load1_after\": %.2f, \"recorded\": %s, \"not_recorded_why\": ",
      p->load1_before, p->load1_after, recorded ? "true" : "false");
  cb_json_string(stdout, why);
  putchar('}');
}

static int peak_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "json", NULL};
  static const cli_option own[] = {
      {"seconds", true, 's'}, {"repeats", true, 'r'}, {NULL, false, 0}};
  peak_args pa = {.ms = 250, .repeats = 8};
  const cli_options spec = {.cmd = &cli_peak,
                            .common = CLI_OPT_THREADS | CLI_OPT_DB | CLI_OPT_NO_DB |
                                      CLI_OPT_FORMAT | CLI_OPT_QUIET,
                            .formats = formats,
                            .own = own,
                            .own_fn = own_option,
                            .user = &pa};
  const cli_command *c = &cli_peak;
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  if (o.noperands) return cli_usage_error(c, "unexpected argument '%s'", o.operands[0]);
  if (o.db && !*o.db) return cli_usage_error(c, "--db: empty path (use --no-db to record nothing)");
  const char *db = o.db;
  long long threads = o.threads, ms = pa.ms, repeats = pa.repeats;
  bool json = o.format == 1;

  cli_session s;
  if (cli_session_begin(&s, db, "peak", 0, (int)threads) != CB_OK) return CLI_FAIL;
  cli_install_signals();
  int counts[2] = {1, (int)threads}, n = threads > 1 ? 2 : 1;
  cb_peak p[2];
  bool recorded[2] = {false, false}, fault = false;
  char why[2][512];
  for (int i = 0; i < n; i++) {
    cb_status st = cli_peak_measure(counts[i], (double)ms / 1000.0, (int)repeats, o.quiet, &p[i]);
    cli_peak_verdict_text(&p[i], why[i], sizeof why[i]);
    fault |= cb_peak_judge(&p[i]) == CB_PEAK_FAULT;
    if (st == CB_OK && !why[i][0] && !s.db) snprintf(why[i], sizeof why[i], "--no-db");
    if (st == CB_OK && !why[i][0]) {
      st = cb_db_put_peak(s.db, s.run_id, &p[i]);
      recorded[i] = st == CB_OK;
    }
    if (st != CB_OK) return cli_session_finish(&s, "peak", st, "nothing recorded");
  }
  if (json) {
    printf("{\"machine\": \"%s\", \"isa\": \"%s\", \"peaks\": [", s.machine.fingerprint, p[0].isa);
    for (int i = 0; i < n; i++) {
      if (i) fputs(", ", stdout);
      json_peak(&p[i], recorded[i], why[i]);
    }
    printf("]}\n");
  } else {
    printf("FP32 FMA peak of %s (%s), best of %lld repeats of %.2f s (min / median of the "
           "repeats in brackets):\n",
           s.machine.cpu_model, p[0].isa, repeats, (double)ms / 1000.0);
    for (int i = 0; i < n; i++) {
      printf("  %d thread%s %8.1f GFLOP/s (%.1f / %.1f)  %.1f per core;  theoretical %.1f = %s; "
             "load %.2f -> %.2f\n",
             p[i].threads, p[i].threads == 1 ? ": " : "s:", p[i].gflops, p[i].gflops_min,
             p[i].gflops_median, p[i].gflops_per_core, p[i].theoretical_gflops,
             p[i].theoretical_how, p[i].load1_before, p[i].load1_after);
      if (!recorded[i]) printf("    not recorded: %s\n", why[i]);
    }
  }
  cli_session_end(&s, fault ? "failed" : "ok", fault ? "peak: measurement fault" : NULL);
  if (fault) cli_error("peak", "a measured peak exceeds the theoretical rate: measurement fault");
  return fault ? CLI_FAIL : CLI_OK;
}

const cli_command cli_peak = {"peak", "measure the machine's FP32 FMA peak, per core and all cores",
                              peak_main, usage};
