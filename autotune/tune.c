/* tune.c: enumerate, validate and time the candidates for one problem
 * (the algorithm is in tune.h). */
#include "tune.h"

#include "choose.h"
#include "devstate.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Candidates whose workspaces together exceed this are timed in groups
 * that fit: interleaving is worth less than running out of memory. */
#define SESSION_BYTES ((size_t)2 << 30)

/* Validation runs conv problems at this batch at most: the variants'
 * arithmetic does not change with the batch, and ref is slow. */
#define VALIDATE_BATCH 2
/* ... and GEMMs with m and n at most this (k, the reduction whose length
 * sets the rounding the tolerance allows for, stays): ref's plain loops
 * took seconds on an fc layer's 4096 x 9216, a third of a net's tune. */
#define VALIDATE_GEMM_MN 256

void cb_tune_rules_default(cb_tune_rules *r) {
  *r = (cb_tune_rules){.warmup_rounds = 0,
                       .screen_samples = 3,
                       .min_samples = 10,
                       .min_ms = 5.0,
                       .max_samples = 100,
                       .max_ms = 1000.0,
                       .budget_ms = 3000.0,
                       .budget_runs = 30,
                       .tie_ratio = 1.03,
                       .quantile = 0.25,
                       .drop_ratio = 1.05,
                       .sweep_ratio = 1.3,
                       .baseline_margin = 1.02,
                       .noisy = 0.05,
                       .too_noisy = 0.10,
                       .noise_floor_ms = 0.002,
                       .flush_bytes = (size_t)64 << 20,
                       .max_workspace = (size_t)1 << 30,
                       .all_isas = false};
}

const char *cb_cand_status_name(cb_cand_status s) {
  switch (s) {
  case CB_CAND_OK:
    return "ok";
  case CB_CAND_PRUNED:
    return "pruned";
  case CB_CAND_MISMATCH:
    return "mismatch";
  case CB_CAND_ERROR:
    return "error";
  }
  return "?";
}

void cb_candidate_name(const cb_candidate *c, char *buf, size_t len) {
  int n = snprintf(buf, len, "%s/%s", c->ctx->backend->name, c->variant->name);
  for (int i = 0; i < c->variant->nparams && n > 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%d%s", i ? "," : "[", c->params[i],
                  i + 1 == c->variant->nparams ? "]" : "");
}

void cb_tune_outcome_free(cb_tune_outcome *o) {
  free(o->cand);
  memset(o, 0, sizeof *o);
}

/* ---- 1. enumerate ------------------------------------------------------------------ */

typedef struct cand_list {
  cb_tune_candidate *v;
  size_t *ws;     /* workspace bytes per candidate */
  double **samp;  /* every sample per candidate, ms */
  int *ns, *scap; /* their counts and capacities */
  int n, cap;
} cand_list;

static bool same_point(const cb_candidate *a, const cb_candidate *b) {
  return a->ctx == b->ctx && a->variant == b->variant &&
         memcmp(a->params, b->params, sizeof a->params) == 0;
}

/* Adds (ctx, v, params) if it supports p within the workspace limit. */
static cb_status add_point(cand_list *l, const cb_tune_rules *r, cb_ctx *ctx, const cb_variant *v,
                           const int *params, const cb_problem *p) {
  cb_candidate c = {.ctx = ctx, .variant = v};
  memcpy(c.params, params, sizeof c.params);
  for (int i = 0; i < l->n; i++)
    if (same_point(&l->v[i].c, &c)) return CB_OK;
  if (v->supports && v->supports(ctx, p, params) != CB_OK) return CB_OK;
  size_t bytes = 0;
  if (v->workspace && (v->workspace(ctx, p, params, &bytes) != CB_OK || bytes > r->max_workspace))
    return CB_OK;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 32;
    cb_tune_candidate *grown = realloc(l->v, (size_t)cap * sizeof *grown);
    if (!grown) return cb_error(CB_ERR_NOMEM, "out of memory enumerating candidates");
    l->v = grown;
    size_t *wgrown = realloc(l->ws, (size_t)cap * sizeof *wgrown);
    if (!wgrown) return cb_error(CB_ERR_NOMEM, "out of memory enumerating candidates");
    l->ws = wgrown;
    double **sgrown = realloc(l->samp, (size_t)cap * sizeof *sgrown);
    if (sgrown) l->samp = sgrown;
    int *ngrown = sgrown ? realloc(l->ns, (size_t)cap * sizeof *ngrown) : NULL;
    if (ngrown) l->ns = ngrown;
    int *cgrown = ngrown ? realloc(l->scap, (size_t)cap * sizeof *cgrown) : NULL;
    if (!cgrown) return cb_error(CB_ERR_NOMEM, "out of memory enumerating candidates");
    l->scap = cgrown;
    l->cap = cap;
  }
  memset(&l->v[l->n], 0, sizeof l->v[l->n]);
  l->v[l->n].c = c;
  l->ws[l->n] = bytes;
  l->samp[l->n] = NULL;
  l->ns[l->n] = l->scap[l->n] = 0;
  l->n++;
  return CB_OK;
}

