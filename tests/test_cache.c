/* test_cache.c: the autotuner's data layer: device fingerprints and
 * generations, the cache's lookup order, put, export / clear / import,
 * refusal of malformed exports, measurement rows, transactions, and two
 * processes writing one database at once.
 *
 * Rows are read back with plain SQL where the columns matter, so a value
 * written to the wrong column or dropped shows. */
#include "cache.h"
#include "cb_test.h"
#include "db_fixture.h"
#include "jsonl.h"
#include "machine.h"

#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixtures ---------------------------------------------------------------------- */

static const char *const dev2t = "cpu:Test CPU 9000:avx2:4c:2t";
static const char *const dev4t = "cpu:Test CPU 9000:avx2:4c:4t";
static const char *const dev_other = "cpu:Other CPU:avx2:4c:2t"; /* another generation */
static const char *const build_a = "aaaaaaaaaaaaaaaa";
static const char *const build_b = "bbbbbbbbbbbbbbbb";

static cb_problem conv_problem(int64_t n) {
  cb_conv c = {.n = n, .c = 3, .h = 32, .w = 32, .k = 16, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1};
  c.stride_h = c.stride_w = c.dil_h = c.dil_w = c.groups = 1;
  return cb_problem_conv(CB_OP_CONV_FWD, c);
}

static void key_of(const cb_problem *p, char *key) {
  cb_problem_key(p, key, CB_KEY_MAX);
}

/* Opens path and records a machine, a build and a run; *run gets its id. */
static cb_db *open_with_run(const char *path, int64_t *run) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(path, &db), CB_OK);
  if (!db) {
    fprintf(stderr, "open %s: %s\n", path, cb_errmsg());
    return NULL;
  }
  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:4c");
  cb_build b = {.git_rev = "0123abcd", .compiler = "GNU 12.2.0", .fingerprint = "aaaaaaaaaaaaaaaa"};
  int64_t mid = 0, bid = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &mid), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &b, &bid), CB_OK);
  cb_run_rec r = {.machine_id = mid, .build_id = bid, .command = "t", .kind = "tune", .threads = 2};
  CHECK_EQ_INT(cb_db_run_begin(db, &r, run), CB_OK);
  return db;
}

/* A measurement of p on (device, build) with everything else plain. */
static cb_measurement_rec plain_measurement(int64_t run, const cb_problem *p, const char *device,
                                            const char *build, const char *variant) {
  return (cb_measurement_rec){.run_id = run,
                              .problem = p,
                              .device_fp = device,
                              .build_fp = build,
                              .threads = 2,
                              .backend = "cpu",
                              .variant = variant,
                              .params = "16,4",
                              .status = "ok",
                              .max_rel_err = 0,
                              .t = {1.5, 1.25, 2.0, 0.125, 12},
                              .gflops = 10};
}

/* A local winner for p on (device, build), recorded with its measurement
 * as tune would; returns the entry as put. */
static cb_cache_entry put_winner(cb_db *db, int64_t run, const cb_problem *p, const char *device,
                                 const char *build, const char *variant, double median,
                                 const char *measured) {
  cb_measurement_rec m = plain_measurement(run, p, device, build, variant);
  cb_cache_entry e = {.nparams = 2, .params = {16, 4}};
  CHECK_EQ_INT(cb_db_put_measurement(db, &m, &e.measurement_id), CB_OK);
  key_of(p, e.key);
  snprintf(e.device_fp, sizeof e.device_fp, "%s", device);
  snprintf(e.build_fp, sizeof e.build_fp, "%s", build);
  snprintf(e.backend, sizeof e.backend, "cpu");
  snprintf(e.variant, sizeof e.variant, "%s", variant);
  e.timing = (cb_timing){median, median * 0.75, median * 2, median / 8, 12};
  snprintf(e.runner_up, sizeof e.runner_up, "cpu/direct[8]");
  e.runner_up_median = median * 1.5;
  snprintf(e.measured, sizeof e.measured, "%s", measured);
  CHECK_MSG(cb_cache_put(db, &e) == CB_OK, "put %s: %s", variant, cb_errmsg());
  snprintf(e.origin, sizeof e.origin, "local");
  return e;
}

/* Every field of two entries equal (origin and measurement_id when asked). */
static void check_same_entry(const cb_cache_entry *got, const cb_cache_entry *want,
                             bool with_origin) {
  CHECK_EQ_STR(got->confidence, want->confidence);
  CHECK_EQ_STR(got->confidence_why, want->confidence_why);
  CHECK_NEAR(got->estimate, want->estimate, 0);
  CHECK_EQ_STR(got->key, want->key);
  CHECK_EQ_STR(got->device_fp, want->device_fp);
  CHECK_EQ_STR(got->build_fp, want->build_fp);
  CHECK_EQ_STR(got->backend, want->backend);
  CHECK_EQ_STR(got->variant, want->variant);
  CHECK_EQ_INT(got->nparams, want->nparams);
  for (int i = 0; i < want->nparams; i++) CHECK_EQ_INT(got->params[i], want->params[i]);
  /* Exactly: exports must read back to the same doubles. */
  CHECK(got->timing.median == want->timing.median);
  CHECK(got->timing.min == want->timing.min);
  CHECK(got->timing.max == want->timing.max);
  CHECK(got->timing.mad == want->timing.mad);
  CHECK_EQ_INT(got->timing.samples, want->timing.samples);
  CHECK_EQ_STR(got->runner_up, want->runner_up);
  CHECK(got->runner_up_median == want->runner_up_median);
  CHECK_EQ_STR(got->measured, want->measured);
  if (with_origin) {
    CHECK_EQ_STR(got->origin, want->origin);
    CHECK_EQ_INT(got->measurement_id, want->measurement_id);
  }
}

/* ---- fingerprints -------------------------------------------------------------------- */

static void check_generation(const char *fp, const char *want) {
  char gen[160], again[160];
  cb_device_generation(fp, gen, sizeof gen);
  CHECK_EQ_STR(gen, want);
  cb_device_generation(gen, again, sizeof again); /* a generation is its own generation */
  CHECK_EQ_STR(again, want);
}

