/* cmd_tune.c: `convbench tune NET|SHAPES`: tunes every distinct kernel
 * problem of a net (conv fwd / bwd_data / bwd_filter, the fc GEMMs), records
 * every candidate's measurement and caches each winner for this device and
 * build, so `bench --backend tuned` can plan the net from the cache. */
#include "backends.h"
#include "options.h"
#include "tuning.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench tune NET.net|LAYERS.shapes [options]\n"
          "\n"
          "For every distinct kernel problem of the net (conv forward, backward-data\n"
          "and backward-filter; the GEMMs of fc layers): enumerates the candidates\n"
          "(backend x variant x parameter point; supports() and the workspace limit\n"
          "prune), validates each once against ref, and races the rest, interleaved\n"
          "round by round with the caches flushed between samples. Candidates are\n"
          "ranked by the 25th percentile of their samples (preemption only adds\n"
          "time); one is dropped only after 3 samples (a backend's default: 10) when\n"
          "even its fastest is 5%% behind the leader; the rest get at least 10\n"
          "samples and 5 ms each (noisy ones more; a race where all are within 3%%\n"
          "of the leader ends there), up to 3 s per problem. Each\n"
          "backend's default kernel stays in the race until beaten, and a tuned pick\n"
          "must beat it by 2%%. The winner is always cached for this device and\n"
          "build, with its confidence: high, or low with the reason (noisy,\n"
          "preempted, throttled, budget spent). Problems already cached are skipped\n"
          "before any backend is opened, so a warm re-tune times nothing.\n"
          "\n"
          "options:\n"
          "  --backends LIST  backends to draw candidates from (default: every available\n"
          "                   backend but ref, the oracle)\n"
          "  --device D       cpu (the host backends) or cuda:N (the GPU backends on\n"
          "                   CUDA device N; the device fingerprint is then the GPU's\n"
          "                   name, compute capability and SM count; samples are timed\n"
          "                   with CUDA events after an L2 flush). Default: cuda:0 when\n"
          "                   every backend in --backends is a GPU backend, else cpu\n"
          "  --ops LIST       fwd,bwd_data,bwd_filter (default: all three)\n"
          "  --batch N        batch size (default: the netdef's)\n"
          "  --threads T      threads (default: physical cores, %d here); part of the\n"
          "                   device fingerprint\n"
          "  --input-grad     also tune the first layer's input gradient\n"
          "  --budget-s S     start no new problem after S seconds\n"
          "  --force          re-tune problems already cached\n"
          "  --retune-noisy   re-tune only the problems cached with low confidence\n"
          "                   (and those not cached yet)\n"
          "  --min-samples N  samples per candidate still in the race at the end\n"
          "                   (default 10)\n"
          "  --min-ms MS      time per candidate still in the race at the end, ms\n"
          "                   (default 5)\n"
          "  --all-isas       also tune narrower ISA parameter values\n"
          "  --exhaustive     no race: time every parameter point of every variant to\n"
          "                   --min-samples and --min-ms, drop nothing, no per-problem\n"
          "                   budget (slow; what the race is checked against)\n"
          "  --db PATH        database (default ./results.db)\n"
          "  --quiet          no progress line on stderr\n"
          "  -h, --help       this help\n"
          "\n"
          "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or input,\n"
          "130 interrupted (finished problems kept).\n",
          cli_default_threads());
}

/* The device to tune on: --device when given, else cuda:0 when every
 * backend named is a GPU backend, else the host. A named backend that
 * does not run on that device is a usage error. */
static int choose_device(const cli_command *c, const char *device_arg, const char *backends,
                         int *device) {
  *device = -1;
  bool named = backends && strcmp(backends, "all") != 0, all_gpu = named, any_gpu = false;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", named ? backends : "");
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    bool gpu = cb_backend_find(tok)->device == CB_DEVICE_CUDA;
    all_gpu &= gpu;
    any_gpu |= gpu;
  }
  if (device_arg && cb_gpu_parse_device(device_arg, device) != CB_OK)
    return cli_usage_error(c, "--device: %s", cb_errmsg());
  if (!device_arg && all_gpu) *device = 0;
  if (named && (*device >= 0 ? !all_gpu : any_gpu))
    return cli_usage_error(c,
                           "--backends %s mixes backends of another device than %s: tune the "
                           "host and GPU backends separately (--device cpu or cuda:N)",
                           backends,
                           device_arg     ? device_arg
                           : *device >= 0 ? "cuda:0"
                                          : "cpu");
  return CLI_OK;
}

typedef struct tune_args {
  cli_args o; /* batch (0: the netdef's), threads, db, quiet */
  cli_tune_opts t;
  const char *path, *ops_arg, *device_arg;
  bool input_grad, ops[3];
} tune_args;

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  tune_args *a = user;
  long long v;
  char *end;
  switch (ch) {
  case 'B':
    a->t.backends = arg;
    break;
  case 'o':
    a->ops_arg = arg;
    break;
  case 'D':
    a->device_arg = arg;
    break;
  case 'g':
    a->input_grad = true;
    break;
  case 's':
    a->t.budget_s = strtod(arg, &end);
    if (end == arg || *end || !(a->t.budget_s > 0))
      return cli_usage_error(c, "--budget-s: expected a positive number, got '%s'", arg);
    break;
  case 'f':
    a->t.force = true;
    break;
  case 'r':
    a->t.retune_noisy = true;
    break;
  case 'n':
    if (!cli_parse_int(c, "--min-samples", arg, 1, 100000, &v)) return CLI_USAGE;
    a->t.rules.min_samples = (int)v;
    if (a->t.rules.max_samples < a->t.rules.min_samples)
      a->t.rules.max_samples = a->t.rules.min_samples;
    break;
  case 'm':
    if (!cli_parse_int(c, "--min-ms", arg, 0, 600000, &v)) return CLI_USAGE;
    a->t.rules.min_ms = (double)v;
    if (a->t.rules.max_ms < a->t.rules.min_ms) a->t.rules.max_ms = a->t.rules.min_ms;
    break;
  case 'a':
    a->t.rules.all_isas = true;
    break;
  case 'x':
    a->t.rules.exhaustive = true;
    break;
  }
  return CLI_OK;
}