/* The defaults, then each parameter through its values with the others at
 * their defaults ("isa" only when asked). */
static cb_status enumerate(const cb_tuner *t, const cb_problem *p, cand_list *l) {
  cb_status st = CB_OK;
  for (int b = 0; b < t->nctx && st == CB_OK; b++) {
    const cb_variant *const *list = t->ctxs[b]->backend->variants[p->op];
    for (; list && *list && st == CB_OK; list++) {
      const cb_variant *v = *list;
      int params[CB_MAX_PARAMS];
      cb_variant_default_params(v, params);
      st = add_point(l, &t->rules, t->ctxs[b], v, params, p);
      for (int i = 0; i < v->nparams && st == CB_OK; i++) {
        if (!t->rules.all_isas && strcmp(v->params[i].name, "isa") == 0) continue;
        for (int j = 0; j < v->params[i].nvalues && st == CB_OK; j++) {
          cb_variant_default_params(v, params);
          params[i] = v->params[i].values[j];
          st = add_point(l, &t->rules, t->ctxs[b], v, params, p);
        }
      }
    }
  }
  return st;
}

/* ---- 2. validate ----------------------------------------------------------------- */

static bool stopped(const cb_tuner *t) {
  return t->stop && *t->stop;
}

static void progress(const cb_tuner *t, const char *phase, const cb_tune_candidate *c, int round,
                     double best) {
  if (t->progress) t->progress(t->progress_user, phase, c, round, best);
}

/* The references candidates are checked against: made on first use, at
 * a small batch for convolutions (and small m, n for GEMMs), and once more
 * at full size for a candidate that only supports the full problem. */
typedef struct validator {
  cb_problem small;
  cb_reference ref_small, ref_full;
  bool have_small, have_full;
} validator;

static void validator_init(validator *va, const cb_problem *p) {
  memset(va, 0, sizeof *va);
  va->small = *p;
  if (p->op != CB_OP_GEMM && va->small.conv.n > VALIDATE_BATCH) va->small.conv.n = VALIDATE_BATCH;
  if (p->op == CB_OP_GEMM) {
    if (va->small.gemm.m > VALIDATE_GEMM_MN) va->small.gemm.m = VALIDATE_GEMM_MN;
    if (va->small.gemm.n > VALIDATE_GEMM_MN) va->small.gemm.n = VALIDATE_GEMM_MN;
  }
}

static void validator_free(validator *va) {
  if (va->have_small) cb_reference_free(&va->ref_small);
  if (va->have_full) cb_reference_free(&va->ref_full);
}

/* Validates the candidates still in the running (status ok) that are not
 * validated yet and for which pick() holds; failures are marked and
 * excluded later. Candidates are validated only before they are first
 * timed: a sweep point whose variant's default came out far behind is
 * never timed, so never validated either (it stays "pruned"). */
