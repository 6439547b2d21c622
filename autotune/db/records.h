/* records.h: the plain rows the database layer writes and reads: the
 * machine, the build, a device sample (with its GPU state), a peak, a
 * tune-cache entry and its provenance, training steps and epochs, and
 * gradient checks.
 *
 * They live here, not beside the code that fills them (autotune's probes,
 * the harness's training loop), because cb_db sits below autotune and
 * harness in the link order and may include only kernels/ headers. The
 * probes' headers include this one. */
#ifndef CB_RECORDS_H
#define CB_RECORDS_H

#include "kernels.h"
#include "util.h"

/* ---- what machine, what build (autotune/machine.h, buildinfo.h) ---------------- */

typedef struct cb_machine {
  char hostname[128];
  char os[128]; /* uname: sysname release machine */
  char cpu_vendor[64];
  char cpu_model[128]; /* "AMD EPYC 9B45" */
  char isa[256];       /* the flags kernels care about, space separated */
  char isa_level[16];  /* best SIMD level: "avx512", "avx2", "sse4.2", "scalar" */
  int packages, numa_nodes, cores, pus;
  int64_t l1d_bytes, l2_bytes, l3_bytes; /* size of one cache of each level (0 if none) */
  int l2_count, l3_count;                /* how many of each */
  int64_t mem_bytes;                     /* total RAM */
  char topology[1024];   /* one line: "1 package, 2 cores, 2 PUs; L1d 48KiB x2, L2 1MiB x2, L3 32MiB
                            x1" */
  char fingerprint[256]; /* "cpu:<model>:<isa_level>:<cores>c" (threads are added per run) */
} cb_machine;

typedef struct cb_build {
  char git_rev[48];      /* commit hash, "unknown" outside git */
  bool git_dirty;        /* built from a tree with uncommitted changes */
  char compiler[128];    /* "GNU 12.2.0" */
  char flags[512];       /* C flags of the build type */
  char build_type[32];   /* Release, Debug, ... */
  char libs[1024];       /* "sqlite 3.40.1; hwloc 2.9.0; zlib 1.2.13; <backend versions>" */
  char kernel_hash[72];  /* sha256 of kernels/ sources at build time */
  char fingerprint[160]; /* sha256-derived: libs + kernel_hash */
} cb_build;

/* ---- the device around a measurement (autotune/devstate.h, gpustate.h) --------- */

typedef struct cb_gpustate {
  char name[96];
  double sm_mhz, mem_mhz; /* current clocks */
  double temp_c;          /* GPU core temperature */
  double power_w;         /* board power draw */
  double util;            /* fraction of the last sample period a kernel ran, 0..1 */
  /* Active clock limiters, comma separated ("none", "idle",
   * "sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal",
   * "power_brake", ...); "" when NVML could not say. */
  char throttle[128];
} cb_gpustate;

typedef struct cb_devstate {
  double t;                /* unix time, seconds */
  double cpu_mhz_reported; /* mean "cpu MHz" of /proc/cpuinfo (or cpufreq); 0 if unknown */
  double cpu_mhz_measured; /* this core's clock from a timed dependent-add chain */
  double load1;            /* 1-minute load average */
  double busy;             /* fraction of CPU time busy since the previous sample, -1 if none */
  double temp_c;           /* hottest hwmon/thermal zone, NAN if none */
  /* Raw tick counters (USER_HZ) behind cb_devstate_others_cpus; not
   * stored: only a pair of samples from one process means something. */
  unsigned long long ticks_total, ticks_busy, ticks_self;
  int cpus_online;
  /* The GPU a measurement ran on (gpustate.h), when has_gpu (false in a
   * zeroed sample); readings NAN or "" where NVML could not give them. */
  bool has_gpu;
  int gpu_index;
  cb_gpustate gpu;
} cb_devstate;

/* ---- the FP32 FMA peak (autotune/peak.h) ------------------------------------------ */

/* The fewest repeats a stored peak may come from; rows with fewer (or
 * from before the repeats were recorded) are never used for % of peak. */
#define CB_PEAK_MIN_REPEATS 5
/* A measured peak more than this fraction above the theoretical rate is a
 * measurement fault (a wrong clock, a flop miscounted, a timer jump). */
#define CB_PEAK_FAULT_TOLERANCE 0.05

