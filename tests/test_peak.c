/* test_peak.c: the FMA peak's checks and storage, and the noise verdict
 * every timing table shows.
 *
 * The theoretical-rate table gives the right flops/cycle per CPU family;
 * cb_peak_judge refuses a peak above the theoretical rate, far below it,
 * or from too few repeats; the database never hands back a brief or
 * faulty peak (the latest usable row wins); a timed series with the
 * issue's preemption (median 16.5 ms, min 0.116 ms) is flagged; the CPUs
 * other processes kept busy come from the tick counters, not the load
 * average, and a busy loop beside us shows in them. */
#include "cb_test.h"
#include "devstate.h"
#include "db.h"
#include "db_fixture.h"
#include "peak.h"
#include "stats.h"
#include "util.h"

#include <sys/wait.h>
#include <unistd.h>

static void test_table(void) {
  const char *label;
  CHECK_EQ_INT(cb_peak_flops_per_cycle("AuthenticAMD", 0x1A, 0x02, "avx512", &label), 64);
  CHECK(strstr(label, "Zen 5") != NULL);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("AuthenticAMD", 0x1A, 0x24, "avx512", NULL), 32);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("AuthenticAMD", 0x19, 0x11, "avx512", &label), 32);
  CHECK(strstr(label, "Zen 4") != NULL);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("AuthenticAMD", 0x19, 0x01, "avx2", NULL), 32);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("AuthenticAMD", 0x17, 0x01, "avx2", NULL), 16);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("GenuineIntel", 6, 0x55, "avx2", NULL), 32);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("SomeoneElse", 1, 1, "avx512", &label), 64);
  CHECK(strstr(label, "default") != NULL);
  CHECK_EQ_INT(cb_peak_flops_per_cycle("SomeoneElse", 1, 1, "sse", &label), 8);
  CHECK(strstr(label, "default") != NULL);

  /* threads x clock x flops/cycle, the clock at least the one measured. */
  cb_peak p = {0};
  cb_peak_theoretical(2, 3000, &p);
  CHECK(p.clock_mhz >= 3000);
  CHECK(p.theoretical_gflops >= 2 * 3.0 * 8 - 1e-9);
  CHECK(strstr(p.theoretical_how, "2 threads x") != NULL);
}

static void test_judge(void) {
  cb_peak p = {.gflops = 100, .repeats = 8, .theoretical_gflops = 100};
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_OK);
  p.gflops = 104.9; /* within 5% */
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_OK);
  p.gflops = 106; /* the ISA cannot do this: a fault */
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_FAULT);
  p.gflops = 30; /* threads without their cores */
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_BUSY);
  p.gflops = 90, p.repeats = 1; /* a brief estimate */
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_TOO_FEW);
  p.repeats = 8, p.theoretical_gflops = 0;
  CHECK_EQ_INT(cb_peak_judge(&p), CB_PEAK_UNCHECKED);
}

/* Stores p for run and reads the peak back at p's thread count. */
static double put_get(cb_db *db, int64_t run, const cb_peak *p, const char *fp) {
  CHECK_EQ_INT(cb_db_put_peak(db, run, p), CB_OK);
  cb_peak got;
  bool found = false;
  CHECK_EQ_INT(cb_db_get_peak(db, fp, p->threads, &got, &found), CB_OK);
  return found ? got.gflops : -1;
}

