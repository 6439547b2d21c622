/* store.c: the SQLite database everything records into (results.db).
 *
 * Schema and migrations. The schema is versioned with PRAGMA user_version;
 * migrations[] below holds one entry per version, each a list of SQL
 * statements that takes the schema from the previous version to its own.
 * cb_db_open() applies the missing ones in order, each in its own
 * transaction together with the bump of user_version, so a database is
 * always at exactly one version and a failed upgrade leaves the old one.
 * To change the schema (a new table for the tune cache, gradient checks,
 * training logs, ...):
 *   1. write a new list, migration_2[], of CREATE / ALTER statements;
 *   2. append it to migrations[]: its version is its position + 1, and
 *      cb_db_schema_version() follows;
 *   3. never edit a migration that has been committed: databases out there
 *      already went through it. Fix mistakes with the next migration.
 * PRAGMA application_id marks the file as convbench's, so that an SQLite
 * database of another program is refused instead of "upgraded".
 *
 * Conventions: timestamps are ISO-8601 UTC text with milliseconds
 * ("2024-05-01T12:00:00.123Z"); timings are milliseconds, NULL when no
 * sample was taken; unknown device readings are NULL. Every value is
 * bound to a prepared statement, never pasted into SQL text.
 *
 * A cb_db is used by one thread at a time; processes share a file through
 * WAL mode and the busy timeout. */
#include "store.h"

#include "cache.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* PRAGMA application_id of our files, 0x43424e43 ("CBNC"): set by
 * migration 1, checked on open. */
#define CB_APPLICATION_ID 1128418883
#define CB_STR_(x)        #x
#define CB_STR(x)         CB_STR_(x)

/* Longest database path accepted; buffers for the path plus a suffix
 * (".new-XXXXXX", "-wal") are sized from it. */
#define CB_PATH_MAX 4096

/* How long a writer waits for another process's transaction to finish. */
#define CB_BUSY_TIMEOUT_MS 10000

/* ---- schema ------------------------------------------------------------------ */

/* Columns of one timed series: median, min, max, mad in ms and the sample
 * count (the four are NULL when the count is 0). */
#define TIMING_COLS(p)                                                                             \
  p "_median_ms REAL, " p "_min_ms REAL, " p "_max_ms REAL, " p "_mad_ms REAL, " p                 \
    "_samples INTEGER NOT NULL CHECK (" p "_samples >= 0), "

// clang-format off
static const char *const migration_1[] = {
    "PRAGMA application_id = " CB_STR(CB_APPLICATION_ID),

    /* A machine is identified by its device fingerprint; the first host seen
     * with it names it (runs record their own hostname). */
    "CREATE TABLE machines ("
    " id INTEGER PRIMARY KEY,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " hostname TEXT NOT NULL, os TEXT NOT NULL,"
    " cpu_vendor TEXT NOT NULL, cpu_model TEXT NOT NULL,"
    " isa TEXT NOT NULL, isa_level TEXT NOT NULL,"
    " packages INTEGER NOT NULL, numa_nodes INTEGER NOT NULL,"
    " cores INTEGER NOT NULL, pus INTEGER NOT NULL,"
    " l1d_bytes INTEGER NOT NULL, l2_bytes INTEGER NOT NULL, l3_bytes INTEGER NOT NULL,"
    " l2_count INTEGER NOT NULL, l3_count INTEGER NOT NULL,"
    " mem_bytes INTEGER NOT NULL,"
    " topology TEXT NOT NULL,"
    " first_seen TEXT NOT NULL)",

    /* The fingerprint alone keys the tune cache; a build row also keeps
     * the revision and flags it was seen with. */
    "CREATE TABLE builds ("
    " id INTEGER PRIMARY KEY,"
    " fingerprint TEXT NOT NULL,"
    " git_rev TEXT NOT NULL,"
    " git_dirty INTEGER NOT NULL CHECK (git_dirty IN (0, 1)),"
    " compiler TEXT NOT NULL, flags TEXT NOT NULL, build_type TEXT NOT NULL,"
    " libs TEXT NOT NULL, kernel_hash TEXT NOT NULL,"
    " first_seen TEXT NOT NULL,"
    " UNIQUE (fingerprint, git_rev, git_dirty, compiler, flags))",
    "CREATE INDEX builds_fingerprint ON builds(fingerprint)",

    /* seed is the uint64 bit pattern stored as a signed integer: read it
     * back through a uint64_t. pid and hostname find runs left 'running'
     * by a killed process. */
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " machine_id INTEGER NOT NULL REFERENCES machines(id),"
    " build_id INTEGER NOT NULL REFERENCES builds(id),"
    " kind TEXT NOT NULL, command TEXT NOT NULL,"
    " seed INTEGER NOT NULL, threads INTEGER NOT NULL,"
    " hostname TEXT NOT NULL, pid INTEGER NOT NULL,"
    " started TEXT NOT NULL, ended TEXT,"
    " status TEXT NOT NULL DEFAULT 'running'"
    "  CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),"
    " error TEXT)",
    "CREATE INDEX runs_machine ON runs(machine_id)",
    "CREATE INDEX runs_build ON runs(build_id)",

    /* key is cb_problem_key(), which parses back to the problem. */
    "CREATE TABLE problems ("
    " id INTEGER PRIMARY KEY,"
    " key TEXT NOT NULL UNIQUE,"
    " op TEXT NOT NULL,"
    " flops REAL NOT NULL)",

    "CREATE TABLE net_results ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " net TEXT NOT NULL, netdef TEXT, netdef_sha256 TEXT,"
    " backend TEXT NOT NULL,"
    " single_layer INTEGER NOT NULL CHECK (single_layer IN (0, 1)),"
    " batch INTEGER NOT NULL, threads INTEGER NOT NULL,"
    " iters INTEGER NOT NULL, warmup INTEGER NOT NULL,"
    " input_grad INTEGER NOT NULL CHECK (input_grad IN (0, 1)), "
    TIMING_COLS("fwd") TIMING_COLS("bwd") TIMING_COLS("total")
    " fwd_flops REAL NOT NULL, bwd_flops REAL NOT NULL,"
    " created TEXT NOT NULL)",
    "CREATE INDEX net_results_run ON net_results(run_id)",
    "CREATE INDEX net_results_net ON net_results(net, backend)",

    "CREATE TABLE layer_results ("
    " id INTEGER PRIMARY KEY,"
    " net_result_id INTEGER NOT NULL REFERENCES net_results(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " name TEXT NOT NULL, kind TEXT NOT NULL,"
    " in_shape TEXT, out_shape TEXT,"
    " backend TEXT, variants TEXT,"
    " fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)),"
    " fwd_problem_id INTEGER REFERENCES problems(id),"
    " bwd_data_problem_id INTEGER REFERENCES problems(id),"
    " bwd_filter_problem_id INTEGER REFERENCES problems(id), "
    TIMING_COLS("fwd") TIMING_COLS("bwd") TIMING_COLS("bwd_data") TIMING_COLS("bwd_filter")
    " fwd_flops REAL NOT NULL, bwd_flops REAL NOT NULL,"
    " UNIQUE (net_result_id, idx))",
    "CREATE INDEX layer_results_fwd_problem ON layer_results(fwd_problem_id)",
    "CREATE INDEX layer_results_bwd_data_problem ON layer_results(bwd_data_problem_id)",
    "CREATE INDEX layer_results_bwd_filter_problem ON layer_results(bwd_filter_problem_id)",

    /* net_result_id is NULL for samples that belong to other measurements
     * (tuning), which later migrations link from their own tables. */
    "CREATE TABLE device_samples ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " net_result_id INTEGER REFERENCES net_results(id) ON DELETE CASCADE,"
    " phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),"
    " t TEXT NOT NULL, t_unix REAL NOT NULL,"
    " cpu_mhz_reported REAL, cpu_mhz_measured REAL,"
    " load1 REAL, busy REAL, temp_c REAL)",
    "CREATE INDEX device_samples_net_result ON device_samples(net_result_id)",
    "CREATE INDEX device_samples_run ON device_samples(run_id)",
    NULL,
};

/* 2: what each library chose for each op of a layer (oneDNN's
 * implementation string, OpenBLAS's core), as "fwd=... bwd_data=...". */
static const char *const migration_2[] = {
    "ALTER TABLE layer_results ADD COLUMN impl TEXT",
    NULL,
};

/* 3: the machine's measured FP32 FMA peak (convbench peak), per thread
 * count, so every GFLOP/s can be read as a fraction of it. */
static const char *const migration_3[] = {
    "CREATE TABLE peaks ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " machine_id INTEGER NOT NULL REFERENCES machines(id),"
    " isa TEXT NOT NULL, threads INTEGER NOT NULL CHECK (threads >= 1),"
    " gflops REAL NOT NULL, gflops_per_core REAL NOT NULL, seconds REAL NOT NULL,"
    " measured TEXT NOT NULL)",
    "CREATE INDEX peaks_machine ON peaks(machine_id, threads)",
    NULL,
};