static void test_fingerprints(void) {
  cb_machine m = fake_machine("cpu:AMD EPYC 9B45:avx512:2c");
  char a[160], b[160];
  cb_device_fingerprint(&m, 2, a, sizeof a);
  cb_device_fingerprint(&m, 2, b, sizeof b);
  CHECK_EQ_STR(a, "cpu:AMD EPYC 9B45:avx512:2c:2t");
  CHECK_EQ_STR(b, a);
  cb_device_fingerprint(&m, 16, a, sizeof a);
  CHECK_EQ_STR(a, "cpu:AMD EPYC 9B45:avx512:2c:16t");

  check_generation("cpu:AMD EPYC 9B45:avx512:2c:2t", "cpu:AMD EPYC 9B45:avx512");
  check_generation("cpu:AMD EPYC 9B45:avx512:96c:192t", "cpu:AMD EPYC 9B45:avx512");
  check_generation("cpu:AMD EPYC 9B45:avx2:2c:2t", "cpu:AMD EPYC 9B45:avx2");
  check_generation("gpu:NVIDIA H100 80GB HBM3:sm_90:132sm", "gpu:NVIDIA H100 80GB HBM3:sm_90");
  check_generation("gpu:NVIDIA H100 80GB HBM3:sm_90:114sm:8t", "gpu:NVIDIA H100 80GB HBM3:sm_90");
  check_generation("tpu:v5e:x:y", "tpu:v5e:x:y"); /* unknown kinds borrow nothing */
  check_generation("cpu:Lone", "cpu:Lone");
  check_generation("", "");
  cb_device_generation("cpu:AMD EPYC 9B45:avx512:2c:2t", a, 8); /* cut to the buffer */
  CHECK_EQ_STR(a, "cpu:AMD");

  /* The real machine: a fingerprint with threads, stable across probes. */
  cb_machine real, real2;
  CHECK_EQ_INT(cb_machine_probe(&real), CB_OK);
  CHECK_EQ_INT(cb_machine_probe(&real2), CB_OK);
  cb_device_fingerprint(&real, 3, a, sizeof a);
  cb_device_fingerprint(&real2, 3, b, sizeof b);
  CHECK_EQ_STR(a, b);
  char want[300];
  snprintf(want, sizeof want, "cpu:%s:%s:%dc:3t", real.cpu_model, real.isa_level, real.cores);
  if (!strchr(real.cpu_model, ':')) CHECK_EQ_STR(a, want);
  cb_device_generation(a, b, sizeof b);
  snprintf(want, sizeof want, "cpu:%s:%s", real.cpu_model, real.isa_level);
  if (!strchr(real.cpu_model, ':')) CHECK_EQ_STR(b, want);
  printf("this device: %s, generation %s\n", a, b);

  CHECK_EQ_STR(cb_cache_source_name(CB_CACHE_MISS), "miss");
  CHECK_EQ_STR(cb_cache_source_name(CB_CACHE_EXACT), "exact");
  CHECK_EQ_STR(cb_cache_source_name(CB_CACHE_IMPORTED), "imported");
  CHECK_EQ_STR(cb_cache_source_name(CB_CACHE_BORROWED), "borrowed");
}

/* ---- lookup ---------------------------------------------------------------------------- */

static void expect_lookup(cb_db *db, const cb_problem *p, const char *device, const char *build,
                          cb_cache_source want_source, const char *want_variant) {
  cb_cache_entry e;
  cb_cache_source src = CB_CACHE_EXACT;
  CHECK_EQ_INT(cb_cache_lookup(db, p, device, build, &e, &src), CB_OK);
  CHECK_EQ_STR(cb_cache_source_name(src), cb_cache_source_name(want_source));
  CHECK_EQ_STR(e.variant, want_variant);
}

/* An imported entry for p on (device, build), stored as import does. */
static cb_cache_entry put_imported(cb_db *db, const cb_problem *p, const char *device,
                                   const char *build, const char *variant) {
  cb_cache_entry e = {.nparams = 1, .params = {32}};
  key_of(p, e.key);
  snprintf(e.device_fp, sizeof e.device_fp, "%s", device);
  snprintf(e.build_fp, sizeof e.build_fp, "%s", build);
  snprintf(e.backend, sizeof e.backend, "cpu");
  snprintf(e.variant, sizeof e.variant, "%s", variant);
  e.timing = (cb_timing){3, 2, 4, 0.5, 20};
  snprintf(e.origin, sizeof e.origin, "imported from x.jsonl (host far, measured then)");
  snprintf(e.measured, sizeof e.measured, "2023-06-01T00:00:00.000Z");
  cb_cache_prov prov = {"far", "Test CPU 9000", "avx2", 4, "feedbeef"};
  char gen[160];
  cb_device_generation(device, gen, sizeof gen);
  CHECK_EQ_INT(cb_db_cache_put(db, &e, gen, true, &prov), CB_OK);
  return e;
}

static void test_lookup(void) {
  int64_t run = 0;
  cb_db *db = open_with_run(tmp_path("lookup.db"), &run);
  if (!db) return;
  cb_problem p = conv_problem(8), q = conv_problem(16);
  cb_cache_entry e;
  cb_cache_source src = CB_CACHE_EXACT;

  /* Nothing yet: a miss, not an error, and an empty answer. */
  CHECK_EQ_INT(cb_cache_lookup(db, &p, dev2t, build_a, &e, &src), CB_OK);
  CHECK_EQ_INT(src, CB_CACHE_MISS);
  CHECK_EQ_STR(e.key, "");

  /* Another thread count, same build: borrowed. */
  put_winner(db, run, &p, dev4t, build_a, "v_4t", 1.0, "2024-01-01T00:00:00.000Z");
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_BORROWED, "v_4t");
  CHECK_EQ_INT(cb_cache_lookup(db, &p, dev2t, build_a, &e, &src), CB_OK);
  CHECK_EQ_STR(e.device_fp, dev4t); /* says whose it is */
  /* Another build, same device, measured later: the newest is borrowed. */
  put_winner(db, run, &p, dev2t, build_b, "v_build_b", 1.0, "2024-02-01T00:00:00.000Z");
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_BORROWED, "v_build_b");
  /* Another generation, newer still: never borrowed. */
  put_winner(db, run, &p, dev_other, build_a, "v_other", 1.0, "2025-01-01T00:00:00.000Z");
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_BORROWED, "v_build_b");
  expect_lookup(db, &p, "cpu:Third CPU:avx2:4c:2t", build_a, CB_CACHE_MISS, "");
  /* Another problem: a miss. */
  expect_lookup(db, &q, dev2t, build_a, CB_CACHE_MISS, "");

  /* An imported entry for this very device and build beats borrowing... */
  cb_cache_entry imp = put_imported(db, &p, dev2t, build_a, "v_imported");
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_IMPORTED, "v_imported");
  CHECK_EQ_INT(cb_cache_lookup(db, &p, dev2t, build_a, &e, &src), CB_OK);
  check_same_entry(&e, &imp, true);
  /* ... and a local one beats both, read back whole. */
  cb_cache_entry loc = put_winner(db, run, &p, dev2t, build_a, "v_exact", 0.1, "");
  CHECK_EQ_INT(cb_cache_lookup(db, &p, dev2t, build_a, &e, &src), CB_OK);
  CHECK_EQ_INT(src, CB_CACHE_EXACT);
  snprintf(loc.measured, sizeof loc.measured, "%s", e.measured); /* empty: stored as now */
  CHECK_EQ_INT(strlen(e.measured), 24);
  check_same_entry(&e, &loc, true);

  /* Putting again replaces the local entry (one row), not the imported one. */
  put_winner(db, run, &p, dev2t, build_a, "v_exact_2", 0.2, "2024-03-01T00:00:00.000Z");
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_EXACT, "v_exact_2");
  CHECK_EQ_INT(sql_int(cb_db_handle(db),
                       "SELECT count(*) FROM tune_cache WHERE source = 'local' AND device_fp"
                       " = 'cpu:Test CPU 9000:avx2:4c:2t' AND build_fp = 'aaaaaaaaaaaaaaaa'"),
               1);
  CHECK_EQ_INT(
      sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache WHERE source = 'imported'"), 1);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 5);

  /* Refusals, with reasons. */
  cb_cache_entry bad = loc;
  bad.timing.median = -1;
  CHECK_EQ_INT(cb_cache_put(db, &bad), CB_ERR_INVALID);
  char want[512];
  snprintf(want, sizeof want, "cache entry for %s: the timings must be finite and >= 0", loc.key);
  CHECK_EQ_STR(cb_errmsg(), want);
  bad = loc;
  bad.measurement_id = 0;
  CHECK_EQ_INT(cb_cache_put(db, &bad), CB_ERR_INVALID);
  snprintf(want, sizeof want,
           "cache entry for %s: a local entry needs the measurement it came from", loc.key);
  CHECK_EQ_STR(cb_errmsg(), want);
  bad = loc;
  bad.measurement_id = 999999; /* no such measurement */
  CHECK_EQ_INT(cb_cache_put(db, &bad), CB_ERR_DB);
  CHECK_MSG(strstr(cb_errmsg(), "FOREIGN KEY") && strstr(cb_errmsg(), "lookup.db"), "%s",
            cb_errmsg());
  bad = loc;
  snprintf(bad.variant, sizeof bad.variant, "%s", "");
  CHECK_EQ_INT(cb_cache_put(db, &bad), CB_ERR_INVALID);
  snprintf(want, sizeof want, "cache entry for %s: variant is empty", loc.key);
  CHECK_EQ_STR(cb_errmsg(), want);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 5);
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_EXACT, "v_exact_2");
  cb_db_close(db);
}

