/* test_campaign.c: a tuning campaign over a small problem list into a
 * temporary database: the distinct problems, the events it reports, every
 * candidate's measurement row, the winner cached per problem, the counts
 * in its stats, a second campaign that finds everything cached, the budget
 * and Ctrl-C. A planted backend makes the winner certain: a wrong variant
 * (never chosen), a slow one (sleeps) and a fast one. */
#include "cache.h"
#include "campaign.h"
#include "cb_test.h"
#include "planted_backend.h"

#include <ftw.h>
#include <sqlite3.h>
#include <unistd.h>

/* ---- the planted backends ------------------------------------------------------ */

/* 5 ms asleep after each run: a clear loser however loaded the machine. */
static cb_status slow_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                          const cb_args *args, void *ws) {
  return planted_slow_run(ctx, p, params, plan, args, ws, 5);
}

static const cb_variant wrong = {.name = "wrong", .op = CB_OP_CONV_FWD, .run = planted_wrong_run};
static const cb_variant slow = {.name = "slow", .op = CB_OP_CONV_FWD, .run = slow_run};
static const cb_variant fast = {.name = "fast", .op = CB_OP_CONV_FWD, .run = planted_right_run};
static const cb_variant *const fwd_variants[] = {&wrong, &slow, &fast, NULL};
static const cb_backend planted = {PLANTED_BACKEND_FIELDS("planted", fwd_variants)};

static cb_status gone_init(cb_ctx *ctx) {
  (void)ctx;
  return cb_error(CB_ERR_UNAVAILABLE, "not installed");
}

static const cb_backend gone = {PLANTED_BACKEND_FIELDS("gone", fwd_variants), .init = gone_init};

static const cb_backend *const backends[] = {&gone, &planted, NULL};

/* A backend whose one kernel is preempted on 6 runs in 10 for problems of
 * 3 channels (its median is 10x its minimum: low confidence) and clean
 * otherwise. */
static int jitter_runs;

static cb_status jitter_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                            const cb_args *args, void *ws) {
  int spikes = p->conv.c == 3 ? 6 : 0;
  return planted_spiky_run(ctx, p, params, plan, args, ws, 1.0, 10.0, spikes, &jitter_runs);
}

static const cb_variant jitter = {.name = "jitter", .op = CB_OP_CONV_FWD, .run = jitter_run};
static const cb_variant *const jitter_variants[] = {&jitter, NULL};
static const cb_backend jittery = {PLANTED_BACKEND_FIELDS("jittery", jitter_variants)};
static const cb_backend *const jittery_only[] = {&jittery, NULL};

/* ---- fixtures ------------------------------------------------------------------------ */

static const char *const device_fp = "cpu:Test CPU:avx2:1c:1t";
static const char *const build_fp = "cccccccccccccccc";

static cb_problem conv(int64_t n, int64_t c) {
  cb_conv v = {.n = n, .c = c, .h = 8, .w = 8, .k = 4, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1};
  v.stride_h = v.stride_w = v.dil_h = v.dil_w = v.groups = 1;
  return cb_problem_conv(CB_OP_CONV_FWD, v);
}

/* The measurements rows by status, read in one query. */
typedef struct measured {
  int ok, pruned, mismatch, error, total;
} measured;

static measured count_measurements(cb_db *db) {
  measured m = {0};
  sqlite3_stmt *q;
  const char *sql = "SELECT status, count(*) FROM measurements GROUP BY status";
  CHECK(sqlite3_prepare_v2(cb_db_handle(db), sql, -1, &q, NULL) == SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *status = (const char *)sqlite3_column_text(q, 0);
    int n = sqlite3_column_int(q, 1);
    m.total += n;
    if (strcmp(status, "ok") == 0) m.ok = n;
    if (strcmp(status, "pruned") == 0) m.pruned = n;
    if (strcmp(status, "mismatch") == 0) m.mismatch = n;
    if (strcmp(status, "error") == 0) m.error = n;
  }
  sqlite3_finalize(q);
  return m;
}

