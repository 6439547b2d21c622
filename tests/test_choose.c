/* test_choose.c: the chooser: the heuristic table's order, the fixed rule
 * and its ref fallback, and the tuned rule on a real (temporary) tune
 * cache: exact before borrowed, and a cached choice this build cannot run
 * falling back to the heuristic with the source string that says why. */
#include "cb_test.h"
#include "choose.h"

#include <unistd.h>

static char dbpath[256];

#define DEVICE   "cpu:Test CPU 9000:avx2:4c:2t"
#define DEVICE4T "cpu:Test CPU 9000:avx2:4c:4t" /* same generation, other threads */
#define BUILD    "bbbbbbbbbbbbbbbb"

/* ---- contexts: the pool a net would keep ------------------------------------------ */

typedef struct pool {
  int n;
  cb_ctx *ctx[16];
} pool;

static cb_ctx *pool_open(void *user, const char *name) {
  pool *pl = user;
  for (int i = 0; i < pl->n; i++)
    if (strcmp(pl->ctx[i]->backend->name, name) == 0) return pl->ctx[i];
  const cb_backend *b = cb_backend_find(name);
  cb_ctx *ctx;
  if (!b || pl->n == 16 || cb_ctx_open(b, 1, &ctx) != CB_OK) return NULL;
  return pl->ctx[pl->n++] = ctx;
}

static void pool_close(pool *pl) {
  for (int i = 0; i < pl->n; i++) cb_ctx_close(pl->ctx[i]);
  pl->n = 0;
}

/* A conv_fwd problem with an r x r filter (batch n tells problems apart). */
static cb_problem conv(int64_t n, int64_t r) {
  cb_conv c = {.n = n, .c = 3, .h = 12, .w = 12, .k = 4, .r = r, .s = r};
  c.stride_h = c.stride_w = c.dil_h = c.dil_w = c.groups = 1;
  return cb_problem_conv(CB_OP_CONV_FWD, c);
}

/* ---- the heuristic table ------------------------------------------------------------ */

static void test_table(void) {
  static const char *const want[] = {"onednn", "cpu", "openblas", "fftw", NULL};
  for (int op = 0; op < CB_OP_COUNT; op++) {
    const char *const *got = cb_heuristic_backends((cb_op)op);
    int i = 0;
    for (; want[i] && got[i]; i++) CHECK_EQ_STR(got[i], want[i]);
    CHECK_MSG(!want[i] && !got[i], "op %s: the list has %s entries", cb_op_name((cb_op)op),
              got[i] ? "more" : "fewer");
  }
  CHECK(cb_heuristic_backends(CB_OP_COUNT)[0] == NULL);
}

/* ---- the fixed rule -------------------------------------------------------------------- */

static void test_fixed(pool *pl) {
  cb_ctx *ref = pool_open(pl, "ref"), *cpu = pool_open(pl, "cpu");
  CHECK(ref && cpu);
  if (!ref || !cpu) return;
  cb_problem p = conv(1, 3);
  cb_pick k;
  CHECK_EQ_INT(cb_choose_fixed(cpu, ref, &p, &k), CB_OK);
  CHECK(k.ctx == cpu && k.variant == cb_first_supporting(cpu, &p) && !k.fallback);
  CHECK_EQ_STR(k.source, "");
  /* No usable backend: ref, marked fallback. */
  CHECK_EQ_INT(cb_choose_fixed(NULL, ref, &p, &k), CB_OK);
  CHECK(k.ctx == ref && k.fallback);
  CHECK_EQ_STR(k.variant->name, "direct");
  /* ref asked for by name is no fallback. */
  CHECK_EQ_INT(cb_choose_fixed(ref, ref, &p, &k), CB_OK);
  CHECK(k.ctx == ref && !k.fallback);
  /* Nothing at all: an error naming the problem. */
  char key[CB_KEY_MAX], want[CB_KEY_MAX + 64];
  cb_problem_key(&p, key, sizeof key);
  snprintf(want, sizeof want, "no variant of (none) supports %s", key);
  CHECK_EQ_INT(cb_choose_fixed(NULL, NULL, &p, &k), CB_ERR_UNSUPPORTED);
  CHECK_EQ_STR(cb_errmsg(), want);
}

/* ---- the tuned rule on a tune cache ------------------------------------------------- */

/* Stores a local winner for p as tune would: its measurement first. */
static void put(cb_db *db, int64_t run, const cb_problem *p, const char *device,
                const char *backend, const char *variant, int nparams, const int *params) {
  cb_measurement_rec m = {.run_id = run,
                          .problem = p,
                          .device_fp = device,
                          .build_fp = BUILD,
                          .threads = 2,
                          .backend = backend,
                          .variant = variant,
                          .params = "",
                          .status = "ok",
                          .t = {1, 1, 1, 0, 3},
                          .gflops = 1};
  cb_cache_entry e = {.nparams = nparams, .timing = {1, 1, 1, 0, 3}};
  CHECK_EQ_INT(cb_db_put_measurement(db, &m, &e.measurement_id), CB_OK);
  if (nparams > 0) memcpy(e.params, params, (size_t)nparams * sizeof *params);
  cb_problem_key(p, e.key, sizeof e.key);
  snprintf(e.device_fp, sizeof e.device_fp, "%s", device);
  snprintf(e.build_fp, sizeof e.build_fp, "%s", BUILD);
  snprintf(e.backend, sizeof e.backend, "%s", backend);
  snprintf(e.variant, sizeof e.variant, "%s", variant);
  CHECK_MSG(cb_cache_put(db, &e) == CB_OK, "put %s/%s: %s", backend, variant, cb_errmsg());
}

