/* test_db.c: the SQLite store (schema, round trip, refusals, atomic net
 * results) and the probes that feed it (machine, device state, build).
 *
 * Everything is read back with plain SQL, not through autotune/db/, so a value
 * written to the wrong column or dropped shows. Refusals that depend on
 * file permissions run in a child process that drops root privileges,
 * since root may write anything. */
#include "buildinfo.h"
#include "cb_test.h"
#include "db_fixture.h"
#include "devstate.h"
#include "machine.h"
#include "db.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* True when neither path nor anything named path* (its -wal and -shm, a
 * temporary path.new-XXXXXX) is left in its directory. */
static bool nothing_at(const char *path) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) return false;
  *slash = '\0';
  const char *base = slash + 1;
  DIR *d = opendir(dir);
  if (!d) return false;
  bool clean = true;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, base, strlen(base)) == 0) {
      fprintf(stderr, "left behind: %s/%s\n", dir, e->d_name);
      clean = false;
    }
  closedir(d);
  return clean;
}

/* An ISO-8601 UTC timestamp with milliseconds: 2024-05-01T12:00:00.123Z. */
static bool is_iso_time(const char *t) {
  int y, mo, d, h, mi, s, ms;
  char z;
  return strlen(t) == 24 &&
         sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z) == 8 &&
         z == 'Z' && y >= 2024 && mo >= 1 && mo <= 12;
}

/* ---- probes ------------------------------------------------------------------ */

static void test_machine(void) {
  cb_machine m;
  CHECK_EQ_INT(cb_machine_probe(&m), CB_OK);
  CHECK(m.cores >= 1);
  CHECK(m.pus >= m.cores);
  CHECK(m.packages >= 1 && m.packages <= m.cores);
  CHECK(m.numa_nodes >= 1);
  CHECK(m.l1d_bytes > 0);
  CHECK(m.l2_bytes == 0 || m.l2_bytes >= m.l1d_bytes);
  CHECK(m.mem_bytes > (int64_t)64 << 20);
  CHECK(strcmp(m.isa_level, "avx512") == 0 || strcmp(m.isa_level, "avx2") == 0 ||
        strcmp(m.isa_level, "sse4.2") == 0 || strcmp(m.isa_level, "scalar") == 0);
  /* The level follows from the flags listed. */
  if (strcmp(m.isa_level, "avx512") == 0) CHECK(strstr(m.isa, "avx512bw") != NULL);
  if (strcmp(m.isa_level, "avx2") == 0) CHECK(strstr(m.isa, "fma") != NULL);
  CHECK(m.hostname[0] && m.os[0] && m.cpu_model[0] && m.cpu_vendor[0]);
  CHECK(strstr(m.topology, "core") != NULL);

  char fp[512];
  snprintf(fp, sizeof fp, "cpu:%s:%s:%dc", m.cpu_model, m.isa_level, m.cores);
  CHECK_EQ_STR(m.fingerprint, fp);
  CHECK(strstr(m.fingerprint, m.hostname) == NULL || strstr(m.cpu_model, m.hostname) != NULL);

  int64_t avail = cb_machine_mem_available();
  CHECK(avail > 0 && avail <= m.mem_bytes + (m.mem_bytes >> 4));

  static char desc[1 << 16];
  CHECK_EQ_INT(cb_machine_describe(desc, sizeof desc), CB_OK);
  CHECK(strstr(desc, "Machine (") != NULL);
  CHECK(strstr(desc, "PU L#0 (P#") != NULL);
  CHECK(strstr(desc, m.topology) != NULL);
  char tiny[16];
  CHECK_EQ_INT(cb_machine_describe(tiny, sizeof tiny), CB_ERR_INVALID);
  CHECK_EQ_INT(strlen(tiny), sizeof tiny - 1);
  printf("machine: %s\n  %s\n  isa: %s\n", m.fingerprint, m.topology, m.isa);
}

static void test_devstate(void) {
  cb_devstate a, b;
  CHECK_EQ_INT(cb_devstate_sample(&a), CB_OK);
  CHECK(fabs(a.t - (double)time(NULL)) < 5);
  CHECK_MSG(a.cpu_mhz_measured > 200 && a.cpu_mhz_measured < 10000, "measured %.0f MHz",
            a.cpu_mhz_measured);
  CHECK(a.cpu_mhz_reported >= 0 && a.cpu_mhz_reported < 10000);
  CHECK(a.load1 >= 0);
  CHECK_NEAR(a.busy, -1, 0); /* the first sample of this process */
  CHECK(isnan(a.temp_c) || (a.temp_c > -40 && a.temp_c < 150));

  /* 50 ms is 5 ticks of /proc/stat per CPU, enough for a busy fraction. */
  struct timespec nap = {0, 50 * 1000 * 1000};
  nanosleep(&nap, NULL);
  CHECK_EQ_INT(cb_devstate_sample(&b), CB_OK);
  CHECK_MSG(b.busy >= 0 && b.busy <= 1, "busy %g", b.busy);
  CHECK(b.t > a.t);
  printf("devstate: measured %.0f MHz, reported %.0f MHz, load %.2f, busy %.2f, temp %.1f\n",
         b.cpu_mhz_measured, b.cpu_mhz_reported, b.load1, b.busy, b.temp_c);
}

static bool all_hex(const char *s, size_t n) {
  if (strlen(s) != n) return false;
  for (; *s; s++)
    if (!strchr("0123456789abcdef", *s)) return false;
  return true;
}

