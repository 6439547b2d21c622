/* cmd_bench.c: `convbench bench NET|SHAPES`: times every layer and the
 * whole net forward and backward on one or several backends, prints the
 * tables, records the database.
 *
 * Order matters for "nothing half-written": the netdef is parsed and every
 * net is checked (shapes, kernels, memory) before the database is opened,
 * so bad input never leaves a run behind; each finished measurement (one
 * backend on one net or shape) is one transaction; Ctrl-C stops between
 * layers and marks the run interrupted. Several backends are timed
 * interleaved, round by round, when their nets fit in memory together. */
#include "backends.h"
#include "options.h"
#include "peer.h"
#include "gpu.h"

#include "machine.h"
#include "sha256.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bench_args {
  cli_net_args c; /* path, backends, db (NULL: --no-db), batch, iters, warmup, threads, ... */
  bool input_grad, tune_missing;
  int device;             /* --device cuda:N: the GPU the GPU backends run on (0 by default) */
  bool on_gpu;            /* a GPU backend is among the backends */
  char netdef_sha256[65]; /* of the file's bytes, so results name the exact netdef */
  bool compare;           /* --compare: tuned, every host library backend and PyTorch */
  cli_plan_counts plan;   /* how the 'tuned' net's ops were chosen (all nets of a .shapes) */
} bench_args;

static void usage(FILE *f) {
  fprintf(f, "usage: convbench bench NET.net|LAYERS.shapes [options]\n"
             "\n"
             "Times the forward and backward pass of every layer of a net, and of the\n"
             "whole net, or of each layer of a .shapes file alone. Prints a per-layer\n"
             "table and the convnet-benchmarks summary (total / forward / backward ms\n"
             "per batch, median over iterations) and records everything in the database.\n"
             "Each timing shows its noise (ok, noisy: MAD over 5%% of the median,\n"
             "preempted: median over 2x the min), stderr warns with the likely cause,\n"
             "and the load and clock around the measurements are printed. GFLOP/s are\n"
             "shown as %% of the machine's recorded FMA peak (measured once if missing).\n"
             "\n"
             "options:\n"
             "  --batch N          batch size (default: the netdef's batch=)\n"
             "  --iters K          timed iterations (default 10)\n"
             "  --warmup W         untimed iterations first (default 1)\n"
             "  --backend B        kernels for conv and fc layers: a backend, 'tuned' (each\n"
             "                     op of each layer from the tune cache of this device and\n"
             "                     build, then from the same device generation; a miss uses\n"
             "                     a heuristic default), a comma-separated list, or 'all'\n"
             "                     (every available backend but ref). Default: tuned, also\n"
             "                     with an empty cache or --no-db (then every op is a\n"
             "                     heuristic pick: the heuristic plan); stderr says how\n"
             "                     many ops were exact hits, generation hits and heuristic\n"
             "                     picks whenever tuned runs with misses. ref, the plain-C\n"
             "                     correctness oracle, runs only when named. Several\n"
             "                     backends are timed interleaved and compared in one\n"
             "                     table. A layer a backend cannot run uses ref and is\n"
             "                     marked '*'.\n"
             "  --compare          the comparison: convbench's best plan (tuned, or the\n"
             "                     heuristic plan when the cache has nothing for this\n"
             "                     machine), every host library backend of this build but\n"
             "                     ref (onednn, openblas, fftw, cpu), and PyTorch through\n"
             "                     scripts/peers/pytorch_bench.py (run with /usr/bin/python3,\n"
             "                     or $CB_PEER_PYTHON, with the same batch, iterations,\n"
             "                     warm-up, threads, seed and database; a note, and no\n"
             "                     pytorch row, when Python, torch or the script is\n"
             "                     missing). The C backends are timed interleaved round by\n"
             "                     round; PyTorch times half its iterations before that\n"
             "                     block and half after it (each half after its own\n"
             "                     warm-up; all of them before with --iters 1), so a load\n"
             "                     that drifts falls on both. Prints one table: a row per\n"
             "                     backend sorted by total, total / forward / backward ms\n"
             "                     per batch (medians) and the ratio to PyTorch. Table\n"
             "                     output only; not with --backend\n");
  /* Two literals: C99 compilers need only take 4095 characters in one. */
  fprintf(f,
          "  --tune-missing     with tuned: first tune the problems the cache lacks\n"
          "  --device cuda:N    the GPU the GPU backends (cuda, cublas, cudnn, cufft) run\n"
          "                     on (default cuda:0). A net runs on the host; each conv\n"
          "                     and fc kernel call on a GPU backend is staged: its\n"
          "                     inputs are copied to the GPU, the kernel runs, its\n"
          "                     output is copied back, so layer and net times INCLUDE\n"
          "                     those transfers (the GPU state is sampled beside them)\n"
          "  --threads T        threads for the kernels (default: physical cores, %d here)\n"
          "  --seed S           seed for weights and synthetic data (default 1)\n"
          "  --input-grad       also compute the gradient of the net input (the first\n"
          "                     conv's bwd_data, which Torch's convnet-benchmarks skips)\n"
          "  --db PATH          database to record into (default ./results.db)\n"
          "  --no-db            record nothing\n"
          "  --format F         table (default), csv or json, on stdout; json has a\n"
          "                     context block (machine, build, date, run id, command,\n"
          "                     settings, peak, load), csv the same as '# key: value'\n"
          "                     header lines; both give min, median, MAD, samples and\n"
          "                     the noise verdict (ok, noisy, preempted) per timing\n"
          "  --quiet            no progress line on stderr\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or\n"
          "input (nothing run, nothing recorded), 130 interrupted (finished layers kept).\n",
          cli_default_threads());
}

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  bench_args *a = user;
  switch (ch) {
  case 'g':
    a->input_grad = true;
    break;
  case 'T':
    a->tune_missing = true;
    break;
  case 'C':
    a->compare = true;
    break;
  case 'D':
    if (cb_gpu_parse_device(arg, &a->device) != CB_OK || a->device < 0)
      return cli_usage_error(c, "--device: expected cuda:N, got '%s'", arg);
    break;
  }
  return CLI_OK;
}