/* ---- export, clear, import --------------------------------------------------------------- */

typedef struct rows {
  int n;
  cb_cache_entry e[16];
  cb_cache_prov prov[16];
  bool imported[16];
} rows;

static int collect(const cb_cache_entry *e, bool imported, const cb_cache_prov *prov, void *user) {
  rows *r = user;
  if (r->n == 16) return 1;
  r->e[r->n] = *e;
  r->prov[r->n] = *prov;
  r->imported[r->n++] = imported;
  return 0;
}

static int count_entries(const cb_cache_entry *e, void *user) {
  (void)e;
  ++*(int *)user;
  return 0;
}

/* The file's lines (at most 16, each up to 4 KiB) and how many. */
static int read_lines(const char *path, char lines[][4096], int max) {
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  if (!f) return 0;
  int n = 0;
  while (n < max && fgets(lines[n], 4096, f)) n++;
  fclose(f);
  return n;
}

/* cb_db_cache_generation_known: false on an empty cache, true for the
 * generation of a row, false for another generation, and answered by the
 * index of migration 7 rather than a scan of tune_cache. */
static void test_generation_known(void) {
  int64_t run = 0;
  cb_db *db = open_with_run(tmp_path("generation.db"), &run);
  if (!db) return;
  char gen[160], other[160];
  cb_device_generation(dev2t, gen, sizeof gen);
  cb_device_generation(dev_other, other, sizeof other);
  bool found = true;
  CHECK_EQ_INT(cb_db_cache_generation_known(db, gen, &found), CB_OK);
  CHECK(!found);

  cb_problem p = conv_problem(1);
  put_winner(db, run, &p, dev2t, build_a, "v_2t", 1.0, "2024-01-01T00:00:00.000Z");
  found = false;
  CHECK_EQ_INT(cb_db_cache_generation_known(db, gen, &found), CB_OK);
  CHECK(found);
  /* Another thread count of the same CPU is the same generation. */
  char gen4[160];
  cb_device_generation(dev4t, gen4, sizeof gen4);
  found = false;
  CHECK_EQ_INT(cb_db_cache_generation_known(db, gen4, &found), CB_OK);
  CHECK(found);
  found = true;
  CHECK_EQ_INT(cb_db_cache_generation_known(db, other, &found), CB_OK);
  CHECK(!found);
  found = true;
  CHECK_EQ_INT(cb_db_cache_generation_known(db, "", &found), CB_OK);
  CHECK(!found);

  /* The plan of the same query names the index. */
  sqlite3_stmt *s = NULL;
  CHECK(sqlite3_prepare_v2(cb_db_handle(db),
                           "EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM tune_cache"
                           " WHERE device_generation = 'x' LIMIT 1)",
                           -1, &s, NULL) == SQLITE_OK);
  bool indexed = false;
  while (s && sqlite3_step(s) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(s, 3);
    if (detail && strstr(detail, "tune_cache_device_generation")) indexed = true;
  }
  sqlite3_finalize(s);
  CHECK(indexed);
  cb_db_close(db);
}

