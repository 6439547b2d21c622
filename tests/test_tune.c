/* test_tune.c: the tuner's rules on fixed inputs: the statistics and the
 * noise rule, the estimator on a sample set with preemption spikes, the
 * candidate enumeration, a planted wrong variant that is faster than the
 * right one and still never wins, a fast but noisy library default that a
 * slower clean candidate must not beat, and a tuned net that plans each op
 * from its chooser and falls back to the heuristic on a miss. */
#include "cb_test.h"
#include "net.h"
#include "planted_backend.h"
#include "stats.h"
#include "tune.h"

/* ---- statistics and the noise rule --------------------------------------------- */

static void test_stats(void) {
  /* Median of an even count is the mean of the middle two; MAD is the
   * median of the absolute deviations from the median. */
  const double v[] = {5, 1, 4, 2, 3, 100};
  cb_timing t;
  cb_timing_compute(v, 6, &t);
  CHECK_NEAR(t.median, 3.5, 0);
  CHECK_NEAR(t.min, 1, 0);
  CHECK_NEAR(t.max, 100, 0);
  CHECK_NEAR(t.mad, 1.5, 0); /* |dev| = 1.5 2.5 0.5 1.5 0.5 96.5 -> median 1.5 */
  CHECK_EQ_INT(t.samples, 6);
  const double w[] = {2, 2, 2};
  cb_timing_compute(w, 3, &t);
  CHECK_NEAR(t.mad, 0, 0);
  cb_timing_compute(w, 0, &t);
  CHECK_EQ_INT(t.samples, 0);

  cb_tune_rules r;
  cb_tune_rules_default(&r);
  cb_devstate quiet = {.cpu_mhz_measured = 3600}, slow = {.cpu_mhz_measured = 3000};
  char why[160];
  cb_timing clean = {.median = 10, .mad = 0.5, .samples = 10};
  cb_timing noisy = {.median = 10, .mad = 1.5, .samples = 10};
  cb_timing tiny = {.median = 0.01, .mad = 0.001, .samples = 100}; /* 10%, under the floor */
  CHECK(cb_tune_cacheable(&r, &clean, &quiet, &quiet, why, sizeof why));
  CHECK(!cb_tune_cacheable(&r, &noisy, &quiet, &quiet, why, sizeof why));
  CHECK_EQ_STR(why, "winner too noisy: MAD 15.0% of the median");
  CHECK(cb_tune_cacheable(&r, &tiny, &quiet, &quiet, why, sizeof why));
  CHECK(!cb_tune_cacheable(&r, &clean, &quiet, &slow, why, sizeof why));
  CHECK_EQ_STR(why, "throttled: clock fell from 3600 to 3000 MHz");
  /* Most samples preempted: the median is no measurement. */
  cb_timing preempted = {.median = 10, .min = 1, .max = 20, .mad = 0.2, .samples = 10};
  CHECK(!cb_tune_cacheable(&r, &preempted, &quiet, &quiet, why, sizeof why));
  CHECK_EQ_STR(why, "preempted: median 10.00x the minimum");
}

/* ---- the estimator on preemption spikes ------------------------------------------ */

/* A: true 1.0 ms, 40% of its samples preempted to 20 ms; B: 1.3 ms clean.
 * A is the faster kernel; its mean (8.6 ms) says otherwise, and with 60%
 * preempted so would its median; q25 ranks them right in every case. */
static void test_estimator(void) {
  cb_tune_rules r;
  cb_tune_rules_default(&r);
  CHECK_NEAR(r.quantile, 0.25, 0);
  double a[20], b[20], a60[20];
  for (int i = 0; i < 20; i++) {
    a[i] = i % 5 == 0 || i % 5 == 3 ? 20.0 : 1.0 + 0.001 * i; /* 8 of 20 spiked */
    a60[i] = i % 5 < 3 ? 20.0 : 1.0 + 0.001 * i;              /* 12 of 20 */
    b[i] = 1.3 + 0.001 * (i % 3);
  }
  double ea = cb_tune_estimate(&r, a, 20), eb = cb_tune_estimate(&r, b, 20);
  CHECK(ea < eb);
  CHECK(ea > 0.99 && ea < 1.02);
  CHECK(eb > 1.29 && eb < 1.31);
  CHECK(cb_tune_estimate(&r, a60, 20) < eb);
  CHECK(cb_median(a60, 20) > eb); /* what ranking by the median got wrong */
  /* Few samples: q25 of 3 sits between the two lowest, one spike of three
   * does not move it past B. */
  const double three[] = {20.0, 1.0, 1.01};
  CHECK(cb_tune_estimate(&r, three, 3) < eb);
  CHECK_NEAR(cb_tune_estimate(&r, three, 0), 0, 0);
}