/* 4: the autotuner. measurements holds every candidate of every tuned
 * problem, winners and losers alike, with the device state around the
 * problem's tuning (mhz_* are the measured clock, not the reported one).
 * tune_cache holds the winner per (problem, device, build) and source: a
 * local row points at its measurement; an imported row has none and keeps
 * where it came from in origin and in hostname .. git_rev (NULL on local
 * rows, whose measurement's run says it). */
static const char *const migration_4[] = {
    "CREATE TABLE measurements ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " problem_id INTEGER NOT NULL REFERENCES problems(id),"
    " device_fp TEXT NOT NULL, build_fp TEXT NOT NULL,"
    " threads INTEGER NOT NULL CHECK (threads >= 1),"
    " backend TEXT NOT NULL, variant TEXT NOT NULL, params TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'pruned', 'mismatch', 'error')),"
    " max_rel_err REAL,"
    " median_ms REAL, min_ms REAL, max_ms REAL, mad_ms REAL,"
    " samples INTEGER NOT NULL CHECK (samples >= 0),"
    " gflops REAL, impl TEXT, error TEXT,"
    " noisy INTEGER NOT NULL CHECK (noisy IN (0, 1)),"
    " mhz_before REAL, mhz_after REAL, load_before REAL, load_after REAL,"
    " busy_after REAL, temp_after REAL,"
    " created TEXT NOT NULL)",
    "CREATE INDEX measurements_problem ON measurements(problem_id, device_fp, build_fp)",
    "CREATE INDEX measurements_run ON measurements(run_id)",

    "CREATE TABLE tune_cache ("
    " id INTEGER PRIMARY KEY,"
    " problem_id INTEGER NOT NULL REFERENCES problems(id),"
    " device_fp TEXT NOT NULL, device_generation TEXT NOT NULL, build_fp TEXT NOT NULL,"
    " backend TEXT NOT NULL, variant TEXT NOT NULL, params TEXT NOT NULL,"
    " median_ms REAL NOT NULL, min_ms REAL NOT NULL, max_ms REAL NOT NULL, mad_ms REAL NOT NULL,"
    " samples INTEGER NOT NULL CHECK (samples >= 1),"
    " runner_up TEXT NOT NULL, runner_up_median_ms REAL NOT NULL,"
    " source TEXT NOT NULL CHECK (source IN ('local', 'imported')),"
    " origin TEXT NOT NULL, measured TEXT NOT NULL,"
    " measurement_id INTEGER REFERENCES measurements(id),"
    " hostname TEXT, cpu_model TEXT, isa_level TEXT, cores INTEGER, git_rev TEXT,"
    " CHECK ((source = 'local') = (measurement_id IS NOT NULL)),"
    " UNIQUE (problem_id, device_fp, build_fp, source))",
    "CREATE INDEX tune_cache_generation ON tune_cache(problem_id, device_generation)",
    NULL,
};

/* 5: training (convbench train, and peers such as PyTorch as backend
 * 'pytorch') and gradient checks (convbench check). seconds is wall time
 * since the start of training; images_per_s is the rate of that step or
 * epoch alone. A grad_checks row is one comparison: what is 'fd_input',
 * 'fd_weights' (finite differences on ref) or 'fwd', 'bwd_data',
 * 'bwd_filter', 'dweights' (a backend against ref). */
static const char *const migration_5[] = {
    "CREATE TABLE train_steps ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " net TEXT NOT NULL, backend TEXT NOT NULL,"
    " epoch INTEGER NOT NULL, step INTEGER NOT NULL,"
    " loss REAL NOT NULL, accuracy REAL, lr REAL NOT NULL,"
    " images_per_s REAL, seconds REAL NOT NULL)",
    "CREATE INDEX train_steps_run ON train_steps(run_id, step)",

    "CREATE TABLE train_epochs ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " net TEXT NOT NULL, backend TEXT NOT NULL, dataset TEXT NOT NULL,"
    " batch INTEGER NOT NULL, threads INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL, steps INTEGER NOT NULL,"
    " train_loss REAL NOT NULL, train_accuracy REAL,"
    " test_loss REAL, test_accuracy REAL,"
    " lr REAL NOT NULL, images_per_s REAL NOT NULL, epoch_seconds REAL NOT NULL,"
    " seconds REAL NOT NULL, created TEXT NOT NULL)",
    "CREATE INDEX train_epochs_run ON train_epochs(run_id, epoch)",

    "CREATE TABLE grad_checks ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " net TEXT NOT NULL, layer TEXT NOT NULL, kind TEXT NOT NULL,"
    " backend TEXT NOT NULL, variant TEXT, what TEXT NOT NULL,"
    " batch INTEGER NOT NULL,"
    " max_abs_err REAL NOT NULL, max_rel_err REAL NOT NULL, threshold REAL NOT NULL,"
    " pass INTEGER NOT NULL CHECK (pass IN (0, 1)),"
    " created TEXT NOT NULL)",
    "CREATE INDEX grad_checks_run ON grad_checks(run_id)",
    NULL,
};

/* 6: GPU state beside every device sample and tuning measurement (NVML:
 * clocks, temperature, power, throttle reasons); NULL on hosts without a
 * GPU. gpu_throttle is NVML's reason bits as names, comma separated. */
static const char *const migration_6[] = {
    "ALTER TABLE device_samples ADD COLUMN gpu_index INTEGER",
    "ALTER TABLE device_samples ADD COLUMN gpu_name TEXT",
    "ALTER TABLE device_samples ADD COLUMN gpu_sm_mhz REAL",
    "ALTER TABLE device_samples ADD COLUMN gpu_mem_mhz REAL",
    "ALTER TABLE device_samples ADD COLUMN gpu_temp_c REAL",
    "ALTER TABLE device_samples ADD COLUMN gpu_power_w REAL",
    "ALTER TABLE device_samples ADD COLUMN gpu_util REAL",
    "ALTER TABLE device_samples ADD COLUMN gpu_throttle TEXT",
    "ALTER TABLE measurements ADD COLUMN gpu_sm_mhz_after REAL",
    "ALTER TABLE measurements ADD COLUMN gpu_temp_after REAL",
    "ALTER TABLE measurements ADD COLUMN gpu_power_after REAL",
    "ALTER TABLE measurements ADD COLUMN gpu_throttle_after TEXT",
    NULL,
};
// clang-format on

/* migrations[i] takes the schema from version i to version i + 1. */
static const char *const *const migrations[] = {
    migration_1, migration_2, migration_3, migration_4, migration_5, migration_6,
};

#define CB_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int cb_db_schema_version(void) {
  return CB_SCHEMA_VERSION;
}

/* ---- prepared statements ------------------------------------------------------- */

typedef enum stmt_id {
  ST_MACHINE_PUT,
  ST_MACHINE_GET,
  ST_BUILD_PUT,
  ST_BUILD_GET,
  ST_RUN_BEGIN,
  ST_RUN_END,
  ST_PROBLEM_PUT,
  ST_PROBLEM_GET,
  ST_NET_PUT,
  ST_LAYER_PUT,
  ST_SAMPLE_PUT,
  ST_PEAK_PUT,
  ST_PEAK_GET,
  ST_MEASUREMENT_PUT,
  ST_CACHE_PUT,
  ST_CACHE_GET,
  ST_CACHE_NEWEST,
  ST_CACHE_EACH,
  ST_CACHE_CLEAR,
  ST_COUNT
} stmt_id;

#define TIMING_VALS(p)                                                                             \
  ":" p "_median_ms, :" p "_min_ms, :" p "_max_ms, :" p "_mad_ms, :" p "_samples, "
#define TIMING_NAMES(p) p "_median_ms, " p "_min_ms, " p "_max_ms, " p "_mad_ms, " p "_samples, "

/* What every tune_cache query returns, in the order read_cache_row()
 * reads it. Provenance comes from the row itself when it was imported, or
 * from the run that measured it when it is local. */
#define CACHE_COLS                                                                                 \
  "SELECT p.key, c.device_fp, c.build_fp, c.backend, c.variant, c.params, c.median_ms,"            \
  " c.min_ms, c.max_ms, c.mad_ms, c.samples, c.runner_up, c.runner_up_median_ms, c.origin,"        \
  " c.measured, c.measurement_id, c.source, COALESCE(c.hostname, r.hostname),"                     \
  " COALESCE(c.cpu_model, ma.cpu_model), COALESCE(c.isa_level, ma.isa_level),"                     \
  " COALESCE(c.cores, ma.cores), COALESCE(c.git_rev, b.git_rev)"                                   \
  " FROM tune_cache c JOIN problems p ON p.id = c.problem_id"                                      \
  " LEFT JOIN measurements m ON m.id = c.measurement_id LEFT JOIN runs r ON r.id = m.run_id"       \
  " LEFT JOIN machines ma ON ma.id = r.machine_id LEFT JOIN builds b ON b.id = r.build_id"

/* Parameters are named so that a binding can never land in the wrong
 * column; bind_*() fails loudly on a name that is not in the statement. */