/* Counts the cache rows, and those that are planted/fast measured here
 * with no runner-up (slow was pruned). */
typedef struct cache_rows {
  int n, fast;
} cache_rows;

static int count_cache_row(const cb_cache_entry *e, bool imported, const cb_cache_prov *prov,
                           void *user) {
  (void)prov;
  cache_rows *r = user;
  r->n++;
  r->fast += !imported && strcmp(e->backend, "planted") == 0 && strcmp(e->variant, "fast") == 0 &&
             e->runner_up[0] == '\0' && strcmp(e->device_fp, device_fp) == 0 &&
             strcmp(e->build_fp, build_fp) == 0;
  return 0;
}

/* What the campaign reported through its callback. */
typedef struct events {
  int unavailable, progress, tuned, done, done_cached;
  char unavailable_name[32];
} events;

static void on_event(void *user, const cb_campaign_event *ev) {
  events *e = user;
  switch (ev->kind) {
  case CB_CAMPAIGN_UNAVAILABLE:
    e->unavailable++;
    snprintf(e->unavailable_name, sizeof e->unavailable_name, "%s", ev->backend->name);
    break;
  case CB_CAMPAIGN_PROGRESS:
    e->progress++;
    break;
  case CB_CAMPAIGN_TUNED:
    e->tuned++;
    break;
  case CB_CAMPAIGN_DONE:
    e->done++;
    e->done_cached += ev->cached;
    CHECK(ev->out != NULL && ev->out->ncand == 3);
    break;
  }
}

static cb_campaign_opts options(int64_t run, events *ev, const volatile sig_atomic_t *stop) {
  cb_campaign_opts o = {.backends = backends,
                        .threads = 1,
                        .device = -1,
                        .run_id = run,
                        .device_fp = device_fp,
                        .build_fp = build_fp,
                        .stop = stop,
                        .event = on_event,
                        .event_user = ev};
  cb_tune_rules_default(&o.rules);
  o.rules.min_samples = 3, o.rules.min_ms = 0, o.rules.flush_bytes = 0;
  /* The winner is certain; a busy test machine must not leave it uncached. */
  o.rules.too_noisy = 1e9;
  return o;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

/* ---- the test -------------------------------------------------------------------------- */

/* Opens the database at dbpath with a test machine, build and a running
 * "tune" run (*run); NULL (after a failed check) when it cannot. */
static cb_db *open_tune_run(const char *dbpath, int64_t *run) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(dbpath, &db), CB_OK);
  if (!db) return NULL;
  cb_machine m = {.hostname = "node-1", .cpu_model = "Test CPU", .isa_level = "avx2", .cores = 1};
  snprintf(m.fingerprint, sizeof m.fingerprint, "cpu:Test CPU:avx2:1c");
  cb_build bd = {.git_rev = "0123abcd", .compiler = "cc"};
  snprintf(bd.fingerprint, sizeof bd.fingerprint, "%s", build_fp);
  int64_t mid = 0, bid = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &mid), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &bd, &bid), CB_OK);
  cb_run_rec r = {.machine_id = mid, .build_id = bid, .command = "t", .kind = "tune", .threads = 1};
  CHECK_EQ_INT(cb_db_run_begin(db, &r, run), CB_OK);
  return db;
}