static void test_roundtrip(void) {
  int64_t run = 0;
  const char *dbpath = tmp_path("roundtrip.db");
  cb_db *db = open_with_run(dbpath, &run);
  if (!db) return;
  cb_problem p = conv_problem(8), q = conv_problem(16);
  cb_problem g = cb_problem_gemm(64, 128, 256, false, true);
  put_winner(db, run, &p, dev2t, build_a, "im2col", 0.1, "2024-01-01T00:00:00.125Z");
  put_winner(db, run, &q, dev4t, build_a, "direct", 123456.789, "2024-01-02T00:00:00.000Z");
  cb_cache_entry ge =
      put_winner(db, run, &g, dev2t, build_b, "sgemm_avx2", 1e-9, "2024-01-03T00:00:00.000Z");
  /* No parameters, no runner-up, and text that needs escaping. */
  ge.nparams = 0;
  snprintf(ge.runner_up, sizeof ge.runner_up, "%s", "");
  ge.runner_up_median = 0;
  snprintf(ge.variant, sizeof ge.variant, "%s", "odd \"quoted\"\\name\t\xc3\xa9");
  /* A winner measured on a busy machine: its confidence travels too. */
  snprintf(ge.confidence, sizeof ge.confidence, "low");
  snprintf(ge.confidence_why, sizeof ge.confidence_why, "preempted: median 2.50x the minimum");
  ge.estimate = 0.75e-9, ge.spread = 0.125, ge.load = 6.5;
  CHECK_EQ_INT(cb_cache_put(db, &ge), CB_OK);
  put_imported(db, &p, dev_other, build_a, "from_afar");

  rows before = {0};
  CHECK_EQ_INT(cb_db_cache_each(db, collect, &before), CB_OK);
  CHECK_EQ_INT(before.n, 4);
  /* Key order (n16 before n8), then device: q's row, p's imported row
   * from "far", p's local row, g's. */
  CHECK_EQ_STR(before.prov[1].hostname, "far");
  CHECK(before.imported[1] && !before.imported[0]);

  const char *file = tmp_path("cache.jsonl");
  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:4c");
  int64_t written = 0, deleted = 0, imported = 0, kept = 0;
  CHECK_EQ_INT(cb_cache_export(db, file, &m, &written), CB_OK);
  CHECK_EQ_INT(written, 4);
  CHECK(access(tmp_path("cache.jsonl.tmp"), F_OK) != 0);

  /* The header, and every key of the format on an entry line (p's local
   * one, line 4). */
  static char lines[8][4096];
  CHECK_EQ_INT(read_lines(file, lines, 8), 5);
  cb_json_object o;
  CHECK_EQ_INT(cb_json_parse_object(lines[0], &o), CB_OK);
  const char *s = NULL;
  double d = 0;
  CHECK(cb_json_get_string(&o, "format", &s) == CB_OK && strcmp(s, "convbench-cache") == 0);
  CHECK(cb_json_get_number(&o, "version", &d) == CB_OK && d == 1);
  CHECK(cb_json_get_number(&o, "entries", &d) == CB_OK && d == 4);
  CHECK(cb_json_get_string(&o, "hostname", &s) == CB_OK && strcmp(s, "node-7") == 0);
  CHECK(cb_json_get_string(&o, "device", &s) == CB_OK && strcmp(s, m.fingerprint) == 0);
  cb_json_object_free(&o);
  CHECK_EQ_INT(cb_json_parse_object(lines[3], &o), CB_OK);
  static const char *const keys[] = {"key",
                                     "device",
                                     "device_generation",
                                     "build",
                                     "backend",
                                     "variant",
                                     "params",
                                     "median_ms",
                                     "min_ms",
                                     "max_ms",
                                     "mad_ms",
                                     "samples",
                                     "runner_up",
                                     "runner_up_median_ms",
                                     "measured",
                                     "source",
                                     "origin",
                                     "hostname",
                                     "cpu_model",
                                     "isa_level",
                                     "cores",
                                     "git_rev"};
  CHECK_EQ_INT(o.n, (int)(sizeof keys / sizeof keys[0]));
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    CHECK_MSG(cb_json_find(&o, keys[i]) != NULL, "no %s in %s", keys[i], lines[3]);
  CHECK(cb_json_get_string(&o, "params", &s) == CB_OK && strcmp(s, "16,4") == 0);
  CHECK(cb_json_get_string(&o, "source", &s) == CB_OK && strcmp(s, "local") == 0);
  /* A local row's machine and revision come from its measurement's run. */
  CHECK(cb_json_get_string(&o, "git_rev", &s) == CB_OK && strcmp(s, "0123abcd") == 0);
  CHECK(cb_json_get_string(&o, "cpu_model", &s) == CB_OK && strcmp(s, "Test CPU 9000") == 0);
  CHECK(cb_json_get_string(&o, "device_generation", &s) == CB_OK &&
        strcmp(s, "cpu:Test CPU 9000:avx2") == 0);
  cb_json_object_free(&o);
  CHECK_MSG(strstr(lines[3], "\"median_ms\": 0.1,") != NULL, "0.1 written shortest: %s", lines[3]);

  CHECK_EQ_INT(cb_cache_clear(db, &deleted), CB_OK);
  CHECK_EQ_INT(deleted, 4);
  int n = 0;
  CHECK_EQ_INT(cb_cache_each(db, count_entries, &n), CB_OK);
  CHECK_EQ_INT(n, 0);

  CHECK_EQ_INT(cb_cache_import(db, file, &imported, &kept), CB_OK);
  CHECK_EQ_INT(imported, 4);
  CHECK_EQ_INT(kept, 0);
  rows after = {0};
  CHECK_EQ_INT(cb_db_cache_each(db, collect, &after), CB_OK);
  CHECK_EQ_INT(after.n, 4);
  for (int i = 0; i < before.n && i < after.n; i++) {
    check_same_entry(&after.e[i], &before.e[i], false);
    CHECK(after.imported[i]);
    CHECK_EQ_INT(after.e[i].measurement_id, 0);
    char origin[256];
    snprintf(origin, sizeof origin, "imported from %s (host %s, measured %s)", file,
             before.prov[i].hostname, before.e[i].measured);
    CHECK_EQ_STR(after.e[i].origin, origin);
    CHECK_EQ_STR(after.prov[i].hostname, before.prov[i].hostname);
    CHECK_EQ_STR(after.prov[i].cpu_model, before.prov[i].cpu_model);
    CHECK_EQ_STR(after.prov[i].isa_level, before.prov[i].isa_level);
    CHECK_EQ_INT(after.prov[i].cores, before.prov[i].cores);
    CHECK_EQ_STR(after.prov[i].git_rev, before.prov[i].git_rev);
  }
  CHECK_EQ_STR(after.e[3].variant, "odd \"quoted\"\\name\t\xc3\xa9");
  /* The confidence made the round trip; entries without one stay unknown. */
  CHECK_EQ_STR(after.e[3].confidence, "low");
  CHECK_EQ_STR(after.e[3].confidence_why, "preempted: median 2.50x the minimum");
  CHECK_NEAR(after.e[3].estimate, 0.75e-9, 0);
  CHECK_NEAR(after.e[3].spread, 0.125, 0);
  CHECK_NEAR(after.e[3].load, 6.5, 0);
  CHECK_EQ_STR(after.e[0].confidence, "");
  CHECK_NEAR(after.e[0].load, -1, 0);
  CHECK_MSG(strstr(lines[4], "\"confidence\": \"low\"") != NULL, "confidence exported: %s",
            lines[4]);
  CHECK(strstr(lines[3], "confidence") == NULL); /* unknown: not written, as before */
  /* Imported answers the lookup for its own device and build. */
  expect_lookup(db, &q, dev4t, build_a, CB_CACHE_IMPORTED, "direct");

  /* Importing the same file again updates those rows, adds none. */
  CHECK_EQ_INT(cb_cache_import(db, file, &imported, &kept), CB_OK);
  CHECK_EQ_INT(imported, 4);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 4);
  cb_db_close(db);
}