static cb_status validate_some(const cb_tuner *t, const cb_problem *p, cand_list *l, validator *va,
                               bool (*pick)(const cb_tune_candidate *)) {
  cb_status st = CB_OK;
  for (int i = 0; i < l->n && st == CB_OK; i++) {
    cb_tune_candidate *k = &l->v[i];
    if (k->validated || k->status != CB_CAND_OK || (pick && !pick(k))) continue;
    if (stopped(t)) {
      st = cb_error(CB_ERR_INTERRUPTED, "interrupted");
      break;
    }
    progress(t, "validate", k, 0, 0);
    const cb_variant *v = k->c.variant;
    bool use_small = !v->supports || v->supports(k->c.ctx, &va->small, k->c.params) == CB_OK;
    cb_reference *r = use_small ? &va->ref_small : &va->ref_full;
    bool *have = use_small ? &va->have_small : &va->have_full;
    if (!*have) {
      if ((st = cb_reference_make(t->ref, use_small ? &va->small : p, 42, r)) != CB_OK) break;
      *have = true;
    }
    k->validated = true;
    cb_status vs = cb_validate_against(k->c.ctx, v, k->c.params, r, &k->check);
    if (vs != CB_OK) {
      k->status = CB_CAND_ERROR;
      snprintf(k->error, sizeof k->error, "%s", cb_errmsg());
    } else if (!k->check.pass) {
      k->status = CB_CAND_MISMATCH;
      snprintf(k->error, sizeof k->error, "max error %.3g (relative %.3g) > tolerance %.3g",
               k->check.max_abs, k->check.max_rel, k->check.tolerance);
    }
    if (v->plan_info) {
      void *plan = NULL;
      if (!v->plan_create || v->plan_create(k->c.ctx, p, k->c.params, &plan) == CB_OK) {
        v->plan_info(plan, k->impl, sizeof k->impl);
        if (plan && v->plan_destroy) v->plan_destroy(plan);
      }
    }
  }
  return st;
}

/* ---- 3. race ------------------------------------------------------------------ */

double cb_tune_estimate(const cb_tune_rules *r, const double *samples, int n) {
  return n > 0 ? cb_quantile(samples, n, r->quantile) : 0;
}

/* Every sample of candidate i, kept across the screen and the race. */
static cb_status keep_sample(cand_list *l, int i, double ms) {
  if (l->ns[i] == l->scap[i]) {
    int cap = l->scap[i] ? 2 * l->scap[i] : 16;
    double *grown = realloc(l->samp[i], (size_t)cap * sizeof *grown);
    if (!grown) return cb_error(CB_ERR_NOMEM, "out of memory for samples");
    l->samp[i] = grown, l->scap[i] = cap;
  }
  l->samp[i][l->ns[i]++] = ms;
  return CB_OK;
}

static double min_of(const double *v, int n) {
  double m = INFINITY;
  for (int i = 0; i < n; i++) m = fmin(m, v[i]);
  return m;
}

static double sum_of(const double *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}

/* Refreshes candidate i's timing and estimate from its kept samples. */
static void refresh(const cb_tune_rules *r, cand_list *l, int i) {
  cb_tune_candidate *k = &l->v[i];
  cb_timing_compute(l->samp[i], l->ns[i], &k->t);
  k->estimate = cb_tune_estimate(r, l->samp[i], l->ns[i]);
  k->noisy = k->t.median > 0 && k->t.mad > r->noise_floor_ms && k->t.mad / k->t.median > r->noisy;
}

/* The validated, timed candidate with the lowest estimate, -1 if none. */
static int leader_of(const cand_list *l) {
  int best = -1;
  for (int i = 0; i < l->n; i++) {
    const cb_tune_candidate *k = &l->v[i];
    if ((k->status == CB_CAND_OK) && l->ns[i] > 0 &&
        (best < 0 || k->estimate < l->v[best].estimate))
      best = i;
  }
  return best;
}

/* Whether candidate i is behind the leader's estimate `lead` with
 * confidence. Preemption only adds time, so a clean kernel's minimum is
 * within noise of its true time: when even its best sample is behind,
 * it is slow; the further behind, the fewer samples that takes. Never
 * one: 2 samples when 1.5x behind, screen_samples when drop_ratio
 * behind. A baseline (a library default) needs 5 samples when 2x behind
 * and min_samples otherwise: with 40% of samples preempted, 5 in a row
 * happen 1% of the time. */