// clang-format off
static const char *const stmt_sql[ST_COUNT] = {
    [ST_MACHINE_PUT] =
        "INSERT INTO machines (fingerprint, hostname, os, cpu_vendor, cpu_model, isa, isa_level,"
        " packages, numa_nodes, cores, pus, l1d_bytes, l2_bytes, l3_bytes, l2_count, l3_count,"
        " mem_bytes, topology, first_seen)"
        " VALUES (:fingerprint, :hostname, :os, :cpu_vendor, :cpu_model, :isa, :isa_level,"
        " :packages, :numa_nodes, :cores, :pus, :l1d_bytes, :l2_bytes, :l3_bytes, :l2_count,"
        " :l3_count, :mem_bytes, :topology, :first_seen)"
        " ON CONFLICT (fingerprint) DO NOTHING",
    [ST_MACHINE_GET] = "SELECT id FROM machines WHERE fingerprint = :fingerprint",
    [ST_BUILD_PUT] =
        "INSERT INTO builds (fingerprint, git_rev, git_dirty, compiler, flags, build_type, libs,"
        " kernel_hash, first_seen)"
        " VALUES (:fingerprint, :git_rev, :git_dirty, :compiler, :flags, :build_type, :libs,"
        " :kernel_hash, :first_seen)"
        " ON CONFLICT (fingerprint, git_rev, git_dirty, compiler, flags) DO NOTHING",
    [ST_BUILD_GET] = "SELECT id FROM builds WHERE fingerprint = :fingerprint AND git_rev = :git_rev"
                     " AND git_dirty = :git_dirty AND compiler = :compiler AND flags = :flags",
    [ST_RUN_BEGIN] =
        "INSERT INTO runs (machine_id, build_id, kind, command, seed, threads, hostname, pid,"
        " started, status)"
        " VALUES (:machine_id, :build_id, :kind, :command, :seed, :threads, :hostname, :pid,"
        " :started, 'running')",
    [ST_RUN_END] =
        "UPDATE runs SET ended = :ended, status = :status, error = :error WHERE id = :id",
    [ST_PROBLEM_PUT] = "INSERT INTO problems (key, op, flops) VALUES (:key, :op, :flops)"
                       " ON CONFLICT (key) DO NOTHING",
    [ST_PROBLEM_GET] = "SELECT id FROM problems WHERE key = :key",
    [ST_NET_PUT] =
        "INSERT INTO net_results (run_id, net, netdef, netdef_sha256, backend, single_layer,"
        " batch, threads, iters, warmup, input_grad, "
        TIMING_NAMES("fwd") TIMING_NAMES("bwd") TIMING_NAMES("total")
        " fwd_flops, bwd_flops, created)"
        " VALUES (:run_id, :net, :netdef, :netdef_sha256, :backend, :single_layer,"
        " :batch, :threads, :iters, :warmup, :input_grad, "
        TIMING_VALS("fwd") TIMING_VALS("bwd") TIMING_VALS("total")
        " :fwd_flops, :bwd_flops, :created)",
    [ST_LAYER_PUT] =
        "INSERT INTO layer_results (net_result_id, idx, name, kind, in_shape, out_shape,"
        " backend, variants, fallback, fwd_problem_id, bwd_data_problem_id,"
        " bwd_filter_problem_id, "
        TIMING_NAMES("fwd") TIMING_NAMES("bwd") TIMING_NAMES("bwd_data") TIMING_NAMES("bwd_filter")
        " fwd_flops, bwd_flops, impl)"
        " VALUES (:net_result_id, :idx, :name, :kind, :in_shape, :out_shape,"
        " :backend, :variants, :fallback, :fwd_problem_id, :bwd_data_problem_id,"
        " :bwd_filter_problem_id, "
        TIMING_VALS("fwd") TIMING_VALS("bwd") TIMING_VALS("bwd_data") TIMING_VALS("bwd_filter")
        " :fwd_flops, :bwd_flops, :impl)",
    [ST_PEAK_PUT] =
        "INSERT INTO peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,"
        " measured) SELECT :run_id, machine_id, :isa, :threads, :gflops, :gflops_per_core,"
        " :seconds, :measured FROM runs WHERE id = :run_id",
    [ST_PEAK_GET] =
        "SELECT p.isa, p.threads, p.gflops, p.gflops_per_core, p.seconds FROM peaks p"
        " JOIN machines m ON m.id = p.machine_id"
        " WHERE m.fingerprint = :fingerprint AND p.threads = :threads ORDER BY p.id DESC LIMIT 1",
    [ST_SAMPLE_PUT] = "INSERT INTO device_samples (run_id, net_result_id, phase, t, t_unix,"
                      " cpu_mhz_reported, cpu_mhz_measured, load1, busy, temp_c, gpu_index,"
                      " gpu_name, gpu_sm_mhz, gpu_mem_mhz, gpu_temp_c, gpu_power_w, gpu_util,"
                      " gpu_throttle)"
                      " VALUES (:run_id, :net_result_id, :phase, :t, :t_unix, :cpu_mhz_reported,"
                      " :cpu_mhz_measured, :load1, :busy, :temp_c, :gpu_index, :gpu_name,"
                      " :gpu_sm_mhz, :gpu_mem_mhz, :gpu_temp_c, :gpu_power_w, :gpu_util,"
                      " :gpu_throttle)",
    [ST_MEASUREMENT_PUT] =
        "INSERT INTO measurements (run_id, problem_id, device_fp, build_fp, threads, backend,"
        " variant, params, status, max_rel_err, median_ms, min_ms, max_ms, mad_ms, samples,"
        " gflops, impl, error, noisy, mhz_before, mhz_after, load_before, load_after, busy_after,"
        " temp_after, gpu_sm_mhz_after, gpu_temp_after, gpu_power_after, gpu_throttle_after,"
        " created)"
        " VALUES (:run_id, :problem_id, :device_fp, :build_fp, :threads, :backend,"
        " :variant, :params, :status, :max_rel_err, :median_ms, :min_ms, :max_ms, :mad_ms,"
        " :samples, :gflops, :impl, :error, :noisy, :mhz_before, :mhz_after, :load_before,"
        " :load_after, :busy_after, :temp_after, :gpu_sm_mhz_after, :gpu_temp_after,"
        " :gpu_power_after, :gpu_throttle_after, :created)",
    /* An upsert: the row keeps its id, everything else is the new entry's. */
    [ST_CACHE_PUT] =
        "INSERT INTO tune_cache (problem_id, device_fp, device_generation, build_fp, backend,"
        " variant, params, median_ms, min_ms, max_ms, mad_ms, samples, runner_up,"
        " runner_up_median_ms, source, origin, measured, measurement_id, hostname, cpu_model,"
        " isa_level, cores, git_rev)"
        " VALUES (:problem_id, :device_fp, :device_generation, :build_fp, :backend,"
        " :variant, :params, :median_ms, :min_ms, :max_ms, :mad_ms, :samples, :runner_up,"
        " :runner_up_median_ms, :source, :origin, :measured, :measurement_id, :hostname,"
        " :cpu_model, :isa_level, :cores, :git_rev)"
        " ON CONFLICT (problem_id, device_fp, build_fp, source) DO UPDATE SET"
        " device_generation = excluded.device_generation, backend = excluded.backend,"
        " variant = excluded.variant, params = excluded.params, median_ms = excluded.median_ms,"
        " min_ms = excluded.min_ms, max_ms = excluded.max_ms, mad_ms = excluded.mad_ms,"
        " samples = excluded.samples, runner_up = excluded.runner_up,"
        " runner_up_median_ms = excluded.runner_up_median_ms, origin = excluded.origin,"
        " measured = excluded.measured, measurement_id = excluded.measurement_id,"
        " hostname = excluded.hostname, cpu_model = excluded.cpu_model,"
        " isa_level = excluded.isa_level, cores = excluded.cores, git_rev = excluded.git_rev",
    [ST_CACHE_GET] = CACHE_COLS " WHERE p.key = :key AND c.device_fp = :device_fp"
                                " AND c.build_fp = :build_fp AND c.source = :source",
    /* Newest first; the id breaks ties between rows measured in the same
     * millisecond, so the answer never depends on the query plan. */
    [ST_CACHE_NEWEST] = CACHE_COLS " WHERE p.key = :key AND c.device_generation = :generation"
                                   " ORDER BY c.measured DESC, c.id DESC LIMIT 1",
    [ST_CACHE_EACH] = CACHE_COLS " ORDER BY p.key, c.device_fp, c.build_fp, c.source",
    [ST_CACHE_CLEAR] = "DELETE FROM tune_cache",
};
// clang-format on

struct cb_db {
  sqlite3 *h;
  char *path;
  sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use */
  bool ready;                   /* opened, checked and migrated */
};

/* ---- small helpers ----------------------------------------------------------------- */