/* An import never replaces a local entry: those are kept and counted. */
static void test_import_keeps_local(void) {
  int64_t run = 0;
  cb_db *db = open_with_run(tmp_path("other.db"), &run);
  if (!db) return;
  cb_problem p = conv_problem(8), q = conv_problem(16);
  put_winner(db, run, &p, dev2t, build_a, "theirs_p", 1, "2024-01-01T00:00:00.000Z");
  put_winner(db, run, &q, dev2t, build_a, "theirs_q", 1, "2024-01-01T00:00:00.000Z");
  put_winner(db, run, &q, dev4t, build_a, "theirs_q4", 1, "2024-01-01T00:00:00.000Z");
  const char *file = tmp_path("theirs.jsonl");
  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:4c");
  int64_t written = 0, imported = 0, kept = 0;
  CHECK_EQ_INT(cb_cache_export(db, file, &m, &written), CB_OK);
  CHECK_EQ_INT(written, 3);
  cb_db_close(db);

  db = open_with_run(tmp_path("mine.db"), &run);
  if (!db) return;
  put_winner(db, run, &p, dev2t, build_a, "mine_p", 2, "2024-05-01T00:00:00.000Z");
  put_winner(db, run, &q, dev4t, build_a, "mine_q4", 2, "2024-05-01T00:00:00.000Z");
  CHECK_EQ_INT(cb_cache_import(db, file, &imported, &kept), CB_OK);
  CHECK_EQ_INT(imported, 1);
  CHECK_EQ_INT(kept, 2);
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_EXACT, "mine_p");
  expect_lookup(db, &q, dev4t, build_a, CB_CACHE_EXACT, "mine_q4");
  expect_lookup(db, &q, dev2t, build_a, CB_CACHE_IMPORTED, "theirs_q");
  CHECK_EQ_INT(
      sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache WHERE source = 'imported'"), 1);
  CHECK_EQ_INT(
      sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache WHERE variant LIKE 'mine%'"), 2);
  cb_db_close(db);
}

/* ---- malformed exports ------------------------------------------------------------------ */

/* text with the first `from` replaced by `to` (which must be there). */
static void replace(char *text, size_t len, const char *from, const char *to) {
  char *at = strstr(text, from);
  CHECK_MSG(at != NULL, "no \"%s\" to replace", from);
  if (!at) return;
  char rest[8192];
  snprintf(rest, sizeof rest, "%s", at + strlen(from));
  snprintf(at, len - (size_t)(at - text), "%s%s", to, rest);
}

static const char header1[] =
    "{\"format\": \"convbench-cache\", \"version\": 1, \"exported\": "
    "\"2024-05-01T00:00:00.000Z\", \"hostname\": \"h\", \"cpu_model\": \"Test CPU 9000\", "
    "\"isa_level\": \"avx2\", \"cores\": 4, \"device\": \"cpu:Test CPU 9000:avx2:4c\", "
    "\"entries\": 2}\n";

/* A valid entry line for problem key on dev4t. */
static void entry_line(char *buf, size_t len, const char *key) {
  snprintf(buf, len,
           "{\"key\": \"%s\", \"device\": \"%s\", \"device_generation\": \"cpu:Test CPU "
           "9000:avx2\", \"build\": \"%s\", \"backend\": \"cpu\", \"variant\": \"direct\", "
           "\"params\": \"16,4\", \"median_ms\": 1.5, \"min_ms\": 1, \"max_ms\": 2, \"mad_ms\": "
           "0.25, \"samples\": 10, \"runner_up\": \"cpu/im2col\", \"runner_up_median_ms\": 2.5, "
           "\"measured\": \"2024-04-01T10:00:00.000Z\", \"source\": \"local\", \"origin\": "
           "\"local\", \"hostname\": \"h\", \"cpu_model\": \"Test CPU 9000\", \"isa_level\": "
           "\"avx2\", \"cores\": 4, \"git_rev\": \"abc\"}\n",
           key, dev4t, build_a);
}

/* Imports text as a file: refused with exactly want (FILE replaced by the
 * file's path), and the database as it was. */
static void expect_malformed(cb_db *db, const char *what, const char *text, const char *want) {
  const char *file = tmp_path("bad.jsonl");
  write_file(file, (const unsigned char *)text, strlen(text));
  int64_t rows_before = sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache");
  int64_t problems_before = sql_int(cb_db_handle(db), "SELECT count(*) FROM problems");
  int64_t imported = -1, kept = -1;
  cb_status st = cb_cache_import(db, file, &imported, &kept);
  CHECK_MSG(st == CB_ERR_PARSE, "%s: status %d (%s)", what, (int)st, cb_errmsg());
  char full[2048];
  snprintf(full, sizeof full, "%s:%s", file, want);
  CHECK_MSG(strcmp(cb_errmsg(), full) == 0, "%s:\n  got:      %s\n  expected: %s", what,
            cb_errmsg(), full);
  CHECK_EQ_INT(imported, 0);
  CHECK_EQ_INT(kept, 0);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), rows_before);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM problems"), problems_before);
}

static void test_malformed(void) {
  int64_t run = 0;
  cb_db *db = open_with_run(tmp_path("malformed.db"), &run);
  if (!db) return;
  cb_problem p = conv_problem(8), q = conv_problem(16);
  put_winner(db, run, &p, dev2t, build_a, "mine", 1, "2024-01-01T00:00:00.000Z");
  char kq[CB_KEY_MAX], kr[CB_KEY_MAX];
  key_of(&q, kq);
  cb_problem r = conv_problem(32);
  key_of(&r, kr); /* a problem the database has not seen */

  /* Every file below has one good entry (line 2) before the bad one. */
  static char good[2048], bad[2048], text[8192], want[2048];
  entry_line(good, sizeof good, kq);

  /* The baseline is accepted (and then cleared), so each refusal below is
   * the edit's doing. */
  snprintf(text, sizeof text, "%s%s", header1, good);
  replace(text, sizeof text, "\"entries\": 2", "\"entries\": 1");
  write_file(tmp_path("good.jsonl"), (const unsigned char *)text, strlen(text));
  int64_t imported = 0, kept = 0;
  CHECK_EQ_INT(cb_cache_import(db, tmp_path("good.jsonl"), &imported, &kept), CB_OK);
  CHECK_EQ_INT(imported, 1);
  sqlite3_exec(cb_db_handle(db), "DELETE FROM tune_cache WHERE source = 'imported'", 0, 0, 0);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 1);

/* The good line with `from` replaced by `to`, as line 3 after the good
 * one: refused with message. */
#define BAD_LINE(what, from, to, message)                                                          \
  do {                                                                                             \
    entry_line(bad, sizeof bad, kr);                                                               \
    replace(bad, sizeof bad, from, to);                                                            \
    snprintf(text, sizeof text, "%s%s%s", header1, good, bad);                                     \
    expect_malformed(db, what, text, message);                                                     \
  } while (0)
/* The same for a syntax error, whose message (a format with one %d)
 * names the column where `at` starts in the edited line. */