static void test_campaign(const char *dbpath) {
  cb_problem_list ps = {0};
  cb_problem a = conv(1, 3), b = conv(2, 4);
  CHECK_EQ_INT(cb_problem_list_add(&ps, &a), CB_OK);
  CHECK_EQ_INT(cb_problem_list_add(&ps, &b), CB_OK);
  CHECK_EQ_INT(cb_problem_list_add(&ps, &a), CB_OK); /* a duplicate is dropped */
  CHECK_EQ_INT(ps.n, 2);

  int64_t run = 0;
  cb_db *db = open_tune_run(dbpath, &run);
  if (!db) return;

  /* The first campaign tunes both problems. A clock that fell while one
   * was measured (a busy machine) leaves it uncached: tune it again. */
  events ev = {0};
  cb_campaign_opts o = options(run, &ev, NULL);
  cb_campaign_stats st;
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(st.tuned, 2);
  CHECK_EQ_INT(st.already, 0);
  CHECK_EQ_INT(st.candidates, 6); /* wrong, slow, fast per problem */
  CHECK_EQ_INT(st.failed, 2);     /* wrong, per problem */
  CHECK_EQ_INT(st.skipped_budget, 0);
  CHECK_EQ_INT(ev.unavailable, 1);
  CHECK_EQ_STR(ev.unavailable_name, "gone");
  CHECK_EQ_INT(ev.tuned, 2);
  CHECK_EQ_INT(ev.done, 2);
  CHECK_EQ_INT(ev.done_cached, st.cached);
  int nmeasured = st.candidates, cached = st.cached;
  for (int retry = 0; retry < 3 && cached < 2; retry++) {
    CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
    nmeasured += st.candidates, cached += st.cached;
  }
  CHECK_EQ_INT(cached, 2);

  /* Every candidate has its row; each problem's winner is planted/fast. */
  measured mc = count_measurements(db);
  CHECK_EQ_INT(mc.total, nmeasured);
  CHECK_EQ_INT(mc.mismatch, nmeasured / 3); /* wrong */
  CHECK_EQ_INT(mc.pruned, nmeasured / 3);   /* slow */
  CHECK_EQ_INT(mc.ok, nmeasured / 3);       /* fast */
  CHECK_EQ_INT(mc.error, 0);
  cache_rows rows = {0};
  CHECK_EQ_INT(cb_db_cache_each(db, count_cache_row, &rows), CB_OK);
  CHECK_EQ_INT(rows.n, 2);
  CHECK_EQ_INT(rows.fast, 2);
  for (int i = 0; i < ps.n; i++) {
    cb_cache_entry e;
    cb_cache_source src = CB_CACHE_MISS;
    CHECK_EQ_INT(cb_cache_lookup(db, &ps.p[i], device_fp, build_fp, &e, &src), CB_OK);
    CHECK_EQ_INT(src, CB_CACHE_EXACT);
    CHECK_EQ_STR(e.backend, "planted");
    CHECK_EQ_STR(e.variant, "fast");
    CHECK_EQ_STR(e.key, ps.keys[i]);
    CHECK(e.timing.samples >= 3);
    CHECK(e.measurement_id > 0);
  }

  /* A second campaign finds both cached and tunes nothing. */
  ev = (events){0};
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(st.already, 2);
  CHECK_EQ_INT(st.tuned, 0);
  CHECK_EQ_INT(st.candidates, 0);
  CHECK_EQ_INT(ev.done, 0);
  CHECK_EQ_INT(count_measurements(db).total, nmeasured);

  /* --force with a spent budget starts nothing. */
  o.force = true;
  o.budget_s = 1e-9;
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(st.skipped_budget, 2);
  CHECK_EQ_INT(st.tuned, 0);

  /* Ctrl-C: interrupted, nothing recorded. */
  static volatile sig_atomic_t stop = 1;
  o = options(run, &ev, &stop);
  o.force = true;
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_ERR_INTERRUPTED);
  CHECK_EQ_INT(st.tuned, 0);
  CHECK_EQ_INT(count_measurements(db).total, nmeasured);

  /* No backend that opens: refused (when there is something to tune;
   * with everything cached nothing is opened at all). */
  static const cb_backend *const only_gone[] = {&gone, NULL};
  o = options(run, &ev, NULL);
  o.backends = only_gone;
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(st.already, 2);
  o.force = true;
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_ERR_UNAVAILABLE);

  cb_db_close(db);
  cb_problem_list_free(&ps);
  CHECK_EQ_INT(ps.n, 0);
}

/* A noisy winner is cached, with low confidence and why; a warm re-tune
 * times nothing at all; --retune-noisy re-times only the low entry. */