static void test_build(void) {
  cb_build a, b;
  CHECK_EQ_INT(cb_build_probe(&a), CB_OK);
  CHECK_EQ_INT(cb_build_probe(&b), CB_OK);
  CHECK_EQ_STR(a.fingerprint, b.fingerprint);
  CHECK(all_hex(a.fingerprint, 16));
  CHECK(all_hex(a.kernel_hash, 64));
  CHECK(a.git_rev[0] && a.compiler[0] && a.build_type[0]);
  char want[64];
  snprintf(want, sizeof want, "sqlite %s; hwloc ", sqlite3_libversion());
  CHECK_MSG(strncmp(a.libs, want, strlen(want)) == 0, "libs \"%s\"", a.libs);
  snprintf(want, sizeof want, "; zlib %s", zlibVersion());
  CHECK_MSG(strstr(a.libs, want) != NULL, "libs \"%s\"", a.libs);
  printf("build: %s %s%s, %s, %s\n  libs: %s\n", a.fingerprint, a.git_rev, a.git_dirty ? "+" : "",
         a.compiler, a.build_type, a.libs);
}

/* ---- round trip ------------------------------------------------------------------ */

static cb_build fake_build(const char *rev) {
  cb_build b = {
      .git_dirty = true,
      .compiler = "GNU 12.2.0",
      .flags = "-O3 -DNDEBUG",
      .build_type = "Release",
      .libs = "sqlite 3.40.1; hwloc 2.9.0; zlib 1.2.13",
      .kernel_hash = "abc123",
      .fingerprint = "00ff00ff00ff00ff",
  };
  snprintf(b.git_rev, sizeof b.git_rev, "%s", rev);
  return b;
}

static cb_problem conv_problem(cb_op op, int64_t n) {
  cb_problem p = {.op = op, .dtype = CB_DTYPE_F32, .layout = CB_LAYOUT_NCHW};
  p.conv = (cb_conv){.n = n,
                     .c = 3,
                     .h = 224,
                     .w = 224,
                     .k = 64,
                     .r = 11,
                     .s = 11,
                     .pad_h = 2,
                     .pad_w = 2,
                     .stride_h = 4,
                     .stride_w = 4,
                     .dil_h = 1,
                     .dil_w = 1,
                     .groups = 1};
  return p;
}

static cb_problem gemm_problem(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  cb_problem p = {.op = CB_OP_GEMM, .dtype = CB_DTYPE_F32, .layout = CB_LAYOUT_NCHW};
  p.gemm = (cb_gemm){.m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb, .alpha = 1, .beta = 0};
  return p;
}

static cb_timing timing(double median, int samples) {
  return (cb_timing){median, median * 0.9, median * 1.2, median * 0.01, samples};
}

/* The problems of the test net (static: layer records point at them). */
static cb_problem conv_ops[3], fc_ops[3];

/* Three layers: a conv with all three problems, a relu that has no
 * backward timing (samples 0), an fc whose forward GEMM is its own. */
static void fake_layers(cb_layer_rec l[3]) {
  for (int i = 0; i < 3; i++) conv_ops[i] = conv_problem((cb_op)i, 128);
  fc_ops[0] = gemm_problem(128, 4096, 9216, false, true);
  fc_ops[1] = gemm_problem(128, 9216, 4096, false, false);
  fc_ops[2] = gemm_problem(4096, 9216, 128, true, false);
  memset(l, 0, 3 * sizeof *l);
  l[0] = (cb_layer_rec){.index = 0,
                        .name = "conv1",
                        .kind = "conv",
                        .in_shape = "3x224x224",
                        .out_shape = "64x55x55",
                        .backend = "cpu",
                        .variants = "fwd=direct bwd_data=direct bwd_filter=direct",
                        .impl = "fwd=brgconv:avx512_core bwd_data=jit:avx512_core",
                        .problem = {&conv_ops[0], &conv_ops[1], &conv_ops[2]},
                        .fwd = timing(10, 20),
                        .bwd = timing(25, 20),
                        .bwd_data = timing(12, 20),
                        .bwd_filter = timing(13, 20),
                        .fwd_flops = 1.5e10,
                        .bwd_flops = 3e10};
  l[1] = (cb_layer_rec){.index = 1,
                        .name = "relu1",
                        .kind = "relu",
                        .in_shape = "64x55x55",
                        .out_shape = "64x55x55",
                        .backend = "cpu",
                        .fwd = timing(0.5, 20),
                        .bwd = {.median = 7, .samples = 0}};
  l[2] = (cb_layer_rec){.index = 2,
                        .name = "fc6",
                        .kind = "fc",
                        .in_shape = "9216",
                        .out_shape = "4096",
                        .backend = "cpu",
                        .fallback = true,
                        .variants = "fwd=ref",
                        .problem = {&fc_ops[0], &fc_ops[1], &fc_ops[2]},
                        .fwd = timing(3, 20),
                        .bwd = timing(6, 20),
                        .bwd_data = timing(3.1, 20),
                        .bwd_filter = timing(2.9, 20),
                        .fwd_flops = 9.6e9,
                        .bwd_flops = 1.9e10};
}

static cb_net_rec fake_net(int64_t run_id) {
  return (cb_net_rec){.run_id = run_id,
                      .net = "alexnet-owt",
                      .netdef = "netdefs/alexnet.net",
                      .netdef_sha256 = "feedbeef",
                      .backend = "cpu",
                      .batch = 128,
                      .threads = 2,
                      .iters = 20,
                      .warmup = 3,
                      .input_grad = false,
                      .fwd = timing(13.5, 20),
                      .bwd = timing(31, 20),
                      .total = timing(44.5, 20),
                      .fwd_flops = 2.5e10,
                      .bwd_flops = 5e10};
}

static void check_timing(sqlite3_stmt *s, const char *p, const cb_timing *t) {
  char n[64];
  snprintf(n, sizeof n, "%s_samples", p);
  CHECK_EQ_INT(col_int(s, n), t->samples);
  const char *stat[] = {"median", "min", "max", "mad"};
  const double v[] = {t->median, t->min, t->max, t->mad};
  for (int i = 0; i < 4; i++) {
    snprintf(n, sizeof n, "%s_%s_ms", p, stat[i]);
    if (t->samples == 0)
      CHECK_MSG(col_null(s, n), "%s should be NULL", n);
    else
      CHECK_NEAR(col_double(s, n), v[i], 0);
  }
}