/* --compare picks the backends itself and prints only its table. */
static int compare_args(bench_args *a) {
  if (a->c.be.given)
    return cli_usage_error(&cli_bench, "--compare times its own set of backends: drop --backend");
  if (a->c.o.format != CLI_FORMAT_TABLE)
    return cli_usage_error(&cli_bench,
                           "--compare prints a table only (the rows are in the database; for "
                           "csv or json use --backend)");
  cli_backends_compare_set(&cli_bench, &a->c.be);
  return CLI_OK;
}

/* Options, the operand, --db and --backend. Returns CLI_OK, -1 after
 * --help, or the exit code after printing why. */
static int parse_args(int argc, char **argv, bench_args *a) {
  static const char *const formats[] = {"table", "csv", "json", NULL}; /* cli_format's order */
  static const cli_option own[] = {{"input-grad", false, 'g'},
                                   {"tune-missing", false, 'T'},
                                   {"device", true, 'D'},
                                   {"compare", false, 'C'},
                                   {NULL, false, 0}};
  const cli_options spec = {.cmd = &cli_bench,
                            .common = CLI_OPT_BATCH | CLI_OPT_ITERS | CLI_OPT_WARMUP |
                                      CLI_OPT_BACKEND | CLI_OPT_THREADS | CLI_OPT_SEED |
                                      CLI_OPT_DB | CLI_OPT_NO_DB | CLI_OPT_FORMAT | CLI_OPT_QUIET,
                            .formats = formats,
                            .own = own,
                            .own_fn = own_option,
                            .user = a};
  *a = (bench_args){0};
  cli_net_args_init(&spec, &a->c);
  a->c.o.backend = "tuned"; /* ref, the oracle, only when asked for */
  int rc = cli_net_args_parse(&spec, argc, argv, "NET.net or LAYERS.shapes", false, &a->c);
  if (rc != CLI_OK) return rc;
  if (a->compare && (rc = compare_args(a)) != CLI_OK) return rc;
  for (int i = 0; i < a->c.be.n; i++) {
    const cb_backend *b = cb_backend_find(a->c.be.names[i]);
    a->on_gpu |= b && b->device == CB_DEVICE_CUDA;
  }
  if (a->on_gpu)
    cli_error("bench",
              "note: GPU backends run on cuda:%d with layer-level staging: layer and net times "
              "include copying every conv and fc kernel's tensors to and from the GPU",
              a->device);
  return CLI_OK;
}