#define BAD_AT(what, from, to, at, message)                                                        \
  do {                                                                                             \
    entry_line(bad, sizeof bad, kr);                                                               \
    replace(bad, sizeof bad, from, to);                                                            \
    const char *where = strstr(bad, at);                                                           \
    CHECK_MSG(where != NULL, "%s: no \"%s\" in the line", what, at);                               \
    snprintf(want, sizeof want, message, where ? (int)(where - bad) + 1 : -1);                     \
    snprintf(text, sizeof text, "%s%s%s", header1, good, bad);                                     \
    expect_malformed(db, what, text, want);                                                        \
  } while (0)

  BAD_AT("bad JSON", "\"backend\": \"cpu\"", "\"backend\" \"cpu\"", "\"cpu\", \"variant\"",
         "3: column %d: expected ':' after \"backend\"");
  BAD_AT("not an object", "{\"key\"", "[\"key\"", "[", "3: column %d: expected '{'");
  BAD_AT("nested", "\"cores\": 4", "\"cores\": {\"n\": 4}", "{\"n\"",
         "3: column %d: \"cores\": nested objects and arrays are not allowed here");
  BAD_AT("null", "\"cores\": 4", "\"cores\": null", "null",
         "3: column %d: \"cores\": true, false and null are not allowed here");
  BAD_AT("trailing text", "\"abc\"}", "\"abc\"} x", "x\n",
         "3: column %d: unexpected text after the object");
  BAD_AT("NUL escape", "\"direct\"", "\"dir\\u0000ect\"", "\\u0000",
         "3: column %d: \\u0000 is not allowed");
  BAD_AT("lone surrogate", "\"direct\"", "\"dir\\udc00ect\"", "\\udc00",
         "3: column %d: \\udc00 is the second half of a surrogate pair, alone");
  BAD_AT("bad escape", "\"direct\"", "\"dir\\qect\"", "\\q", "3: column %d: unknown escape '\\q'");
  BAD_AT("control character", "\"direct\"", "\"dir\tect\"", "\tect",
         "3: column %d: control character 0x09 in a string (write it as \\u0009)");
  BAD_AT("bad number", "\"median_ms\": 1.5", "\"median_ms\": 1.", ", \"min_ms\"",
         "3: column %d: expected a digit after '.'");
  BAD_AT("hex number", "\"median_ms\": 1.5", "\"median_ms\": 0x1p3", "x1p3",
         "3: column %d: expected ',' or '}'");
  BAD_AT("unquoted value", "\"median_ms\": 1.5", "\"median_ms\": fast", "fast",
         "3: column %d: expected a string or a number");
  BAD_AT("duplicate key", "\"cores\": 4", "\"cores\": 4, \"cores\": 4", "\"cores\": 4, \"git_rev\"",
         "3: column %d: duplicate key \"cores\"");
  BAD_AT("unclosed string", "\"abc\"}", "\"abc}", "\"abc}",
         "3: column %d: the string starting here is not closed");

  snprintf(want, sizeof want, "3: ");
  cb_problem junk;
  CHECK_EQ_INT(cb_problem_parse("conv_fwd:f32:nchw:bogus", &junk), CB_ERR_PARSE);
  snprintf(want + strlen(want), sizeof want - strlen(want), "%s", cb_errmsg());
  BAD_LINE("bad key", kr, "conv_fwd:f32:nchw:bogus", want);

  BAD_LINE("negative time", "\"median_ms\": 1.5", "\"median_ms\": -1.5",
           "3: \"median_ms\" is -1.5 (must be finite and >= 0)");
  BAD_LINE("infinite time", "\"max_ms\": 2", "\"max_ms\": 1e999",
           "3: \"max_ms\" is 1e999 (must be finite and >= 0)");
  BAD_LINE("fractional samples", "\"samples\": 10", "\"samples\": 2.5",
           "3: \"samples\" is 2.5 (must be a whole number >= 1)");
  BAD_LINE("time as text", "\"min_ms\": 1", "\"min_ms\": \"1\"",
           "3: \"min_ms\" must be a number, not a string");
  BAD_LINE("missing key", "\"mad_ms\": 0.25, ", "", "3: missing key \"mad_ms\"");
  BAD_LINE("unknown key", "\"cores\": 4", "\"cores\": 4, \"colour\": \"red\"",
           "3: unknown key \"colour\"");
  BAD_LINE("empty backend", "\"backend\": \"cpu\"", "\"backend\": \"\"", "3: \"backend\" is empty");
  BAD_LINE("bad params", "\"16,4\"", "\"16,,4\"",
           "3: params \"16,,4\": expected an integer at column 4");
  BAD_LINE("out of order", "\"min_ms\": 1", "\"min_ms\": 1.75",
           "3: min_ms 1.75, median_ms 1.5, max_ms 2 are out of order");
  BAD_LINE("bad source", "\"source\": \"local\"", "\"source\": \"mine\"",
           "3: \"source\" is \"mine\" (\"local\" or \"imported\")");
  BAD_LINE("bad time", "2024-04-01T10:00:00.000Z", "yesterday",
           "3: measured \"yesterday\" is not a UTC time like 2024-05-01T12:00:00.123Z");
  BAD_LINE("wrong generation", "\"device_generation\": \"cpu:Test CPU 9000:avx2\"",
           "\"device_generation\": \"cpu:Test CPU 9000\"",
           "3: \"device_generation\" is \"cpu:Test CPU 9000\", but device \"cpu:Test CPU "
           "9000:avx2:4c:4t\" is of \"cpu:Test CPU 9000:avx2\"");

  /* The same entry twice. */
  snprintf(text, sizeof text, "%s%s%s", header1, good, good);
  snprintf(want, sizeof want, "3: a second entry for %s on %s, build %s (the first is on line 2)",
           kq, dev4t, build_a);
  expect_malformed(db, "duplicate entry", text, want);

  /* Cut short: in the middle of a line, and at a line boundary. */
  entry_line(bad, sizeof bad, kr);
  snprintf(text, sizeof text, "%s%s%.100s", header1, good, bad);
  expect_malformed(db, "cut mid-line", text, "3: the line is cut short (no newline at its end)");
  snprintf(text, sizeof text, "%s%s", header1, good);
  expect_malformed(db, "cut at a line", text,
                   "1: the header promises 2 entries, the file holds 1 (is it cut short?)");

  /* The wrong header. */
  snprintf(text, sizeof text, "%s%s%s", header1, good, good);
  replace(text, sizeof text, "convbench-cache", "convbench-cash");
  expect_malformed(db, "wrong format", text,
                   "1: not a convbench cache export (no \"format\": \"convbench-cache\")");
  snprintf(text, sizeof text, "%s%s", good, good);
  expect_malformed(db, "no header", text,
                   "1: not a convbench cache export (no \"format\": \"convbench-cache\")");
  snprintf(text, sizeof text, "%s%s%s", header1, good, good);
  replace(text, sizeof text, "\"version\": 1", "\"version\": 2");
  expect_malformed(db, "newer version", text,
                   "1: format version 2; this convbench reads version 1");
  snprintf(text, sizeof text, "%s%s%s", header1, good, good);
  replace(text, sizeof text, "\"entries\": 2", "\"entries\": -2");
  expect_malformed(db, "negative count", text, "1: \"entries\" is -2 (must be finite and >= 0)");
  expect_malformed(db, "empty file", "", "1: the file is empty (no convbench-cache header)");
  snprintf(text, sizeof text, "%s\n%s", header1, good);
  expect_malformed(db, "blank line", text, "2: column 1: expected '{'");