/* The problem id the layer column points at has the key of p. */
static void check_problem(sqlite3 *h, int64_t id, const cb_problem *p) {
  char key[CB_KEY_MAX], sql[128];
  cb_problem_key(p, key, sizeof key);
  snprintf(sql, sizeof sql, "SELECT key, op, flops FROM problems WHERE id = %lld", (long long)id);
  sqlite3_stmt *s = row(h, sql);
  if (!s) return;
  CHECK_EQ_STR(col_text(s, "key"), key);
  CHECK_EQ_STR(col_text(s, "op"), cb_op_name(p->op));
  CHECK_NEAR(col_double(s, "flops"), cb_problem_flops(p), 0);
  sqlite3_finalize(s);
}

static void check_layers(sqlite3 *h, int64_t net_id, const cb_layer_rec *l) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM layer_results WHERE net_result_id = %lld ORDER BY idx",
           (long long)net_id);
  sqlite3_stmt *s = NULL;
  CHECK(sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK);
  int n = 0;
  for (; s && sqlite3_step(s) == SQLITE_ROW && n < 3; n++, l++) {
    CHECK_EQ_INT(col_int(s, "idx"), l->index);
    CHECK_EQ_STR(col_text(s, "name"), l->name);
    CHECK_EQ_STR(col_text(s, "kind"), l->kind);
    CHECK_EQ_STR(col_text(s, "in_shape"), l->in_shape);
    CHECK_EQ_STR(col_text(s, "out_shape"), l->out_shape);
    CHECK_EQ_STR(col_text(s, "backend"), l->backend);
    CHECK_EQ_STR(col_text(s, "variants"), l->variants ? l->variants : "(NULL)");
    CHECK_EQ_STR(col_text(s, "impl"), l->impl ? l->impl : "(NULL)");
    CHECK_EQ_INT(col_int(s, "fallback"), l->fallback);
    const char *pcol[3] = {"fwd_problem_id", "bwd_data_problem_id", "bwd_filter_problem_id"};
    for (int i = 0; i < 3; i++) {
      if (l->problem[i])
        check_problem(h, col_int(s, pcol[i]), l->problem[i]);
      else
        CHECK_MSG(col_null(s, pcol[i]), "layer %d %s should be NULL", l->index, pcol[i]);
    }
    check_timing(s, "fwd", &l->fwd);
    check_timing(s, "bwd", &l->bwd);
    check_timing(s, "bwd_data", &l->bwd_data);
    check_timing(s, "bwd_filter", &l->bwd_filter);
    CHECK_NEAR(col_double(s, "fwd_flops"), l->fwd_flops, 0);
    CHECK_NEAR(col_double(s, "bwd_flops"), l->bwd_flops, 0);
  }
  CHECK_EQ_INT(n, 3);
  sqlite3_finalize(s);
}

static void check_net(sqlite3 *h, int64_t net_id, const cb_net_rec *n) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM net_results WHERE id = %lld", (long long)net_id);
  sqlite3_stmt *s = row(h, sql);
  if (!s) return;
  CHECK_EQ_INT(col_int(s, "run_id"), n->run_id);
  CHECK_EQ_STR(col_text(s, "net"), n->net);
  CHECK_EQ_STR(col_text(s, "netdef"), n->netdef);
  CHECK_EQ_STR(col_text(s, "netdef_sha256"), n->netdef_sha256);
  CHECK_EQ_STR(col_text(s, "backend"), n->backend);
  CHECK_EQ_INT(col_int(s, "single_layer"), n->single_layer);
  CHECK_EQ_INT(col_int(s, "batch"), n->batch);
  CHECK_EQ_INT(col_int(s, "threads"), n->threads);
  CHECK_EQ_INT(col_int(s, "iters"), n->iters);
  CHECK_EQ_INT(col_int(s, "warmup"), n->warmup);
  CHECK_EQ_INT(col_int(s, "input_grad"), n->input_grad);
  check_timing(s, "fwd", &n->fwd);
  check_timing(s, "bwd", &n->bwd);
  check_timing(s, "total", &n->total);
  CHECK_NEAR(col_double(s, "fwd_flops"), n->fwd_flops, 0);
  CHECK_NEAR(col_double(s, "bwd_flops"), n->bwd_flops, 0);
  CHECK(is_iso_time(col_text(s, "created")));
  sqlite3_finalize(s);
}

static void check_samples(sqlite3 *h, int64_t net_id, int64_t run_id) {
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT * FROM device_samples WHERE net_result_id = %lld AND phase = 'before'",
           (long long)net_id);
  sqlite3_stmt *s = row(h, sql);
  if (s) {
    CHECK_EQ_INT(col_int(s, "run_id"), run_id);
    CHECK_EQ_STR(col_text(s, "t"), "2023-11-14T22:13:20.250Z");
    CHECK_NEAR(col_double(s, "t_unix"), before_state.t, 1e-6);
    CHECK_NEAR(col_double(s, "cpu_mhz_reported"), 2600, 0);
    CHECK_NEAR(col_double(s, "cpu_mhz_measured"), 3100.5, 0);
    CHECK_NEAR(col_double(s, "load1"), 0.5, 0);
    CHECK(col_null(s, "busy"));      /* -1: no previous sample */
    CHECK(col_null(s, "temp_c"));    /* NAN: no sensor */
    CHECK(col_null(s, "gpu_index")); /* no GPU sampled */
    CHECK(col_null(s, "gpu_sm_mhz"));
    CHECK(col_null(s, "gpu_throttle"));
    sqlite3_finalize(s);
  }
  snprintf(sql, sizeof sql,
           "SELECT * FROM device_samples WHERE net_result_id = %lld AND phase = 'after'",
           (long long)net_id);
  if ((s = row(h, sql))) {
    CHECK_EQ_STR(col_text(s, "t"), "2023-11-14T22:13:21.500Z");
    CHECK(col_null(s, "cpu_mhz_reported")); /* 0: unknown */
    CHECK_NEAR(col_double(s, "cpu_mhz_measured"), 2900, 0);
    CHECK_NEAR(col_double(s, "load1"), 1.25, 0);
    CHECK_NEAR(col_double(s, "busy"), 0.75, 0);
    CHECK_NEAR(col_double(s, "temp_c"), 61.5, 0);
    CHECK_EQ_INT(col_int(s, "gpu_index"), 1);
    CHECK_EQ_STR(col_text(s, "gpu_name"), "NVIDIA H100 80GB HBM3");
    CHECK_NEAR(col_double(s, "gpu_sm_mhz"), 1980, 0);
    CHECK_NEAR(col_double(s, "gpu_mem_mhz"), 2619, 0);
    CHECK(col_null(s, "gpu_temp_c"));
    CHECK_NEAR(col_double(s, "gpu_power_w"), 312.5, 0);
    CHECK_NEAR(col_double(s, "gpu_util"), 0.97, 1e-12);
    CHECK_EQ_STR(col_text(s, "gpu_throttle"), "sw_power_cap");
    sqlite3_finalize(s);
  }
}