/* ---- a backend of its own: one right variant, one wrong and faster one --------- */

/* A tuner over one context on backend b, with ref to check against, and
 * rules that time few samples so that the test runs quickly. */
typedef struct planted_tuner {
  cb_ctx *ctx, *ref;
  cb_tuner t;
  cb_problem p; /* conv_fwd over the cb_conv it was opened with */
} planted_tuner;

static void planted_tuner_open(planted_tuner *pt, const cb_backend *b, cb_conv c) {
  pt->p = cb_problem_conv(CB_OP_CONV_FWD, c);
  CHECK(cb_ctx_open(b, 1, &pt->ctx) == CB_OK);
  CHECK(cb_ctx_open(cb_backend_find("ref"), 1, &pt->ref) == CB_OK);
  pt->t = (cb_tuner){.ctxs = &pt->ctx, .nctx = 1, .ref = pt->ref};
  cb_tune_rules_default(&pt->t.rules);
  pt->t.rules.min_samples = 3, pt->t.rules.min_ms = 0, pt->t.rules.flush_bytes = 0;
}

static void planted_tuner_close(planted_tuner *pt) {
  cb_ctx_close(pt->ctx);
  cb_ctx_close(pt->ref);
}

static const int tile_values[] = {4, 8, 16};
static const cb_param_def tile_param[] = {{"tile", tile_values, 3, 8}};

static const cb_variant right = {.name = "right",
                                 .op = CB_OP_CONV_FWD,
                                 .nparams = 1,
                                 .params = tile_param,
                                 .run = planted_right_run};
static const cb_variant wrong = {.name = "wrong", .op = CB_OP_CONV_FWD, .run = planted_wrong_run};
static const cb_variant *const fwd_variants[] = {&wrong, &right, NULL};
static const cb_backend planted = {PLANTED_BACKEND_FIELDS("planted", fwd_variants)};

static void test_planted(void) {
  planted_tuner pt;
  planted_tuner_open(
      &pt, &planted,
      (cb_conv){.n = 3, .c = 4, .h = 9, .w = 9, .k = 5, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1});
  cb_tune_outcome o;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  /* wrong at its one point, right at tile 8 (default), 4 and 16. */
  CHECK_EQ_INT(o.ncand, 4);
  int mismatches = 0;
  for (int i = 0; i < o.ncand; i++)
    if (o.cand[i].c.variant == &wrong) {
      CHECK_EQ_INT(o.cand[i].status, CB_CAND_MISMATCH);
      CHECK_EQ_INT(o.cand[i].t.samples, 0); /* never timed */
      mismatches++;
    }
  CHECK_EQ_INT(mismatches, 1);
  CHECK(o.winner >= 0);
  if (o.winner >= 0) CHECK(o.cand[o.winner].c.variant == &right);
  char name[160];
  cb_candidate_name(&o.cand[1].c, name, sizeof name);
  CHECK_EQ_STR(name, "planted/right[8]");
  cb_tune_outcome_free(&o);
  planted_tuner_close(&pt);
}

/* ---- the sweep screen: a clearly slower variant's parameters are not timed ------- */

/* 20 ms asleep after each run: a clear loser; `fast` takes microseconds. */
static cb_status slow_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                          const cb_args *args, void *ws) {
  return planted_slow_run(ctx, p, params, plan, args, ws, 20);
}

static const cb_variant slow = {
    .name = "slow", .op = CB_OP_CONV_FWD, .nparams = 1, .params = tile_param, .run = slow_run};
static const cb_variant fast = {.name = "fast", .op = CB_OP_CONV_FWD, .run = planted_right_run};
static const cb_variant *const sweep_variants[] = {&slow, &fast, NULL};
static const cb_backend sweeper = {PLANTED_BACKEND_FIELDS("sweeper", sweep_variants)};

