/* cmd_check.c: `convbench check NET`: gradient checks of every layer at the
 * net's real shapes (small batch): finite differences on ref, then each
 * backend's forward output and gradients against ref (gradcheck.h has the
 * measures and thresholds). Prints a table, records a grad_checks row per
 * comparison (one transaction per layer and backend) and exits 1 when any
 * check fails. */
#include "train_common.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct check_args {
  cli_net_args c; /* path, batch, seed, backend, threads, db, quiet */
  long long samples;
} check_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench check NET.net [options]\n"
          "\n"
          "Checks the gradients of every layer of a net at its real shapes, at a small\n"
          "batch. On ref: central finite differences of L = sum(y * r) (r fixed, random;\n"
          "L in double) against the analytic input and weight gradients, every entry of\n"
          "small tensors and --samples entries (plus the largest) of big ones, passing\n"
          "at a relative error of %g. Then each backend: the same layer on the same\n"
          "inputs and weights, its output, input gradient and weight gradients against\n"
          "ref's, passing within the variant's tolerance plus an fp32 allowance for\n"
          "summation order. Prints a table, records every comparison in the database\n"
          "(grad_checks; run kind 'check').\n"
          "\n"
          "options:\n"
          "  --backend B        backends to compare with ref: a backend, 'tuned', a\n"
          "                     comma-separated list, or 'all' (default: every backend\n"
          "                     but ref available here); 'ref' alone checks only the\n"
          "                     finite differences\n"
          "  --batch N          batch size (default 2)\n"
          "  --samples S        entries checked per tensor larger than S (default 8)\n"
          "  --seed S           seed for weights, inputs and samples (default 1)\n"
          "  --threads T        threads (default: physical cores, %d here)\n"
          "  --db PATH          database to record into (default ./results.db)\n"
          "  --no-db            record nothing\n"
          "  --quiet            no progress line on stderr\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 every check passed, 1 a check failed (or the run or the\n"
          "database did), 2 bad arguments or input (nothing run, nothing recorded),\n"
          "130 interrupted (finished layers kept, run marked interrupted).\n",
          CB_GRADCHECK_TOL, cli_default_threads());
}

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  check_args *a = user;
  if (ch != 'S') return cli_usage_error(c, "internal: option '%c' has no handler", ch);
  return cli_parse_int(c, "--samples", arg, 1, 1000000, &a->samples) ? CLI_OK : CLI_USAGE;
}

static int parse_args(int argc, char **argv, check_args *a) {
  static const cli_option own[] = {{"samples", true, 'S'}, {NULL, false, 0}};
  const cli_options spec = {.cmd = &cli_check,
                            .common = CLI_OPT_BACKEND | CLI_OPT_BATCH | CLI_OPT_SEED |
                                      CLI_OPT_THREADS | CLI_OPT_DB | CLI_OPT_NO_DB | CLI_OPT_QUIET,
                            .own = own,
                            .own_fn = own_option,
                            .user = a};
  *a = (check_args){.samples = 8};
  cli_net_args_init(&spec, &a->c);
  a->c.o.batch = 2;
  a->c.o.backend = "all";
  a->c.o.backend_given = true; /* never switch to tuned behind the user's back */
  return cli_net_args_parse(&spec, argc, argv, "NET.net", false, &a->c);
}

/* ---- running ------------------------------------------------------------------ */

typedef struct checker {
  const check_args *a;
  cli_session *s;
  cb_train_rec rec;
  cb_grad_result *res; /* every result so far */
  int nres, cap;
  bool tty, shown;
  uint64_t start, last;
} checker;

static void progress(checker *k, const char *what, const cb_net *net, int i) {
  uint64_t now = cb_now_ns();
  if (k->a->c.o.quiet || cb_ms(k->start, now) < 1000.0 ||
      cb_ms(k->last, now) < (k->tty ? 250.0 : 5000.0))
    return;
  k->last = now;
  k->shown = true;
  fprintf(stderr, "%scheck %s: %s, layer %d/%d %s [%.0f s]%s", k->tty ? "\r\033[K" : "", net->name,
          what, i + 1, net->nlayers, net->layers[i].name, cb_ms(k->start, now) / 1000,
          k->tty ? "" : "\n");
  fflush(stderr);
}

/* Keeps n results and records them in one transaction. */
static cb_status keep(checker *k, const cb_grad_result *r, int n) {
  if (k->nres + n > k->cap) {
    int cap = k->cap ? 2 * k->cap + n : 64 + n;
    cb_grad_result *m = realloc(k->res, (size_t)cap * sizeof *m);
    if (!m) return cb_error(CB_ERR_NOMEM, "out of memory");
    k->res = m, k->cap = cap;
  }
  memcpy(k->res + k->nres, r, (size_t)n * sizeof *r);
  k->nres += n;
  return cb_db_put_grad_checks(k->s->db, &k->rec, r, n);
}

static cb_status build(const cb_netdef *nd, const check_args *a, const char *backend,
                       bool check_only, cb_net **net) {
  cb_net_opts o = cli_backends_net_opts(&a->c.be, backend, a->c.o.batch, (int)a->c.o.threads,
                                        (uint64_t)a->c.o.seed);
  o.input_grad = true;
  o.check_only = check_only;
  return cb_net_build(nd, &o, net);
}