static void check_machine_row(sqlite3 *h, int64_t id, const cb_machine *m) {
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT * FROM machines WHERE id = %lld", (long long)id);
  sqlite3_stmt *s = row(h, sql);
  if (!s) return;
  CHECK_EQ_STR(col_text(s, "fingerprint"), m->fingerprint);
  CHECK_EQ_STR(col_text(s, "hostname"), m->hostname);
  CHECK_EQ_STR(col_text(s, "os"), m->os);
  CHECK_EQ_STR(col_text(s, "cpu_vendor"), m->cpu_vendor);
  CHECK_EQ_STR(col_text(s, "cpu_model"), m->cpu_model);
  CHECK_EQ_STR(col_text(s, "isa"), m->isa);
  CHECK_EQ_STR(col_text(s, "isa_level"), m->isa_level);
  CHECK_EQ_INT(col_int(s, "packages"), m->packages);
  CHECK_EQ_INT(col_int(s, "numa_nodes"), m->numa_nodes);
  CHECK_EQ_INT(col_int(s, "cores"), m->cores);
  CHECK_EQ_INT(col_int(s, "pus"), m->pus);
  CHECK_EQ_INT(col_int(s, "l1d_bytes"), m->l1d_bytes);
  CHECK_EQ_INT(col_int(s, "l2_bytes"), m->l2_bytes);
  CHECK_EQ_INT(col_int(s, "l3_bytes"), m->l3_bytes);
  CHECK_EQ_INT(col_int(s, "l2_count"), m->l2_count);
  CHECK_EQ_INT(col_int(s, "l3_count"), m->l3_count);
  CHECK_EQ_INT(col_int(s, "mem_bytes"), m->mem_bytes);
  CHECK_EQ_STR(col_text(s, "topology"), m->topology);
  CHECK(is_iso_time(col_text(s, "first_seen")));
  sqlite3_finalize(s);
}

static void check_build_row(sqlite3 *h, int64_t id, const cb_build *b) {
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT * FROM builds WHERE id = %lld", (long long)id);
  sqlite3_stmt *s = row(h, sql);
  if (!s) return;
  CHECK_EQ_STR(col_text(s, "fingerprint"), b->fingerprint);
  CHECK_EQ_STR(col_text(s, "git_rev"), b->git_rev);
  CHECK_EQ_INT(col_int(s, "git_dirty"), b->git_dirty);
  CHECK_EQ_STR(col_text(s, "compiler"), b->compiler);
  CHECK_EQ_STR(col_text(s, "flags"), b->flags);
  CHECK_EQ_STR(col_text(s, "build_type"), b->build_type);
  CHECK_EQ_STR(col_text(s, "libs"), b->libs);
  CHECK_EQ_STR(col_text(s, "kernel_hash"), b->kernel_hash);
  CHECK(is_iso_time(col_text(s, "first_seen")));
  sqlite3_finalize(s);
}