static void test_sweep_screen(void) {
  planted_tuner pt;
  planted_tuner_open(
      &pt, &sweeper,
      (cb_conv){.n = 2, .c = 8, .h = 16, .w = 16, .k = 8, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1});
  cb_tune_outcome o;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  CHECK_EQ_INT(o.ncand, 4); /* slow at tile 8 (default), 4 and 16; fast */
  int untimed = 0;
  for (int i = 0; i < o.ncand; i++) {
    const cb_tune_candidate *k = &o.cand[i];
    if (k->c.variant != &slow) continue;
    CHECK_EQ_INT(k->status, CB_CAND_PRUNED);
    if (k->c.params[0] != 8) {
      /* its default was far behind: the other points never ran */
      CHECK_EQ_INT(k->t.samples, 0);
      CHECK(strstr(k->error, "default point") != NULL);
      untimed++;
    } else {
      CHECK(k->t.samples >= 1);
    }
  }
  CHECK_EQ_INT(untimed, 2);
  CHECK(o.winner >= 0 && o.cand[o.winner].c.variant == &fast);
  cb_tune_outcome_free(&o);

  /* sweep_ratio 0: every point is timed. */
  pt.t.rules.sweep_ratio = 0;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  for (int i = 0; i < o.ncand; i++) CHECK(o.cand[i].t.samples >= 1);
  cb_tune_outcome_free(&o);

  /* exhaustive: nothing dropped, every point to min_samples; same winner. */
  pt.t.rules.sweep_ratio = 1.3;
  pt.t.rules.exhaustive = true;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  for (int i = 0; i < o.ncand; i++) {
    CHECK_EQ_INT(o.cand[i].status, CB_CAND_OK);
    CHECK(o.cand[i].t.samples >= pt.t.rules.min_samples);
  }
  CHECK(o.winner >= 0 && o.cand[o.winner].c.variant == &fast);
  cb_tune_outcome_free(&o);
  planted_tuner_close(&pt);
}

/* ---- a fast but noisy library default against a slower clean candidate -------- */

/* The backend's default pick (its first variant): 2 ms, but 4 runs in 10
 * preempted to 25 ms. Its other point and the second variant: 2.6 ms
 * clean. Exhaustively measured, the default is 23% faster. */
static int spiky_runs;

static cb_status spiky_default_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                                   const cb_args *args, void *ws) {
  if (params[0] != 8) return planted_slow_run(ctx, p, params, plan, args, ws, 4); /* a loser */
  return planted_spiky_run(ctx, p, params, plan, args, ws, 2.0, 25.0, 4, &spiky_runs);
}

static int clean_runs;

static cb_status clean_slower_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                                  const cb_args *args, void *ws) {
  return planted_spiky_run(ctx, p, params, plan, args, ws, 2.6, 2.6, 0, &clean_runs);
}

static const cb_variant spiky_default = {.name = "spiky_default",
                                         .op = CB_OP_CONV_FWD,
                                         .nparams = 1,
                                         .params = tile_param,
                                         .run = spiky_default_run};
static const cb_variant clean_slower = {
    .name = "clean_slower", .op = CB_OP_CONV_FWD, .run = clean_slower_run};
static const cb_variant *const library_variants[] = {&spiky_default, &clean_slower, NULL};
static const cb_backend library = {PLANTED_BACKEND_FIELDS("library", library_variants)};

static void test_noisy_default(void) {
  planted_tuner pt;
  planted_tuner_open(
      &pt, &library,
      (cb_conv){.n = 1, .c = 2, .h = 5, .w = 5, .k = 2, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1});
  pt.t.rules = (cb_tune_rules){0};
  cb_tune_rules_default(&pt.t.rules); /* the shipped rules, but no flush */
  pt.t.rules.flush_bytes = 0;
  long runs0 = cb_time_runs();
  cb_tune_outcome o;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  CHECK(cb_time_runs() > runs0);
  int def = -1, clean = -1;
  for (int i = 0; i < o.ncand; i++) {
    if (o.cand[i].c.variant == &spiky_default && o.cand[i].c.params[0] == 8) def = i;
    if (o.cand[i].c.variant == &clean_slower) clean = i;
  }
  CHECK(def >= 0 && clean >= 0);
  if (def >= 0 && clean >= 0) {
    CHECK(o.cand[def].baseline);
    CHECK(!o.cand[clean].baseline);
    /* never dropped: the spikes never made it look behind with confidence */
    CHECK_EQ_INT(o.cand[def].status, CB_CAND_OK);
    CHECK(o.cand[def].t.samples >= pt.t.rules.min_samples);
    CHECK(o.cand[def].t.max > 20.0); /* it was preempted, as planted */
    CHECK_MSG(o.winner == def, "winner %d (%s), want the noisy default: est %.3f vs %.3f", o.winner,
              o.winner >= 0 ? o.cand[o.winner].c.variant->name : "-", o.cand[def].estimate,
              o.cand[clean].estimate);
    CHECK_EQ_INT(o.best_baseline, def);
    CHECK(o.cand[def].estimate < 2.5);
  }
  cb_tune_outcome_free(&o);
  planted_tuner_close(&pt);
}