static bool behind(const cb_tune_rules *r, const cand_list *l, int i, double lead) {
  int n = l->ns[i];
  if (n < 2 || r->exhaustive) return false;
  double gap = min_of(l->samp[i], n) / lead;
  if (l->v[i].baseline)
    return (n >= 5 && gap > 2.0) || (n >= r->min_samples && gap > r->drop_ratio);
  return (gap > 1.5) || (n >= r->screen_samples && gap > r->drop_ratio);
}

/* Whether the candidates still in the race idx[i] (active[i]) are a tie:
 * each has min_samples samples and an estimate within tie_ratio of the
 * leader's (best). Then more samples would only split differences the
 * tuner is not asked to resolve, and the leader wins as it stands. */
static bool tied(const cb_tune_rules *r, const cand_list *l, const int *idx, const bool *active,
                 int n, double best) {
  if (r->tie_ratio <= 0 || r->exhaustive || !(best > 0)) return false;
  bool any = false;
  for (int i = 0; i < n; i++) {
    if (!active[i]) continue;
    const cb_tune_candidate *k = &l->v[idx[i]];
    if (l->ns[idx[i]] < r->min_samples || k->estimate > r->tie_ratio * best) return false;
    any = true;
  }
  return any;
}

typedef struct race_state {
  uint64_t start;   /* ns, when the race began */
  double budget_ms; /* 0: none */
  bool budget_spent;
  int rounds;
} race_state;

/* Races the candidates idx[0..n) (all validated) in one session. A
 * screen stops once every candidate still in the race has screen_samples
 * samples; the race goes on until nobody needs more (see tune.h). */
static cb_status race_group(const cb_tuner *t, const cb_problem *p, cand_list *l, const int *idx,
                            int n, bool screen, race_state *rs) {
  const cb_tune_rules *r = &t->rules;
  cb_candidate *cands = malloc((size_t)n * sizeof *cands);
  bool *active = malloc((size_t)n * sizeof *active);
  bool *extended = calloc((size_t)n, sizeof *extended);
  int *want = malloc((size_t)n * sizeof *want);
  if (!cands || !active || !extended || !want) {
    free(cands), free(active), free(extended), free(want);
    return cb_error(CB_ERR_NOMEM, "out of memory for timing");
  }
  int target = screen ? r->screen_samples : r->min_samples;
  for (int i = 0; i < n; i++) {
    cands[i] = l->v[idx[i]].c;
    want[i] = target;
    active[i] = !screen || l->ns[idx[i]] < target;
  }
  cb_time_session *s = NULL;
  cb_status st = cb_time_session_begin(cands, n, p, r->flush_bytes, &s);
  for (int w = 0; st == CB_OK && w < r->warmup_rounds; w++)
    st = cb_time_session_round(s, active, false);

  for (int round = 1; st == CB_OK; round++) {
    bool any_active = false;
    for (int i = 0; i < n; i++) any_active |= active[i];
    if (!any_active) break;
    if (stopped(t)) {
      st = cb_error(CB_ERR_INTERRUPTED, "interrupted");
      break;
    }
    /* The budget, but never less than budget_runs runs of the leader: a
     * big problem gets its samples however long a run takes. */
    int lead0 = leader_of(l);
    double budget = fmax(rs->budget_ms, lead0 >= 0 ? r->budget_runs * l->v[lead0].estimate : 0);
    if (rs->budget_ms > 0 && cb_ms(rs->start, cb_now_ns()) > budget) {
      rs->budget_spent = true;
      break;
    }
    if ((st = cb_time_session_round(s, active, true)) != CB_OK) break;
    rs->rounds++;
    for (int i = 0; i < n && st == CB_OK; i++) {
      int c;
      const double *v = cb_time_session_samples(s, i, &c);
      if (active[i] && c > 0) st = keep_sample(l, idx[i], v[c - 1]);
      if (active[i]) refresh(r, l, idx[i]);
    }
    if (st != CB_OK) break;

    int lead = leader_of(l);
    double best = lead >= 0 ? l->v[lead].estimate : INFINITY;
    for (int i = 0; i < n; i++) {
      int li = idx[i];
      cb_tune_candidate *k = &l->v[li];
      if (!active[i]) continue;
      if (li != lead && behind(r, l, li, best)) {
        active[i] = false;
        k->status = CB_CAND_PRUNED;
        snprintf(k->error, sizeof k->error,
                 "dropped after %d samples: its min %.4g ms is over %.2fx the leader's %.4g ms",
                 l->ns[li], k->t.min, r->drop_ratio, best);
        continue;
      }
      int c = l->ns[li];
      double total = sum_of(l->samp[li], c);
      bool capped = c >= r->max_samples || total >= r->max_ms;
      bool enough = c >= want[i] && (screen || total >= r->min_ms);
      if (enough && !capped && !screen && !extended[i] && k->noisy) {
        /* A wide spread gets as many samples again, once. */
        extended[i] = true;
        want[i] = 2 * c;
        enough = false;
      }
      if (enough || capped) active[i] = false;
    }
    progress(t, screen ? "screen" : "race", lead >= 0 ? &l->v[lead] : NULL, rs->rounds,
             lead >= 0 ? best : 0);
    if (!screen && tied(r, l, idx, active, n, best)) break;
  }
  if (st != CB_OK && st != CB_ERR_INTERRUPTED)
    for (int i = 0; i < n; i++) {
      cb_tune_candidate *k = &l->v[idx[i]];
      if (k->status == CB_CAND_OK) {
        k->status = CB_CAND_ERROR;
        snprintf(k->error, sizeof k->error, "%s", cb_errmsg());
      }
    }
  cb_time_session_end(s);
  free(cands), free(active), free(extended), free(want);
  /* A group that could not run is the candidates' failure, not the tune's. */
  return st == CB_ERR_INTERRUPTED || st == CB_ERR_NOMEM ? st : CB_OK;
}