/* ---- progress -------------------------------------------------------------- */

typedef struct progress {
  bool enabled, tty;
  uint64_t start, last;
  cb_net *const *nets;
  const char *const *backends;
  int nnets;
  char what[2 * CB_NAME_MAX + 32]; /* "alexnet-owt" or "convnet-layers L2 (2/5)" */
  bool shown;
} progress;

/* Shows where the bench is once it has run a second, at most every 0.25 s
 * on a terminal (overwriting one line) or every 5 s into a log. */
static void on_progress(void *user, int net, bool warmup, int iter, int iters, int layer,
                        cb_pass pass) {
  progress *p = user;
  if (!p->enabled) return;
  uint64_t now = cb_now_ns();
  double since_start = cb_ms(p->start, now), since_last = cb_ms(p->last, now);
  if (since_start < 1000.0 || since_last < (p->tty ? 250.0 : 5000.0)) return;
  p->last = now;
  p->shown = true;
  const cb_net *n = p->nets[net];
  fprintf(stderr, "%sbench %s [%s]: %s %d/%d, layer %d/%d %s %s [%.0f s]%s",
          p->tty ? "\r\033[K" : "", p->what, p->backends[net], warmup ? "warm-up" : "iteration",
          iter + 1, iters, layer + 1, n->nlayers, n->layers[layer].name,
          pass == CB_PASS_FWD ? "forward" : "backward", since_start / 1000.0, p->tty ? "" : "\n");
  fflush(stderr);
}

static void progress_done(progress *p) {
  if (p->shown && p->tty) fputs("\r\033[K", stderr);
  p->shown = false;
}

/* ---- building -------------------------------------------------------------- */

/* Builds net number `index` of the netdef (the whole net, or one shape)
 * on one backend. */
static cb_status build(const cb_netdef *nd, const bench_args *a, int index, const char *backend,
                       bool check_only, cb_net **net) {
  cb_net_opts o = cli_backends_net_opts(&a->c.be, backend, a->c.o.batch, (int)a->c.o.threads,
                                        (uint64_t)a->c.o.seed);
  o.device = a->device;
  o.input_grad = a->input_grad;
  o.shape_index = index;
  o.check_only = check_only;
  return cb_net_build(nd, &o, net);
}

/* Checks every net on every backend without allocating. Sets *interleave
 * when the nets of each shape fit in memory together, and counts rows. */
static cb_status check_all(const cb_netdef *nd, const bench_args *a, int nnets, bool *interleave,
                           int *rows) {
  int64_t avail = cb_machine_mem_available(), worst = 0;
  *rows = 0;
  for (int i = 0; i < nnets; i++) {
    int64_t together = 0;
    for (int b = 0; b < a->c.be.n; b++) {
      cb_net *net;
      cb_status st = build(nd, a, i, a->c.be.names[b], true, &net);
      if (st != CB_OK) return st;
      if (b == 0) *rows += net->nlayers;
      together += net->bytes;
      cb_net_free(net);
    }
    if (together > worst) worst = together;
  }
  /* Leave a tenth of memory for everything else. */
  *interleave = a->c.be.n > 1 && worst <= avail - avail / 10;
  return CB_OK;
}

/* ---- results ----------------------------------------------------------------- */

static const char *const op_names[] = {"fwd", "bwd_data", "bwd_filter"};

/* "onednn/auto_blocked", with the parameters when the variant has some
 * ("fftw/fft_tiled[16]"), and how a tuned net chose it when that was not
 * an exact cache hit ("(heuristic)", "(borrowed)"). */
