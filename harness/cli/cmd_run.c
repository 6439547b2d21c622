/* cmd_run.c: `convbench run KEY`: one problem on one or every variant:
 * checks each against ref on small-integer data, then times it. This is
 * the command every failure's repro line names, and a quick way to compare
 * the kernels of all backends on one shape. */
#include "cli.h"

#include "validate.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_args {
  const char *key;
  const char *backend; /* NULL: every backend */
  const char *variant; /* NULL: every variant */
  int params[CB_MAX_PARAMS];
  int nparams; /* -1: the variant's defaults */
  long long threads, iters, warmup;
  bool check;
  bool csv; /* one CSV row per variant instead of the table */
} run_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench run KEY [options]\n"
          "\n"
          "Runs one problem, given by its canonical key, on one or every variant:\n"
          "checks the result against ref on small-integer data (exact, or within the\n"
          "variant's tolerance), then times it (median and min over iterations).\n"
          "Keys look like\n"
          "  conv_fwd:f32:nchw:n16c64h56w56_k64r3s3_p1x1_u1x1_d1x1_g1\n"
          "  conv_bwd_data:... conv_bwd_filter:...   gemm:f32:nt:m1024n1024k1024\n"
          "and are printed by every failure and stored with every result.\n"
          "\n"
          "options:\n"
          "  --backend NAME   only this backend (default: every backend available)\n"
          "  --variant NAME   only this variant (default: every variant)\n"
          "  --params a,b     the variant's parameter values (default: its defaults)\n"
          "  --threads T      threads (default: physical cores, %d here)\n"
          "  --iters K        timed runs (default 10)\n"
          "  --warmup W       untimed runs first (default 2)\n"
          "  --no-check       time without checking against ref\n"
          "  --format F       table (default) or csv\n"
          "  -h, --help       this help\n"
          "\n"
          "Exit status: 0 every check passed, 1 a check failed or a run failed,\n"
          "2 bad arguments (an unparsable key, an unknown backend or variant).\n",
          cli_default_threads());
}

static int parse_params(const char *s, run_args *a) {
  a->nparams = 0;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || a->nparams == CB_MAX_PARAMS) return -1;
    a->params[a->nparams++] = (int)v;
    if (*end == ',')
      end++;
    else if (*end)
      return -1;
    s = end;
  }
  return a->nparams > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, run_args *a) {
  static const struct option opts[] = {
      {"backend", required_argument, NULL, 'B'}, {"variant", required_argument, NULL, 'V'},
      {"params", required_argument, NULL, 'P'},  {"threads", required_argument, NULL, 't'},
      {"iters", required_argument, NULL, 'i'},   {"warmup", required_argument, NULL, 'w'},
      {"no-check", no_argument, NULL, 'n'},      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  const cli_command *c = &cli_run;
  *a = (run_args){.nparams = -1, .iters = 10, .warmup = 2, .check = true};
  a->threads = cli_default_threads();
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (ch) {
    case 'B':
      a->backend = optarg;
      break;
    case 'V':
      a->variant = optarg;
      break;
    case 'P':
      if (parse_params(optarg, a) != 0)
        return cli_usage_error(c, "--params: expected integers like 16 or 8,4, got '%s'", optarg);
      break;
    case 't':
      if (!cli_parse_int(c, "--threads", optarg, 1, 4096, &a->threads)) return CLI_USAGE;
      break;
    case 'i':
      if (!cli_parse_int(c, "--iters", optarg, 1, 1000000, &a->iters)) return CLI_USAGE;
      break;
    case 'w':
      if (!cli_parse_int(c, "--warmup", optarg, 0, 1000000, &a->warmup)) return CLI_USAGE;
      break;
    case 'n':
      a->check = false;
      break;
    case 'f':
      if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "table") != 0)
        return cli_usage_error(c, "--format: expected table or csv, got '%s'", optarg);
      a->csv = strcmp(optarg, "csv") == 0;
      break;
    case 'h':
      usage(stdout);
      return -1;
    case ':':
      return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return cli_usage_error(c, "missing problem KEY");
  if (optind + 1 < argc) return cli_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
  a->key = argv[optind];
  return CLI_OK;
}

