/* cmd_run.c: `convbench run KEY` and `convbench gemm M N K`: one problem
 * on one or many variants. Each candidate is checked against ref on
 * small-integer data, then all are timed interleaved, round by round, with
 * the caches flushed between samples, and shown with GFLOP/s as a fraction
 * of the machine's peak. `run` is the command every failure's repro line
 * names; `gemm` is the GEMM benchmark with every GEMM backend side by side. */
#include "backends.h"
#include "options.h"

#include "measure.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CANDIDATES 256

typedef struct run_args {
  const char *backend; /* NULL: every backend (run), or every backend but ref ("all") */
  const char *variant; /* NULL: every variant */
  int params[CB_MAX_PARAMS];
  int nparams; /* -1: every variant's defaults */
  long long threads, iters, warmup;
  bool check;
  bool csv, json;
  bool quiet;
  const char *db; /* for the peak; NULL: --no-db */
} run_args;

/* The options run and gemm share, for both usages. */
#define COMMON_OPTIONS                                                                             \
  "  --variant NAME   only this variant (default: every variant)\n"                                \
  "  --params a,b     the variant's parameter values (default: its defaults)\n"                    \
  "  --threads T      threads (default: physical cores)\n"                                         \
  "  --iters K        timed runs of each candidate (default 10)\n"                                 \
  "  --warmup W       untimed rounds first (default 2)\n"                                          \
  "  --no-check       time without checking against ref\n"                                         \
  "  --db PATH        read the machine's peak from here (default ./results.db);\n"                 \
  "                   without one recorded it is measured once (a few seconds,\n"                  \
  "                   as 'convbench peak') and recorded there\n"                                   \
  "  --no-db          no peak: GFLOP/s without %peak (says so)\n"                                  \
  "  --format F       table (default), csv (with a '# key: value' context\n"                       \
  "                   header) or json (with a context block)\n"                                    \
  "  --quiet          no progress line on stderr\n"                                                \
  "  -h, --help       this help\n"

static void run_usage(FILE *f) {
  fputs("usage: convbench run KEY [options]\n"
        "\n"
        "Runs one problem, given by its canonical key, on one or every variant:\n"
        "checks each result against ref on small-integer data (exact, or within\n"
        "the variant's tolerance), then times every candidate interleaved, round\n"
        "by round (median and min), with GFLOP/s as a fraction of the FMA peak.\n"
        "GPU backends (cuda, cublas, cudnn, cufft) run on cuda:0: their inputs are\n"
        "uploaded once, each sample is timed with CUDA events around the kernels\n"
        "alone (no transfers) after an L2 flush, and they are interleaved among\n"
        "themselves, not with the CPU backends; no %peak for them.\n"
        "Keys look like\n"
        "  conv_fwd:f32:nchw:n16c64h56w56_k64r3s3_p1x1_u1x1_d1x1_g1\n"
        "  conv_bwd_data:... conv_bwd_filter:...   gemm:f32:nt:m1024n1024k1024\n"
        "and are printed by every failure and stored with every result.\n"
        "\n"
        "options:\n"
        "  --backend B      a backend, a comma-separated list, or all (every\n"
        "                   backend but ref); default: every backend, ref included\n" COMMON_OPTIONS
        "\n"
        "Exit status: 0 every check passed, 1 a check failed or a run failed,\n"
        "2 bad arguments (an unparsable key, an unknown backend or variant).\n",
        f);
}