/* ISO-8601 UTC with milliseconds for unix time t. */
static void iso_time(double t, char *buf, size_t len) {
  time_t s = (time_t)floor(t);
  int ms = (int)((t - (double)s) * 1000);
  if (ms < 0) ms = 0;
  if (ms > 999) ms = 999;
  struct tm tm;
  gmtime_r(&s, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%.19s.%03dZ", date, ms);
}

static double unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void iso_now(char *buf, size_t len) {
  iso_time(unix_now(), buf, len);
}

/* CB_ERR_DB with "database 'path': what: sqlite's message". */
static cb_status db_fail(cb_db *db, const char *what) {
  return cb_error(CB_ERR_DB, "database '%s': %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

/* The statement id, reset and with its bindings cleared, ready to bind. */
static cb_status stmt_get(cb_db *db, stmt_id id, sqlite3_stmt **out) {
  if (!db->stmt[id]) {
    int rc =
        sqlite3_prepare_v3(db->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[id], NULL);
    if (rc != SQLITE_OK) return db_fail(db, "cannot prepare a statement");
  }
  sqlite3_reset(db->stmt[id]);
  sqlite3_clear_bindings(db->stmt[id]);
  *out = db->stmt[id];
  return CB_OK;
}

/* Binding by parameter name. A binder remembers its first failure, so a
 * run of bind calls is checked once at the end. */
typedef struct binder {
  cb_db *db;
  sqlite3_stmt *s;
  cb_status st;
} binder;

static int param(binder *b, const char *name) {
  if (b->st != CB_OK) return 0;
  int i = sqlite3_bind_parameter_index(b->s, name);
  if (i == 0)
    b->st = cb_error(CB_ERR_INTERNAL, "database '%s': statement has no parameter %s", b->db->path,
                     name);
  return i;
}

static void bind_rc(binder *b, int rc) {
  if (rc != SQLITE_OK && b->st == CB_OK) b->st = db_fail(b->db, "cannot bind a value");
}

/* NULL text binds SQL NULL. */
static void bind_text(binder *b, const char *name, const char *v) {
  int i = param(b, name);
  if (i)
    bind_rc(b,
            v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(b->s, i));
}

static void bind_int(binder *b, const char *name, int64_t v) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_int64(b->s, i, v));
}

static void bind_double(binder *b, const char *name, double v) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_double(b->s, i, v));
}

static void bind_null(binder *b, const char *name) {
  int i = param(b, name);
  if (i) bind_rc(b, sqlite3_bind_null(b->s, i));
}

/* A reading that may be unknown: NULL unless known. */
static void bind_reading(binder *b, const char *name, double v, bool known) {
  if (known && isfinite(v))
    bind_double(b, name, v);
  else
    bind_null(b, name);
}

/* ":<p>_median_ms" ... ":<p>_samples" (":median_ms" ... when p is ""); the
 * four statistics are NULL when nothing was timed, so AVG() and friends
 * skip them. */
static void bind_timing(binder *b, const char *p, const cb_timing *t) {
  static const char *const stat[] = {"median_ms", "min_ms", "max_ms", "mad_ms"};
  const double v[] = {t->median, t->min, t->max, t->mad};
  const char *sep = *p ? "_" : "";
  char name[64];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, ":%s%s%s", p, sep, stat[i]);
    bind_reading(b, name, v[i], t->samples > 0);
  }
  snprintf(name, sizeof name, ":%s%ssamples", p, sep);
  bind_int(b, name, t->samples);
}

/* Steps a statement that returns no rows, then resets it. */
static cb_status exec_stmt(binder *b, const char *what) {
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = rc == SQLITE_DONE ? CB_OK : db_fail(b->db, what);
  sqlite3_reset(b->s);
  return st;
}

/* Steps a query for one integer, then resets it; CB_ERR_DB when no row. */
static cb_status query_id(binder *b, const char *what, int64_t *id) {
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64(b->s, 0);
  else if (rc == SQLITE_DONE)
    st = cb_error(CB_ERR_DB, "database '%s': %s: no such row", b->db->path, what);
  else
    st = db_fail(b->db, what);
  sqlite3_reset(b->s);
  return st;
}

/* One integer from an SQL text without parameters (pragmas, counts). */
static int query_int(sqlite3 *h, const char *sql, int64_t *out) {
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- opening ------------------------------------------------------------------------ */

/* The directory part of path ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t len) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, len, ".");
  else if (slash == path)
    snprintf(dir, len, "/");
  else
    snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Refuses paths that cannot work before SQLite sees them, with a reason
 * that names what to fix; sets *exists to whether the file is there. */
static cb_status check_path(const char *path, bool *exists) {
  char dir[CB_PATH_MAX];
  dir_of(path, dir, sizeof dir);
  struct stat st;
  *exists = stat(path, &st) == 0;
  if (*exists) {
    if (S_ISDIR(st.st_mode))
      return cb_error(CB_ERR_DB, "cannot open database '%s': it is a directory", path);
    if (access(path, R_OK | W_OK) != 0)
      return cb_error(CB_ERR_DB, "cannot write database '%s': the file is read-only (%s)", path,
                      strerror(errno));
    /* WAL mode keeps path-wal and path-shm beside the database. */
    if (access(dir, W_OK | X_OK) != 0)
      return cb_error(CB_ERR_DB,
                      "cannot write database '%s': directory '%s' is not writable (%s), and the "
                      "database needs its -wal and -shm files there",
                      path, dir, strerror(errno));
    return CB_OK;
  }
  if (errno != ENOENT)
    return cb_error(CB_ERR_DB, "cannot open database '%s': %s", path, strerror(errno));
  if (stat(dir, &st) != 0)
    return cb_error(CB_ERR_DB, "cannot create database '%s': directory '%s' does not exist", path,
                    dir);
  if (!S_ISDIR(st.st_mode))
    return cb_error(CB_ERR_DB, "cannot create database '%s': '%s' is not a directory", path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return cb_error(CB_ERR_DB, "cannot create database '%s': directory '%s' is not writable (%s)",
                    path, dir, strerror(errno));
  return CB_OK;
}

/* What is in the file: nothing yet, ours (at some version), or not ours. */
static cb_status check_owner(cb_db *db, int64_t *version) {
  /* One statement, so one snapshot: read separately, the three could
   * straddle another process's migration and look like a foreign file. */
  static const char *const sql = "SELECT (SELECT application_id FROM pragma_application_id),"
                                 " (SELECT user_version FROM pragma_user_version),"
                                 " (SELECT count(*) FROM sqlite_master)";
  int64_t app = 0, objects = 0;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    app = sqlite3_column_int64(s, 0);
    *version = sqlite3_column_int64(s, 1);
    objects = sqlite3_column_int64(s, 2);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if ((rc & 0xff) == SQLITE_NOTADB)
    return cb_error(CB_ERR_DB, "'%s' is not an SQLite database (%s)", db->path,
                    sqlite3_errmsg(db->h));
  if (rc != SQLITE_OK) return db_fail(db, "cannot read the schema");

  bool empty = app == 0 && *version == 0 && objects == 0;
  if (!empty && app != CB_APPLICATION_ID)
    return cb_error(
        CB_ERR_DB,
        "'%s' is an SQLite database but not a convbench one (it has other tables and no "
        "convbench schema)",
        db->path);
  if (*version > CB_SCHEMA_VERSION)
    return cb_error(CB_ERR_DB,
                    "'%s' was written by a newer convbench (schema %lld, this build knows %d)",
                    db->path, (long long)*version, CB_SCHEMA_VERSION);
  return CB_OK;
}

/* Connection settings: NORMAL sync is durable in WAL mode except for the
 * last transactions on power loss, which a benchmark can afford; foreign
 * keys are off by default in SQLite. */
static cb_status configure(cb_db *db) {
  if (sqlite3_exec(db->h, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL,
                   NULL) != SQLITE_OK)
    return db_fail(db, "cannot configure the connection");
  return CB_OK;
}

/* WAL mode, so readers never block the writer and several processes can
 * record into one file. It is a property of the file: a no-op once set.
 * Switching needs every other connection gone, and SQLite answers BUSY at
 * once instead of waiting, so this waits here (up to the busy timeout). */
static cb_status set_wal(cb_db *db) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
    return db_fail(db, "cannot set WAL mode");
  int rc;
  for (int waited_ms = 0;; waited_ms += 10) {
    rc = sqlite3_step(s);
    if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= CB_BUSY_TIMEOUT_MS) break;
    sqlite3_reset(s);
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  char mode[16] = "";
  if (rc == SQLITE_ROW) snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) return db_fail(db, "cannot set WAL mode");
  if (strcmp(mode, "wal") != 0)
    cb_log(CB_LOG_WARN, "database '%s': journal mode is %s, not wal (concurrent writers will wait)",
           db->path, mode);
  return CB_OK;
}

/* Applies migration `to` (taking the schema to version `to`) in one
 * transaction. Another process may have done it since we looked, so the
 * version is read again under the write lock. */