#undef BAD_LINE
#undef BAD_AT

  /* A file that is not there is an I/O error naming it. */
  int64_t i2 = 0, k2 = 0;
  CHECK_EQ_INT(cb_cache_import(db, tmp_path("absent.jsonl"), &i2, &k2), CB_ERR_IO);
  char io[600];
  snprintf(io, sizeof io, "cannot read '%s': No such file or directory", tmp_path("absent.jsonl"));
  CHECK_EQ_STR(cb_errmsg(), io);
  expect_lookup(db, &p, dev2t, build_a, CB_CACHE_EXACT, "mine");
  cb_db_close(db);
}

/* ---- measurements and transactions ---------------------------------------------------- */

static void test_measurements(void) {
  int64_t run = 0;
  cb_db *db = open_with_run(tmp_path("measure.db"), &run);
  if (!db) return;
  cb_problem p = conv_problem(8);
  char key[CB_KEY_MAX], sql[256];
  key_of(&p, key);

  /* Everything set. */
  cb_measurement_rec m = plain_measurement(run, &p, dev2t, build_a, "im2col");
  m.max_rel_err = 1.5e-7;
  m.impl = "gemm:avx2";
  m.noisy = true;
  m.before = &before_state;
  m.after = &after_state;
  int64_t id = 0;
  CHECK_EQ_INT(cb_db_put_measurement(db, &m, &id), CB_OK);
  CHECK(id > 0);
  snprintf(sql, sizeof sql,
           "SELECT m.*, p.key FROM measurements m JOIN problems p ON p.id = m.problem_id"
           " WHERE m.id = %lld",
           (long long)id);
  sqlite3_stmt *s = row(cb_db_handle(db), sql);
  if (s) {
    CHECK_EQ_INT(col_int(s, "run_id"), run);
    CHECK_EQ_STR(col_text(s, "key"), key);
    CHECK_EQ_STR(col_text(s, "device_fp"), dev2t);
    CHECK_EQ_STR(col_text(s, "build_fp"), build_a);
    CHECK_EQ_INT(col_int(s, "threads"), 2);
    CHECK_EQ_STR(col_text(s, "backend"), "cpu");
    CHECK_EQ_STR(col_text(s, "variant"), "im2col");
    CHECK_EQ_STR(col_text(s, "params"), "16,4");
    CHECK_EQ_STR(col_text(s, "status"), "ok");
    CHECK_NEAR(col_double(s, "max_rel_err"), 1.5e-7, 0);
    CHECK_NEAR(col_double(s, "median_ms"), 1.5, 0);
    CHECK_NEAR(col_double(s, "min_ms"), 1.25, 0);
    CHECK_NEAR(col_double(s, "max_ms"), 2.0, 0);
    CHECK_NEAR(col_double(s, "mad_ms"), 0.125, 0);
    CHECK_EQ_INT(col_int(s, "samples"), 12);
    CHECK_NEAR(col_double(s, "gflops"), 10, 0);
    CHECK_EQ_STR(col_text(s, "impl"), "gemm:avx2");
    CHECK(col_null(s, "error"));
    CHECK_EQ_INT(col_int(s, "noisy"), 1);
    CHECK_NEAR(col_double(s, "mhz_before"), 3100.5, 0); /* measured, not reported */
    CHECK_NEAR(col_double(s, "mhz_after"), 2900, 0);
    CHECK_NEAR(col_double(s, "load_before"), 0.5, 0);
    CHECK_NEAR(col_double(s, "load_after"), 1.25, 0);
    CHECK_NEAR(col_double(s, "busy_after"), 0.75, 0);
    CHECK_NEAR(col_double(s, "temp_after"), 61.5, 0);
    CHECK_EQ_INT(strlen(col_text(s, "created")), 24);
    sqlite3_finalize(s);
  }

  /* Not timed, not validated, no device state: NULLs where due. */
  cb_measurement_rec e = plain_measurement(run, &p, dev2t, build_a, "winograd");
  e.status = "error";
  e.max_rel_err = NAN;
  e.t = (cb_timing){0};
  e.gflops = 0;
  e.impl = "";
  e.error = "plan failed: out of memory";
  int64_t id2 = 0;
  CHECK_EQ_INT(cb_db_put_measurement(db, &e, &id2), CB_OK);
  CHECK(id2 > id);
  snprintf(sql, sizeof sql, "SELECT * FROM measurements WHERE id = %lld", (long long)id2);
  if ((s = row(cb_db_handle(db), sql))) {
    CHECK_EQ_STR(col_text(s, "status"), "error");
    static const char *const nulls[] = {
        "max_rel_err", "median_ms", "min_ms",      "max_ms",     "mad_ms",     "gflops",    "impl",
        "mhz_before",  "mhz_after", "load_before", "load_after", "busy_after", "temp_after"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
      CHECK_MSG(col_null(s, nulls[i]), "%s is not NULL", nulls[i]);
    CHECK_EQ_INT(col_int(s, "samples"), 0);
    CHECK_EQ_INT(col_int(s, "noisy"), 0);
    CHECK_EQ_STR(col_text(s, "error"), "plan failed: out of memory");
    sqlite3_finalize(s);
  }
  /* A NaN in the output (infinite error) is kept, not made NULL. */
  e.status = "mismatch";
  e.max_rel_err = INFINITY;
  CHECK_EQ_INT(cb_db_put_measurement(db, &e, &id2), CB_OK);
  snprintf(sql, sizeof sql, "SELECT max_rel_err FROM measurements WHERE id = %lld", (long long)id2);
  if ((s = row(cb_db_handle(db), sql))) {
    CHECK(isinf(sqlite3_column_double(s, 0)));
    sqlite3_finalize(s);
  }

  /* Refusals name the field; nothing is stored. */
  int64_t count = sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements");
  e.status = "great";
  CHECK_EQ_INT(cb_db_put_measurement(db, &e, &id2), CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "measurement of cpu/winograd: status is 'ok', 'pruned', 'mismatch' "
                            "or 'error', not 'great'");
  CHECK_EQ_INT(id2, 0);
  e.status = "ok";
  e.threads = 0;
  CHECK_EQ_INT(cb_db_put_measurement(db, &e, &id2), CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "measurement of cpu/winograd: 0 threads");
  e.threads = 2;
  e.run_id = 424242; /* no such run */
  CHECK_EQ_INT(cb_db_put_measurement(db, &e, &id2), CB_ERR_DB);
  CHECK_MSG(strstr(cb_errmsg(), "FOREIGN KEY constraint failed") != NULL, "%s", cb_errmsg());
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements"), count);

  /* begin / rollback leaves nothing: measurements, their new problem, the
   * cache entry. */
  cb_problem q = conv_problem(64);
  int64_t problems = sql_int(cb_db_handle(db), "SELECT count(*) FROM problems");
  CHECK_EQ_INT(cb_db_begin(db), CB_OK);
  for (int i = 0; i < 3; i++) {
    cb_measurement_rec t = plain_measurement(run, &q, dev2t, build_a, "im2col");
    CHECK_EQ_INT(cb_db_put_measurement(db, &t, &id2), CB_OK);
  }
  cb_cache_entry w = {.measurement_id = id2, .timing = {1, 1, 1, 0, 10}};
  key_of(&q, w.key);
  snprintf(w.device_fp, sizeof w.device_fp, "%s", dev2t);
  snprintf(w.build_fp, sizeof w.build_fp, "%s", build_a);
  snprintf(w.backend, sizeof w.backend, "cpu");
  snprintf(w.variant, sizeof w.variant, "im2col");
  CHECK_EQ_INT(cb_cache_put(db, &w), CB_OK);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements"),
               count + 3); /* seen inside */
  /* A second begin inside the first is refused, naming the database. */
  CHECK_EQ_INT(cb_db_begin(db), CB_ERR_DB);
  CHECK_MSG(strstr(cb_errmsg(), "measure.db': cannot start a transaction: cannot start a "
                                "transaction within a transaction") != NULL,
            "%s", cb_errmsg());
  cb_db_rollback(db);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements"), count);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM problems"), problems);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 0);
  cb_db_rollback(db); /* none open: nothing happens */

  /* begin / commit keeps everything. */
  CHECK_EQ_INT(cb_db_begin(db), CB_OK);
  cb_measurement_rec t = plain_measurement(run, &q, dev2t, build_a, "im2col");
  CHECK_EQ_INT(cb_db_put_measurement(db, &t, &id2), CB_OK);
  w.measurement_id = id2;
  CHECK_EQ_INT(cb_cache_put(db, &w), CB_OK);
  CHECK_EQ_INT(cb_db_commit(db), CB_OK);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements"), count + 1);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), 1);
  CHECK_EQ_INT(cb_db_commit(db), CB_ERR_DB); /* nothing to commit */
  cb_db_close(db);
}

