/* tuning.c: what `convbench tune` and `bench --tune-missing` share:
 * collecting a netdef's distinct kernel problems, tuning each, recording
 * every measurement and caching the winners. */
#include "tuning.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_short[] = {"fwd", "bwd_data", "bwd_filter"};

cb_status cli_parse_ops(const char *list, bool ops[3]) {
  ops[0] = ops[1] = ops[2] = false;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int i = 0;
    while (i < 3 && strcmp(tok, op_short[i]) != 0) i++;
    if (i == 3)
      return cb_error(CB_ERR_INVALID, "--ops: unknown op '%s' (fwd, bwd_data, bwd_filter)", tok);
    ops[i] = true;
  }
  if (!ops[0] && !ops[1] && !ops[2]) return cb_error(CB_ERR_INVALID, "--ops: empty list");
  return CB_OK;
}

/* ---- collecting problems ------------------------------------------------------------ */

static cb_status add_problem(cli_problems *ps, const cb_problem *p) {
  char key[CB_KEY_MAX];
  cb_problem_key(p, key, sizeof key);
  for (int i = 0; i < ps->n; i++)
    if (strcmp(ps->keys[i], key) == 0) return CB_OK;
  if (ps->n == ps->cap) {
    int cap = ps->cap ? 2 * ps->cap : 64;
    cb_problem *p2 = realloc(ps->p, (size_t)cap * sizeof *p2);
    if (!p2) return cb_error(CB_ERR_NOMEM, "out of memory collecting problems");
    ps->p = p2;
    char(*k2)[CB_KEY_MAX] = realloc(ps->keys, (size_t)cap * sizeof *k2);
    if (!k2) return cb_error(CB_ERR_NOMEM, "out of memory collecting problems");
    ps->keys = k2;
    ps->cap = cap;
  }
  ps->p[ps->n] = *p;
  snprintf(ps->keys[ps->n], CB_KEY_MAX, "%s", key);
  ps->n++;
  return CB_OK;
}

cb_status cli_collect_problems(const cb_netdef *nd, int64_t batch, int threads, bool input_grad,
                               const bool ops[3], cli_problems *out) {
  memset(out, 0, sizeof *out);
  int nnets = nd->is_shapes ? nd->n : 1;
  cb_status st = CB_OK;
  for (int i = 0; i < nnets && st == CB_OK; i++) {
    cb_net_opts o = {.batch = batch,
                     .threads = threads,
                     .seed = 1,
                     .input_grad = input_grad,
                     .shape_index = i,
                     .check_only = true,
                     .mem_limit = INT64_MAX};
    cb_net *net;
    if ((st = cb_net_build(nd, &o, &net)) != CB_OK) break;
    for (int li = 0; li < net->nlayers && st == CB_OK; li++) {
      const cb_layer *l = &net->layers[li];
      for (int b = 0; b < l->nbind && st == CB_OK; b++) {
        /* Binding 1 is the input gradient: only where one is computed. */
        if (!ops[b] || (b == 1 && !l->in[0]->needs_grad)) continue;
        st = add_problem(out, &l->bind[b].problem);
      }
    }
    cb_net_free(net);
  }
  if (st != CB_OK) cli_problems_free(out);
  return st;
}

void cli_problems_free(cli_problems *ps) {
  free(ps->p);
  free(ps->keys);
  memset(ps, 0, sizeof *ps);
}

/* ---- tuning --------------------------------------------------------------------------- */

typedef struct tune_progress {
  bool enabled, tty;
  uint64_t start, last;
  int i, n;
  const char *key;
} tune_progress;

static void on_progress(void *user, const char *phase, const cb_tune_candidate *c, double best_ms) {
  tune_progress *p = user;
  if (!p->enabled) return;
  uint64_t now = cb_now_ns();
  if (cb_ms(p->last, now) < (p->tty ? 250.0 : 5000.0) || cb_ms(p->start, now) < 1000.0) return;
  p->last = now;
  char name[160] = "";
  if (c) cb_candidate_name(&c->c, name, sizeof name);
  fprintf(stderr, "%stune: problem %d/%d %.60s: %s %s%s", p->tty ? "\r\033[K" : "", p->i + 1, p->n,
          p->key, phase, name, p->tty ? "" : "\n");
  if (best_ms > 0)
    fprintf(stderr, "%s best so far %.3f ms%s", p->tty ? "" : "  ", best_ms, p->tty ? "" : "\n");
  fflush(stderr);
}

