/* report_int.h: what the report's section builders share (internal to
 * report*.c): the database handle, the document being built, the summary,
 * and small sqlite helpers. The runs a report covers are in the temporary
 * table temp.report_runs(id), which every query joins. */
#ifndef CB_REPORT_INT_H
#define CB_REPORT_INT_H

#include "report.h"
#include "report_doc.h"

#include <sqlite3.h>

typedef struct rp_ctx {
  sqlite3 *h;
  rp_doc *doc;
  cb_report_summary *sum;
  bool all_runs; /* no --run: imported cache rows belong too */
} rp_ctx;

/* Prepares sql; CB_ERR_DB naming the query's purpose on failure. */
cb_status rp_prepare(rp_ctx *c, const char *what, const char *sql, sqlite3_stmt **st);

/* sqlite3_step that maps errors to CB_ERR_DB; *row says whether a row came. */
cb_status rp_step(rp_ctx *c, const char *what, sqlite3_stmt *st, bool *row);

/* Column i as text ("" for NULL) or as a double (NAN for NULL). */
const char *rp_col_text(sqlite3_stmt *st, int i);
double rp_col_num(sqlite3_stmt *st, int i);

/* The distinct command lines of runs, as the lines of one code block:
 * ids[n] run ids (duplicates allowed). Adds "(no runs)" when n is 0. */
cb_status rp_commands(rp_ctx *c, const int64_t *ids, int n);

/* The latest FMA peak (GFLOP/s) of a machine at a thread count; NAN when
 * none was measured. */
double rp_peak(rp_ctx *c, int64_t machine_id, int threads);

/* The section builders, in report order. */
cb_status rp_nets(rp_ctx *c);   /* report_nets.c: whole nets and .shapes sets */
cb_status rp_tune(rp_ctx *c);   /* report_tune.c: autotune winners */
cb_status rp_device(rp_ctx *c); /* report_device.c: device state over runs */
cb_status rp_train(rp_ctx *c);  /* report_train.c: training curves, gradient checks */

#endif