/* Whether candidate k takes part in a race: validated and still in it. */
static bool racing(const cb_tune_candidate *k) {
  return k->status == CB_CAND_OK;
}

/* Splits the candidates for which pick() holds into groups whose
 * workspaces fit together and races each group. */
static cb_status race_all(const cb_tuner *t, const cb_problem *p, cand_list *l,
                          bool (*pick)(const cb_tune_candidate *), bool screen, race_state *rs) {
  int *idx = malloc((size_t)(l->n ? l->n : 1) * sizeof *idx);
  if (!idx) return cb_error(CB_ERR_NOMEM, "out of memory for timing");
  cb_status st = CB_OK;
  int n = 0;
  size_t bytes = 0;
  for (int i = 0; i <= l->n && st == CB_OK; i++) {
    bool last = i == l->n;
    bool timeable = !last && racing(&l->v[i]) && pick(&l->v[i]);
    if (n > 0 && (last || (timeable && bytes + l->ws[i] > SESSION_BYTES))) {
      st = race_group(t, p, l, idx, n, screen, rs);
      n = 0;
      bytes = 0;
    }
    if (timeable) {
      idx[n++] = i;
      bytes += l->ws[i];
    }
  }
  free(idx);
  return st;
}

/* Whether candidate k is its variant's default point. */
static bool is_default_point(const cb_tune_candidate *k) {
  int def[CB_MAX_PARAMS];
  cb_variant_default_params(k->c.variant, def);
  return memcmp(def, k->c.params, sizeof def) == 0;
}

static bool any_candidate(const cb_tune_candidate *k) {
  (void)k;
  return true;
}

/* The parameter sweep is for variants that are in the race: the default
 * point of every variant is screened first (screen_samples each), and
 * the other points of a variant whose default came out more than
 * sweep_ratio behind the best are not timed at all. A parameter rarely
 * turns a clear loser into the winner, and rules.sweep_ratio 0 times
 * them anyway. The screen's samples stay for the race. */