static cb_status migrate_one(cb_db *db, int to) {
  char what[64];
  snprintf(what, sizeof what, "cannot upgrade to schema %d", to);
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, what);
  int64_t version = 0;
  int rc = query_int(db->h, "PRAGMA user_version", &version);
  for (const char *const *sql = migrations[to - 1]; rc == SQLITE_OK && version < to && *sql; sql++)
    rc = sqlite3_exec(db->h, *sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK && version < to) {
    /* Pragmas take no parameters; to is our own integer, not user data. */
    char bump[48];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", to);
    rc = sqlite3_exec(db->h, bump, NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    cb_status st = db_fail(db, what);
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return st;
  }
  return CB_OK;
}

/* Removes file and its journal companions. */
static void remove_files(const char *file) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char name[CB_PATH_MAX + 32];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "%s%s", file, suffix[i]);
    unlink(name);
  }
}

/* A cb_db for path, not yet opened. */
static cb_db *db_new(const char *path) {
  cb_db *db = calloc(1, sizeof *db);
  if (db && !(db->path = strdup(path))) {
    free(db);
    db = NULL;
  }
  return db;
}

/* Opens file, an existing file (SQLite is never asked to create one:
 * create_new() does that), checks that it is ours and brings its schema
 * up to date. Messages name db->path, the path the caller asked for. */
static cb_status open_file(cb_db *db, const char *file) {
  int rc = sqlite3_open_v2(file, &db->h, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    return cb_error(CB_ERR_DB, "cannot open database '%s': %s", db->path,
                    db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(db->h, 1);
  sqlite3_busy_timeout(db->h, CB_BUSY_TIMEOUT_MS);

  /* SQLite silently falls back to read-only when it cannot write the file
   * (a read-only mount, say); a benchmark would then fail at its first
   * result, after the work. */
  if (sqlite3_db_readonly(db->h, "main") == 1)
    return cb_error(CB_ERR_DB, "cannot write database '%s': the file is read-only", db->path);
  int64_t version = 0;
  cb_status st = check_owner(db, &version);
  if (st == CB_OK) st = configure(db);
  for (int v = (int)version + 1; st == CB_OK && v <= CB_SCHEMA_VERSION; v++)
    st = migrate_one(db, v);
  if (st == CB_OK) st = set_wal(db);
  return st;
}

/* True when file-wal exists and holds something: then file alone is not
 * the whole database. */
static bool wal_has_data(const char *file) {
  char wal[CB_PATH_MAX + 32];
  snprintf(wal, sizeof wal, "%s-wal", file);
  struct stat st;
  return stat(wal, &st) == 0 && st.st_size > 0;
}

/* Makes a new database at path so that nobody ever sees a half-made one:
 * the schema is built in a temporary file beside it (migrations commit in
 * rollback-journal mode, straight into the file; WAL is switched on last),
 * which is then hard-linked into place. link() fails with EEXIST when
 * another process created path meanwhile: ours is dropped and theirs is
 * used. Whatever fails, the temporary file goes and path stays absent. */
static cb_status create_new(const char *path) {
  char tmp[CB_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return cb_error(CB_ERR_DB, "cannot create database '%s': %s", path, strerror(errno));
  /* SQLite's own mode for new files; mkstemp's 0600 would hide results
   * from other users. Failing that, the file stays private but works. */
  if (fchmod(fd, 0644) != 0) cb_log(CB_LOG_DEBUG, "database '%s': chmod failed", path);
  close(fd);

  cb_db *db = db_new(path);
  if (!db) {
    unlink(tmp);
    return cb_error(CB_ERR_NOMEM, "out of memory creating database '%s'", path);
  }
  cb_status st = open_file(db, tmp);
  cb_db_close(db);
  if (st == CB_OK && wal_has_data(tmp))
    st =
        cb_error(CB_ERR_DB, "cannot create database '%s': its schema did not reach the file", path);
  if (st == CB_OK && link(tmp, path) != 0 && errno != EEXIST) {
    /* Some filesystems (FAT, some FUSE mounts) have no hard links; rename
     * is atomic too but replaces, so it is used only if path is still
     * absent (a creator racing in between would lose its first results). */
    int err = errno;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EMLINK)
      err = access(path, F_OK) == 0 || rename(tmp, path) == 0 ? 0 : errno;
    if (err) st = cb_error(CB_ERR_DB, "cannot create database '%s': %s", path, strerror(err));
  }
  remove_files(tmp);
  return st;
}

cb_status cb_db_open(const char *path, cb_db **out) {
  *out = NULL;
  if (!path || !*path) return cb_error(CB_ERR_INVALID, "cb_db_open: empty database path");
  if (strlen(path) >= CB_PATH_MAX)
    return cb_error(CB_ERR_DB, "cannot open database '%.64s...': the path is too long", path);
  bool exists = false;
  cb_status st = check_path(path, &exists);
  if (st == CB_OK && !exists) st = create_new(path);
  if (st != CB_OK) return st;

  cb_db *db = db_new(path);
  if (!db) return cb_error(CB_ERR_NOMEM, "out of memory opening database '%s'", path);
  if ((st = open_file(db, path)) != CB_OK) {
    cb_db_close(db);
    return st;
  }
  db->ready = true;
  *out = db;
  return CB_OK;
}

void cb_db_close(cb_db *db) {
  if (!db) return;
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(db->stmt[i]);
  /* Cheap, and keeps the query planner's statistics current; never run
   * on a file that was refused (it may be another program's). */
  if (db->ready) sqlite3_exec(db->h, "PRAGMA optimize", NULL, NULL, NULL);
  sqlite3_close(db->h);
  free(db->path);
  free(db);
}

struct sqlite3 *cb_db_handle(cb_db *db) {
  return db ? db->h : NULL;
}

/* ---- machines, builds, runs, problems ----------------------------------------------- */

cb_status cb_db_put_machine(cb_db *db, const cb_machine *m, int64_t *id) {
  char now[32];
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_MACHINE_PUT, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":fingerprint", m->fingerprint);
  bind_text(&b, ":hostname", m->hostname);
  bind_text(&b, ":os", m->os);
  bind_text(&b, ":cpu_vendor", m->cpu_vendor);
  bind_text(&b, ":cpu_model", m->cpu_model);
  bind_text(&b, ":isa", m->isa);
  bind_text(&b, ":isa_level", m->isa_level);
  bind_int(&b, ":packages", m->packages);
  bind_int(&b, ":numa_nodes", m->numa_nodes);
  bind_int(&b, ":cores", m->cores);
  bind_int(&b, ":pus", m->pus);
  bind_int(&b, ":l1d_bytes", m->l1d_bytes);
  bind_int(&b, ":l2_bytes", m->l2_bytes);
  bind_int(&b, ":l3_bytes", m->l3_bytes);
  bind_int(&b, ":l2_count", m->l2_count);
  bind_int(&b, ":l3_count", m->l3_count);
  bind_int(&b, ":mem_bytes", m->mem_bytes);
  bind_text(&b, ":topology", m->topology);
  bind_text(&b, ":first_seen", now);
  cb_status st = exec_stmt(&b, "cannot record the machine");
  if (st != CB_OK) return st;

  if ((b.st = stmt_get(db, ST_MACHINE_GET, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":fingerprint", m->fingerprint);
  return query_id(&b, "cannot find the machine", id);
}

/* Binds the columns that identify a build row. */
static void bind_build_key(binder *b, const cb_build *bi) {
  bind_text(b, ":fingerprint", bi->fingerprint);
  bind_text(b, ":git_rev", bi->git_rev);
  bind_int(b, ":git_dirty", bi->git_dirty);
  bind_text(b, ":compiler", bi->compiler);
  bind_text(b, ":flags", bi->flags);
}

cb_status cb_db_put_build(cb_db *db, const cb_build *bi, int64_t *id) {
  char now[32];
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_BUILD_PUT, &b.s)) != CB_OK) return b.st;
  bind_build_key(&b, bi);
  bind_text(&b, ":build_type", bi->build_type);
  bind_text(&b, ":libs", bi->libs);
  bind_text(&b, ":kernel_hash", bi->kernel_hash);
  bind_text(&b, ":first_seen", now);
  cb_status st = exec_stmt(&b, "cannot record the build");
  if (st != CB_OK) return st;

  if ((b.st = stmt_get(db, ST_BUILD_GET, &b.s)) != CB_OK) return b.st;
  bind_build_key(&b, bi);
  return query_id(&b, "cannot find the build", id);
}

cb_status cb_db_run_begin(cb_db *db, const cb_run_rec *r, int64_t *run_id) {
  char now[32], host[256] = "unknown";
  iso_now(now, sizeof now);
  gethostname(host, sizeof host - 1);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_RUN_BEGIN, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":machine_id", r->machine_id);
  bind_int(&b, ":build_id", r->build_id);
  bind_text(&b, ":kind", r->kind);
  bind_text(&b, ":command", r->command);
  bind_int(&b, ":seed", (int64_t)r->seed); /* the bit pattern; see the runs table */
  bind_int(&b, ":threads", r->threads);
  bind_text(&b, ":hostname", host);
  bind_int(&b, ":pid", (int64_t)getpid());
  bind_text(&b, ":started", now);
  cb_status st = exec_stmt(&b, "cannot record the start of a run");
  if (st == CB_OK) *run_id = sqlite3_last_insert_rowid(db->h);
  return st;
}

