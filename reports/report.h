/* report.h: `convbench report`: turns a results database into a static
 * report directory: index.html (no network: inline CSS, images by
 * relative path), report.md (convnet-benchmarks tables), and gnuplot
 * plots as SVG and PNG under plots/ with the .dat and .gp files that made
 * them, so every figure can be re-plotted by hand.
 *
 * Sections: per net, total / forward / backward ms per backend (peers
 * such as pytorch and darknet are backends like any other), the layer
 * table and GFLOP/s against the machine's measured peak; .shapes sets
 * (convnet-benchmarks L1..L5) summed and broken down per layer; autotune
 * winners; device state over each run; training curves; gradient checks.
 * A section whose tables are empty says so instead of vanishing. */
#ifndef CB_REPORT_H
#define CB_REPORT_H

#include "db.h"

typedef struct cb_report_opts {
  const char *out_dir;  /* created if missing; files in it are replaced */
  const char *db_label; /* how the header names the database (its path) */
  const int64_t *runs;  /* only these runs; NULL (nruns 0) for every run */
  int nruns;
  const char *gnuplot;   /* the gnuplot program; NULL for "gnuplot" in PATH */
  const char *generated; /* the header's date; NULL for now (UTC) */
} cb_report_opts;

/* What was written, for the CLI's summary line. */
typedef struct cb_report_summary {
  int tables, plots;
  int net_groups, shape_groups, tune_rows, device_runs, train_series, grad_rows;
} cb_report_summary;

/* Writes the report of db into o->out_dir. CB_ERR_INVALID for a run id
 * that is not in db; CB_ERR_UNAVAILABLE when gnuplot cannot be run (the
 * message names the program and the Debian package); CB_ERR_IO when a
 * file cannot be written or gnuplot fails on a script (the message names
 * the script and quotes gnuplot's first error line); CB_ERR_DB when a
 * query fails. */
cb_status cb_report_write(cb_db *db, const cb_report_opts *o, cb_report_summary *summary);

#endif