static cb_db *open_db(int64_t *run) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(dbpath, &db), CB_OK);
  if (!db) return NULL;
  cb_machine m = {.hostname = "h", .cpu_model = "Test CPU 9000", .isa_level = "avx2", .cores = 4};
  snprintf(m.fingerprint, sizeof m.fingerprint, "cpu:Test CPU 9000:avx2:4c");
  cb_build b = {.git_rev = "0123abcd", .fingerprint = BUILD};
  /* Local cache entries need the measurement, run, machine and build. */
  cb_run_rec r = {.command = "choose", .kind = "tune", .threads = 2};
  CHECK_MSG(cb_db_put_machine(db, &m, &r.machine_id) == CB_OK &&
                cb_db_put_build(db, &b, &r.build_id) == CB_OK &&
                cb_db_run_begin(db, &r, run) == CB_OK,
            "%s", cb_errmsg());
  return db;
}

/* The tuned rule's answer for p: *k filled, CB_OK checked. */
static void choose(const cb_chooser *c, const cb_problem *p, cb_pick *k) {
  cb_status st = cb_choose(c, p, k);
  CHECK_MSG(st == CB_OK, "cb_choose: %s", cb_errmsg());
  if (st != CB_OK) memset(k, 0, sizeof *k);
}

static void check_pick(const cb_pick *k, const char *backend, const char *variant,
                       const char *source) {
  CHECK_EQ_STR(k->ctx ? k->ctx->backend->name : "(none)", backend);
  CHECK_EQ_STR(k->variant ? k->variant->name : "(none)", variant);
  CHECK_EQ_STR(k->source, source);
}

/* The table's answer for p in this build, found without the chooser: the
 * first listed backend that opens and has a supporting variant. */
static const cb_variant *table_answer(pool *pl, const cb_problem *p, cb_ctx **ctx) {
  for (const char *const *n = cb_heuristic_backends(p->op); *n; n++) {
    *ctx = cb_backend_find(*n) ? pool_open(pl, *n) : NULL;
    const cb_variant *v = cb_first_supporting(*ctx, p);
    if (v) return v;
  }
  *ctx = pool_open(pl, "ref");
  return cb_first_supporting(*ctx, p);
}

static void test_tuned(pool *pl) {
  int64_t run = 0;
  cb_db *db = open_db(&run);
  cb_ctx *cpu = pool_open(pl, "cpu");
  if (!db || !cpu) {
    CHECK(db && cpu);
    cb_db_close(db);
    return;
  }
  cb_cache_chooser cache = {db, DEVICE, BUILD};
  static const char *const only_ref[] = {"ref", NULL};
  cb_chooser c = {.lookup = cb_choose_cached,
                  .lookup_user = &cache,
                  .heuristic = only_ref,
                  .open = pool_open,
                  .open_user = pl,
                  .ref = pool_open(pl, "ref")};
  cb_pick k;

  /* A miss: the heuristic. */
  cb_problem p = conv(1, 3);
  choose(&c, &p, &k);
  check_pick(&k, "ref", "direct", "heuristic");

  /* The same generation on another thread count: borrowed... */
  put(db, run, &p, DEVICE4T, "ref", "direct", 0, NULL);
  choose(&c, &p, &k);
  check_pick(&k, "ref", "direct", "borrowed");
  /* ... until this very device has its own entry: exact first. */
  const cb_variant *v = cb_first_supporting(cpu, &p);
  int params[CB_MAX_PARAMS];
  cb_variant_default_params(v, params);
  put(db, run, &p, DEVICE, "cpu", v->name, v->nparams, params);
  choose(&c, &p, &k);
  check_pick(&k, "cpu", v->name, "exact");
  CHECK(memcmp(k.params, params, sizeof params) == 0);

  /* A backend this build lacks: the heuristic table (no override) decides. */
  cb_problem q = conv(2, 3);
  put(db, run, &q, DEVICE, "nosuch", "direct", 0, NULL);
  c.heuristic = NULL;
  cb_ctx *want_ctx = NULL;
  const cb_variant *want = table_answer(pl, &q, &want_ctx);
  choose(&c, &q, &k);
  check_pick(&k, want_ctx->backend->name, want->name,
             "heuristic (cached choice not in this build)");
  c.heuristic = only_ref;

  /* A variant with another parameter count is not the one cached. */
  cb_problem r = conv(3, 3);
  put(db, run, &r, DEVICE, "cpu", v->name, v->nparams + 1, params);
  choose(&c, &r, &k);
  check_pick(&k, "ref", "direct", "heuristic (cached choice not in this build)");

  /* A variant whose supports() refuses the problem: Winograd on 5x5. */
  cb_problem s = conv(4, 5);
  const cb_variant *wino = cb_variant_find(cpu->backend, CB_OP_CONV_FWD, "winograd_f4x3");
  CHECK(wino != NULL);
  if (wino) {
    cb_variant_default_params(wino, params);
    put(db, run, &s, DEVICE, "cpu", wino->name, wino->nparams, params);
    choose(&c, &s, &k);
    check_pick(&k, "ref", "direct", "heuristic (cached choice unsupported)");
  }

  /* Without a cache at all: the heuristic. */
  c.lookup = NULL;
  choose(&c, &p, &k);
  check_pick(&k, "ref", "direct", "heuristic");
  cb_db_close(db);
}

int main(void) {
  const char *base = getenv("TMPDIR");
  snprintf(dbpath, sizeof dbpath, "%s/cb_test_choose.%ld.db", base && *base ? base : "/tmp",
           (long)getpid());
  pool pl = {0};
  test_table();
  test_fixed(&pl);
  test_tuned(&pl);
  pool_close(&pl);
  static const char *const suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    char path[300];
    snprintf(path, sizeof path, "%s%s", dbpath, suffix[i]);
    unlink(path);
  }
  return cb_test_result();
}
