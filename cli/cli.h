/* cli.h: what the convbench commands share: exit codes, option parsing
 * helpers, the database session of a run, and the bench report writers.
 * Only code under cli/ prints to the terminal or exits. */
#ifndef CB_CLI_H
#define CB_CLI_H

#include <stdio.h>

#include "bench.h"
#include "buildinfo.h"
#include "devstate.h"
#include "machine.h"
#include "peak.h"
#include "db.h"

/* Exit codes, documented in `convbench --help`. */
enum {
  CLI_OK = 0,
  CLI_FAIL = 1,         /* a run failed: kernel error, database error */
  CLI_USAGE = 2,        /* bad command line or bad input file: nothing was run */
  CLI_INTERRUPTED = 130 /* Ctrl-C: finished measurements were kept */
};

typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
  void (*usage)(FILE *f);
} cli_command;

extern const cli_command cli_bench, cli_devices, cli_run, cli_gemm, cli_show, cli_db, cli_peak,
    cli_tune, cli_cache;
extern const cli_command cli_report_cmd, cli_compare;
extern const cli_command cli_train, cli_infer, cli_check;

/* Prints "convbench CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a bad option, prints the command's usage on stderr, returns CLI_USAGE. */
int cli_usage_error(const cli_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a decimal integer option value in [min, max]; false (after
 * printing the reason) otherwise. */
bool cli_parse_int(const cli_command *c, const char *flag, const char *val, long long min,
                   long long max, long long *out);

/* Physical cores of this machine (hwloc), at least 1: the default --threads. */
int cli_default_threads(void);

/* Maps a library status to an exit code: input errors are CLI_USAGE. */
int cli_exit_code(cb_status st);

/* ---- the database session of one run ------------------------------------ */

typedef struct cli_session {
  cb_db *db; /* NULL with --no-db */
  int64_t run_id;
  cb_machine machine;
  cb_build build;
  cb_peak peak; /* at the run's thread count, once cli_session_peak found one */
  bool have_peak;
  bool quiet;        /* no progress line while measuring the peak (set before cli_session_peak) */
  char no_peak[256]; /* why there is no peak ("" when there is one or none was looked for) */
} cli_session;

/* The command line as typed (shell-quoted), saved by main() before any
 * option parsing reorders argv; runs record it so they can be repeated. */
extern char cli_cmdline[4096];
void cli_save_command_line(int argc, char **argv);

/* Appends "FLAG VALUE" (VALUE may be NULL) to cli_cmdline unless FLAG is
 * already there, so that the recorded command (and every "Reproduce with"
 * line built from it) names the settings a default chose, which may
 * differ on another machine or build. */
void cli_cmdline_ensure(const char *flag, const char *value);
/* cli_cmdline_ensure with an integer value. */
void cli_cmdline_ensure_int(const char *flag, long long value);

/* Probes machine and build; unless path is NULL, opens the database,
 * records them and starts a run of the given kind with cli_cmdline.
 * Prints its own error. */
cb_status cli_session_begin(cli_session *s, const char *path, const char *kind, uint64_t seed,
                            int threads);

/* Fills s->peak for `threads`: the latest usable one recorded for this
 * machine (cb_db_get_peak, and not above this machine's theoretical rate),
 * else a proper measurement (CB_PEAK_MIN_REPEATS+ repeats, a few seconds,
 * progress on stderr unless s->quiet), recorded when it passes
 * cb_peak_judge. Without a database (--no-db) nothing is measured: there
 * is no % of peak, and s->no_peak says why, as does a measurement that was
 * a fault or came from a busy machine. Never a brief estimate. */
void cli_session_peak(cli_session *s, int threads);

/* Measures the peak at `threads` properly (repeats of `seconds`), with
 * progress on stderr unless quiet. Prints nothing else. */
cb_status cli_peak_measure(int threads, double seconds, int repeats, bool quiet, cb_peak *p);

/* One line on why p may not stand as the peak ("" when it may). */
void cli_peak_verdict_text(const cb_peak *p, char *buf, size_t len);

/* ---- progress on stderr ----------------------------------------------------- */

typedef struct cli_progress {
  bool enabled, tty, shown;
  uint64_t start, last;
} cli_progress;

/* Starts the clock; quiet disables the line. */
void cli_progress_begin(cli_progress *p, bool quiet);
/* Shows a printf-formatted status once the command has run a second: on a
 * terminal the line is rewritten at most every 0.25 s, otherwise a plain
 * line every 5 s. The elapsed seconds are appended. */
void cli_progress_show(cli_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the terminal line, if one was shown. */
void cli_progress_end(cli_progress *p);

/* Ends the run with status "ok", "failed" or "interrupted" and closes. */
void cli_session_end(cli_session *s, const char *status, const char *error);

/* Ends a run by its status: "ok", "interrupted" (saying `kept` on stderr,
 * or that nothing was recorded) or "failed" (with cb_errmsg() recorded and
 * printed). Returns the exit code: CLI_OK, CLI_INTERRUPTED or CLI_FAIL. */
int cli_session_finish(cli_session *s, const char *cmd, cb_status st, const char *kept);

/* ---- signals ------------------------------------------------------------------ */

/* Set by the first SIGINT/SIGTERM; a second one kills the process. */
extern volatile sig_atomic_t cli_stop;
void cli_install_signals(void);

/* ---- bench reports --------------------------------------------------------- */

typedef enum cli_format { CLI_FORMAT_TABLE, CLI_FORMAT_CSV, CLI_FORMAT_JSON } cli_format;

typedef struct cli_row {
  char name[CB_NAME_MAX];
  char kind[16];
  char in_shape[48], out_shape[48];
  char kernels[256]; /* "ref/direct", or per op when they differ */
  char impl[256];    /* what the libraries chose, per op */
  bool fallback;
  cb_bench_layer t;
  double fwd_flops, bwd_flops;
  int ops, ops_exact; /* kernel ops of the layer, and those a tune-cache hit chose exactly */
} cli_row;

/* One backend's rows and totals. */
typedef struct cli_result {
  const char *backend;
  int nrows;
  cli_row *rows;
  cb_timing fwd, bwd, total; /* a .shapes file: sums of the layers' medians and mins */
  double fwd_flops, bwd_flops;
} cli_result;

typedef struct cli_report {
  const char *net, *netdef;
  const cli_session *session;
  bool shapes; /* rows are layers timed alone; totals are sums of medians */
  int64_t batch;
  int threads, iters, warmup;
  bool interleaved; /* several backends, timed round by round */
  bool interrupted; /* only the rows that finished are present */
  int nresults;
  cli_result *results;
  int64_t seed;
  bool have_state;           /* before/after hold device samples around the timing */
  cb_devstate before, after; /* first sample before, last sample after the measurements */
} cli_report;

/* Prints the report on f; noise warnings go to stderr (cli_noise_warn). */
void cli_report_print(FILE *f, cli_format fmt, const cli_report *r);

/* ---- context, noise and rates: shared by bench, run, gemm (and tune) ------- */

/* What a result needs beside its numbers to be read and reproduced: the
 * machine, the build, when, which run, the command line, the settings,
 * the peak and the load. Pointers may be NULL where a command has none. */
typedef struct cli_context {
  const cli_session *session;
  const char *command; /* the command line that reproduces the run (cli_cmdline if NULL) */
  int threads;
  int64_t seed, batch; /* batch 0: none */
  int iters, warmup;
  const cb_devstate *before, *after; /* around the measurements; NULL if not sampled */
} cli_context;

/* Writes `"context": {...}` (no trailing comma) as Google Benchmark's
 * context block: machine, build, date, run id, command line, settings,
 * peak, load before/after. */
void cli_context_json(FILE *f, const cli_context *c);
/* Writes the same as `# key: value` lines, the header of a CSV. */
void cli_context_csv(FILE *f, const cli_context *c);

/* "ok 1.2%", "noisy 8.0%", "preempted x3.1" for t; "-" when not timed. */
void cli_noise_cell(const cb_timing *t, char *buf, size_t len);

/* Warns on stderr when timings were noisy or preempted (counts of ntimed)
 * or the load exceeded what the threads leave, naming the likely cause:
 * preemption by other processes (load X on N threads), a clock drop, too
 * few iterations. before/after may be NULL. Returns whether it warned. */
bool cli_noise_warn(const char *cmd, int nnoisy, int npreempted, int ntimed, int iters, int threads,
                    int cpus, const cb_devstate *before, const cb_devstate *after);

/* The line under a timing table: load before/after and the clock. */
void cli_state_line(FILE *f, const cb_devstate *before, const cb_devstate *after, int threads);

/* Why a rate over 100% of the peak is possible: "winograd credits direct
 * flops" for Winograd/FFT kernels (they do fewer flops than the direct
 * convolution they are credited with), else "measurement fault". */
const char *cli_over_peak_reason(const char *kernels, const char *impl);

#endif