static void gemm_usage(FILE *f) {
  fputs("usage: convbench gemm M N K [options]\n"
        "\n"
        "The SGEMM benchmark: C[M,N] = alpha op(A) op(B) + beta C (row-major) on\n"
        "every GEMM variant of every backend, side by side: each checked against\n"
        "ref, then timed interleaved, with GFLOP/s as a fraction of the FMA peak.\n"
        "Same as 'convbench run gemm:f32:TT:mMnNkK'.\n"
        "\n"
        "options:\n"
        "  --trans TT       nn (default), nt, tn or tt: whether A and B are transposed\n"
        "  --alpha X        (default 1)\n"
        "  --beta X         (default 0)\n"
        "  --backend B      a backend, a comma-separated list, or all (default: every\n"
        "                   backend but ref, whose GEMM is the slow oracle)\n" COMMON_OPTIONS "\n"
        "Exit status: 0 every check passed, 1 a check failed or a run failed,\n"
        "2 bad arguments.\n",
        f);
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

/* What run and gemm parse their own options into. */
typedef struct run_parse {
  run_args *a;
  int (*extra)(const cli_command *c, int ch, const char *val, void *user); /* gemm's */
  void *user;
} run_parse;

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  run_parse *r = user;
  switch (ch) {
  case 'V':
    r->a->variant = arg;
    return CLI_OK;
  case 'P':
    if (parse_params(arg, r->a) != 0)
      return cli_usage_error(c, "--params: expected integers like 16 or 8,4, got '%s'", arg);
    return CLI_OK;
  case 'n':
    r->a->check = false;
    return CLI_OK;
  default:
    return r->extra(c, ch, arg, r->user);
  }
}

/* Options shared by run and gemm; gemm's own (extra_opts) go through
 * extra(). Returns CLI_OK, CLI_USAGE, or -1 after printing help; the
 * operands are in o. */
static int parse_common(const cli_command *c, int argc, char **argv, run_args *a, cli_args *o,
                        const cli_option *extra_opts,
                        int (*extra)(const cli_command *c, int ch, const char *val, void *user),
                        void *user) {
  static const char *const formats[] = {"table", "csv", "json", NULL};
  cli_option own[16] = {{"variant", true, 'V'}, {"params", true, 'P'}, {"no-check", false, 'n'}};
  for (int i = 0; extra_opts && extra_opts[i].name && i + 4 < 16; i++) own[3 + i] = extra_opts[i];
  run_parse r = {a, extra, user};
  const cli_options spec = {.cmd = c,
                            .common = CLI_OPT_BACKEND | CLI_OPT_THREADS | CLI_OPT_ITERS |
                                      CLI_OPT_WARMUP | CLI_OPT_FORMAT | CLI_OPT_DB | CLI_OPT_NO_DB |
                                      CLI_OPT_QUIET,
                            .formats = formats,
                            .own = own,
                            .own_fn = own_option,
                            .user = &r};
  cli_args_init(&spec, o);
  o->warmup = 2;
  int rc = cli_parse(&spec, argc, argv, o);
  if (rc != CLI_OK) return rc;
  a->backend = o->backend_given ? o->backend : NULL;
  a->threads = o->threads, a->iters = o->iters, a->warmup = o->warmup;
  a->csv = o->format == 1;
  a->json = o->format == 2;
  a->quiet = o->quiet;
  a->db = o->db;
  if (a->db && !*a->db) return cli_usage_error(c, "--db: empty path (use --no-db)");
  return CLI_OK;
}

/* ---- the engine ------------------------------------------------------------------- */

typedef struct candidate_row {
  char check[96];
  bool ok;
  char impl[128];
} candidate_row;

/* Whether backend b is selected by --backend (NULL: def_all decides). */
static bool selected(const char *list, const cb_backend *b, bool with_ref_by_default) {
  if (!list) return with_ref_by_default || strcmp(b->name, "ref") != 0;
  if (strcmp(list, "all") == 0) return strcmp(b->name, "ref") != 0;
  size_t n = strlen(b->name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, b->name, n) == 0) return true;
    p += len + (comma ? 1 : 0);
  }
  return false;
}

/* Checks that every name in --backend exists. */
static bool backends_known(const char *cmd, const char *list) {
  char bad[256];
  if (!cli_backend_list_bad(list, true, bad, sizeof bad)) return true;
  cli_error(cmd, "unknown backend '%s' (see 'convbench devices')", bad);
  return false;
}

