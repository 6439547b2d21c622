/* campaign.c: tuning a list of problems into the database: skip what is
 * cached (decided before anything is opened), tune the rest one by one,
 * record every measurement and cache each winner with its confidence in
 * one transaction per problem, so an interrupted campaign keeps every
 * problem it finished. */
#include "campaign.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cb_status cb_problem_list_add(cb_problem_list *ps, const cb_problem *p) {
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

void cb_problem_list_free(cb_problem_list *ps) {
  free(ps->p);
  free(ps->keys);
  memset(ps, 0, sizeof *ps);
}

/* What the tuner's progress callback needs to say which problem it is on. */
typedef struct campaign_state {
  const cb_campaign_opts *o;
  cb_campaign_event ev; /* i, n, problem, key of the problem being tuned */
} campaign_state;

static void emit(const cb_campaign_opts *o, const cb_campaign_event *ev) {
  if (o->event) o->event(o->event_user, ev);
}

static void on_progress(void *user, const char *phase, const cb_tune_candidate *c, int round,
                        double best_ms) {
  campaign_state *s = user;
  cb_campaign_event ev = s->ev;
  ev.kind = CB_CAMPAIGN_PROGRESS;
  ev.phase = phase;
  ev.cand = c;
  ev.round = round;
  ev.best_ms = best_ms;
  emit(s->o, &ev);
}