/* Writes a machine, a build, a run and one net result; reads it all back. */
static void test_roundtrip(const char *path) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(path, &db), CB_OK);
  if (!db) {
    fprintf(stderr, "open: %s\n", cb_errmsg());
    return;
  }
  sqlite3 *h = cb_db_handle(db);
  CHECK_EQ_INT(cb_db_schema_version(), 10);
  CHECK_EQ_INT(sql_int(h, "PRAGMA user_version"), cb_db_schema_version());
  CHECK_EQ_INT(sql_int(h, "PRAGMA foreign_keys"), 1);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
               1);

  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:64c"), m2 = m;
  int64_t mid = 0, mid2 = 0, mid3 = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &mid), CB_OK);
  snprintf(m2.hostname, sizeof m2.hostname, "node-8"); /* an identical machine */
  CHECK_EQ_INT(cb_db_put_machine(db, &m2, &mid2), CB_OK);
  CHECK(mid > 0);
  CHECK_EQ_INT(mid2, mid);
  cb_machine other = fake_machine("cpu:Other:avx512:8c");
  CHECK_EQ_INT(cb_db_put_machine(db, &other, &mid3), CB_OK);
  CHECK(mid3 != mid);
  check_machine_row(h, mid, &m); /* the first host seen names it */

  cb_build b = fake_build("0123abcd"), b2 = fake_build("4567ef01");
  int64_t bid = 0, bid2 = 0, bid3 = 0;
  CHECK_EQ_INT(cb_db_put_build(db, &b, &bid), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &b, &bid2), CB_OK);
  CHECK(bid > 0);
  CHECK_EQ_INT(bid2, bid);
  CHECK_EQ_INT(cb_db_put_build(db, &b2, &bid3), CB_OK);
  CHECK(bid3 != bid);
  check_build_row(h, bid, &b);

  /* The real probes fit the schema too. */
  cb_machine real_m;
  cb_build real_b;
  int64_t real_mid = 0, real_bid = 0;
  if (cb_machine_probe(&real_m) == CB_OK) {
    CHECK_EQ_INT(cb_db_put_machine(db, &real_m, &real_mid), CB_OK);
    check_machine_row(h, real_mid, &real_m);
  }
  CHECK_EQ_INT(cb_build_probe(&real_b), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &real_b, &real_bid), CB_OK);
  check_build_row(h, real_bid, &real_b);

  cb_run_rec r = {.machine_id = mid,
                  .build_id = bid,
                  .command = "convbench bench 'a b'",
                  .kind = "bench",
                  .seed = UINT64_C(0xfedcba9876543210),
                  .threads = 2};
  int64_t run = 0;
  CHECK_EQ_INT(cb_db_run_begin(db, &r, &run), CB_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM runs WHERE id = %lld", (long long)run);
  sqlite3_stmt *s = row(h, sql);
  if (s) {
    CHECK_EQ_STR(col_text(s, "status"), "running");
    CHECK(col_null(s, "ended"));
    CHECK(is_iso_time(col_text(s, "started")));
    sqlite3_finalize(s);
  }

  cb_layer_rec layers[3];
  fake_layers(layers);
  cb_net_rec net = fake_net(run);
  int64_t net_id = 0;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, &before_state, &after_state, &net_id),
               CB_OK);
  if (net_id == 0) fprintf(stderr, "put_net_result: %s\n", cb_errmsg());
  CHECK_EQ_INT(cb_db_run_end(db, run, "ok", NULL), CB_OK);

  if ((s = row(h, sql))) {
    CHECK_EQ_INT(col_int(s, "machine_id"), mid);
    CHECK_EQ_INT(col_int(s, "build_id"), bid);
    CHECK_EQ_STR(col_text(s, "kind"), "bench");
    CHECK_EQ_STR(col_text(s, "command"), "convbench bench 'a b'");
    CHECK_EQ_INT((uint64_t)col_int(s, "seed") == UINT64_C(0xfedcba9876543210), 1);
    CHECK_EQ_INT(col_int(s, "threads"), 2);
    CHECK_EQ_INT(col_int(s, "pid"), getpid());
    CHECK_EQ_STR(col_text(s, "status"), "ok");
    CHECK(is_iso_time(col_text(s, "ended")));
    CHECK(col_null(s, "error"));
    sqlite3_finalize(s);
  }
  check_net(h, net_id, &net);
  check_layers(h, net_id, layers);
  check_samples(h, net_id, run);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM problems"), 6);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM device_samples"), 2);

  /* The same layer problems again: ids are reused, not duplicated. */
  int64_t net_id2 = 0;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, NULL, NULL, &net_id2), CB_OK);
  CHECK(net_id2 > net_id);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM problems"), 6);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM layer_results"), 6);

  /* A failed run keeps its reason; bad ends are refused. */
  int64_t run2 = 0;
  CHECK_EQ_INT(cb_db_run_begin(db, &r, &run2), CB_OK);
  CHECK_EQ_INT(cb_db_run_end(db, run2, "failed", "conv1: out of memory"), CB_OK);
  snprintf(sql, sizeof sql, "SELECT status, error FROM runs WHERE id = %lld", (long long)run2);
  if ((s = row(h, sql))) {
    CHECK_EQ_STR(col_text(s, "status"), "failed");
    CHECK_EQ_STR(col_text(s, "error"), "conv1: out of memory");
    sqlite3_finalize(s);
  }
  CHECK_EQ_INT(cb_db_run_end(db, run2, "done", NULL), CB_ERR_INVALID);
  CHECK_EQ_INT(cb_db_run_end(db, 99999, "ok", NULL), CB_ERR_DB);
  CHECK(strstr(cb_errmsg(), "no run 99999") != NULL);
  cb_db_close(db);

  /* Reopening keeps everything and migrates nothing. */
  CHECK_EQ_INT(cb_db_open(path, &db), CB_OK);
  if (db) {
    h = cb_db_handle(db);
    CHECK_EQ_INT(sql_int(h, "PRAGMA user_version"), cb_db_schema_version());
    CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM net_results"), 2);
    CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM layer_results"), 6);
    CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM runs"), 2);
    check_net(h, net_id, &net);
    int64_t again = 0;
    CHECK_EQ_INT(cb_db_put_machine(db, &m, &again), CB_OK);
    CHECK_EQ_INT(again, mid);
    cb_db_close(db);
  }
}

/* Row counts of the tables a net result writes. */
static void counts(sqlite3 *h, int64_t c[4]) {
  c[0] = sql_int(h, "SELECT count(*) FROM net_results");
  c[1] = sql_int(h, "SELECT count(*) FROM layer_results");
  c[2] = sql_int(h, "SELECT count(*) FROM device_samples");
  c[3] = sql_int(h, "SELECT count(*) FROM problems");
}

/* A net result that fails part-way leaves no trace, and the handle works on. */
static void test_atomic(const char *path) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(path, &db), CB_OK);
  if (!db) return;
  sqlite3 *h = cb_db_handle(db);
  int64_t run = sql_int(h, "SELECT max(id) FROM runs"), before[4], after[4];
  counts(h, before);

  /* The last layer has no kind (NOT NULL). By then the net row, the
   * layers before it and a problem seen nowhere else were written. */
  cb_layer_rec layers[3];
  fake_layers(layers);
  cb_problem fresh = conv_problem(CB_OP_CONV_FWD, 7);
  layers[1].problem[0] = &fresh;
  layers[2].kind = NULL;
  cb_net_rec net = fake_net(run);
  int64_t id = 42;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, &before_state, &after_state, &id),
               CB_ERR_DB);
  CHECK_EQ_INT(id, 0);
  char want[1024];
  snprintf(want, sizeof want,
           "net alexnet-owt: layer 2 (fc6): database '%s': cannot record a layer result: NOT NULL "
           "constraint failed: layer_results.kind",
           path);
  CHECK_EQ_STR(cb_errmsg(), want);
  counts(h, after);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(after[i], before[i]);
  CHECK_EQ_INT(sqlite3_get_autocommit(h), 1); /* no transaction left open */

  /* A run that does not exist: the foreign key stops the net row. */
  fake_layers(layers);
  net.run_id = 99999;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, &before_state, &after_state, &id),
               CB_ERR_DB);
  CHECK(strstr(cb_errmsg(), "FOREIGN KEY constraint failed") != NULL);
  counts(h, after);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(after[i], before[i]);

  /* And the handle still records. */
  net.run_id = run;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, NULL, &after_state, &id), CB_OK);
  counts(h, after);
  CHECK_EQ_INT(after[0], before[0] + 1);
  CHECK_EQ_INT(after[1], before[1] + 3);
  CHECK_EQ_INT(after[2], before[2] + 1);
  cb_db_close(db);
}