cb_status cb_db_run_end(cb_db *db, int64_t run_id, const char *status, const char *error) {
  if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0 &&
                  strcmp(status, "interrupted") != 0))
    return cb_error(CB_ERR_INVALID,
                    "run %lld: a run ends 'ok', 'failed' or 'interrupted', not '%s'",
                    (long long)run_id, status ? status : "(null)");
  char now[32];
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_RUN_END, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":ended", now);
  bind_text(&b, ":status", status);
  bind_text(&b, ":error", error);
  bind_int(&b, ":id", run_id);
  cb_status st = exec_stmt(&b, "cannot record the end of a run");
  if (st == CB_OK && sqlite3_changes(db->h) != 1)
    st = cb_error(CB_ERR_DB, "database '%s': there is no run %lld to end", db->path,
                  (long long)run_id);
  return st;
}

cb_status cb_db_put_problem(cb_db *db, const cb_problem *p, int64_t *id) {
  if (!p || p->op < 0 || p->op >= CB_OP_COUNT)
    return cb_error(CB_ERR_INVALID, "cb_db_put_problem: not a problem");
  char key[CB_KEY_MAX];
  int n = cb_problem_key(p, key, sizeof key);
  if (n < 0 || (size_t)n >= sizeof key)
    return cb_error(CB_ERR_INVALID, "problem key of %d bytes does not fit in %d", n, CB_KEY_MAX);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_PROBLEM_PUT, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":key", key);
  bind_text(&b, ":op", cb_op_name(p->op));
  bind_double(&b, ":flops", cb_problem_flops(p));
  cb_status st = exec_stmt(&b, "cannot record a problem");
  if (st != CB_OK) return st;

  if ((b.st = stmt_get(db, ST_PROBLEM_GET, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":key", key);
  return query_id(&b, "cannot find a problem", id);
}

/* ---- results --------------------------------------------------------------------------- */

static cb_status put_net_row(cb_db *db, const cb_net_rec *n, int64_t *id) {
  char now[32];
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_NET_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":run_id", n->run_id);
  bind_text(&b, ":net", n->net);
  bind_text(&b, ":netdef", n->netdef);
  bind_text(&b, ":netdef_sha256", n->netdef_sha256);
  bind_text(&b, ":backend", n->backend);
  bind_int(&b, ":single_layer", n->single_layer);
  bind_int(&b, ":batch", n->batch);
  bind_int(&b, ":threads", n->threads);
  bind_int(&b, ":iters", n->iters);
  bind_int(&b, ":warmup", n->warmup);
  bind_int(&b, ":input_grad", n->input_grad);
  bind_timing(&b, "fwd", &n->fwd);
  bind_timing(&b, "bwd", &n->bwd);
  bind_timing(&b, "total", &n->total);
  bind_double(&b, ":fwd_flops", n->fwd_flops);
  bind_double(&b, ":bwd_flops", n->bwd_flops);
  bind_text(&b, ":created", now);
  cb_status st = exec_stmt(&b, "cannot record the net result");
  if (st == CB_OK) *id = sqlite3_last_insert_rowid(db->h);
  return st;
}

static cb_status put_layer_row(cb_db *db, int64_t net_id, const cb_layer_rec *l) {
  static const char *const pnames[3] = {":fwd_problem_id", ":bwd_data_problem_id",
                                        ":bwd_filter_problem_id"};
  int64_t pid[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    if (!l->problem[i]) continue;
    cb_status st = cb_db_put_problem(db, l->problem[i], &pid[i]);
    if (st != CB_OK) return st;
  }
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_LAYER_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":net_result_id", net_id);
  bind_int(&b, ":idx", l->index);
  bind_text(&b, ":name", l->name);
  bind_text(&b, ":kind", l->kind);
  bind_text(&b, ":in_shape", l->in_shape);
  bind_text(&b, ":out_shape", l->out_shape);
  bind_text(&b, ":backend", l->backend);
  bind_text(&b, ":variants", l->variants);
  bind_int(&b, ":fallback", l->fallback);
  for (int i = 0; i < 3; i++) {
    if (l->problem[i])
      bind_int(&b, pnames[i], pid[i]);
    else
      bind_null(&b, pnames[i]);
  }
  bind_timing(&b, "fwd", &l->fwd);
  bind_timing(&b, "bwd", &l->bwd);
  bind_timing(&b, "bwd_data", &l->bwd_data);
  bind_timing(&b, "bwd_filter", &l->bwd_filter);
  bind_double(&b, ":fwd_flops", l->fwd_flops);
  bind_double(&b, ":bwd_flops", l->bwd_flops);
  if (l->impl && *l->impl)
    bind_text(&b, ":impl", l->impl);
  else
    bind_null(&b, ":impl");
  return exec_stmt(&b, "cannot record a layer result");
}

/* The GPU columns of a device sample: all NULL when no GPU was sampled. */
static void bind_gpu(binder *b, const cb_devstate *s) {
  bool g = s->has_gpu;
  bind_reading(b, ":gpu_index", s->gpu_index, g);
  bind_text(b, ":gpu_name", g && s->gpu.name[0] ? s->gpu.name : NULL);
  bind_reading(b, ":gpu_sm_mhz", s->gpu.sm_mhz, g && !isnan(s->gpu.sm_mhz));
  bind_reading(b, ":gpu_mem_mhz", s->gpu.mem_mhz, g && !isnan(s->gpu.mem_mhz));
  bind_reading(b, ":gpu_temp_c", s->gpu.temp_c, g && !isnan(s->gpu.temp_c));
  bind_reading(b, ":gpu_power_w", s->gpu.power_w, g && !isnan(s->gpu.power_w));
  bind_reading(b, ":gpu_util", s->gpu.util, g && !isnan(s->gpu.util));
  bind_text(b, ":gpu_throttle", g && s->gpu.throttle[0] ? s->gpu.throttle : NULL);
}

/* A device sample; readings the sampler could not take (0 MHz, busy -1,
 * NAN temperature) are stored as NULL. */
static cb_status put_sample(cb_db *db, int64_t run_id, int64_t net_id, const char *phase,
                            const cb_devstate *s) {
  char t[32];
  iso_time(s->t, t, sizeof t);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_SAMPLE_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":run_id", run_id);
  bind_int(&b, ":net_result_id", net_id);
  bind_text(&b, ":phase", phase);
  bind_text(&b, ":t", t);
  bind_double(&b, ":t_unix", s->t);
  bind_reading(&b, ":cpu_mhz_reported", s->cpu_mhz_reported, s->cpu_mhz_reported > 0);
  bind_reading(&b, ":cpu_mhz_measured", s->cpu_mhz_measured, s->cpu_mhz_measured > 0);
  bind_reading(&b, ":load1", s->load1, s->load1 >= 0);
  bind_reading(&b, ":busy", s->busy, s->busy >= 0);
  bind_reading(&b, ":temp_c", s->temp_c, !isnan(s->temp_c));
  bind_gpu(&b, s);
  return exec_stmt(&b, "cannot record a device sample");
}

/* The body of cb_db_put_net_result, inside its transaction. */
static cb_status put_net_result_tx(cb_db *db, const cb_net_rec *net, int nlayers,
                                   const cb_layer_rec *layers, const cb_devstate *before,
                                   const cb_devstate *after, int64_t *id) {
  cb_status st = put_net_row(db, net, id);
  for (int i = 0; st == CB_OK && i < nlayers; i++) {
    st = put_layer_row(db, *id, &layers[i]);
    if (st != CB_OK)
      cb_error_wrap(st, "layer %d (%s): ", layers[i].index, layers[i].name ? layers[i].name : "?");
  }
  if (st == CB_OK && before) st = put_sample(db, net->run_id, *id, "before", before);
  if (st == CB_OK && after) st = put_sample(db, net->run_id, *id, "after", after);
  return st;
}

cb_status cb_db_put_net_result(cb_db *db, const cb_net_rec *net, int nlayers,
                               const cb_layer_rec *layers, const cb_devstate *before,
                               const cb_devstate *after, int64_t *id) {
  if (!db || !net || nlayers < 0 || (nlayers > 0 && !layers) || !id)
    return cb_error(CB_ERR_INVALID, "cb_db_put_net_result: missing arguments");
  /* IMMEDIATE takes the write lock now, so the busy timeout applies here
   * rather than a deadlock error half-way through. */
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, "cannot start a transaction");
  cb_status st = put_net_result_tx(db, net, nlayers, layers, before, after, id);
  if (st == CB_OK && sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    st = db_fail(db, "cannot commit the net result");
  if (st != CB_OK) {
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    *id = 0;
    return cb_error_wrap(st, "net %s: ", net->net ? net->net : "?");
  }
  return CB_OK;
}