/* "16,4", or "" for a variant without parameters. */
static void params_string(const cb_candidate *c, char *buf, size_t len) {
  buf[0] = '\0';
  for (int i = 0, n = 0; i < c->variant->nparams && n >= 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d", i ? "," : "", c->params[i]);
}

/* Records a problem's candidates and, when clean, its winner, in one
 * transaction. */
static cb_status record(const cli_session *s, const cli_tune_opts *o, const cb_problem *p,
                        const cb_tune_outcome *out, bool *cached) {
  *cached = false;
  cb_status st = cb_db_begin(s->db);
  int64_t winner_id = 0;
  for (int i = 0; i < out->ncand && st == CB_OK; i++) {
    const cb_tune_candidate *k = &out->cand[i];
    char params[64];
    params_string(&k->c, params, sizeof params);
    bool validated = k->status != CB_CAND_ERROR;
    cb_measurement_rec m = {.run_id = s->run_id,
                            .problem = p,
                            .device_fp = o->device_fp,
                            .build_fp = s->build.fingerprint,
                            .threads = o->threads,
                            .backend = k->c.ctx->backend->name,
                            .variant = k->c.variant->name,
                            .params = params,
                            .status = cb_cand_status_name(k->status),
                            .max_rel_err = validated ? k->check.max_rel : NAN,
                            .t = k->t,
                            .gflops = k->t.samples ? cb_problem_flops(p) / (k->t.median * 1e6) : 0,
                            .impl = k->impl,
                            .error = k->error[0] ? k->error : NULL,
                            .noisy = k->noisy,
                            .before = &out->before,
                            .after = &out->after};
    int64_t id;
    st = cb_db_put_measurement(s->db, &m, &id);
    if (i == out->winner) winner_id = id;
  }
  if (st == CB_OK && out->winner >= 0 && out->cacheable) {
    const cb_tune_candidate *w = &out->cand[out->winner];
    cb_cache_entry e = {
        .timing = w->t, .nparams = w->c.variant->nparams, .measurement_id = winner_id};
    cb_problem_key(p, e.key, sizeof e.key);
    snprintf(e.device_fp, sizeof e.device_fp, "%s", o->device_fp);
    snprintf(e.build_fp, sizeof e.build_fp, "%s", s->build.fingerprint);
    snprintf(e.backend, sizeof e.backend, "%s", w->c.ctx->backend->name);
    snprintf(e.variant, sizeof e.variant, "%s", w->c.variant->name);
    memcpy(e.params, w->c.params, sizeof e.params);
    snprintf(e.origin, sizeof e.origin, "local");
    if (out->runner_up >= 0) {
      cb_candidate_name(&out->cand[out->runner_up].c, e.runner_up, sizeof e.runner_up);
      e.runner_up_median = out->cand[out->runner_up].t.median;
    }
    st = cb_cache_put(s->db, &e);
    *cached = st == CB_OK;
  }
  if (st == CB_OK)
    st = cb_db_commit(s->db);
  else
    cb_db_rollback(s->db);
  return st;
}

/* The one-line report of a tuned problem, on stdout. */
static void report(FILE *f, const cb_problem *p, const char *key, int i, int n,
                   const cb_tune_outcome *out, bool cached, double peak) {
  int pruned = 0, failed = 0;
  for (int c = 0; c < out->ncand; c++) {
    pruned += out->cand[c].status == CB_CAND_PRUNED;
    failed += out->cand[c].status == CB_CAND_MISMATCH || out->cand[c].status == CB_CAND_ERROR;
  }
  fprintf(f, "[%d/%d] %s\n", i + 1, n, key);
  if (out->winner < 0) {
    fprintf(f, "      no winner: %s (%d candidates, %d failed)\n", out->why_not, out->ncand,
            failed);
  } else {
    const cb_tune_candidate *w = &out->cand[out->winner];
    char name[160];
    cb_candidate_name(&w->c, name, sizeof name);
    double g = cb_problem_flops(p) / (w->t.median * 1e6);
    fprintf(f, "      %-40s %9.3f ms  %7.1f GFLOP/s", name, w->t.median, g);
    if (peak > 0) fprintf(f, " %3.0f%%", 100 * g / peak);
    if (out->runner_up >= 0) {
      char ru[160];
      cb_candidate_name(&out->cand[out->runner_up].c, ru, sizeof ru);
      fprintf(f, "  (runner-up %s +%.1f%%)", ru,
              100.0 * (out->cand[out->runner_up].t.median / w->t.median - 1.0));
    }
    fprintf(f, "\n      %d candidates: %d pruned, %d failed; %s\n", out->ncand, pruned, failed,
            cached            ? "cached"
            : out->why_not[0] ? out->why_not
                              : "not cached");
  }
  for (int c = 0; c < out->ncand; c++) {
    const cb_tune_candidate *k = &out->cand[c];
    if (k->status != CB_CAND_MISMATCH && k->status != CB_CAND_ERROR) continue;
    char name[160], repro[512];
    cb_candidate_name(&k->c, name, sizeof name);
    cb_repro_line(k->c.ctx, k->c.variant, k->c.params, p, repro, sizeof repro);
    fprintf(f, "      %s %s: %s\n        repro: %s\n",
            k->status == CB_CAND_MISMATCH ? "MISMATCH" : "ERROR", name, k->error, repro);
  }
}

cb_status cli_tune_problems(const cli_session *s, const cli_tune_opts *o, const cli_problems *ps,
                            cli_tune_stats *stats) {
  memset(stats, 0, sizeof *stats);
  cb_ctx *ctxs[16];
  int nctx = 0;
  cb_ctx *ref = NULL;
  cb_status st = cb_ctx_open(cb_backend_find("ref"), o->threads, &ref);
  for (const cb_backend *const *b = cb_backends(); st == CB_OK && *b && nctx < 16; b++) {
    if (strcmp((*b)->name, "ref") == 0 || !cli_backend_selected(o->backends, (*b)->name)) continue;
    /* One device per tune: the host's backends, or one GPU's. */
    if (((*b)->device == CB_DEVICE_CUDA) != (o->device >= 0)) continue;
    if (cb_ctx_open_on(*b, o->threads, o->device >= 0 ? o->device : 0, &ctxs[nctx]) == CB_OK)
      nctx++;
    else if (o->backends)
      cli_error("tune", "note: backend %s is unavailable here: %s", (*b)->name, cb_errmsg());
  }
  if (st == CB_OK && nctx == 0) st = cb_error(CB_ERR_UNAVAILABLE, "no backend to tune");
  /* Enough streamed memory between samples to push the last-level caches
   * out, no more: each flush costs milliseconds on small problems. */
  int64_t l3 = s->machine.l3_bytes * (s->machine.l3_count > 0 ? s->machine.l3_count : 1);
  cb_tune_rules rules = o->rules;
  if (l3 > 0) rules.flush_bytes = (size_t)(l3 + l3 / 2);
  tune_progress prog = {.enabled = !o->quiet, .tty = isatty(2), .start = cb_now_ns(), .n = ps->n};
  cb_tuner t = {.ctxs = ctxs,
                .nctx = nctx,
                .ref = ref,
                .rules = rules,
                .stop = &cli_stop,
                .progress = on_progress,
                .progress_user = &prog};
  uint64_t t0 = cb_now_ns();
  for (int i = 0; i < ps->n && st == CB_OK; i++) {
    cb_cache_entry e;
    cb_cache_source src = CB_CACHE_MISS;
    if (!o->force &&
        cb_cache_lookup(s->db, &ps->p[i], o->device_fp, s->build.fingerprint, &e, &src) == CB_OK &&
        (src == CB_CACHE_EXACT || src == CB_CACHE_IMPORTED)) {
      stats->already++;
      continue;
    }
    if (o->budget_s > 0 && cb_ms(t0, cb_now_ns()) > 1000.0 * o->budget_s) {
      stats->skipped_budget = ps->n - i;
      break;
    }
    prog.i = i, prog.key = ps->keys[i];
    cb_tune_outcome out;
    st = cb_tune_problem(&t, &ps->p[i], &out);
    if (prog.tty && prog.enabled) fputs("\r\033[K", stderr);
    if (st == CB_OK) {
      bool cached = false;
      st = record(s, o, &ps->p[i], &out, &cached);
      if (st == CB_OK) {
        report(o->report ? o->report : stdout, &ps->p[i], ps->keys[i], i, ps->n, &out, cached,
               s->have_peak ? s->peak.gflops : 0);
        stats->tuned++;
        stats->cached += cached;
        for (int c = 0; c < out.ncand; c++)
          stats->failed +=
              out.cand[c].status == CB_CAND_MISMATCH || out.cand[c].status == CB_CAND_ERROR;
        stats->candidates += out.ncand;
      }
    }
    cb_tune_outcome_free(&out);
  }
  stats->seconds = cb_ms(t0, cb_now_ns()) / 1000.0;
  for (int i = 0; i < nctx; i++) cb_ctx_close(ctxs[i]);
  cb_ctx_close(ref);
  return st;
}

bool cli_backend_selected(const char *list, const char *name) {
  if (!list || strcmp(list, "all") == 0) return true;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    p += len + (comma ? 1 : 0);
  }
  return false;
}