/* ---- refusals ------------------------------------------------------------------------- */

/* Opens path expecting CB_ERR_DB with exactly want as the reason. */
static void expect_refusal(const char *path, const char *want) {
  static int sentinel;
  cb_db *db = (cb_db *)&sentinel; /* anything but NULL: a refusal must clear it */
  cb_error_clear();
  CHECK_EQ_INT(cb_db_open(path, &db), CB_ERR_DB);
  CHECK(db == NULL);
  CHECK_EQ_STR(cb_errmsg(), want);
  if (db && db != (cb_db *)&sentinel) cb_db_close(db);
}

static bool same_content(const char *path, const unsigned char *data, size_t n) {
  static unsigned char buf[1 << 14];
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  size_t got = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return got == n && memcmp(buf, data, n) == 0;
}

static void test_refusals(void) {
  char want[1024];

  /* A directory that does not exist: nothing is created. */
  const char *p = tmp_path("nodir/results.db");
  snprintf(want, sizeof want, "cannot create database '%s': directory '%s/nodir' does not exist", p,
           tmpdir);
  expect_refusal(p, want);
  CHECK(!exists(tmp_path("nodir")));
  CHECK(nothing_at(tmp_path("nodir")));

  /* Random bytes: refused, left as they were. */
  static unsigned char junk[8192];
  srand(7);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rand();
  junk[0] = 'X'; /* never "SQLite format 3" */
  p = tmp_path("junk.db");
  write_file(p, junk, sizeof junk);
  snprintf(want, sizeof want, "'%s' is not an SQLite database (file is not a database)", p);
  expect_refusal(p, want);
  CHECK(same_content(p, junk, sizeof junk));
  CHECK(!exists(tmp_path("junk.db-wal")));

  /* Another program's database: refused, untouched (no WAL, no tables). */
  p = tmp_path("other.db");
  sqlite3 *h = NULL;
  CHECK(sqlite3_open(p, &h) == SQLITE_OK);
  CHECK(sqlite3_exec(h, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x')", NULL, NULL,
                     NULL) == SQLITE_OK);
  sqlite3_close(h);
  snprintf(want, sizeof want,
           "'%s' is an SQLite database but not a convbench one (it has other tables and no "
           "convbench schema)",
           p);
  expect_refusal(p, want);
  CHECK(sqlite3_open(p, &h) == SQLITE_OK);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM sqlite_master"), 1);
  CHECK_EQ_INT(sql_int(h, "PRAGMA user_version"), 0);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'delete'"),
               1);
  sqlite3_close(h);

  /* A newer convbench's database: refused, not downgraded. */
  p = tmp_path("newer.db");
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  cb_db_close(db);
  CHECK(sqlite3_open(p, &h) == SQLITE_OK);
  CHECK(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(h);
  snprintf(want, sizeof want,
           "'%s' was written by a newer convbench (schema 99, this build knows %d)", p,
           cb_db_schema_version());
  expect_refusal(p, want);
  CHECK(sqlite3_open(p, &h) == SQLITE_OK);
  CHECK_EQ_INT(sql_int(h, "PRAGMA user_version"), 99);
  sqlite3_close(h);

  /* A directory where the file should be. */
  p = tmp_path("adir");
  CHECK(mkdir(p, 0755) == 0);
  snprintf(want, sizeof want, "cannot open database '%s': it is a directory", p);
  expect_refusal(p, want);

  /* An empty file (touch results.db) is a fresh database, not a refusal. */
  p = tmp_path("empty.db");
  write_file(p, junk, 0);
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  if (db) {
    CHECK_EQ_INT(sql_int(cb_db_handle(db), "PRAGMA user_version"), cb_db_schema_version());
    cb_db_close(db);
  }
}

/* Runs fn in a child process, without root when we are root (root may
 * write read-only files); returns whether it passed. The child leaves with
 * _exit: a process that changed its uid cannot be inspected by the leak
 * checker, and its output is already flushed. */
/* Runs fn in a child process, without root when we are root (root may
 * write read-only files); a failed check when it failed, a note when it
 * could not run (exit 77). */
typedef struct in_child_args {
  void (*fn)(void);
  bool drop_root;
} in_child_args;

static void in_child_body(void *user) {
  const in_child_args *a = user;
  if (a->drop_root && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
  if (access(tmpdir, X_OK) != 0) _exit(77); /* TMPDIR under a private home */
  a->fn();
}

static void in_child(void (*fn)(void), bool drop_root, const char *what) {
  in_child_args a = {fn, drop_root};
  int code = child_wait(child_start(in_child_body, &a));
  if (code == 77)
    printf("note: %s skipped (cannot drop root privileges or reach %s)\n", what, tmpdir);
  else
    CHECK_MSG(code == 0, "%s: child exited %d", what, code);
}

/* Needs a user that permissions apply to. */
static void unwritable_child(void) {
  char want[1024];
  const char *dir = tmp_path("ro");
  const char *p = tmp_path("ro/results.db");
  snprintf(want, sizeof want,
           "cannot create database '%s': directory '%s' is not writable (Permission denied)", p,
           dir);
  expect_refusal(p, want);
  CHECK(nothing_at(p));

  p = tmp_path("readonly.db");
  snprintf(want, sizeof want,
           "cannot write database '%s': the file is read-only (Permission denied)", p);
  expect_refusal(p, want);
}

/* Creating a database on a disk that fills up during the migration:
 * refused, and the half-made file is gone (the next open must not take
 * an empty file for a fresh database). RLIMIT_FSIZE stands in for the
 * full disk: writes past 4 KiB fail with EFBIG. */
static void full_disk_child(void) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = {4096, 4096};
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  const char *p = tmp_path("full.db");
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_ERR_DB);
  CHECK(db == NULL);
  CHECK_MSG(strstr(cb_errmsg(), p) != NULL, "reason: %s", cb_errmsg());
  CHECK(nothing_at(p));
  printf("full disk: %s\n", cb_errmsg());
}