/* "16,4", or "" for a variant without parameters. */
static void params_string(const cb_candidate *c, char *buf, size_t len) {
  buf[0] = '\0';
  for (int i = 0, n = 0; i < c->variant->nparams && n >= 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d", i ? "," : "", c->params[i]);
}

/* The cache row of a problem's winner, measured as measurement_id. */
static void winner_entry(const cb_campaign_opts *o, const cb_problem *p, const cb_tune_outcome *out,
                         int64_t measurement_id, cb_cache_entry *e) {
  const cb_tune_candidate *w = &out->cand[out->winner];
  *e = (cb_cache_entry){
      .timing = w->t, .nparams = w->c.variant->nparams, .measurement_id = measurement_id};
  cb_problem_key(p, e->key, sizeof e->key);
  snprintf(e->device_fp, sizeof e->device_fp, "%s", o->device_fp);
  snprintf(e->build_fp, sizeof e->build_fp, "%s", o->build_fp);
  snprintf(e->backend, sizeof e->backend, "%s", w->c.ctx->backend->name);
  snprintf(e->variant, sizeof e->variant, "%s", w->c.variant->name);
  memcpy(e->params, w->c.params, sizeof e->params);
  snprintf(e->origin, sizeof e->origin, "local");
  if (out->runner_up >= 0) {
    cb_candidate_name(&out->cand[out->runner_up].c, e->runner_up, sizeof e->runner_up);
    e->runner_up_median = out->cand[out->runner_up].t.median;
  }
  e->estimate = w->estimate;
  e->spread = w->t.median > 0 ? w->t.mad / w->t.median : 0;
  e->load = fmax(out->before.load1, out->after.load1);
  snprintf(e->confidence, sizeof e->confidence, "%s", out->confident ? "high" : "low");
  snprintf(e->confidence_why, sizeof e->confidence_why, "%s", out->confident ? "" : out->why_low);
}

/* Records a problem's candidates and its winner (whatever its confidence)
 * in one transaction. */
static cb_status record(cb_db *db, const cb_campaign_opts *o, const cb_problem *p,
                        const cb_tune_outcome *out, bool *cached) {
  *cached = false;
  cb_status st = cb_db_begin(db);
  int64_t winner_id = 0;
  for (int i = 0; i < out->ncand && st == CB_OK; i++) {
    const cb_tune_candidate *k = &out->cand[i];
    char params[64];
    params_string(&k->c, params, sizeof params);
    bool validated = k->validated && k->status != CB_CAND_ERROR;
    cb_measurement_rec m = {.run_id = o->run_id,
                            .problem = p,
                            .device_fp = o->device_fp,
                            .build_fp = o->build_fp,
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
    st = cb_db_put_measurement(db, &m, &id);
    if (i == out->winner) winner_id = id;
  }
  if (st == CB_OK && out->winner >= 0) {
    cb_cache_entry e;
    winner_entry(o, p, out, winner_id, &e);
    st = cb_cache_put(db, &e);
    *cached = st == CB_OK;
  }
  if (st == CB_OK)
    st = cb_db_commit(db);
  else
    cb_db_rollback(db);
  return st;
}

/* Whether p is cached for this device and build already (an import
 * counts); *low receives whether that entry's confidence is low. */
static bool already_cached(cb_db *db, const cb_campaign_opts *o, const cb_problem *p, bool *low) {
  cb_cache_entry e;
  cb_cache_source src = CB_CACHE_MISS;
  bool hit = cb_cache_lookup(db, p, o->device_fp, o->build_fp, &e, &src) == CB_OK &&
             (src == CB_CACHE_EXACT || src == CB_CACHE_IMPORTED);
  *low = hit && strcmp(e.confidence, "low") == 0;
  return hit;
}

/* Opens ref and every backend of o->backends that runs on o->device; at
 * most max of them. */
static cb_status open_backends(const cb_campaign_opts *o, cb_ctx **ref, cb_ctx **ctxs, int max,
                               int *nctx) {
  *nctx = 0;
  cb_status st = cb_ctx_open(cb_backend_find("ref"), o->threads, ref);
  for (const cb_backend *const *b = o->backends; st == CB_OK && *b && *nctx < max; b++) {
    /* One device per campaign: the host's backends, or one GPU's. */
    if (((*b)->device == CB_DEVICE_CUDA) != (o->device >= 0)) continue;
    if (cb_ctx_open_on(*b, o->threads, o->device >= 0 ? o->device : 0, &ctxs[*nctx]) == CB_OK) {
      (*nctx)++;
    } else {
      cb_campaign_event ev = {.kind = CB_CAMPAIGN_UNAVAILABLE, .backend = *b};
      emit(o, &ev);
    }
  }
  if (st == CB_OK && *nctx == 0) st = cb_error(CB_ERR_UNAVAILABLE, "no backend to tune");
  return st;
}

/* Tunes and records problem i, the todo_i-th of todo_n to tune; adds to
 * stats. */
static cb_status tune_one(cb_db *db, const cb_tuner *t, campaign_state *cs,
                          const cb_problem_list *ps, int i, int todo_i, int todo_n,
                          cb_campaign_stats *stats) {
  const cb_campaign_opts *o = cs->o;
  cs->ev = (cb_campaign_event){.i = i,
                               .n = ps->n,
                               .problem = &ps->p[i],
                               .key = ps->keys[i],
                               .todo_i = todo_i,
                               .todo_n = todo_n};
  cb_tune_outcome out;
  cb_status st = cb_tune_problem(t, &ps->p[i], &out);
  cb_campaign_event ev = cs->ev;
  ev.kind = CB_CAMPAIGN_TUNED;
  emit(o, &ev);
  if (st == CB_OK) {
    bool cached = false;
    st = record(db, o, &ps->p[i], &out, &cached);
    if (st == CB_OK) {
      ev.kind = CB_CAMPAIGN_DONE;
      ev.out = &out;
      ev.cached = cached;
      emit(o, &ev);
      stats->tuned++;
      stats->cached += cached;
      stats->low += cached && !out.confident;
      for (int c = 0; c < out.ncand; c++)
        stats->failed +=
            out.cand[c].status == CB_CAND_MISMATCH || out.cand[c].status == CB_CAND_ERROR;
      stats->candidates += out.ncand;
    }
  }
  cb_tune_outcome_free(&out);
  return st;
}

cb_status cb_campaign_run(cb_db *db, const cb_campaign_opts *o, const cb_problem_list *ps,
                          cb_campaign_stats *stats) {
  memset(stats, 0, sizeof *stats);
  uint64_t t0 = cb_now_ns();
  /* What needs tuning, decided from the cache alone: a warm campaign
   * opens no backend, makes no reference and times nothing. */
  char *todo = calloc((size_t)(ps->n ? ps->n : 1), 1);
  if (!todo) return cb_error(CB_ERR_NOMEM, "out of memory planning the campaign");
  int ntodo = 0;
  for (int i = 0; i < ps->n; i++) {
    bool low = false;
    bool hit = !o->force && already_cached(db, o, &ps->p[i], &low);
    todo[i] = !hit ? 1 : o->retune_noisy && low ? 2 : 0;
    if (todo[i])
      ntodo++;
    else
      stats->already++;
  }
  if (ntodo == 0) {
    free(todo);
    stats->seconds = cb_ms(t0, cb_now_ns()) / 1000.0;
    return CB_OK;
  }
  cb_ctx *ctxs[16], *ref = NULL;
  int nctx = 0;
  cb_status st = open_backends(o, &ref, ctxs, 16, &nctx);
  /* Enough streamed memory between samples to push the last-level caches
   * out, no more: each flush costs milliseconds on small problems. */
  cb_tune_rules rules = o->rules;
  if (o->llc_bytes > 0) rules.flush_bytes = (size_t)(o->llc_bytes + o->llc_bytes / 2);
  campaign_state cs = {.o = o};
  cb_tuner t = {.ctxs = ctxs,
                .nctx = nctx,
                .ref = ref,
                .rules = rules,
                .stop = o->stop,
                .progress = on_progress,
                .progress_user = &cs};
  for (int i = 0, k = 0; i < ps->n && st == CB_OK; i++) {
    if (!todo[i]) continue;
    if (o->budget_s > 0 && cb_ms(t0, cb_now_ns()) > 1000.0 * o->budget_s) {
      stats->skipped_budget = ntodo - k;
      break;
    }
    int before = stats->tuned;
    st = tune_one(db, &t, &cs, ps, i, k++, ntodo, stats);
    stats->retuned += todo[i] == 2 && stats->tuned > before;
  }
  free(todo);
  stats->seconds = cb_ms(t0, cb_now_ns()) / 1000.0;
  for (int i = 0; i < nctx; i++) cb_ctx_close(ctxs[i]);
  cb_ctx_close(ref);
  return st;
}