/* --backends: names of this build, never ref. */
static int check_backends(const cli_command *c, const char *backends) {
  char bad[256];
  if (!cli_backend_list_bad(backends, false, bad, sizeof bad)) return CLI_OK;
  return cli_usage_error(c,
                         "--backends: '%s' is not a backend to tune (see 'convbench "
                         "devices'; ref is the oracle)",
                         bad);
}

/* Options and the operand. Returns CLI_OK, -1 after --help, or the exit
 * code after printing why. */
static int parse_args(int argc, char **argv, tune_args *a) {
  static const cli_option own[] = {
      {"backends", true, 'B'},      {"ops", true, 'o'},       {"device", true, 'D'},
      {"input-grad", false, 'g'},   {"budget-s", true, 's'},  {"force", false, 'f'},
      {"retune-noisy", false, 'r'}, {"all-isas", false, 'a'}, {"exhaustive", false, 'x'},
      {"min-samples", true, 'n'},   {"min-ms", true, 'm'},    {NULL, false, 0}};
  const cli_options spec = {.cmd = &cli_tune,
                            .common = CLI_OPT_BATCH | CLI_OPT_THREADS | CLI_OPT_DB | CLI_OPT_QUIET,
                            .own = own,
                            .own_fn = own_option,
                            .user = a};
  const cli_command *c = &cli_tune;
  *a = (tune_args){.ops_arg = "fwd,bwd_data,bwd_filter"};
  cli_args_init(&spec, &a->o);
  cb_tune_rules_default(&a->t.rules);
  int rc = cli_parse(&spec, argc, argv, &a->o);
  if (rc != CLI_OK) return rc;
  if (a->o.noperands < 1) return cli_usage_error(c, "missing NET.net or LAYERS.shapes");
  if (a->o.noperands > 1) return cli_usage_error(c, "unexpected argument '%s'", a->o.operands[1]);
  a->path = a->o.operands[0];
  if (!*a->o.db) return cli_usage_error(c, "--db: empty path");
  if (cli_parse_ops(a->ops_arg, a->ops) != CB_OK) return cli_usage_error(c, "%s", cb_errmsg());
  if ((rc = check_backends(c, a->t.backends)) != CLI_OK) return rc;
  a->t.threads = (int)a->o.threads;
  a->t.quiet = a->o.quiet;
  return choose_device(c, a->device_arg, a->t.backends, &a->t.device);
}

/* The fingerprint of the device tuned on: the host's at this thread
 * count, or the GPU's. */
static cb_status device_fingerprint(const cli_session *s, const tune_args *a, char *fp,
                                    size_t len) {
  cb_device_fingerprint(&s->machine, a->t.threads, fp, len);
  if (a->t.device < 0) return CB_OK;
  cb_gpu_info gi;
  cb_status st = cb_gpu_info_get(a->t.device, &gi);
  if (st == CB_OK) cb_gpu_fingerprint(&gi, fp, len);
  return st;
}

/* Tunes ps in a recorded run; returns the exit code. */
static int tune_run(tune_args *a, const cb_problem_list *ps) {
  cli_session s;
  if (cli_session_begin(&s, a->o.db, "tune", 0, a->t.threads) != CB_OK) return CLI_FAIL;
  /* The stored peak only, for the report's %: measuring one here would
   * cost a warm re-tune most of its time, and a brief one misleads. */
  bool found = false;
  s.have_peak =
      cb_db_get_peak(s.db, s.machine.fingerprint, a->t.threads, &s.peak, &found) == CB_OK && found;
  cli_install_signals();
  char device_fp[160];
  if (device_fingerprint(&s, a, device_fp, sizeof device_fp) != CB_OK) {
    cli_error("tune", "cuda:%d: unavailable (%s)", a->t.device, cb_errmsg());
    cli_session_end(&s, "failed", cb_errmsg());
    return CLI_FAIL;
  }
  a->t.device_fp = device_fp;
  printf("tuning %d problems for %s, build %s\n", ps->n, device_fp, s.build.fingerprint);
  cb_campaign_stats stats;
  cb_status st = cli_tune_problems(&s, &a->t, ps, &stats);
  if (stats.retuned) printf("\n%d low-confidence entries re-tuned\n", stats.retuned);
  printf("\n%d tuned (%d cached, %d of them with low confidence; %d candidates, %d failed "
         "validation or could not run), %d already cached in %.1f s\n",
         stats.tuned, stats.cached, stats.low, stats.candidates, stats.failed, stats.already,
         stats.seconds);
  if (stats.skipped_budget)
    printf("budget spent: %d problems not tuned (run again to continue)\n", stats.skipped_budget);
  return cli_session_finish(&s, "tune", st, "finished problems were kept");
}

static int tune_main(int argc, char **argv) {
  tune_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  cb_netdef *nd;
  if (cb_netdef_load(a.path, &nd) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  cb_problem_list ps;
  cb_status st = cb_net_problems_collect(nd, a.o.batch, a.t.threads, a.input_grad, a.ops, &ps);
  cb_netdef_free(nd);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return cli_exit_code(st);
  }
  rc = tune_run(&a, &ps);
  cb_problem_list_free(&ps);
  return rc;
}

const cli_command cli_tune = {"tune", "find the fastest kernel for each problem of a net, cache it",
                              tune_main, usage};