static void test_permissions(void) {
  CHECK(chmod(tmpdir, 0755) == 0); /* the unprivileged child must get in */
  CHECK(mkdir(tmp_path("ro"), 0555) == 0);
  const char *p = tmp_path("readonly.db");
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  cb_db_close(db);
  CHECK(chmod(p, 0444) == 0);
  in_child(unwritable_child, true, "unwritable directory and read-only file");

  in_child(full_disk_child, false, "full disk");
  /* The path is usable afterwards and gets a complete schema. */
  p = tmp_path("full.db");
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  if (db) {
    CHECK_EQ_INT(sql_int(cb_db_handle(db), "PRAGMA user_version"), cb_db_schema_version());
    CHECK_EQ_INT(sql_int(cb_db_handle(db), "SELECT count(*) FROM machines"), 0);
    cb_db_close(db);
  }
}

/* One of several processes that create and fill the same new database at
 * once: the first creates and migrates it, the others wait on its lock
 * (busy timeout) and must find the schema already there. */
static const char *shared_db; /* the file the writers share */

static void writer_child(void *user) {
  (void)user;
  const char *p = shared_db;
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  if (!db) {
    fprintf(stderr, "writer %d: %s\n", (int)getpid(), cb_errmsg());
    return;
  }
  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:64c");
  cb_build b = fake_build("0123abcd");
  int64_t mid = 0, bid = 0, run = 0, id = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &mid), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &b, &bid), CB_OK);
  cb_run_rec r = {.machine_id = mid, .build_id = bid, .command = "w", .kind = "bench"};
  CHECK_EQ_INT(cb_db_run_begin(db, &r, &run), CB_OK);
  cb_layer_rec layers[3];
  fake_layers(layers);
  cb_net_rec net = fake_net(run);
  for (int i = 0; i < 5; i++)
    CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, &before_state, &after_state, &id),
                 CB_OK);
  CHECK_EQ_INT(cb_db_run_end(db, run, "ok", NULL), CB_OK);
  cb_db_close(db);
}

/* Several processes write into one database they all create (name) or
 * that exists as an empty file (touch); everything they wrote is there. */
static void concurrent_writers(const char *name, bool touch) {
  enum { WRITERS = 4 };
  shared_db = tmp_path(name);
  if (touch) write_file(shared_db, (const unsigned char *)"", 0);
  pid_t pids[WRITERS];
  for (int i = 0; i < WRITERS; i++) pids[i] = child_start(writer_child, NULL);
  for (int i = 0; i < WRITERS; i++)
    CHECK_MSG(child_wait(pids[i]) == 0, "%s: writer %d failed", name, i);
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(shared_db, &db), CB_OK);
  if (!db) return;
  sqlite3 *h = cb_db_handle(db);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM machines"), 1);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM runs WHERE status = 'ok'"), WRITERS);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM net_results"), 5 * WRITERS);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM layer_results"), 15 * WRITERS);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM problems"), 6);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
               1);
  cb_db_close(db);
}

/* A database written by an older convbench (schema 1: no layer_results.impl,
 * no peaks table) is migrated forward on open and keeps its rows. */
static void test_migration(void) {
  const char *p = tmp_path("v1.db");
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  cb_db_close(db);
  sqlite3 *h;
  CHECK(sqlite3_open(p, &h) == SQLITE_OK);
  CHECK(
      sqlite3_exec(h,
                   "ALTER TABLE layer_results DROP COLUMN impl;"
                   "ALTER TABLE net_results DROP COLUMN fwd_samples_ms;"
                   "ALTER TABLE net_results DROP COLUMN bwd_samples_ms;"
                   "ALTER TABLE net_results DROP COLUMN total_samples_ms;"
                   "ALTER TABLE layer_results DROP COLUMN fwd_samples_ms;"
                   "ALTER TABLE layer_results DROP COLUMN bwd_samples_ms;"
                   "ALTER TABLE layer_results DROP COLUMN bwd_data_samples_ms;"
                   "ALTER TABLE layer_results DROP COLUMN bwd_filter_samples_ms;"
                   "DROP TABLE train_steps;"
                   "DROP TABLE train_epochs;"
                   "DROP TABLE grad_checks;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_index;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_name;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_sm_mhz;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_mem_mhz;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_temp_c;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_power_w;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_util;"
                   "ALTER TABLE device_samples DROP COLUMN gpu_throttle;"
                   "DROP TABLE peaks;"
                   "DROP TABLE tune_cache;"
                   "DROP TABLE measurements;"
                   "INSERT INTO problems (key, op, flops) VALUES ('gemm:f32:nn:m1n1k1', 'gemm', 2);"
                   "PRAGMA user_version = 1;",
                   NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(h);
  db = NULL;
  CHECK_EQ_INT(cb_db_open(p, &db), CB_OK);
  if (!db) return;
  h = cb_db_handle(db);
  CHECK_EQ_INT(sql_int(h, "PRAGMA user_version"), cb_db_schema_version());
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_table_info('layer_results') WHERE name = "
                          "'impl'"),
               1);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM problems WHERE key = 'gemm:f32:nn:m1n1k1'"), 1);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM sqlite_master WHERE name = 'peaks'"), 1);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_table_info('net_results') WHERE name LIKE "
                          "'%_samples_ms'"),
               3);
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM pragma_table_info('layer_results') WHERE name "
                          "LIKE '%_samples_ms'"),
               4);
  cb_db_close(db);
}