/* Checks and times one variant; prints its row. Returns false on failure. */
static bool run_variant(cb_ctx *ctx, cb_ctx *ref, const cb_variant *v, const cb_problem *p,
                        const run_args *a) {
  int params[CB_MAX_PARAMS];
  cb_variant_default_params(v, params);
  if (a->nparams >= 0) memcpy(params, a->params, (size_t)a->nparams * sizeof *params);
  char pstr[64] = "-";
  for (int i = 0, n = 0; i < v->nparams; i++)
    n += snprintf(pstr + n, sizeof pstr - (size_t)n, "%s%d", i ? "," : "", params[i]);

  cb_status st = v->supports ? v->supports(ctx, p, params) : CB_OK;
  if (st != CB_OK) {
    if (a->variant)
      fprintf(a->csv ? stderr : stdout, "%-9s %-20s %-8s unsupported: %s\n", ctx->backend->name,
              v->name, pstr, cb_errmsg());
    return true;
  }
  char check[96] = "unchecked";
  bool ok = true;
  if (a->check) {
    cb_check chk;
    st = cb_validate(ctx, v, params, p, ref, 42, &chk);
    if (st != CB_OK) {
      fprintf(a->csv ? stderr : stdout, "%-9s %-20s %-8s error: %s\n", ctx->backend->name, v->name,
              pstr, cb_errmsg());
      return false;
    }
    ok = chk.pass;
    if (chk.tolerance == 0)
      snprintf(check, sizeof check, "%s", ok ? "exact" : "MISMATCH (must be exact)");
    else
      snprintf(check, sizeof check, "%s (%.1e %s %.0e)", ok ? "ok" : "MISMATCH", chk.max_rel,
               ok ? "<=" : ">", chk.tolerance);
  }
  cb_timing t;
  st = cb_time_variant(ctx, v, params, p, (int)a->warmup, (int)a->iters, &t);
  if (st != CB_OK) {
    fprintf(a->csv ? stderr : stdout, "%-9s %-20s %-8s %-26s error: %s\n", ctx->backend->name,
            v->name, pstr, check, cb_errmsg());
    return false;
  }
  char impl[128] = "";
  if (v->plan_info) {
    void *plan = NULL;
    if (!v->plan_create || v->plan_create(ctx, p, params, &plan) == CB_OK) {
      v->plan_info(plan, impl, sizeof impl);
      if (plan && v->plan_destroy) v->plan_destroy(plan);
    }
  }
  double gflops = cb_problem_flops(p) / (t.median * 1e6);
  if (a->csv) {
    char key[CB_KEY_MAX];
    cb_problem_key(p, key, sizeof key);
    /* params and check may hold commas: quote them; impl too. */
    printf("%s,%s,%s,\"%s\",\"%s\",%lld,%.6f,%.6f,%.6f,%d,%.4f,\"%s\"\n", key, ctx->backend->name,
           v->name, pstr, check, a->threads, t.median, t.min, t.mad, t.samples, gflops, impl);
    return ok;
  }
  printf("%-9s %-20s %-8s %-26s %10.3f %10.3f %9.2f  %s\n", ctx->backend->name, v->name, pstr,
         check, t.median, t.min, gflops, impl);
  if (!ok) {
    char repro[512];
    cb_repro_line(ctx, v, params, p, repro, sizeof repro);
    fprintf(a->csv ? stderr : stdout, "  repro: %s\n", repro);
  }
  return ok;
}

static int run_main(int argc, char **argv) {
  run_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  cb_problem p;
  if (cb_problem_parse(a.key, &p) != CB_OK) {
    cli_error("run", "%s", cb_errmsg());
    return CLI_USAGE;
  }
  const cb_backend *only = NULL;
  if (a.backend && !(only = cb_backend_find(a.backend))) {
    cli_error("run", "unknown backend '%s' (see 'convbench devices')", a.backend);
    return CLI_USAGE;
  }
  if (a.variant && (!only || !cb_variant_find(only, p.op, a.variant))) {
    cli_error("run", "no variant '%s' for %s in backend %s", a.variant, cb_op_name(p.op),
              only ? only->name : "(give --backend)");
    return CLI_USAGE;
  }
  cb_ctx *ref;
  if (cb_ctx_open(cb_backend_find("ref"), (int)a.threads, &ref) != CB_OK) {
    cli_error("run", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  if (a.csv) {
    printf(
        "key,backend,variant,params,check,threads,median_ms,min_ms,mad_ms,samples,gflops,impl\n");
  } else {
    printf("%s: %.3f GFLOP, %d thread%s, median of %lld after %lld warm-up\n", a.key,
           cb_problem_flops(&p) / 1e9, (int)a.threads, a.threads == 1 ? "" : "s", a.iters,
           a.warmup);
    printf("%-9s %-20s %-8s %-26s %10s %10s %9s  %s\n", "backend", "variant", "params", "check",
           "median ms", "min ms", "GFLOP/s", "implementation");
  }
  bool ok = true;
  for (const cb_backend *const *b = cb_backends(); *b; b++) {
    if (only && *b != only) continue;
    cb_ctx *ctx;
    if (cb_ctx_open(*b, (int)a.threads, &ctx) != CB_OK) {
      printf("%-9s unavailable: %s\n", (*b)->name, cb_errmsg());
      if (only) ok = false;
      continue;
    }
    for (const cb_variant *const *v = (*b)->variants[p.op]; v && *v; v++)
      if (!a.variant || strcmp((*v)->name, a.variant) == 0) ok &= run_variant(ctx, ref, *v, &p, &a);
    cb_ctx_close(ctx);
  }
  cb_ctx_close(ref);
  return ok ? CLI_OK : CLI_FAIL;
}

const cli_command cli_run = {"run", "check one problem against ref and time it, per variant",
                             run_main, usage};
