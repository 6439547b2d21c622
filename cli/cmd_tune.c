/* cmd_tune.c: `convbench tune NET|SHAPES`: tunes every distinct kernel
 * problem of a net (conv fwd / bwd_data / bwd_filter, the fc GEMMs), records
 * every candidate's measurement and caches each winner for this device and
 * build, so `bench --backend tuned` can plan the net from the cache. */
#include "tuning.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench tune NET.net|LAYERS.shapes [options]\n"
          "\n"
          "For every distinct kernel problem of the net (conv forward, backward-data\n"
          "and backward-filter; the GEMMs of fc layers): enumerates the candidates\n"
          "(backend x variant x parameter point; supports() and the workspace limit\n"
          "prune), validates each once against ref, times the rest interleaved round\n"
          "by round with the caches flushed between samples (at least 10 samples and\n"
          "200 ms each, capped; a candidate 2x behind the best stops after one round,\n"
          "1.5x behind after two; noisy ones get more rounds), records every\n"
          "measurement, and caches the winner for this device\n"
          "and build unless it was measured noisy or throttled. Problems already\n"
          "cached for this device and build are skipped.\n"
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
          "  --min-samples N  samples per candidate at least (default 10)\n"
          "  --min-ms MS      time per candidate at least, ms (default 200)\n"
          "  --all-isas       also tune narrower ISA parameter values\n"
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

static int tune_main(int argc, char **argv) {
  static const struct option opts[] = {{"backends", required_argument, NULL, 'B'},
                                       {"ops", required_argument, NULL, 'o'},
                                       {"device", required_argument, NULL, 'D'},
                                       {"batch", required_argument, NULL, 'b'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"input-grad", no_argument, NULL, 'g'},
                                       {"budget-s", required_argument, NULL, 's'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"all-isas", no_argument, NULL, 'a'},
                                       {"db", required_argument, NULL, 'd'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"min-samples", required_argument, NULL, 'n'},
                                       {"min-ms", required_argument, NULL, 'm'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const cli_command *c = &cli_tune;
  long long batch = 0, threads = cli_default_threads();
  const char *db = "results.db", *ops_arg = "fwd,bwd_data,bwd_filter", *device_arg = NULL;
  bool input_grad = false, ops[3];
  cli_tune_opts o = {0};
  cb_tune_rules_default(&o.rules);
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (ch) {
    case 'B':
      o.backends = optarg;
      break;
    case 'o':
      ops_arg = optarg;
      break;
    case 'D':
      device_arg = optarg;
      break;
    case 'b':
      if (!cli_parse_int(c, "--batch", optarg, 1, INT32_MAX, &batch)) return CLI_USAGE;
      break;
    case 't':
      if (!cli_parse_int(c, "--threads", optarg, 1, 4096, &threads)) return CLI_USAGE;
      break;
    case 'g':
      input_grad = true;
      break;
    case 's': {
      char *end;
      o.budget_s = strtod(optarg, &end);
      if (end == optarg || *end || !(o.budget_s > 0))
        return cli_usage_error(c, "--budget-s: expected a positive number, got '%s'", optarg);
      break;
    }
    case 'f':
      o.force = true;
      break;
    case 'n': {
      long long v;
      if (!cli_parse_int(c, "--min-samples", optarg, 1, 100000, &v)) return CLI_USAGE;
      o.rules.min_samples = (int)v;
      if (o.rules.max_samples < o.rules.min_samples) o.rules.max_samples = o.rules.min_samples;
      break;
    }
    case 'm': {
      long long v;
      if (!cli_parse_int(c, "--min-ms", optarg, 0, 600000, &v)) return CLI_USAGE;
      o.rules.min_ms = (double)v;
      if (o.rules.max_ms < o.rules.min_ms) o.rules.max_ms = o.rules.min_ms;
      break;
    }
    case 'a':
      o.rules.all_isas = true;
      break;
    case 'd':
      db = optarg;
      break;
    case 'q':
      o.quiet = true;
      break;
    case 'h':
      usage(stdout);
      return CLI_OK;
    case ':':
      return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return cli_usage_error(c, "missing NET.net or LAYERS.shapes");
  if (optind + 1 < argc) return cli_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
  if (!*db) return cli_usage_error(c, "--db: empty path");
  if (cli_parse_ops(ops_arg, ops) != CB_OK) return cli_usage_error(c, "%s", cb_errmsg());
  if (o.backends && strcmp(o.backends, "all") != 0) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o.backends);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
      if (!cb_backend_find(tok) || strcmp(tok, "ref") == 0)
        return cli_usage_error(c,
                               "--backends: '%s' is not a backend to tune (see 'convbench "
                               "devices'; ref is the oracle)",
                               tok);
  }
  o.threads = (int)threads;
  int rc = choose_device(c, device_arg, o.backends, &o.device);
  if (rc != CLI_OK) return rc;

  cb_netdef *nd;
  if (cb_netdef_load(argv[optind], &nd) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  cb_problem_list ps;
  cb_status st = cb_net_problems_collect(nd, batch, (int)threads, input_grad, ops, &ps);
  cb_netdef_free(nd);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return cli_exit_code(st);
  }

  cli_session s;
  if (cli_session_begin(&s, db, "tune", 0, (int)threads) != CB_OK) {
    cb_problem_list_free(&ps);
    return CLI_FAIL;
  }
  cli_session_peak(&s, (int)threads);
  cli_install_signals();
  char device_fp[160];
  cb_device_fingerprint(&s.machine, (int)threads, device_fp, sizeof device_fp);
  if (o.device >= 0) {
    cb_gpu_info gi;
    if (cb_gpu_info_get(o.device, &gi) != CB_OK) {
      cli_error("tune", "cuda:%d: unavailable (%s)", o.device, cb_errmsg());
      cli_session_end(&s, "failed", cb_errmsg());
      cb_problem_list_free(&ps);
      return CLI_FAIL;
    }
    cb_gpu_fingerprint(&gi, device_fp, sizeof device_fp);
  }
  o.device_fp = device_fp;
  printf("tuning %d problems for %s, build %s\n", ps.n, device_fp, s.build.fingerprint);
  cb_campaign_stats stats;
  st = cli_tune_problems(&s, &o, &ps, &stats);
  printf("\n%d tuned (%d cached, %d candidates, %d failed validation or could not run), %d "
         "already cached%s in %.1f s\n",
         stats.tuned, stats.cached, stats.candidates, stats.failed, stats.already,
         stats.skipped_budget ? "" : "", stats.seconds);
  if (stats.skipped_budget)
    printf("budget spent: %d problems not tuned (run again to continue)\n", stats.skipped_budget);
  rc = CLI_OK;
  if (st == CB_OK) {
    cli_session_end(&s, "ok", NULL);
  } else if (st == CB_ERR_INTERRUPTED) {
    cli_session_end(&s, "interrupted", NULL);
    cli_error("tune", "interrupted; finished problems were kept");
    rc = CLI_INTERRUPTED;
  } else {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", cb_errmsg());
    cli_session_end(&s, "failed", msg);
    cli_error("tune", "%s", msg);
    rc = CLI_FAIL;
  }
  cb_problem_list_free(&ps);
  return rc;
}

const cli_command cli_tune = {"tune", "find the fastest kernel for each problem of a net, cache it",
                              tune_main, usage};