/* ---- two writers ------------------------------------------------------------------------ */

enum { WRITERS = 2, TX_PER_WRITER = 100, PER_TX = 5 };

/* One tune process: TX_PER_WRITER problems' worth of measurements, each
 * problem's measurements and its winner in one transaction. It opens the
 * database, says so on `ready`, then waits for `go` to close, so that the
 * writers start writing together. */
typedef struct writer_args {
  const char *path;
  int who, go[2], ready[2];
} writer_args;

static void writer(void *user) {
  writer_args *a = user;
  const char *path = a->path;
  int who = a->who;
  close(a->go[1]);
  close(a->ready[0]);
  int64_t run = 0;
  cb_db *db = open_with_run(path, &run);
  char c = 'r';
  CHECK(write(a->ready[1], &c, 1) == 1);
  CHECK(read(a->go[0], &c, 1) == 0); /* end of file: the parent let go */
  if (!db) return;
  char device[64], variant[32];
  snprintf(device, sizeof device, "cpu:Test CPU 9000:avx2:4c:%dt", who + 1);
  for (int i = 0; i < TX_PER_WRITER; i++) {
    cb_problem p = conv_problem(1 + i % 4);
    CHECK_EQ_INT(cb_db_begin(db), CB_OK);
    int64_t id = 0;
    for (int j = 0; j < PER_TX; j++) {
      snprintf(variant, sizeof variant, "v%03d", i * PER_TX + j);
      cb_measurement_rec m = plain_measurement(run, &p, device, build_a, variant);
      CHECK_EQ_INT(cb_db_put_measurement(db, &m, &id), CB_OK);
    }
    cb_cache_entry w = {.measurement_id = id, .timing = {1, 1, 1, 0, 10}};
    key_of(&p, w.key);
    snprintf(w.device_fp, sizeof w.device_fp, "%s", device);
    snprintf(w.build_fp, sizeof w.build_fp, "%s", build_a);
    snprintf(w.backend, sizeof w.backend, "cpu");
    snprintf(w.variant, sizeof w.variant, "%s", variant);
    CHECK_EQ_INT(cb_cache_put(db, &w), CB_OK);
    cb_status st = cb_db_commit(db);
    CHECK_MSG(st == CB_OK, "writer %d: %s", who, cb_errmsg());
    /* A tune process times candidates between its writes; without a
     * pause one writer would finish while the other sleeps in the busy
     * handler, and the transactions would never interleave. */
    usleep(1000);
  }
  CHECK_EQ_INT(cb_db_run_end(db, run, "ok", NULL), CB_OK);
  cb_db_close(db);
}

static void test_concurrent(void) {
  writer_args a = {.path = tmp_path("shared.db")};
  pid_t pids[WRITERS];
  CHECK(pipe(a.go) == 0 && pipe(a.ready) == 0);
  for (a.who = 0; a.who < WRITERS; a.who++) pids[a.who] = child_start(writer, &a);
  /* Once every writer has its database open, closing the write end of
   * `go` releases them together. */
  close(a.ready[1]);
  char c;
  for (int i = 0; i < WRITERS; i++) CHECK(read(a.ready[0], &c, 1) == 1);
  close(a.ready[0]);
  close(a.go[0]);
  close(a.go[1]);
  for (int i = 0; i < WRITERS; i++) CHECK_MSG(child_wait(pids[i]) == 0, "writer %d failed", i);
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(a.path, &db), CB_OK);
  if (!db) return;
  const int per_writer = TX_PER_WRITER * PER_TX;
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM runs WHERE status = 'ok'"), WRITERS);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM measurements"),
               WRITERS * per_writer);
  /* Every row of each: all distinct variants, per run. */
  CHECK_EQ_INT(sql_int(cb_db_handle(db),
                       "SELECT count(*) FROM (SELECT run_id, count(DISTINCT variant) AS n"
                       " FROM measurements GROUP BY run_id) WHERE n = 500"),
               WRITERS);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM tune_cache"), WRITERS * 4);
  CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM problems"), 4);
  /* Whether their transactions interleaved (informative: it depends on
   * the scheduler; the busy timeout may let one finish first): the
   * number of runs of one writer's rows in id order, 2 when one wrote
   * everything before the other. */
  int64_t stretches =
      sql_int(cb_db_handle(db), "SELECT 1 + count(*) FROM (SELECT run_id, lag(run_id) OVER"
                                " (ORDER BY id) AS prev FROM measurements)"
                                " WHERE prev IS NOT NULL AND prev != run_id");
  printf("concurrent writers: %lld stretches of one writer's rows (2: one after the other)\n",
         (long long)stretches);
  cb_db_close(db);
}

int main(void) {
  if (!tmpdir_make("cb_test_cache")) return 1;
  test_fingerprints();
  test_lookup();
  test_generation_known();
  test_roundtrip();
  test_import_keeps_local();
  test_malformed();
  test_measurements();
  test_concurrent();
  tmpdir_remove();
  return cb_test_result();
}