static void binding_name(const cb_binding *bd, char *buf, size_t len) {
  int n = snprintf(buf, len, "%s/%s", bd->ctx->backend->name, bd->variant->name);
  for (int i = 0; i < bd->variant->nparams && n > 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d%s", i ? "," : "[", bd->params[i],
                  i + 1 == bd->variant->nparams ? "]" : "");
  if (bd->source[0] && strcmp(bd->source, "exact") != 0 && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, "(%s)", bd->source);
}

/* One kernel name when every op of the layer ran the same one, else per
 * op; impl gets what the libraries chose, per op. */
static void describe_kernels(const cb_layer *l, cli_row *row) {
  row->kernels[0] = row->impl[0] = '\0';
  if (l->nbind == 0) {
    snprintf(row->kernels, sizeof row->kernels, "-");
    return;
  }
  char names[3][160];
  bool same = true;
  for (int b = 0; b < l->nbind; b++) {
    row->fallback |= l->bind[b].fallback;
    row->ops++;
    row->ops_exact +=
        strcmp(l->bind[b].source, "exact") == 0 || strcmp(l->bind[b].source, "imported") == 0;
    binding_name(&l->bind[b], names[b], sizeof names[b]);
    same &= strcmp(names[b], names[0]) == 0;
    if (l->bind[b].impl[0]) {
      size_t used = strlen(row->impl);
      snprintf(row->impl + used, sizeof row->impl - used, "%s%s=%s", used ? " " : "", op_names[b],
               l->bind[b].impl);
    }
  }
  if (same) {
    snprintf(row->kernels, sizeof row->kernels, "%s", names[0]);
    return;
  }
  for (int b = 0; b < l->nbind; b++) {
    size_t used = strlen(row->kernels);
    snprintf(row->kernels + used, sizeof row->kernels - used, "%s%s=%s", b ? " " : "", op_names[b],
             names[b]);
  }
}

static void fill_row(const cb_net *net, int i, const cb_bench_layer *t, cli_row *row) {
  const cb_layer *l = &net->layers[i];
  memset(row, 0, sizeof *row);
  snprintf(row->name, sizeof row->name, "%s", l->name);
  snprintf(row->kind, sizeof row->kind, "%s", l->ops->kind);
  cb_tensor_shape_str(l->in[0], row->in_shape, sizeof row->in_shape);
  cb_tensor_shape_str(l->out, row->out_shape, sizeof row->out_shape);
  describe_kernels(l, row);
  row->t = *t;
  /* GFLOP/s only where a kernel does arithmetic (conv, fc): for relu or
   * pool the rate says nothing about speed. */
  if (l->ops->flops && l->nbind > 0) {
    row->fwd_flops = l->ops->flops(l, CB_PASS_FWD);
    row->bwd_flops = l->ops->flops(l, CB_PASS_BWD);
  }
}

/* Records one finished measurement (a net, or one layer of a .shapes file,
 * on one backend) in one transaction, with the device samples around it. */
static cb_status record(const cli_session *s, const bench_args *a, const char *backend,
                        const cb_net *net, const cb_bench_result *res, const cli_row *rows,
                        const cb_devstate *before, const cb_devstate *after) {
  if (!s->db) return CB_OK;
  int nrows = net->nlayers;
  cb_layer_rec *lr = calloc((size_t)nrows, sizeof *lr);
  char(*variants)[512] = calloc((size_t)nrows, sizeof *variants);
  if (!lr || !variants) {
    free(lr);
    free(variants);
    return cb_error(CB_ERR_NOMEM, "out of memory recording results");
  }
  for (int i = 0; i < nrows; i++) {
    const cb_layer *l = &net->layers[i];
    for (int b = 0; b < l->nbind; b++) {
      char name[160];
      binding_name(&l->bind[b], name, sizeof name);
      size_t used = strlen(variants[i]);
      snprintf(variants[i] + used, sizeof variants[i] - used, "%s%s=%s", b ? " " : "", op_names[b],
               name);
      lr[i].problem[b] = &l->bind[b].problem;
    }
    lr[i] = (cb_layer_rec){.index = i,
                           .name = rows[i].name,
                           .kind = rows[i].kind,
                           .in_shape = rows[i].in_shape,
                           .out_shape = rows[i].out_shape,
                           .backend = backend,
                           .variants = variants[i],
                           .impl = rows[i].impl,
                           .fallback = rows[i].fallback,
                           .problem = {lr[i].problem[0], lr[i].problem[1], lr[i].problem[2]},
                           .fwd = rows[i].t.fwd,
                           .bwd = rows[i].t.bwd,
                           .bwd_data = rows[i].t.bwd_data,
                           .bwd_filter = rows[i].t.bwd_filter,
                           .fwd_samples = res->layers[i].fwd_samples,
                           .bwd_samples = res->layers[i].bwd_samples,
                           .bwd_data_samples = res->layers[i].bwd_data_samples,
                           .bwd_filter_samples = res->layers[i].bwd_filter_samples,
                           .fwd_flops = rows[i].fwd_flops,
                           .bwd_flops = rows[i].bwd_flops};
  }
  cb_net_rec nr = {.run_id = s->run_id,
                   .net = net->name,
                   .netdef = a->c.path,
                   .netdef_sha256 = a->netdef_sha256,
                   .backend = backend,
                   .single_layer = net->def->is_shapes,
                   .batch = net->batch,
                   .threads = (int)a->c.o.threads,
                   .iters = (int)a->c.o.iters,
                   .warmup = (int)a->c.o.warmup,
                   .input_grad = a->input_grad,
                   .fwd = res->fwd,
                   .bwd = res->bwd,
                   .total = res->total,
                   .fwd_samples = res->fwd_samples,
                   .bwd_samples = res->bwd_samples,
                   .total_samples = res->total_samples,
                   .fwd_flops = res->fwd_flops,
                   .bwd_flops = res->bwd_flops};
  int64_t id;
  cb_status st = cb_db_put_net_result(s->db, &nr, nrows, lr, before, after, &id);
  free(lr);
  free(variants);
  return st;
}

/* Appends net's rows and totals to one backend's result. */
static void add_result(cli_result *r, const cb_net *net, const cb_bench_result *res, bool shapes) {
  for (int i = 0; i < net->nlayers; i++) fill_row(net, i, &res->layers[i], &r->rows[r->nrows + i]);
  r->nrows += net->nlayers;
  if (shapes) {
    /* convnet-benchmarks' layer-wise total is the sum over layers. */
    r->fwd.median += res->fwd.median, r->fwd.min += res->fwd.min;
    r->bwd.median += res->bwd.median, r->bwd.min += res->bwd.min;
    r->total.median += res->total.median, r->total.min += res->total.min;
    r->fwd.samples = r->bwd.samples = r->total.samples = res->fwd.samples;
  } else {
    r->fwd = res->fwd, r->bwd = res->bwd, r->total = res->total;
  }
  r->fwd_flops += res->fwd_flops;
  r->bwd_flops += res->bwd_flops;
}

/* Times net number `index` on the backends [first, first + count)
 * together, then records and reports each. */
static cb_status bench_group(const cb_netdef *nd, const bench_args *a, int index, int first,
                             int count, const cli_session *s, progress *p, cli_report *rep) {
  cb_net *nets[CLI_MAX_BACKENDS] = {0};
  cb_bench_result res[CLI_MAX_BACKENDS] = {0};
  cb_status st = CB_OK;
  for (int b = 0; b < count && st == CB_OK; b++)
    st = build(nd, a, index, a->c.be.names[first + b], false, &nets[b]);
  if (st == CB_OK) {
    if (nd->is_shapes)
      snprintf(p->what, sizeof p->what, "%s %s (%d/%d)", nets[0]->name, nets[0]->layers[0].name,
               index + 1, nd->n);
    else
      snprintf(p->what, sizeof p->what, "%s", nets[0]->name);
    p->nets = nets;
    p->backends = a->c.be.names + first;
    p->nnets = count;
    rep->batch = nets[0]->batch;
    cb_bench_opts bo = {.iters = (int)a->c.o.iters,
                        .warmup = (int)a->c.o.warmup,
                        .stop = &cli_stop,
                        .progress = on_progress,
                        .progress_user = p};
    cb_devstate before, after;
    cb_devstate_sample_gpu(&before, a->on_gpu ? a->device : -1);
    st = cb_bench_nets(nets, count, &bo, res);
    cb_devstate_sample_gpu(&after, a->on_gpu ? a->device : -1);
    if (!rep->have_state) rep->before = before;
    rep->after = after, rep->have_state = true;
    progress_done(p);
    for (int b = 0; b < count && st == CB_OK; b++) {
      cli_result *r = &rep->results[first + b];
      add_result(r, nets[b], &res[b], nd->is_shapes);
      st = record(s, a, a->c.be.names[first + b], nets[b], &res[b],
                  r->rows + r->nrows - nets[b]->nlayers, &before, &after);
      if (st != CB_OK) r->nrows -= nets[b]->nlayers; /* not recorded: not reported */
    }
  }
  for (int b = 0; b < count; b++) {
    cb_bench_result_free(&res[b]);
    cb_net_free(nets[b]);
  }
  return st;
}

/* --tune-missing: tunes what the cache lacks for this net, reporting on
 * stderr so stdout stays the bench's table, CSV or JSON. */
static cb_status tune_missing(const cb_netdef *nd, const bench_args *a, const cli_session *s) {
  bool ops[3] = {true, true, true};
  cb_problem_list ps;
  cb_status st =
      cb_net_problems_collect(nd, a->c.o.batch, (int)a->c.o.threads, a->input_grad, ops, &ps);
  if (st != CB_OK) return st;
  cli_tune_opts o = {.threads = (int)a->c.o.threads,
                     .device = -1, /* a tuned net runs on the host backends */
                     .device_fp = a->c.be.device_fp,
                     .quiet = a->c.o.quiet,
                     .report = stderr};
  cb_tune_rules_default(&o.rules);
  cb_campaign_stats stats;
  st = cli_tune_problems(s, &o, &ps, &stats);
  if (st == CB_OK)
    fprintf(stderr,
            "tuned %d missing problems (%d cached, %d with low confidence) in %.1f s; %d were "
            "cached already\n",
            stats.tuned, stats.cached, stats.low, stats.seconds, stats.already);
  cb_problem_list_free(&ps);
  return st;
}

/* Loads the netdef, sets up 'tuned' and checks every net before anything
 * touches the database. Returns CLI_OK or the exit code, after printing
 * why (nd is then freed). */
static int bench_prepare(bench_args *a, cb_netdef **nd, int *nrows, bool *interleave) {
  cb_status st = cb_netdef_load(a->c.path, nd);
  if (st == CB_OK && (st = cb_sha256_file(a->c.path, a->netdef_sha256)) != CB_OK)
    cb_netdef_free(*nd);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  int rc = cli_backends_setup_tuned(&cli_bench, &a->c.be, a->c.o.db, (int)a->c.o.threads,
                                    a->tune_missing);
  if (rc != CLI_OK) {
    cb_netdef_free(*nd);
    return rc;
  }
  int nnets = (*nd)->is_shapes ? (*nd)->n : 1;
  *nrows = 0;
  *interleave = false;
  if ((st = check_all(*nd, a, nnets, interleave, nrows)) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    cb_netdef_free(*nd);
    return cli_exit_code(st);
  }
  if (a->c.be.n > 1 && !*interleave)
    cli_error("bench",
              "note: the nets of %d backends do not fit in memory together; timing the "
              "backends one after another, not interleaved",
              a->c.be.n);
  return CLI_OK;
}

/* --tune-missing's failure: ends the run, says why. */
static int tune_missing_failed(cli_session *s, cb_status st) {
  if (st == CB_ERR_INTERRUPTED) {
    cli_session_end(s, "interrupted", NULL);
    cli_error("bench", "interrupted while tuning; finished problems were kept");
  } else {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", cb_errmsg());
    cli_session_end(s, "failed", msg);
    cli_error("bench", "%s", msg);
  }
  return cli_exit_code(st);
}

/* Times every net of nd on every backend into rep's results, which it
 * allocates (nrows each). */
static cb_status bench_all(const cb_netdef *nd, const bench_args *a, cli_session *s, int nrows,
                           progress *p, cli_report *rep) {
  cb_status st = CB_OK;
  for (int b = 0; b < a->c.be.n; b++) {
    rep->results[b].backend = a->c.be.names[b];
    if (!(rep->results[b].rows = calloc((size_t)nrows, sizeof(cli_row))))
      st = cb_error(CB_ERR_NOMEM, "out of memory");
  }
  int nnets = nd->is_shapes ? nd->n : 1;
  for (int i = 0; i < nnets && st == CB_OK; i++) {
    if (rep->interleaved)
      st = bench_group(nd, a, i, 0, a->c.be.n, s, p, rep);
    else
      for (int b = 0; b < a->c.be.n && st == CB_OK; b++)
        st = bench_group(nd, a, i, b, 1, s, p, rep);
  }
  return st;
}

/* Ends the run and prints what was measured; returns the exit code. */
static int bench_finish(cli_session *s, const bench_args *a, cb_status st, cli_report *rep) {
  if (st == CB_OK) {
    cli_session_end(s, "ok", NULL);
    cli_report_print(stdout, (cli_format)a->c.o.format, rep);
    return CLI_OK;
  }
  if (st == CB_ERR_INTERRUPTED) {
    bool recorded = s->run_id != 0;
    cli_session_end(s, "interrupted", NULL);
    rep->interrupted = true;
    cli_report_print(stdout, (cli_format)a->c.o.format, rep);
    cli_error("bench", "interrupted; %s",
              recorded ? "finished measurements were kept, run marked interrupted"
                       : "nothing recorded");
    return CLI_INTERRUPTED;
  }
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", cb_errmsg());
  cli_session_end(s, "failed", msg);
  cli_error("bench", "%s", msg);
  return CLI_FAIL;
}

/* ---- the tuned plan ----------------------------------------------------------------- */

/* Counts how the 'tuned' nets' ops are chosen (built to check, not
 * allocated) into a->plan, and says on stderr when some are not exact
 * cache hits. */
static cb_status count_plan(const cb_netdef *nd, bench_args *a) {
  bool tuned = false;
  for (int b = 0; b < a->c.be.n; b++) tuned |= strcmp(a->c.be.names[b], "tuned") == 0;
  a->plan = (cli_plan_counts){0};
  if (!tuned) return CB_OK;
  int nnets = nd->is_shapes ? nd->n : 1;
  for (int i = 0; i < nnets; i++) {
    cb_net *net;
    cb_status st = build(nd, a, i, "tuned", true, &net);
    if (st != CB_OK) return st;
    cli_plan_count(net, &a->plan);
    cb_net_free(net);
  }
  const cli_plan_counts *pc = &a->plan;
  int all = pc->exact + pc->generation + pc->heuristic;
  if (pc->generation + pc->heuristic > 0)
    cli_error("bench",
              "note: tuned: %d of %d ops exact cache hits, %d from the same device generation, "
              "%d heuristic picks%s",
              pc->exact, all, pc->generation, pc->heuristic,
              pc->exact + pc->generation == 0
                  ? " (the heuristic plan: nothing is tuned for this machine; 'convbench tune "
                    "NET' fills the cache)"
                  : "");
  return CB_OK;
}

/* ---- --compare: convbench's block between PyTorch's two halves -------------------------- */

typedef struct compare_run {
  cli_compare_info info;
  cli_peer peer;
  bool running; /* peer started and paused, waiting for its second half */
} compare_run;

/* Starts the PyTorch peer and lets it time its first half (all of it
 * with --iters 1). Without Python, torch or the script, notes why and
 * goes on without it. */
static void compare_begin(const bench_args *a, compare_run *cr) {
  cli_compare_info *ci = &cr->info;
  char python[4096], script[4096], self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    snprintf(ci->note, sizeof ci->note, "cannot find this executable (/proc/self/exe)");
    return;
  }
  self[n] = '\0';
  if (!cli_peer_find(python, sizeof python, script, sizeof script, ci->note, sizeof ci->note))
    return;
  cli_peer_args pa = {.netdef = a->c.path,
                      .batch = a->c.o.batch,
                      .iters = (int)a->c.o.iters,
                      .warmup = (int)a->c.o.warmup,
                      .threads = (int)a->c.o.threads,
                      .seed = (uint64_t)a->c.o.seed,
                      .db = a->c.o.db,
                      .input_grad = a->input_grad,
                      .quiet = a->c.o.quiet,
                      .pause_at = (int)(a->c.o.iters / 2)};
  ci->peer_before = pa.pause_at > 0 ? pa.pause_at : pa.iters;
  ci->peer_after = pa.iters - ci->peer_before;
  if (!cli_peer_start(&pa, python, script, self, &cr->peer, ci->note, sizeof ci->note)) return;
  if (pa.pause_at == 0) { /* one iteration: all of it first */
    ci->have_peer = cli_peer_finish(&cr->peer, &ci->peer, ci->note, sizeof ci->note);
    return;
  }
  cr->running = cli_peer_wait_paused(&cr->peer, ci->note, sizeof ci->note);
}