static void test_db_peaks(void) {
  cb_db *db = NULL;
  CHECK_EQ_INT(cb_db_open(tmp_path("peaks.db"), &db), CB_OK);
  if (!db) return;
  const char *fp = "cpu:Test CPU 9000:avx2:64c";
  cb_machine m = fake_machine(fp);
  cb_build b = {.git_rev = "abc",
                .compiler = "cc",
                .flags = "-O2",
                .build_type = "Release",
                .libs = "none",
                .kernel_hash = "k",
                .fingerprint = "f"};
  cb_run_rec r = {.command = "convbench peak", .kind = "peak", .threads = 4};
  int64_t run = 0;
  CHECK_EQ_INT(cb_db_put_machine(db, &m, &r.machine_id), CB_OK);
  CHECK_EQ_INT(cb_db_put_build(db, &b, &r.build_id), CB_OK);
  CHECK_EQ_INT(cb_db_run_begin(db, &r, &run), CB_OK);

  cb_peak brief = {.isa = "avx2",
                   .threads = 4,
                   .gflops = 50,
                   .gflops_per_core = 12.5,
                   .repeats = 1,
                   .theoretical_gflops = 500};
  CHECK_NEAR(put_get(db, run, &brief, fp), -1, 0); /* a brief estimate is never used */
  cb_peak high = brief;
  high.repeats = 8, high.gflops = 1000;
  CHECK_NEAR(put_get(db, run, &high, fp), -1, 0); /* above its theoretical rate */
  cb_peak good = high;
  good.gflops = 400, good.gflops_min = 350, good.gflops_median = 390;
  snprintf(good.theoretical_how, sizeof good.theoretical_how, "4 threads x 3906 MHz x 32");
  CHECK_NEAR(put_get(db, run, &good, fp), 400, 1e-9);
  /* Later brief and faulty rows do not displace it. */
  CHECK_NEAR(put_get(db, run, &brief, fp), 400, 1e-9);
  CHECK_NEAR(put_get(db, run, &high, fp), 400, 1e-9);
  /* A row from before migration 9 (no repeats) neither. */
  sqlite3 *h = cb_db_handle(db);
  char sql[256];
  snprintf(sql, sizeof sql,
           "INSERT INTO peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,"
           " measured) VALUES (%lld, %lld, 'avx2', 4, 235, 58, 0.5, 'x')",
           (long long)run, (long long)r.machine_id);
  CHECK_EQ_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
  cb_peak got;
  bool found = false;
  CHECK_EQ_INT(cb_db_get_peak(db, fp, 4, &got, &found), CB_OK);
  CHECK(found);
  CHECK_NEAR(got.gflops, 400, 1e-9);
  CHECK_NEAR(got.gflops_min, 350, 1e-9);
  CHECK_NEAR(got.gflops_median, 390, 1e-9);
  CHECK_EQ_INT(got.repeats, 8);
  CHECK_EQ_STR(got.theoretical_how, "4 threads x 3906 MHz x 32");
  CHECK(got.measured[0] != '\0');
  CHECK_EQ_INT(cb_db_get_peak(db, fp, 2, &got, &found), CB_OK); /* other thread count */
  CHECK(!found);
  cb_db_close(db);
}

/* The preempted series: median 16.5 ms, min 0.116 ms. */
static void test_noise(void) {
  const double preempted[] = {16.5, 0.116, 16.4, 16.6, 16.5, 16.7, 0.118};
  const double tight[] = {1.00, 1.01, 0.99, 1.00, 1.02, 1.00};
  const double noisy[] = {1.0, 1.3, 0.9, 1.2, 1.0, 1.4, 0.95};
  cb_timing t;
  cb_timing_compute(preempted, 7, &t);
  CHECK_EQ_INT(cb_timing_noise(&t, NULL), CB_NOISE_PREEMPTED);
  cb_timing_compute(tight, 6, &t);
  CHECK_EQ_INT(cb_timing_noise(&t, NULL), CB_NOISE_OK);
  cb_timing_compute(noisy, 7, &t);
  CHECK_EQ_INT(cb_timing_noise(&t, NULL), CB_NOISE_NOISY);
}

/* Synthetic counters: 2 CPUs, 200 ticks of wall time (400 in all), 300
 * busy of which 100 are ours: the others kept 1 CPU busy. */
static void test_others_cpus(void) {
  cb_devstate a = {.ticks_total = 1000, .ticks_busy = 500, .ticks_self = 50, .cpus_online = 2};
  cb_devstate b = {.ticks_total = 1400, .ticks_busy = 800, .ticks_self = 150, .cpus_online = 2};
  CHECK_NEAR(cb_devstate_others_cpus(&a, &b), 1.0, 1e-12);
  b.ticks_busy = 600; /* only us: none, never negative */
  CHECK_NEAR(cb_devstate_others_cpus(&a, &b), 0.0, 1e-12);
  cb_devstate zero = {0};
  CHECK_NEAR(cb_devstate_others_cpus(&zero, &b), -1.0, 1e-12);
  /* Real samples around a child that burns a CPU for ~0.3 s: it is not
   * waited for while it runs, so it counts as another process. */
  cb_devstate s0, s1;
  CHECK(cb_devstate_sample(&s0) == CB_OK);
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t t0 = cb_now_ns();
    volatile double x = 0;
    while (cb_ms(t0, cb_now_ns()) < 300) x += 1;
    _exit(0);
  }
  usleep(300000);
  CHECK(cb_devstate_sample(&s1) == CB_OK);
  double others = cb_devstate_others_cpus(&s0, &s1);
  CHECK(others > 0.3); /* the child's whole CPU, less what the kernel's ticks miss */
  if (pid > 0) waitpid(pid, NULL, 0);
}

int main(void) {
  if (!tmpdir_make("cb_test_peak")) return 1;
  test_table();
  test_judge();
  test_db_peaks();
  test_noise();
  test_others_cpus();
  tmpdir_remove();
  return cb_test_result();
}