static cb_status screen_sweeps(const cb_tuner *t, const cb_problem *p, cand_list *l,
                               race_state *rs) {
  const cb_tune_rules *r = &t->rules;
  if (r->sweep_ratio <= 0 || r->exhaustive) return CB_OK;
  int defaults = 0, swept = 0;
  for (int i = 0; i < l->n; i++)
    if (racing(&l->v[i])) is_default_point(&l->v[i]) ? defaults++ : swept++;
  if (defaults <= 1 || swept == 0) return CB_OK;
  cb_status st = race_all(t, p, l, is_default_point, true, rs);
  if (st != CB_OK) return st;

  double best = INFINITY;
  for (int i = 0; i < l->n; i++)
    if (racing(&l->v[i]) && l->ns[i] > 0 && is_default_point(&l->v[i]))
      best = fmin(best, l->v[i].estimate);
  for (int i = 0; i < l->n; i++) {
    cb_tune_candidate *k = &l->v[i];
    if (k->status != CB_CAND_OK || is_default_point(k)) continue;
    for (int j = 0; j < l->n; j++) {
      const cb_tune_candidate *d = &l->v[j];
      if (d->c.ctx != k->c.ctx || d->c.variant != k->c.variant || !is_default_point(d)) continue;
      double gap = l->ns[j] > 0 ? d->estimate / best : INFINITY;
      if (d->status == CB_CAND_PRUNED || gap > r->sweep_ratio) {
        k->status = CB_CAND_PRUNED;
        snprintf(k->error, sizeof k->error,
                 "not timed: the variant's default point is %.2fx behind", gap);
      }
      break;
    }
  }
  return CB_OK;
}

/* Marks each backend's default pick (choose.c's cb_first_supporting at
 * default parameters): the baselines the winner must not be slower than. */
static void mark_baselines(const cb_tuner *t, const cb_problem *p, cand_list *l) {
  for (int b = 0; b < t->nctx; b++) {
    const cb_variant *v = cb_first_supporting(t->ctxs[b], p);
    for (int i = 0; v && i < l->n; i++)
      if (l->v[i].c.ctx == t->ctxs[b] && l->v[i].c.variant == v && is_default_point(&l->v[i]))
        l->v[i].baseline = true;
  }
}

/* ---- 4. choose ----------------------------------------------------------------------- */

static void choose(const cb_tuner *t, cb_tune_outcome *o) {
  const cb_tune_rules *r = &t->rules;
  o->winner = o->runner_up = o->best_baseline = -1;
  for (int i = 0; i < o->ncand; i++) {
    const cb_tune_candidate *k = &o->cand[i];
    if ((k->status != CB_CAND_OK && k->status != CB_CAND_PRUNED) || k->t.samples == 0) continue;
    if (k->baseline && (o->best_baseline < 0 || k->estimate < o->cand[o->best_baseline].estimate))
      o->best_baseline = i;
    if (k->status != CB_CAND_OK) continue; /* dropped: beaten with confidence */
    if (o->winner < 0 || k->estimate < o->cand[o->winner].estimate) {
      o->runner_up = o->winner;
      o->winner = i;
    } else if (o->runner_up < 0 || k->estimate < o->cand[o->runner_up].estimate) {
      o->runner_up = i;
    }
  }
  if (o->winner < 0) {
    snprintf(o->why_low, sizeof o->why_low, "no candidate ran correctly");
    return;
  }
  /* A library default within the margin wins: a tuned pick is only worth
   * its complexity when it beats what `--backend NAME` runs anyway. */
  int b = o->best_baseline;
  if (b >= 0 && b != o->winner && o->cand[b].status == CB_CAND_OK &&
      o->cand[o->winner].estimate * r->baseline_margin > o->cand[b].estimate) {
    if (o->runner_up == b) o->runner_up = o->winner;
    o->winner = b;
  }
  const cb_tune_candidate *w = &o->cand[o->winner];
  o->confident = cb_tune_cacheable(r, &w->t, &o->before, &o->after, o->why_low, sizeof o->why_low);
  if (o->confident && !o->settled) {
    o->confident = false;
    snprintf(o->why_low, sizeof o->why_low,
             "budget spent before the race settled (%d samples of the winner)", w->t.samples);
  }
}

