/* migrations.c: the schema, as the append-only list of migrations that
 * builds it. The schema is versioned with PRAGMA user_version;
 * cb_db_migrations[] below holds one entry per version, each a list of SQL
 * statements that takes the schema from the previous version to its own.
 * cb_db_open() (db.c) applies the missing ones in order, each in its own
 * transaction together with the bump of user_version, so a database is
 * always at exactly one version and a failed upgrade leaves the old one.
 * To change the schema (a new table for the tune cache, gradient checks,
 * training logs, ...):
 *   1. write a new list, migration_N[], of CREATE / ALTER statements;
 *   2. append it to cb_db_migrations[]: its version is its position + 1,
 *      and cb_db_schema_version() follows;
 *   3. never edit a migration that has been committed: databases out there
 *      already went through it. Fix mistakes with the next migration.
 * PRAGMA application_id marks the file as convbench's, so that an SQLite
 * database of another program is refused instead of "upgraded".
 *
 * Conventions: timestamps are ISO-8601 UTC text with milliseconds
 * ("2024-05-01T12:00:00.123Z"); timings are milliseconds, NULL when no
 * sample was taken; unknown device readings are NULL. */
#include "db_internal.h"

#define CB_STR_(x) #x
#define CB_STR(x)  CB_STR_(x)

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

/* 7: cb_db_cache_generation_known() asks whether a device generation has
 * any row; tune_cache_generation leads with problem_id and cannot answer
 * that without a scan. */
static const char *const migration_7[] = {
    "CREATE INDEX tune_cache_device_generation ON tune_cache(device_generation)",
    NULL,
};

/* 8: a winner is always cached, with its confidence: the tuner's robust
 * estimate (ms), the spread (MAD / median), the load average around the
 * measurement, 'high' or 'low' and why low. NULL in rows cached before. */
static const char *const migration_8[] = {
    "ALTER TABLE tune_cache ADD COLUMN estimate_ms REAL",
    "ALTER TABLE tune_cache ADD COLUMN spread REAL",
    "ALTER TABLE tune_cache ADD COLUMN load1 REAL",
    "ALTER TABLE tune_cache ADD COLUMN confidence TEXT CHECK (confidence IN ('high', 'low'))",
    "ALTER TABLE tune_cache ADD COLUMN confidence_why TEXT",
    NULL,
};

/* 9: a peak is a measurement with a spread, checked against the ISA's
 * rate: the min and median of its repeats (gflops is their max), how many,
 * the theoretical rate with the clock and how it was derived, and the load
 * around it. Rows recorded before (repeats NULL) are never used for % of
 * peak: they came from brief, unchecked measurements. */
static const char *const migration_9[] = {
    "ALTER TABLE peaks ADD COLUMN gflops_min REAL",
    "ALTER TABLE peaks ADD COLUMN gflops_median REAL",
    "ALTER TABLE peaks ADD COLUMN repeats INTEGER CHECK (repeats >= 1)",
    "ALTER TABLE peaks ADD COLUMN theoretical_gflops REAL",
    "ALTER TABLE peaks ADD COLUMN clock_mhz REAL",
    "ALTER TABLE peaks ADD COLUMN theoretical_how TEXT",
    "ALTER TABLE peaks ADD COLUMN load1_before REAL",
    "ALTER TABLE peaks ADD COLUMN load1_after REAL",
    NULL,
};

/* 10: the per-iteration samples behind every bench timing (net and layer
 * results, bench and the peers), as a JSON array of ms ("[1.25,1.3]",
 * cb_bind_samples), so that compare can test and bound a difference
 * rather than divide two medians. NULL in rows from before (compare says
 * "no test") and for parts a layer does not report. */
static const char *const migration_10[] = {
    "ALTER TABLE net_results ADD COLUMN fwd_samples_ms TEXT",
    "ALTER TABLE net_results ADD COLUMN bwd_samples_ms TEXT",
    "ALTER TABLE net_results ADD COLUMN total_samples_ms TEXT",
    "ALTER TABLE layer_results ADD COLUMN fwd_samples_ms TEXT",
    "ALTER TABLE layer_results ADD COLUMN bwd_samples_ms TEXT",
    "ALTER TABLE layer_results ADD COLUMN bwd_data_samples_ms TEXT",
    "ALTER TABLE layer_results ADD COLUMN bwd_filter_samples_ms TEXT",
    NULL,
};

/* cb_db_migrations[i] takes the schema from version i to version i + 1. */
const char *const *const cb_db_migrations[] = {
    migration_1, migration_2, migration_3, migration_4, migration_5,
    migration_6, migration_7, migration_8, migration_9, migration_10,
};

int cb_db_schema_version(void) {
  return (int)(sizeof cb_db_migrations / sizeof cb_db_migrations[0]);
}