/* Reads column col of the net_results (or layer_results) row id through
 * cb_db_samples_parse; *n -1 when the query or the parse failed. */
static double *stored_samples(sqlite3 *h, const char *table, const char *col, int64_t id, int *n) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = %lld", col, table, (long long)id);
  sqlite3_stmt *s = NULL;
  double *v = NULL;
  *n = -1;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
      cb_db_samples_parse((const char *)sqlite3_column_text(s, 0), &v, n) != CB_OK)
    *n = -1;
  sqlite3_finalize(s);
  return v;
}

/* The per-iteration samples of a net and its layers go into the
 * *_samples_ms columns and come back through cb_db_samples_parse; bad text
 * is refused with CB_ERR_PARSE, never read as numbers. */
static void test_samples(void) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(tmp_path("samples.db"), &db), CB_OK);
  if (!db) return;
  sqlite3 *h = cb_db_handle(db);
  cb_machine m = fake_machine("cpu:Test CPU 9000:avx2:64c");
  cb_build b = fake_build("0123abcd");
  int64_t mid = 0, bid = 0, run = 0, id = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &mid), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &b, &bid), CB_OK);
  cb_run_rec r = {
      .machine_id = mid, .build_id = bid, .command = "x", .kind = "bench", .threads = 2};
  CHECK_EQ_INT(cb_db_run_begin(db, &r, &run), CB_OK);

  /* 20 samples each: awkward values (a microsecond, ten seconds). */
  double fwd[20], bwd[20], total[20];
  for (int i = 0; i < 20; i++) {
    fwd[i] = 13.5 + 0.001234 * i;
    bwd[i] = i == 7 ? 10000.25 : 31 + 1e-3 * i;
    total[i] = fwd[i] + bwd[i];
  }
  cb_layer_rec layers[3];
  fake_layers(layers);
  layers[0].fwd_samples = fwd;
  layers[0].bwd_samples = bwd;
  layers[0].bwd_data_samples = fwd; /* bwd_filter's left NULL: not kept */
  cb_net_rec net = fake_net(run);
  net.fwd_samples = fwd;
  net.bwd_samples = bwd;
  net.total_samples = total;
  CHECK_EQ_INT(cb_db_put_net_result(db, &net, 3, layers, NULL, NULL, &id), CB_OK);

  struct {
    const char *table, *col;
    const double *want;
  } cases[] = {
      {"net_results", "fwd_samples_ms", fwd},
      {"net_results", "bwd_samples_ms", bwd},
      {"net_results", "total_samples_ms", total},
      {"layer_results", "fwd_samples_ms", fwd},
      {"layer_results", "bwd_samples_ms", bwd},
      {"layer_results", "bwd_data_samples_ms", fwd},
      {"layer_results", "bwd_filter_samples_ms", NULL},
  };
  int64_t layer_id = sql_int(h, "SELECT id FROM layer_results WHERE name = 'conv1'");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int n;
    bool is_net = cases[c].table[0] == 'n';
    double *v = stored_samples(h, cases[c].table, cases[c].col, is_net ? id : layer_id, &n);
    CHECK_MSG(n == (cases[c].want ? 20 : 0), "%s.%s: %d samples", cases[c].table, cases[c].col, n);
    for (int i = 0; cases[c].want && i < n && i < 20; i++)
      CHECK_NEAR(v[i], cases[c].want[i], 5.01e-8 * fabs(cases[c].want[i])); /* %.8g */
    free(v);
  }
  /* relu1 stored no samples (none given): NULL, not "[]". */
  CHECK_EQ_INT(sql_int(h, "SELECT count(*) FROM layer_results WHERE name = 'relu1'"
                          " AND fwd_samples_ms IS NULL AND bwd_samples_ms IS NULL"),
               1);
  cb_db_close(db);

  /* The parser on its own: spaces allowed, NULL and "" are none. */
  double *v = NULL;
  int n = -1;
  CHECK_EQ_INT(cb_db_samples_parse(" [1, 2.5 ,3e-3]", &v, &n), CB_OK);
  CHECK_EQ_INT(n, 3);
  if (n == 3) CHECK(v[0] == 1 && v[1] == 2.5 && v[2] == 3e-3);
  free(v);
  CHECK_EQ_INT(cb_db_samples_parse("[]", &v, &n), CB_OK);
  CHECK_EQ_INT(n, 0);
  free(v);
  CHECK_EQ_INT(cb_db_samples_parse(NULL, &v, &n), CB_OK);
  CHECK(n == 0 && v == NULL);
  CHECK_EQ_INT(cb_db_samples_parse("", &v, &n), CB_OK);
  CHECK(n == 0 && v == NULL);
  static const char *const bad[] = {"1,2",     "[1,,2]", "[1,2",  "[nan]",
                                    "[1e999]", "[1 2]",  "[abc]", "{\"a\":1}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = NULL;
    n = -1;
    CHECK_MSG(cb_db_samples_parse(bad[i], &v, &n) == CB_ERR_PARSE, "'%s' was accepted", bad[i]);
    CHECK(v == NULL && n == 0);
    CHECK(strstr(cb_errmsg(), "samples") != NULL);
  }
}

int main(void) {
  if (!tmpdir_make("cb_test_db")) return 1;

  test_devstate(); /* first: it checks the first sample of the process */
  test_machine();
  test_build();
  const char *db = tmp_path("results.db");
  test_roundtrip(db);
  test_atomic(db);
  test_samples();
  test_refusals();
  test_migration();
  test_permissions();
  concurrent_writers("shared.db", false);
  concurrent_writers("touched.db", true);

  chmod(tmp_path("ro"), 0755);
  tmpdir_remove();
  return cb_test_result();
}
