/* report_sql.h: the small SQLite helpers the report's sections share:
 * prepare and step with errors that name what was being read, column
 * access that keeps NULL distinct, the recorded FMA peak, the command
 * lines of runs, and a growing list of run ids. A leaf: it knows the
 * database's documented schema, not the report's document. */
#ifndef CB_REPORT_SQL_H
#define CB_REPORT_SQL_H

#include "kernels.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Prepares sql; CB_ERR_DB naming the query's purpose on failure. */
cb_status rp_prepare(sqlite3 *h, const char *what, const char *sql, sqlite3_stmt **st);

/* sqlite3_step that maps errors to CB_ERR_DB; *row says whether a row came. */
cb_status rp_step(sqlite3 *h, const char *what, sqlite3_stmt *st, bool *row);

/* Column i as text ("" for NULL) or as a double (NAN for NULL): a missing
 * timing must print as "-", never as 0. */
const char *rp_col_text(sqlite3_stmt *st, int i);
double rp_col_num(sqlite3_stmt *st, int i);

/* The latest FMA peak (GFLOP/s) of a machine at a thread count from the
 * peaks table; NAN when none was measured (or the query fails: a missing
 * peak only drops the "% of peak" column). */
double rp_peak(sqlite3 *h, int64_t machine_id, int threads);

/* The distinct command lines of runs, one per line, into *text (free()
 * it): ids[n] run ids, duplicates allowed; "(no runs)" when n is 0. A
 * command run twice is listed once. */
cb_status rp_run_commands(sqlite3 *h, const int64_t *ids, int n, char **text);

/* Appends id to the run list *ids of *n. */
cb_status rp_ids_add(int64_t **ids, int *n, int64_t id);

/* CB_ERR_NOMEM with the report's message; for the many allocations whose
 * failure needs no more words. */
cb_status rp_nomem(void);

#endif
