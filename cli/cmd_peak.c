/* cmd_peak.c: `convbench peak`: measures this machine's FP32 FMA peak on
 * one thread and on all of them, records both, and prints them. Every
 * GFLOP/s convbench prints is also shown as a fraction of the peak at the
 * same thread count; bench measures a short one itself when none is
 * recorded (cli_session_peak). */
#include "options.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench peak [options]\n"
          "\n"
          "Measures the FP32 fused multiply-add peak of this machine: independent\n"
          "FMA chains on the widest vector ISA (AVX-512, AVX2 or SSE), on one thread\n"
          "and on T threads at once, best of several runs. Records both in the\n"
          "database; GFLOP/s elsewhere are shown as a fraction of them.\n"
          "\n"
          "options:\n"
          "  --threads T    threads for the all-cores figure (default: physical cores, %d here)\n"
          "  --seconds S    length of each run (default 0.5)\n"
          "  --repeats R    runs per figure, the best is kept (default 5)\n"
          "  --db PATH      database (default ./results.db)\n"
          "  --no-db        record nothing\n"
          "  --format F     table (default) or json\n"
          "  -h, --help     this help\n",
          cli_default_threads());
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

static int peak_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "json", NULL};
  static const cli_option own[] = {
      {"seconds", true, 's'}, {"repeats", true, 'r'}, {NULL, false, 0}};
  peak_args pa = {.ms = 500, .repeats = 5};
  const cli_options spec = {.cmd = &cli_peak,
                            .common = CLI_OPT_THREADS | CLI_OPT_DB | CLI_OPT_NO_DB | CLI_OPT_FORMAT,
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
  int counts[2] = {1, (int)threads};
  cb_peak p[2];
  for (int i = 0; i < (threads > 1 ? 2 : 1); i++) {
    if (cb_peak_measure(counts[i], (double)ms / 1000.0, (int)repeats, &p[i]) != CB_OK ||
        (s.db && cb_db_put_peak(s.db, s.run_id, &p[i]) != CB_OK)) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", cb_errmsg());
      cli_session_end(&s, "failed", msg);
      cli_error("peak", "%s", msg);
      return CLI_FAIL;
    }
  }
  int n = threads > 1 ? 2 : 1;
  if (json) {
    printf("{\"machine\": \"%s\", \"isa\": \"%s\", \"peaks\": [", s.machine.fingerprint, p[0].isa);
    for (int i = 0; i < n; i++)
      printf("%s{\"threads\": %d, \"gflops\": %.3f, \"gflops_per_core\": %.3f}", i ? ", " : "",
             p[i].threads, p[i].gflops, p[i].gflops_per_core);
    printf("]}\n");
  } else {
    printf("FP32 FMA peak of %s (%s), best of %lld runs of %.2f s:\n", s.machine.cpu_model,
           p[0].isa, repeats, (double)ms / 1000.0);
    for (int i = 0; i < n; i++)
      printf("  %d thread%s %8.1f GFLOP/s  (%.1f per core)\n", p[i].threads,
             p[i].threads == 1 ? ": " : "s:", p[i].gflops, p[i].gflops_per_core);
  }
  cli_session_end(&s, "ok", NULL);
  return CLI_OK;
}

const cli_command cli_peak = {"peak", "measure the machine's FP32 FMA peak, per core and all cores",
                              peak_main, usage};