/* ---- a tie ends the race ------------------------------------------------------------- */

/* Two clean variants 1% apart: a tie (within tie_ratio). With min_ms set so
 * high that each would otherwise need max_samples, the race must stop once
 * both have min_samples; with the tie rule off, it must not. */
static int tie_a_runs, tie_b_runs;

static cb_status tie_a_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *ws) {
  return planted_spiky_run(ctx, p, params, plan, args, ws, 2.0, 2.0, 0, &tie_a_runs);
}

static cb_status tie_b_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *ws) {
  return planted_spiky_run(ctx, p, params, plan, args, ws, 2.02, 2.02, 0, &tie_b_runs);
}

static const cb_variant tie_a = {.name = "tie_a", .op = CB_OP_CONV_FWD, .run = tie_a_run};
static const cb_variant tie_b = {.name = "tie_b", .op = CB_OP_CONV_FWD, .run = tie_b_run};
static const cb_variant *const tie_variants[] = {&tie_a, &tie_b, NULL};
static const cb_backend tie_backend = {PLANTED_BACKEND_FIELDS("ties", tie_variants)};

/* Samples the two candidates got with the tie rule at tie_ratio. */
static int tie_samples(double tie_ratio) {
  planted_tuner pt;
  planted_tuner_open(
      &pt, &tie_backend,
      (cb_conv){.n = 1, .c = 2, .h = 5, .w = 5, .k = 2, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1});
  cb_tune_rules_default(&pt.t.rules);
  pt.t.rules.flush_bytes = 0;
  pt.t.rules.min_ms = 1000; /* without a tie: until max_samples */
  pt.t.rules.max_samples = 40;
  pt.t.rules.tie_ratio = tie_ratio;
  cb_tune_outcome o;
  int most = 0;
  CHECK(cb_tune_problem(&pt.t, &pt.p, &o) == CB_OK);
  for (int i = 0; i < o.ncand; i++)
    if (o.cand[i].t.samples > most) most = o.cand[i].t.samples;
  CHECK(o.winner >= 0);
  cb_tune_outcome_free(&o);
  planted_tuner_close(&pt);
  return most;
}

static void test_tie(void) {
  int with = tie_samples(1.03), without = tie_samples(0);
  CHECK_MSG(with <= 12, "a 1%% tie ran to %d samples", with);
  CHECK_MSG(without >= 40, "with the tie rule off the race stopped at %d samples", without);
}

/* ---- a tuned net: each op from the chooser, misses from the heuristic ----------- */

static int calls;

/* Knows only conv_fwd problems: bwd_filter is a miss. */
static cb_status choose_fwd_only(void *user, const cb_problem *p, cb_choice *out) {
  (void)user;
  calls++;
  if (p->op != CB_OP_CONV_FWD) return CB_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  snprintf(out->backend, sizeof out->backend, "ref");
  snprintf(out->variant, sizeof out->variant, "direct");
  snprintf(out->source, sizeof out->source, "exact");
  return CB_OK;
}

static void test_tuned_net(void) {
  cb_netdef *nd;
  CHECK(cb_netdef_parse("t.net", "net input=2x6x6 batch=2\nconv name=c out=3 k=3\n", &nd) == CB_OK);
  static const char *const heuristic[] = {"ref", NULL};
  cb_net_opts o = {.threads = 1,
                   .seed = 1,
                   .choose = choose_fwd_only,
                   .heuristic = heuristic,
                   .check_only = true};
  cb_net *net = NULL;
  CHECK(cb_net_build(nd, &o, &net) == CB_OK);
  if (net) {
    const cb_layer *l = &net->layers[0];
    CHECK_EQ_INT(l->nbind, 3);
    CHECK_EQ_STR(l->bind[0].source, "exact");
    CHECK_EQ_STR(l->bind[2].source, "heuristic");
    CHECK_EQ_STR(l->bind[2].ctx->backend->name, "ref");
    CHECK_EQ_INT(calls, 3);
  }
  cb_net_free(net);
  cb_netdef_free(nd);
}

int main(void) {
  test_stats();
  test_estimator();
  test_planted();
  test_noisy_default();
  test_tie();
  test_sweep_screen();
  test_tuned_net();
  return cb_test_result();
}