static void params_str(const cb_variant *v, const int *params, char *buf, size_t len) {
  snprintf(buf, len, "-");
  for (int i = 0, n = 0; i < v->nparams && n >= 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d", i ? "," : "", params[i]);
}

/* Runs p on the selected candidates and prints them; the exit code. */
/* Times the candidates interleaved, one session per device (host
 * memory, or each GPU): a session's candidates share one set of inputs.
 * On a GPU a sample is timed with device events after an L2 flush. */
static cb_status time_by_device(const cb_candidate *cands, int n, const cb_problem *p,
                                const run_args *a, cb_timing *t) {
  static cb_candidate group[MAX_CANDIDATES];
  static int idx[MAX_CANDIDATES];
  static cb_timing gt[MAX_CANDIDATES];
  bool *done = calloc((size_t)(n ? n : 1), sizeof *done);
  if (!done) return cb_error(CB_ERR_NOMEM, "out of memory");
  cb_status st = CB_OK;
  for (int i = 0; i < n && st == CB_OK; i++) {
    if (done[i]) continue;
    int m = 0;
    for (int j = i; j < n; j++) {
      const cb_ctx *x = cands[i].ctx, *y = cands[j].ctx;
      if (done[j] || x->backend->alloc != y->backend->alloc || x->device != y->device) continue;
      done[j] = true;
      idx[m] = j;
      group[m++] = cands[j];
    }
    st = cb_time_interleaved(group, m, p, (int)a->warmup, (int)a->iters, (size_t)64 << 20, gt);
    for (int j = 0; j < m && st == CB_OK; j++) t[idx[j]] = gt[j];
  }
  free(done);
  return st;
}

static int run_candidates(const char *cmd, const cb_problem *p, const run_args *a,
                          bool with_ref_by_default, const cli_session *sess);

static int run_problem(const char *cmd, const cb_problem *p, const run_args *a,
                       bool with_ref_by_default) {
  if (!backends_known(cmd, a->backend)) return CLI_USAGE;
  if (a->variant) {
    bool any = false;
    for (const cb_backend *const *b = cb_backends(); *b; b++)
      any |=
          selected(a->backend, *b, with_ref_by_default) && cb_variant_find(*b, p->op, a->variant);
    if (!any) {
      cli_error(cmd, "no variant '%s' for %s in the selected backends", a->variant,
                cb_op_name(p->op));
      return CLI_USAGE;
    }
  }
  /* The peak comes from the database; without one recorded it is
   * measured once and recorded there (the run row of this command holds
   * it). --no-db: no %peak. */
  cli_cmdline_ensure_int("--threads", a->threads);
  cli_cmdline_ensure_int("--iters", a->iters);
  cli_cmdline_ensure_int("--warmup", a->warmup);
  cli_session s;
  if (cli_session_begin(&s, a->db, cmd, 0, (int)a->threads) != CB_OK) return CLI_FAIL;
  s.quiet = a->quiet;
  cli_install_signals();
  cli_session_peak(&s, (int)a->threads);
  int rc = run_candidates(cmd, p, a, with_ref_by_default, &s);
  cli_session_end(&s, rc == CLI_OK ? "ok" : "failed",
                  rc == CLI_OK ? NULL : "a check or run failed");
  return rc;
}

/* Checks and times the candidates of p; prints them; the exit code. */
static int run_candidates(const char *cmd, const cb_problem *p, const run_args *a,
                          bool with_ref_by_default, const cli_session *sess) {
  const cli_session s = *sess;
  cli_progress pr;
  cli_progress_begin(&pr, a->quiet);
  cb_ctx *ref, *ctxs[32] = {0};
  int nctx = 0;
  if (cb_ctx_open(cb_backend_find("ref"), (int)a->threads, &ref) != CB_OK) {
    cli_error(cmd, "%s", cb_errmsg());
    return CLI_FAIL;
  }
  static cb_candidate cands[MAX_CANDIDATES];
  static candidate_row rows[MAX_CANDIDATES];
  int n = 0;
  bool ok = true;
  char key[CB_KEY_MAX];
  cb_problem_key(p, key, sizeof key);
  FILE *notes = a->csv || a->json ? stderr : stdout;
  if (!a->csv && !a->json)
    printf("%s: %.3f GFLOP, %d thread%s, median of %lld interleaved after %lld warm-up%s\n", key,
           cb_problem_flops(p) / 1e9, (int)a->threads, a->threads == 1 ? "" : "s", a->iters,
           a->warmup, s.have_peak ? "" : "; peak unknown");

  /* Collect and check the candidates. */
  for (const cb_backend *const *b = cb_backends(); *b && nctx < 32; b++) {
    if (!selected(a->backend, *b, with_ref_by_default)) continue;
    cb_ctx *ctx = NULL;
    if (cb_ctx_open(*b, (int)a->threads, &ctx) != CB_OK) {
      fprintf(notes, "%-9s unavailable: %s\n", (*b)->name, cb_errmsg());
      ok &= a->backend == NULL || strcmp(a->backend, "all") == 0;
      continue;
    }
    ctxs[nctx++] = ctx;
    for (const cb_variant *const *v = (*b)->variants[p->op]; v && *v && n < MAX_CANDIDATES; v++) {
      if (a->variant && strcmp((*v)->name, a->variant) != 0) continue;
      cb_candidate *k = &cands[n];
      k->ctx = ctx;
      k->variant = *v;
      cb_variant_default_params(*v, k->params);
      if (a->nparams >= 0) memcpy(k->params, a->params, (size_t)a->nparams * sizeof(int));
      char ps[64];
      params_str(*v, k->params, ps, sizeof ps);
      if ((*v)->supports && (*v)->supports(ctx, p, k->params) != CB_OK) {
        if (a->variant)
          fprintf(notes, "%-9s %-20s %-8s unsupported: %s\n", (*b)->name, (*v)->name, ps,
                  cb_errmsg());
        continue;
      }
      candidate_row *r = &rows[n];
      memset(r, 0, sizeof *r);
      cli_progress_show(&pr, "%s: checking %s/%s (candidate %d)", cmd, (*b)->name, (*v)->name,
                        n + 1);
      r->ok = true;
      snprintf(r->check, sizeof r->check, "unchecked");
      if (a->check) {
        cb_check chk;
        if (cb_validate(ctx, *v, k->params, p, ref, 42, &chk) != CB_OK) {
          fprintf(notes, "%-9s %-20s %-8s error: %s\n", (*b)->name, (*v)->name, ps, cb_errmsg());
          ok = false;
          continue;
        }
        r->ok = chk.pass;
        if (chk.tolerance == 0)
          snprintf(r->check, sizeof r->check, "%s", r->ok ? "exact" : "MISMATCH (must be exact)");
        else
          snprintf(r->check, sizeof r->check, "%s (%.1e %s %.0e)", r->ok ? "ok" : "MISMATCH",
                   chk.max_rel, r->ok ? "<=" : ">", chk.tolerance);
      }
      if ((*v)->plan_info) {
        void *plan = NULL;
        if (!(*v)->plan_create || (*v)->plan_create(ctx, p, k->params, &plan) == CB_OK) {
          (*v)->plan_info(plan, r->impl, sizeof r->impl);
          if (plan && (*v)->plan_destroy) (*v)->plan_destroy(plan);
        }
      }
      n++;
    }
  }

  /* Time them together: round by round, caches flushed between samples. */
  cli_progress_show(&pr, "%s: timing %d candidate%s interleaved, %lld rounds", cmd, n,
                    n == 1 ? "" : "s", a->iters + a->warmup);
  cli_progress_end(&pr);
  cb_timing *t = calloc((size_t)(n ? n : 1), sizeof *t);
  cb_devstate before, after;
  cb_devstate_sample(&before);
  cb_status st = n && t ? time_by_device(cands, n, p, a, t) : CB_OK;
  cb_devstate_sample(&after);
  cli_context ctx = {.session = &s,
                     .threads = (int)a->threads,
                     .iters = (int)a->iters,
                     .warmup = (int)a->warmup,
                     .before = &before,
                     .after = &after};
  if (st != CB_OK) {
    cli_error(cmd, "%s", cb_errmsg());
    ok = false;
  } else if (a->csv) {
    cli_context_csv(stdout, &ctx);
    printf("key,backend,variant,params,check,threads,median_ms,min_ms,mad_ms,samples,gflops,"
           "peak_gflops,impl,noise,over_peak\n");
  } else if (a->json) {
    fputs("{", stdout);
    cli_context_json(stdout, &ctx);
    fputs(", \"key\": ", stdout);
    cb_json_string(stdout, key);
    printf(", \"gflop\": %.6f, \"results\": [", cb_problem_flops(p) / 1e9);
  } else if (n) {
    printf("%-9s %-20s %-8s %-26s %10s %10s %-15s %9s %7s  %s\n", "backend", "variant", "params",
           "check", "median ms", "min ms", "noise", "GFLOP/s", "%peak", "implementation");
  }
  int noisy = 0, preempted = 0;
  bool any_w = false, any_fault = false;
  for (int i = 0; st == CB_OK && i < n; i++) {
    char ps[64], noise[32];
    params_str(cands[i].variant, cands[i].params, ps, sizeof ps);
    double g = cb_problem_flops(p) / (t[i].median * 1e6);
    /* The measured peak is the CPU's: no percentage for GPU rows. */
    double pk = s.have_peak && cands[i].ctx->backend->device == CB_DEVICE_HOST ? s.peak.gflops : 0;
    cb_noise_level nl = cb_timing_noise(&t[i], NULL);
    noisy += nl == CB_NOISE_NOISY, preempted += nl == CB_NOISE_PREEMPTED;
    cli_noise_cell(&t[i], noise, sizeof noise);
    const char *over =
        pk > 0 && g > pk ? cli_over_peak_reason(cands[i].variant->name, rows[i].impl) : "";
    bool fault = over[0] && strcmp(over, "measurement fault") == 0;
    any_w |= over[0] && !fault, any_fault |= fault;
    if (a->csv) {
      printf("%s,%s,%s,\"%s\",\"%s\",%lld,%.6f,%.6f,%.6f,%d,%.4f,%.3f,\"%s\",%s,%s\n", key,
             cands[i].ctx->backend->name, cands[i].variant->name, ps, rows[i].check, a->threads,
             t[i].median, t[i].min, t[i].mad, t[i].samples, g, pk, rows[i].impl, cb_noise_name(nl),
             over);
    } else if (a->json) {
      printf("%s\n  {\"backend\": \"%s\", \"variant\": \"%s\", \"params\": \"%s\", \"check\": ",
             i ? "," : "", cands[i].ctx->backend->name, cands[i].variant->name, ps);
      cb_json_string(stdout, rows[i].check);
      printf(", \"ok\": %s, \"median_ms\": %.6f, \"min_ms\": %.6f, \"max_ms\": %.6f, "
             "\"mad_ms\": %.6f, \"samples\": %d, \"noise\": \"%s\", \"gflops\": %.4f, "
             "\"peak_gflops\": %.3f, \"over_peak\": \"%s\", \"impl\": ",
             rows[i].ok ? "true" : "false", t[i].median, t[i].min, t[i].max, t[i].mad, t[i].samples,
             cb_noise_name(nl), g, pk, over);
      cb_json_string(stdout, rows[i].impl);
      putchar('}');
    } else {
      char pct[16] = "-";
      if (pk > 0)
        snprintf(pct, sizeof pct, "%.0f%%%s", 100 * g / pk, !over[0] ? "" : fault ? "!" : "w");
      printf("%-9s %-20s %-8s %-26s %10.3f %10.3f %-15s %9.2f %7s  %s\n",
             cands[i].ctx->backend->name, cands[i].variant->name, ps, rows[i].check, t[i].median,
             t[i].min, noise, g, pct, rows[i].impl);
    }
    if (!rows[i].ok) {
      char repro[512];
      cb_repro_line(cands[i].ctx, cands[i].variant, cands[i].params, p, repro, sizeof repro);
      fprintf(notes, "  repro: %s\n", repro);
      ok = false;
    }
  }
  if (a->json && st == CB_OK) fputs("\n]}\n", stdout);
  if (!a->csv && !a->json && st == CB_OK && n) {
    if (any_w) printf("w over 100%% of peak: winograd credits direct flops\n");
    if (any_fault) printf("! over 100%% of peak with a direct kernel: a measurement fault\n");
    cli_state_line(stdout, &before, &after, (int)a->threads);
    if (!s.have_peak && s.no_peak[0]) printf("%s\n", s.no_peak);
  }
  if (st == CB_OK && n)
    cli_noise_warn(cmd, noisy, preempted, n, (int)a->iters, (int)a->threads, s.machine.pus, &before,
                   &after);
  if (n == 0) {
    fprintf(notes, "no selected variant supports %s\n", key);
    ok = false;
  }
  free(t);
  for (int i = 0; i < nctx; i++) cb_ctx_close(ctxs[i]);
  cb_ctx_close(ref);
  return ok ? CLI_OK : CLI_FAIL;
}

static void defaults(run_args *a) {
  *a = (run_args){.nparams = -1, .check = true};
}

/* ---- run ------------------------------------------------------------------------------- */

static int run_main(int argc, char **argv) {
  run_args a;
  defaults(&a);
  cli_args o;
  int rc = parse_common(&cli_run, argc, argv, &a, &o, NULL, NULL, NULL);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  if (o.noperands < 1) return cli_usage_error(&cli_run, "missing problem KEY");
  if (o.noperands > 1) return cli_usage_error(&cli_run, "unexpected argument '%s'", o.operands[1]);
  cb_problem p;
  if (cb_problem_parse(o.operands[0], &p) != CB_OK) {
    cli_error("run", "%s", cb_errmsg());
    return CLI_USAGE;
  }
  return run_problem("run", &p, &a, true);
}

const cli_command cli_run = {"run", "check one problem against ref and time it, per variant",
                             run_main, run_usage};

/* ---- gemm ---------------------------------------------------------------------------------- */

typedef struct gemm_opts {
  bool ta, tb;
  float alpha, beta;
} gemm_opts;

static int gemm_extra(const cli_command *c, int ch, const char *val, void *user) {
  gemm_opts *g = user;
  if (ch == 'T') {
    if (strlen(val) != 2 || !strchr("nt", val[0]) || !strchr("nt", val[1]))
      return cli_usage_error(c, "--trans: expected nn, nt, tn or tt, got '%s'", val);
    g->ta = val[0] == 't';
    g->tb = val[1] == 't';
    return CLI_OK;
  }
  char *end;
  double x = strtod(val, &end);
  if (end == val || *end)
    return cli_usage_error(c, "--%s: expected a number, got '%s'", ch == 'a' ? "alpha" : "beta",
                           val);
  if (ch == 'a')
    g->alpha = (float)x;
  else
    g->beta = (float)x;
  return CLI_OK;
}

static int gemm_main(int argc, char **argv) {
  run_args a;
  defaults(&a);
  gemm_opts g = {.alpha = 1.0f, .beta = 0.0f};
  static const cli_option own[] = {
      {"trans", true, 'T'}, {"alpha", true, 'a'}, {"beta", true, 'b'}, {NULL, false, 0}};
  cli_args o;
  int rc = parse_common(&cli_gemm, argc, argv, &a, &o, own, gemm_extra, &g);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  if (o.noperands != 3) return cli_usage_error(&cli_gemm, "expected M N K");
  long long dims[3];
  static const char *const names[] = {"M", "N", "K"};
  for (int i = 0; i < 3; i++)
    if (!cli_parse_int(&cli_gemm, names[i], o.operands[i], 1, INT32_MAX, &dims[i]))
      return CLI_USAGE;
  cb_problem p = cb_problem_gemm(dims[0], dims[1], dims[2], g.ta, g.tb);
  p.gemm.alpha = g.alpha;
  p.gemm.beta = g.beta;
  if (cb_problem_check(&p) != CB_OK) {
    cli_error("gemm", "%s", cb_errmsg());
    return CLI_USAGE;
  }
  return run_problem("gemm", &p, &a, false);
}

const cli_command cli_gemm = {"gemm", "benchmark SGEMM on every GEMM backend side by side",
                              gemm_main, gemm_usage};