cb_status cb_db_put_peak(cb_db *db, int64_t run_id, const cb_peak *p) {
  char now[32];
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_PEAK_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":run_id", run_id);
  bind_text(&b, ":isa", p->isa);
  bind_int(&b, ":threads", p->threads);
  bind_double(&b, ":gflops", p->gflops);
  bind_double(&b, ":gflops_per_core", p->gflops_per_core);
  bind_double(&b, ":seconds", p->seconds);
  bind_text(&b, ":measured", now);
  cb_status st = exec_stmt(&b, "cannot record the peak");
  if (st == CB_OK && sqlite3_changes(db->h) != 1)
    st = cb_error(CB_ERR_DB, "database '%s': there is no run %lld to record a peak for", db->path,
                  (long long)run_id);
  return st;
}

cb_status cb_db_get_peak(cb_db *db, const char *machine_fingerprint, int threads, cb_peak *out,
                         bool *found) {
  memset(out, 0, sizeof *out);
  *found = false;
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_PEAK_GET, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":fingerprint", machine_fingerprint);
  bind_int(&b, ":threads", threads);
  if (b.st != CB_OK) return b.st;
  int rc = sqlite3_step(b.s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW) {
    snprintf(out->isa, sizeof out->isa, "%s", (const char *)sqlite3_column_text(b.s, 0));
    out->threads = sqlite3_column_int(b.s, 1);
    out->gflops = sqlite3_column_double(b.s, 2);
    out->gflops_per_core = sqlite3_column_double(b.s, 3);
    out->seconds = sqlite3_column_double(b.s, 4);
    *found = true;
  } else if (rc != SQLITE_DONE) {
    st = db_fail(db, "cannot read the peak");
  }
  sqlite3_reset(b.s);
  return st;
}

/* ---- transactions ------------------------------------------------------------------------ */

cb_status cb_db_begin(cb_db *db) {
  if (!db) return cb_error(CB_ERR_INVALID, "cb_db_begin: no database");
  /* IMMEDIATE takes the write lock now, so the busy timeout applies here
   * rather than a deadlock error half-way through. */
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, "cannot start a transaction");
  return CB_OK;
}

cb_status cb_db_commit(cb_db *db) {
  if (!db) return cb_error(CB_ERR_INVALID, "cb_db_commit: no database");
  if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return CB_OK;
  /* A failed COMMIT may leave the transaction open; callers are promised
   * all or nothing, so it goes. */
  cb_status st = db_fail(db, "cannot commit");
  cb_db_rollback(db);
  return st;
}

void cb_db_rollback(cb_db *db) {
  if (db && !sqlite3_get_autocommit(db->h)) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/* Starts a transaction unless the caller has one open (then the caller's
 * commit decides); *owned says whether this one is ours to end. */
static cb_status tx_enter(cb_db *db, bool *owned) {
  *owned = sqlite3_get_autocommit(db->h) != 0;
  return *owned ? cb_db_begin(db) : CB_OK;
}

/* Ends what tx_enter started: commit after success, roll back after a
 * failure st (which is returned). */
static cb_status tx_leave(cb_db *db, bool owned, cb_status st) {
  if (!owned) return st;
  if (st == CB_OK) return cb_db_commit(db);
  cb_db_rollback(db);
  return st;
}

/* ---- measurements ------------------------------------------------------------------------ */

static bool is_cand_status(const char *s) {
  static const char *const names[] = {"ok", "pruned", "mismatch", "error"};
  for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i]) == 0) return true;
  return false;
}

/* Refuses a record the schema would refuse, with a message that says which
 * field, before any SQL runs. */
static cb_status check_measurement(const cb_measurement_rec *m) {
  if (!m->device_fp || !m->build_fp || !m->backend || !m->variant || !m->params)
    return cb_error(CB_ERR_INVALID, "fingerprints, backend, variant and params are required");
  if (!is_cand_status(m->status))
    return cb_error(CB_ERR_INVALID, "status is 'ok', 'pruned', 'mismatch' or 'error', not '%s'",
                    m->status ? m->status : "(null)");
  if (m->threads < 1) return cb_error(CB_ERR_INVALID, "%d threads", m->threads);
  if (m->t.samples < 0) return cb_error(CB_ERR_INVALID, "%d samples", m->t.samples);
  return CB_OK;
}

/* Text that may be absent: NULL or "" binds SQL NULL. */
static void bind_opt_text(binder *b, const char *name, const char *v) {
  bind_text(b, name, v && *v ? v : NULL);
}

static cb_status put_measurement_row(cb_db *db, const cb_measurement_rec *m, int64_t *id) {
  int64_t problem_id = 0;
  cb_status st = cb_db_put_problem(db, m->problem, &problem_id);
  if (st != CB_OK) return st;
  char now[32];
  iso_now(now, sizeof now);
  const cb_devstate *bf = m->before, *af = m->after;
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_MEASUREMENT_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":run_id", m->run_id);
  bind_int(&b, ":problem_id", problem_id);
  bind_text(&b, ":device_fp", m->device_fp);
  bind_text(&b, ":build_fp", m->build_fp);
  bind_int(&b, ":threads", m->threads);
  bind_text(&b, ":backend", m->backend);
  bind_text(&b, ":variant", m->variant);
  bind_text(&b, ":params", m->params);
  bind_text(&b, ":status", m->status);
  /* NAN (not validated) is NULL; INFINITY (a NaN in the output) is kept. */
  if (isnan(m->max_rel_err))
    bind_null(&b, ":max_rel_err");
  else
    bind_double(&b, ":max_rel_err", m->max_rel_err);
  bind_timing(&b, "", &m->t);
  bind_reading(&b, ":gflops", m->gflops, m->t.samples > 0);
  bind_opt_text(&b, ":impl", m->impl);
  bind_opt_text(&b, ":error", m->error);
  bind_int(&b, ":noisy", m->noisy);
  bind_reading(&b, ":mhz_before", bf ? bf->cpu_mhz_measured : 0, bf && bf->cpu_mhz_measured > 0);
  bind_reading(&b, ":mhz_after", af ? af->cpu_mhz_measured : 0, af && af->cpu_mhz_measured > 0);
  bind_reading(&b, ":load_before", bf ? bf->load1 : 0, bf && bf->load1 >= 0);
  bind_reading(&b, ":load_after", af ? af->load1 : 0, af && af->load1 >= 0);
  bind_reading(&b, ":busy_after", af ? af->busy : 0, af && af->busy >= 0);
  bind_reading(&b, ":temp_after", af ? af->temp_c : 0, af && !isnan(af->temp_c));
  bool ga = af && af->has_gpu;
  bind_reading(&b, ":gpu_sm_mhz_after", ga ? af->gpu.sm_mhz : 0, ga && !isnan(af->gpu.sm_mhz));
  bind_reading(&b, ":gpu_temp_after", ga ? af->gpu.temp_c : 0, ga && !isnan(af->gpu.temp_c));
  bind_reading(&b, ":gpu_power_after", ga ? af->gpu.power_w : 0, ga && !isnan(af->gpu.power_w));
  bind_text(&b, ":gpu_throttle_after", ga && af->gpu.throttle[0] ? af->gpu.throttle : NULL);
  bind_text(&b, ":created", now);
  st = exec_stmt(&b, "cannot record a measurement");
  if (st == CB_OK) *id = sqlite3_last_insert_rowid(db->h);
  return st;
}

cb_status cb_db_put_measurement(cb_db *db, const cb_measurement_rec *m, int64_t *id) {
  if (!db || !m || !m->problem || !id)
    return cb_error(CB_ERR_INVALID, "cb_db_put_measurement: missing arguments");
  *id = 0;
  cb_status st = check_measurement(m);
  bool owned = false;
  if (st == CB_OK) st = tx_enter(db, &owned);
  if (st == CB_OK) st = tx_leave(db, owned, put_measurement_row(db, m, id));
  if (st != CB_OK) {
    *id = 0;
    return cb_error_wrap(st, "measurement of %s/%s: ", m->backend ? m->backend : "?",
                         m->variant ? m->variant : "?");
  }
  return CB_OK;
}

/* ---- the tune cache's rows ---------------------------------------------------------------- */

int cb_params_format(const int *params, int n, char *buf, size_t len) {
  if (len) buf[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    /* Past the end of buf only the length is counted. */
    char *at = used < len ? buf + used : NULL;
    int k = snprintf(at, at ? len - used : 0, "%s%d", i ? "," : "", params[i]);
    if (k < 0) return k;
    used += (size_t)k;
  }
  return (int)used;
}