/* Finite differences of every layer, then every backend against ref. */
static cb_status run_checks(checker *k, const cb_netdef *nd, cb_net *ref) {
  const check_args *a = k->a;
  cb_gradcheck_opts o = {.samples = (int)a->samples, .seed = (uint64_t)a->c.o.seed};
  cb_grad_result r[3];
  int n;
  cb_status st = CB_OK;
  for (int i = 0; i < ref->nlayers && st == CB_OK; i++) {
    if (cli_stop) return cb_error(CB_ERR_INTERRUPTED, "interrupted");
    progress(k, "finite differences", ref, i);
    if ((st = cb_gradcheck_fd(ref, i, &o, r, &n)) == CB_OK) st = keep(k, r, n);
  }
  for (int b = 0; b < a->c.be.n && st == CB_OK; b++) {
    if (strcmp(a->c.be.names[b], "ref") == 0) continue;
    cb_net *net;
    if ((st = build(nd, a, a->c.be.names[b], false, &net)) != CB_OK) break;
    k->rec.backend = a->c.be.names[b];
    char what[64];
    snprintf(what, sizeof what, "%s against ref", a->c.be.names[b]);
    for (int i = 0; i < net->nlayers && st == CB_OK; i++) {
      if (cli_stop) st = cb_error(CB_ERR_INTERRUPTED, "interrupted");
      progress(k, what, net, i);
      if (st == CB_OK && (st = cb_gradcheck_backend(ref, net, i, &o, r, &n)) == CB_OK)
        st = keep(k, r, n);
    }
    cb_net_free(net);
  }
  return st;
}

/* "1.2e-05", or "inf". */
static void fmt_err(double v, char *buf, size_t len) {
  snprintf(buf, len, v < 1e300 ? "%.2e" : "inf", v);
}

static int print_table(const checker *k, const cb_net *net) {
  int failed = 0;
  printf("check %s: batch %lld, %d thread%s, seed %lld, %lld samples per large tensor\n\n",
         net->name, (long long)net->batch, (int)k->a->c.o.threads,
         k->a->c.o.threads == 1 ? "" : "s", k->a->c.o.seed, k->a->samples);
  printf("%-20s %-8s %-10s %-8s %-32s %9s %9s %9s %8s %s\n", "layer", "kind", "check", "backend",
         "kernel", "max abs", "max rel", "threshold", "entries", "result");
  for (int i = 0; i < k->nres; i++) {
    const cb_grad_result *r = &k->res[i];
    char ea[32], er[32], th[32], entries[32];
    fmt_err(r->max_abs, ea, sizeof ea);
    fmt_err(r->max_rel, er, sizeof er);
    fmt_err(r->threshold, th, sizeof th);
    if (r->skipped)
      snprintf(entries, sizeof entries, "%d(-%d)", r->checked, r->skipped);
    else
      snprintf(entries, sizeof entries, "%d", r->checked);
    printf("%-20s %-8s %-10s %-8s %-32s %9s %9s %9s %8s %s\n", r->layer, r->kind, r->what,
           r->backend, r->variant[0] ? r->variant : "-", ea, er, th, entries,
           r->pass ? "ok" : "FAIL");
    failed += !r->pass;
  }
  printf("\n%d checks, %d failed%s\n", k->nres, failed,
         failed ? "" : ": every gradient agrees with finite differences and with ref");
  return failed;
}

static int check_main(int argc, char **argv) {
  check_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  cb_netdef *nd = NULL;
  cb_net *ref = NULL;
  cb_status st = cb_netdef_load(a.c.path, &nd);
  if (st == CB_OK && nd->is_shapes)
    st = cb_error(CB_ERR_PARSE, "%s is a .shapes file, not a net", a.c.path);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    cb_netdef_free(nd);
    return CLI_USAGE;
  }
  if ((rc = cli_backends_setup_tuned(&cli_check, &a.c.be, a.c.o.db, (int)a.c.o.threads, false)) !=
      CLI_OK) {
    cb_netdef_free(nd);
    return rc;
  }
  /* Every backend's net must build before anything is recorded. */
  for (int b = 0; b < a.c.be.n && st == CB_OK; b++) {
    cb_net *net;
    if ((st = build(nd, &a, a.c.be.names[b], true, &net)) == CB_OK) cb_net_free(net);
  }
  if (st == CB_OK) st = build(nd, &a, "ref", false, &ref);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    cb_netdef_free(nd);
    cli_backends_close(&a.c.be);
    return cli_exit_code(st);
  }
  cli_session s;
  if (cli_session_begin(&s, a.c.o.db, "check", (uint64_t)a.c.o.seed, (int)a.c.o.threads) != CB_OK) {
    cb_net_free(ref);
    cb_netdef_free(nd);
    cli_backends_close(&a.c.be);
    return CLI_FAIL;
  }
  cli_install_signals();
  checker k = {.a = &a,
               .s = &s,
               .rec = {.run_id = s.run_id,
                       .net = ref->name,
                       .backend = "ref",
                       .batch = ref->batch,
                       .threads = (int)a.c.o.threads},
               .tty = isatty(2),
               .start = cb_now_ns()};
  st = run_checks(&k, nd, ref);
  if (k.shown && k.tty) fputs("\r\033[K", stderr);
  int failed = print_table(&k, ref);
  rc = cli_session_finish(&s, "check", st,
                          "the layers checked so far were kept, run marked "
                          "interrupted");
  if (rc == CLI_OK && failed) {
    cli_error("check", "%d of %d checks failed", failed, k.nres);
    rc = CLI_FAIL;
  }
  free(k.res);
  cb_net_free(ref);
  cb_netdef_free(nd);
  cli_backends_close(&a.c.be);
  return rc;
}

const cli_command cli_check = {
    "check", "check every layer's gradients (finite differences, backends vs ref)", check_main,
    usage};