/* PyTorch's second half, then its totals; after Ctrl-C (which a terminal
 * sends the peer too, but `kill -INT` of convbench alone does not) the
 * peer is interrupted instead, and marks its run so. */
static void compare_end(compare_run *cr) {
  if (!cr->running) return;
  cr->running = false;
  cli_compare_info *ci = &cr->info;
  if (cli_stop) kill(cr->peer.pid, SIGINT);
  ci->have_peer = cli_peer_finish(&cr->peer, &ci->peer, ci->note, sizeof ci->note);
}

/* Ends the run and prints the comparison; an interrupted or failed bench
 * reports as without --compare. */
static int compare_finish(cli_session *s, const bench_args *a, cb_status st, cli_report *rep,
                          compare_run *cr) {
  if (st != CB_OK) return bench_finish(s, a, st, rep);
  cr->info.run_id = s->db ? s->run_id : 0;
  cli_session_end(s, "ok", NULL);
  if (!cr->info.have_peer) cli_error("bench", "note: no pytorch row: %s", cr->info.note);
  cr->info.plan = a->plan;
  cli_compare_print(stdout, rep, &cr->info);
  return CLI_OK;
}

static int bench_main(int argc, char **argv) {
  bench_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  cb_netdef *nd;
  int nrows;
  bool interleave;
  if ((rc = bench_prepare(&a, &nd, &nrows, &interleave)) != CLI_OK) return rc;

  /* The recorded command names every setting a default chose. */
  char list[256] = "";
  if (a.c.o.batch > 0) cli_cmdline_ensure_int("--batch", a.c.o.batch);
  cli_cmdline_ensure_int("--iters", a.c.o.iters);
  cli_cmdline_ensure_int("--warmup", a.c.o.warmup);
  cli_cmdline_ensure_int("--threads", a.c.o.threads);
  cli_cmdline_ensure_int("--seed", a.c.o.seed);
  for (int b = 0; b < a.c.be.n; b++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", b ? "," : "",
             a.c.be.names[b]);
  cli_cmdline_ensure("--backend", list);
  cli_session s;
  if (cli_session_begin(&s, a.c.o.db, "bench", (uint64_t)a.c.o.seed, (int)a.c.o.threads) != CB_OK) {
    cb_netdef_free(nd);
    return CLI_FAIL;
  }
  s.quiet = a.c.o.quiet;
  cli_install_signals();
  cli_session_peak(&s, (int)a.c.o.threads);
  cb_status st;
  if (a.c.be.chooser.db && a.tune_missing && (st = tune_missing(nd, &a, &s)) != CB_OK) {
    rc = tune_missing_failed(&s, st);
    cb_db_close(a.c.be.chooser.db);
    cb_netdef_free(nd);
    return rc;
  }

  if ((st = count_plan(nd, &a)) != CB_OK) {
    rc = tune_missing_failed(&s, st);
    cli_backends_close(&a.c.be);
    cb_netdef_free(nd);
    return rc;
  }
  const char *name = NULL;
  cb_stmt_str(&nd->header, "name", "net", &name);
  cli_result results[CLI_MAX_BACKENDS] = {0};
  cli_report rep = {.net = name,
                    .netdef = a.c.path,
                    .session = &s,
                    .shapes = nd->is_shapes,
                    .threads = (int)a.c.o.threads,
                    .iters = (int)a.c.o.iters,
                    .warmup = (int)a.c.o.warmup,
                    .interleaved = interleave,
                    .nresults = a.c.be.n,
                    .results = results,
                    .seed = a.c.o.seed};
  progress p = {.enabled = !a.c.o.quiet, .tty = isatty(2), .start = cb_now_ns()};
  compare_run cr = {0};
  if (a.compare) compare_begin(&a, &cr);
  if (cli_stop) { /* Ctrl-C while PyTorch ran its first half: nothing of ours ran */
    rep.nresults = 0;
    st = cb_error(CB_ERR_INTERRUPTED, "interrupted");
  } else {
    st = bench_all(nd, &a, &s, nrows, &p, &rep);
  }
  compare_end(&cr);
  rc = a.compare ? compare_finish(&s, &a, st, &rep, &cr) : bench_finish(&s, &a, st, &rep);
  for (int b = 0; b < a.c.be.n; b++) free(results[b].rows);
  cli_backends_close(&a.c.be);
  cb_netdef_free(nd);
  return rc;
}

const cli_command cli_bench = {"bench", "time every layer and the whole net, forward and backward",
                               bench_main, usage};