typedef struct cb_peak {
  char isa[16];           /* the vector ISA measured: "avx512", "avx2" or "sse" */
  int threads;            /* threads that ran the loop at once */
  double gflops;          /* all threads together: the best of the repeats (a peak is a
                           * maximum: anything else on the machine only lowers it) */
  double gflops_per_core; /* gflops / threads */
  double seconds;         /* how long the measurement ran */
  /* The spread of the repeats (gflops is their max) and how many there
   * were; 0 in rows recorded before migration 9, which are never used. */
  double gflops_min, gflops_median;
  int repeats;
  /* The ISA's rate: threads x clock x FMA flops per cycle, and how it was
   * derived ("2 threads x 3772 MHz (measured) x 64 flops/cycle (Zen 5: ...)");
   * 0 and "" when unknown. */
  double theoretical_gflops;
  double clock_mhz;
  char theoretical_how[256];
  double load1_before, load1_after; /* the load average around the measurement */
  char measured[32];                /* when it was recorded (ISO-8601), "" if not */
} cb_peak;

/* ---- the tune cache (autotune/cache.h) -------------------------------------------- */

/* One cache entry: a winner and how it was measured. */
typedef struct cb_cache_entry {
  char key[CB_KEY_MAX];
  char device_fp[160];
  char build_fp[160];
  char backend[32];
  char variant[64];
  int params[CB_MAX_PARAMS];
  int nparams;
  cb_timing timing;        /* the winner's, ms */
  char runner_up[128];     /* "backend/variant[params]" or "" */
  double runner_up_median; /* ms, 0 when there was none */
  char origin[256];        /* "local" or "imported from FILE (host, date)" */
  char measured[32];       /* ISO-8601 */
  int64_t measurement_id;  /* the measurements row of the winner (local only) */
  /* How far the winner can be trusted (migration 8; rows and files from
   * before it read as estimate 0, load -1 and confidence ""). */
  double estimate;          /* the tuner's robust estimate (q25 of the samples), ms */
  double spread;            /* MAD / median of the winner's samples */
  double load;              /* 1-minute load average around the measurement, -1 unknown */
  char confidence[8];       /* "high", "low", or "" when unknown */
  char confidence_why[160]; /* why low ("" when high) */
} cb_cache_entry;

/* Where a cache entry was measured, for exports. Imported rows keep the
 * exporting file's; local rows read it from the run of their measurement. */
typedef struct cb_cache_prov {
  char hostname[128];
  char cpu_model[128];
  char isa_level[16];
  int cores;
  char git_rev[48];
} cb_cache_prov;

/* ---- training and gradient checks (harness/train.h, gradcheck.h) ------------------ */

/* One finished training step. */
typedef struct cb_train_step {
  int epoch;             /* from 1 */
  int64_t step;          /* from 1, counted over the whole run */
  int64_t step_in_epoch; /* from 1 */
  int64_t steps_per_epoch;
  double loss;         /* the batch's mean loss */
  double accuracy;     /* fraction of the batch classified right (before the update) */
  double lr;           /* the rate this step's update used */
  double images_per_s; /* this step alone: batch / (forward + backward + update) */
  double seconds;      /* since training started */
} cb_train_step;

/* Accuracy and loss over a whole set, and optionally the confusion matrix. */
typedef struct cb_eval_result {
  int64_t count, correct;
  double loss;     /* mean cross-entropy */
  double accuracy; /* correct / count */
  double seconds;
} cb_eval_result;

/* One finished epoch: the training averages and the test evaluation. */
typedef struct cb_train_epoch {
  int epoch;
  int64_t steps;
  double train_loss, train_accuracy; /* means over the epoch's steps */
  cb_eval_result test;               /* test.count == 0 when there is no test set */
  double lr;                         /* the last step's */
  double images_per_s;               /* training images / training time of this epoch */
  double epoch_seconds;              /* training time of this epoch (evaluation excluded) */
  double seconds;                    /* since training started, evaluation included */
} cb_train_epoch;

/* The longest layer name a gradient check row holds; harness/tensor.h's
 * CB_NAME_MAX, which gradcheck.h checks is the same. */
#define CB_RECORD_NAME_MAX 96

/* One comparison: a row of the grad_checks table. */
typedef struct cb_grad_result {
  char layer[CB_RECORD_NAME_MAX];
  char kind[16];
  char backend[32];
  char variant[160]; /* the kernel compared ("onednn/auto"), "" for finite differences */
  char what[16];     /* fd_input, fd_weights, fwd, bwd_data, dweights */
  double max_abs, max_rel, threshold;
  bool pass;
  int checked, skipped; /* entries compared; entries skipped at kinks */
} cb_grad_result;

#endif