static void test_confidence(const char *dbpath) {
  cb_problem_list ps = {0};
  cb_problem noisy = conv(1, 3), clean = conv(1, 5);
  CHECK_EQ_INT(cb_problem_list_add(&ps, &noisy), CB_OK);
  CHECK_EQ_INT(cb_problem_list_add(&ps, &clean), CB_OK);
  int64_t run = 0;
  cb_db *db = open_tune_run(dbpath, &run);
  if (!db) return;

  events ev = {0};
  cb_campaign_opts o = options(run, &ev, NULL);
  o.backends = jittery_only;
  o.event = NULL;
  o.rules.min_samples = 10; /* 6 of them preempted, 4 clean */
  cb_campaign_stats st;
  long runs0 = cb_time_runs();
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK(cb_time_runs() > runs0);
  CHECK_EQ_INT(st.tuned, 2);
  CHECK_EQ_INT(st.cached, 2); /* always, the noisy one too */
  CHECK(st.low >= 1);
  cb_cache_entry e;
  cb_cache_source src = CB_CACHE_MISS;
  CHECK_EQ_INT(cb_cache_lookup(db, &noisy, device_fp, build_fp, &e, &src), CB_OK);
  CHECK_EQ_INT(src, CB_CACHE_EXACT);
  CHECK_EQ_STR(e.confidence, "low");
  CHECK_MSG(strstr(e.confidence_why, "preempted") != NULL, "why: %s", e.confidence_why);
  CHECK(e.timing.samples >= o.rules.min_samples);
  CHECK(e.estimate > 0.9 && e.estimate < 5.0); /* q25: the kernel, not the spikes */
  CHECK(e.timing.median > 5.0);                /* the median is the machine's */
  CHECK(e.load >= 0);
  CHECK_EQ_INT(cb_cache_lookup(db, &clean, device_fp, build_fp, &e, &src), CB_OK);
  /* The clean one may still be low on a busy test machine; force it high
   * so the re-tune below has exactly one low entry. */
  if (strcmp(e.confidence, "high") != 0) {
    snprintf(e.confidence, sizeof e.confidence, "high");
    e.confidence_why[0] = '\0';
    CHECK_EQ_INT(cb_cache_put(db, &e), CB_OK);
  }

  /* Warm: every problem cached, nothing opened, nothing timed. */
  runs0 = cb_time_runs();
  o.backends = backends; /* "gone" would report itself if anything were opened */
  o.event = on_event;
  ev = (events){0};
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(cb_time_runs(), runs0);
  CHECK_EQ_INT(st.already, 2);
  CHECK_EQ_INT(st.tuned, 0);
  CHECK_EQ_INT(ev.unavailable, 0);
  CHECK_EQ_INT(ev.progress, 0);

  /* --retune-noisy: only the low entry is timed again. */
  o.backends = jittery_only;
  o.event = NULL;
  o.retune_noisy = true;
  int jitter0 = jitter_runs;
  runs0 = cb_time_runs();
  CHECK_EQ_INT(cb_campaign_run(db, &o, &ps, &st), CB_OK);
  CHECK_EQ_INT(st.tuned, 1);
  CHECK_EQ_INT(st.retuned, 1);
  CHECK_EQ_INT(st.already, 1);
  CHECK(cb_time_runs() > runs0);
  CHECK(jitter_runs > jitter0);
  CHECK_EQ_INT(cb_cache_lookup(db, &noisy, device_fp, build_fp, &e, &src), CB_OK);
  CHECK_EQ_STR(e.confidence, "low"); /* still preempted, as planted; cached anew */

  cb_db_close(db);
  cb_problem_list_free(&ps);
}

int main(void) {
  char dir[] = "/tmp/cb_campaign_XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/campaign.db", dir);
  test_campaign(path);
  snprintf(path, sizeof path, "%s/confidence.db", dir);
  test_confidence(path);
  nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  return cb_test_result();
}