cb_status cb_params_parse(const char *text, int *params, int *n) {
  *n = 0;
  if (!text) return cb_error(CB_ERR_PARSE, "params: none given");
  if (!*text) return CB_OK; /* a variant without parameters */
  for (const char *c = text;;) {
    if (*n == CB_MAX_PARAMS)
      return cb_error(CB_ERR_PARSE, "params \"%s\": more than %d values", text, CB_MAX_PARAMS);
    /* strtol alone would also take spaces and '+'; the form has neither. */
    bool digit = (*c >= '0' && *c <= '9') || (*c == '-' && c[1] >= '0' && c[1] <= '9');
    if (!digit)
      return cb_error(CB_ERR_PARSE, "params \"%s\": expected an integer at column %d", text,
                      (int)(c - text) + 1);
    errno = 0;
    char *end;
    long v = strtol(c, &end, 10);
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
      return cb_error(CB_ERR_PARSE, "params \"%s\": the value at column %d is out of range", text,
                      (int)(c - text) + 1);
    params[(*n)++] = (int)v;
    c = end;
    if (!*c) return CB_OK;
    if (*c != ',')
      return cb_error(CB_ERR_PARSE, "params \"%s\": expected ',' at column %d", text,
                      (int)(c - text) + 1);
    c++;
  }
}

/* Text column i into buf ("" for NULL); false when it does not fit. */
static bool col_text(sqlite3_stmt *s, int i, char *buf, size_t len) {
  const unsigned char *t = sqlite3_column_text(s, i);
  int n = snprintf(buf, len, "%s", t ? (const char *)t : "");
  return n >= 0 && (size_t)n < len;
}

/* The current row of a CACHE_COLS query into e, *imported and prov (both
 * may be NULL). Rows are checked when stored, so a value that does not fit
 * means the file was edited or written by another convbench. */
static cb_status read_cache_row(cb_db *db, sqlite3_stmt *s, cb_cache_entry *e, bool *imported,
                                cb_cache_prov *prov) {
  memset(e, 0, sizeof *e);
  char params[256], source[16];
  bool ok =
      col_text(s, 0, e->key, sizeof e->key) && col_text(s, 1, e->device_fp, sizeof e->device_fp) &&
      col_text(s, 2, e->build_fp, sizeof e->build_fp) &&
      col_text(s, 3, e->backend, sizeof e->backend) &&
      col_text(s, 4, e->variant, sizeof e->variant) && col_text(s, 5, params, sizeof params) &&
      col_text(s, 11, e->runner_up, sizeof e->runner_up) &&
      col_text(s, 13, e->origin, sizeof e->origin) &&
      col_text(s, 14, e->measured, sizeof e->measured) && col_text(s, 16, source, sizeof source);
  cb_cache_prov unused;
  if (!prov) prov = &unused;
  memset(prov, 0, sizeof *prov);
  ok = ok && col_text(s, 17, prov->hostname, sizeof prov->hostname) &&
       col_text(s, 18, prov->cpu_model, sizeof prov->cpu_model) &&
       col_text(s, 19, prov->isa_level, sizeof prov->isa_level) &&
       col_text(s, 21, prov->git_rev, sizeof prov->git_rev);
  if (!ok)
    return cb_error(CB_ERR_DB,
                    "database '%s': a tune_cache row for %.100s holds a value too long "
                    "for this build",
                    db->path, e->key);
  if (cb_params_parse(params, e->params, &e->nparams) != CB_OK)
    return cb_error(CB_ERR_DB, "database '%s': the tune_cache row for %.100s has params '%.64s'",
                    db->path, e->key, params);
  e->timing = (cb_timing){.median = sqlite3_column_double(s, 6),
                          .min = sqlite3_column_double(s, 7),
                          .max = sqlite3_column_double(s, 8),
                          .mad = sqlite3_column_double(s, 9),
                          .samples = sqlite3_column_int(s, 10)};
  e->runner_up_median = sqlite3_column_double(s, 12);
  e->measurement_id = sqlite3_column_int64(s, 15); /* NULL reads as 0 */
  prov->cores = sqlite3_column_int(s, 20);
  if (imported) *imported = strcmp(source, "imported") == 0;
  return CB_OK;
}

/* Steps a CACHE_COLS query for at most one row, then resets it. */
static cb_status query_cache_row(binder *b, cb_cache_entry *out, bool *found) {
  *found = false;
  if (b->st != CB_OK) return b->st;
  int rc = sqlite3_step(b->s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW) {
    st = read_cache_row(b->db, b->s, out, NULL, NULL);
    *found = st == CB_OK;
  } else if (rc != SQLITE_DONE) {
    st = db_fail(b->db, "cannot read the tune cache");
  }
  sqlite3_reset(b->s);
  return st;
}

static cb_status put_cache_row(cb_db *db, const cb_cache_entry *e, const char *generation,
                               bool imported, const cb_cache_prov *prov) {
  cb_problem p;
  cb_status st = cb_problem_parse(e->key, &p);
  int64_t problem_id = 0;
  if (st == CB_OK) st = cb_db_put_problem(db, &p, &problem_id);
  if (st != CB_OK) return st;
  char params[256], now[32];
  cb_params_format(e->params, e->nparams, params, sizeof params);
  iso_now(now, sizeof now);
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_CACHE_PUT, &b.s)) != CB_OK) return b.st;
  bind_int(&b, ":problem_id", problem_id);
  bind_text(&b, ":device_fp", e->device_fp);
  bind_text(&b, ":device_generation", generation);
  bind_text(&b, ":build_fp", e->build_fp);
  bind_text(&b, ":backend", e->backend);
  bind_text(&b, ":variant", e->variant);
  bind_text(&b, ":params", params);
  bind_timing(&b, "", &e->timing);
  bind_text(&b, ":runner_up", e->runner_up);
  bind_double(&b, ":runner_up_median_ms", e->runner_up_median);
  bind_text(&b, ":source", imported ? "imported" : "local");
  bind_text(&b, ":origin", imported ? e->origin : "local");
  bind_text(&b, ":measured", e->measured[0] ? e->measured : now);
  if (imported) {
    bind_null(&b, ":measurement_id");
    bind_text(&b, ":hostname", prov->hostname);
    bind_text(&b, ":cpu_model", prov->cpu_model);
    bind_text(&b, ":isa_level", prov->isa_level);
    bind_int(&b, ":cores", prov->cores);
    bind_text(&b, ":git_rev", prov->git_rev);
  } else {
    bind_int(&b, ":measurement_id", e->measurement_id);
    bind_null(&b, ":hostname");
    bind_null(&b, ":cpu_model");
    bind_null(&b, ":isa_level");
    bind_null(&b, ":cores");
    bind_null(&b, ":git_rev");
  }
  return exec_stmt(&b, "cannot record a tune cache entry");
}

cb_status cb_db_cache_put(cb_db *db, const cb_cache_entry *e, const char *generation, bool imported,
                          const cb_cache_prov *prov) {
  if (!db || !e || !generation || (imported && !prov))
    return cb_error(CB_ERR_INVALID, "cb_db_cache_put: missing arguments");
  if (!imported && e->measurement_id <= 0)
    return cb_error(CB_ERR_INVALID,
                    "cache entry for %.100s: a local entry needs the measurement it came from",
                    e->key);
  bool owned = false;
  cb_status st = tx_enter(db, &owned);
  if (st == CB_OK) st = tx_leave(db, owned, put_cache_row(db, e, generation, imported, prov));
  if (st != CB_OK) return cb_error_wrap(st, "cache entry for %.100s: ", e->key);
  return CB_OK;
}

cb_status cb_db_cache_get(cb_db *db, const char *key, const char *device_fp, const char *build_fp,
                          bool imported, cb_cache_entry *out, bool *found) {
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_CACHE_GET, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":key", key);
  bind_text(&b, ":device_fp", device_fp);
  bind_text(&b, ":build_fp", build_fp);
  bind_text(&b, ":source", imported ? "imported" : "local");
  return query_cache_row(&b, out, found);
}

cb_status cb_db_cache_newest(cb_db *db, const char *key, const char *generation,
                             cb_cache_entry *out, bool *found) {
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_CACHE_NEWEST, &b.s)) != CB_OK) return b.st;
  bind_text(&b, ":key", key);
  bind_text(&b, ":generation", generation);
  return query_cache_row(&b, out, found);
}

cb_status cb_db_cache_each(cb_db *db, cb_cache_row_fn fn, void *user) {
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_CACHE_EACH, &b.s)) != CB_OK) return b.st;
  /* One statement stepped to the end reads one snapshot, even while
   * other processes write. */
  cb_cache_entry e;
  cb_cache_prov prov;
  bool imported = false;
  cb_status st = CB_OK;
  int rc;
  while ((rc = sqlite3_step(b.s)) == SQLITE_ROW) {
    st = read_cache_row(db, b.s, &e, &imported, &prov);
    if (st != CB_OK || fn(&e, imported, &prov, user)) break;
  }
  if (st == CB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
    st = db_fail(db, "cannot read the tune cache");
  sqlite3_reset(b.s);
  return st;
}

cb_status cb_db_cache_clear(cb_db *db, int64_t *deleted) {
  binder b = {db, NULL, CB_OK};
  if ((b.st = stmt_get(db, ST_CACHE_CLEAR, &b.s)) != CB_OK) return b.st;
  cb_status st = exec_stmt(&b, "cannot clear the tune cache");
  if (deleted) *deleted = st == CB_OK ? sqlite3_changes64(db->h) : 0;
  return st;
}