bool cb_tune_cacheable(const cb_tune_rules *r, const cb_timing *t, const cb_devstate *before,
                       const cb_devstate *after, char *why, size_t len) {
  double spread = t->median > 0 ? t->mad / t->median : 0;
  if (spread > r->too_noisy && t->mad > r->noise_floor_ms) {
    snprintf(why, len, "winner too noisy: MAD %.1f%% of the median", 100 * spread);
    return false;
  }
  if (t->min > 0 && cb_timing_noise(t, NULL) == CB_NOISE_PREEMPTED) {
    snprintf(why, len, "preempted: median %.2fx the minimum", t->min > 0 ? t->median / t->min : 0);
    return false;
  }
  /* A clock that fell while measuring means the numbers mix two speeds. */
  if (before->cpu_mhz_measured > 0 && after->cpu_mhz_measured > 0 &&
      after->cpu_mhz_measured < 0.9 * before->cpu_mhz_measured) {
    snprintf(why, len, "throttled: clock fell from %.0f to %.0f MHz", before->cpu_mhz_measured,
             after->cpu_mhz_measured);
    return false;
  }
  /* The GPU: its SM clock fell, or power or heat held it down. */
  if (before->has_gpu && after->has_gpu) {
    if (before->gpu.sm_mhz > 0 && after->gpu.sm_mhz < 0.9 * before->gpu.sm_mhz) {
      snprintf(why, len, "GPU throttled: SM clock fell from %.0f to %.0f MHz", before->gpu.sm_mhz,
               after->gpu.sm_mhz);
      return false;
    }
    if (cb_gpustate_throttled(after->gpu.throttle)) {
      snprintf(why, len, "GPU throttled: %s", after->gpu.throttle);
      return false;
    }
  }
  if (len) why[0] = '\0';
  return true;
}

/* The GPU the tuner's candidates run on, -1 when they run on the host. */
static int tuner_gpu(const cb_tuner *t) {
  for (int i = 0; i < t->nctx; i++)
    if (t->ctxs[i]->backend->device == CB_DEVICE_CUDA) return t->ctxs[i]->device;
  return -1;
}

cb_status cb_tune_problem(const cb_tuner *t, const cb_problem *p, cb_tune_outcome *out) {
  memset(out, 0, sizeof *out);
  out->winner = out->runner_up = out->best_baseline = -1;
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  cand_list l = {0};
  race_state rs = {0};
  if ((st = enumerate(t, p, &l)) == CB_OK) {
    mark_baselines(t, p, &l);
    int gpu = tuner_gpu(t);
    cb_devstate_sample_gpu(&out->before, gpu);
    validator va;
    validator_init(&va, p);
    /* The default points first: the screen decides which sweeps are worth
     * validating and timing at all. */
    st = validate_some(t, p, &l, &va, t->rules.sweep_ratio > 0 ? is_default_point : NULL);
    if (t->rules.budget_ms > 0 && !t->rules.exhaustive) rs.budget_ms = t->rules.budget_ms;
    rs.start = cb_now_ns();
    if (st == CB_OK) st = screen_sweeps(t, p, &l, &rs);
    if (st == CB_OK) st = validate_some(t, p, &l, &va, NULL);
    if (st == CB_OK) st = race_all(t, p, &l, any_candidate, false, &rs);
    validator_free(&va);
    cb_devstate_sample_gpu(&out->after, gpu);
  }
  for (int i = 0; i < l.n; i++) free(l.samp ? l.samp[i] : NULL);
  free(l.ws), free(l.samp), free(l.ns), free(l.scap);
  out->cand = l.v;
  out->ncand = l.n;
  out->rounds = rs.rounds;
  out->settled = !rs.budget_spent;
  if (st != CB_OK) return st;
  choose(t, out);
  progress(t, "done", out->winner >= 0 ? &out->cand[out->winner] : NULL, rs.rounds,
           out->winner >= 0 ? out->cand[out->winner].estimate : 0);
  return CB_OK;
}
