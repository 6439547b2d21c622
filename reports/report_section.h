/* report_section.h: what the report's section builders (report_nets.c,
 * report_tune.c, report_device.c, report_train.c) are handed by
 * report.c, and the one block they all end with. The runs a report
 * covers are in the temporary table temp.report_runs(id), which every
 * section's query joins. Nothing here lives in report.c: the sections
 * depend on this file, report_sql.h and report_doc.h only. */
#ifndef CB_REPORT_SECTION_H
#define CB_REPORT_SECTION_H

#include "report.h"
#include "report_doc.h"
#include "report_sql.h"

typedef struct rp_ctx {
  sqlite3 *h;
  rp_doc *doc;
  cb_report_summary *sum;
  bool all_runs; /* no --run: imported cache rows belong too */
} rp_ctx;

/* "Reproduce with:" and the distinct command lines of ids[n] (run ids,
 * duplicates allowed) as one code block; "(no runs)" when n is 0. */
cb_status rp_reproduce(rp_ctx *c, const int64_t *ids, int n);

/* Opens a level-2 section titled title and prepares the query it is built
 * from (what names the query in errors): how every section that reads the
 * database starts. */
cb_status rp_section_query(rp_ctx *c, const char *title, const char *what, const char *sql,
                           sqlite3_stmt **st);

/* The section builders, in report order. */
cb_status rp_nets(rp_ctx *c);   /* report_nets.c: whole nets and .shapes sets */
cb_status rp_tune(rp_ctx *c);   /* report_tune.c: autotune winners */
cb_status rp_device(rp_ctx *c); /* report_device.c: device state over runs */
cb_status rp_train(rp_ctx *c);  /* report_train.c: training curves, gradient checks */

#endif
