/* compare.h: `convbench compare`: two runs, or two databases, side by
 * side, with intervals and a significance test on the stored samples.
 *
 * A side is a database, optionally one run in it, and optionally one
 * backend; without a run it is the latest result of every (net, entry,
 * backend, batch) in the database. Results are matched on (net, entry,
 * backend, batch, threads): a .shapes entry is matched by its layer name,
 * a whole net has entry ""; with any_threads, thread counts are not
 * matched (machine against machine), and each side keeps its latest
 * result per key; with a backend per side (onednn against pytorch), the
 * backend is not matched either.
 *
 * Per matched pass (total, forward, backward): each side's median with a
 * distribution-free interval (cb_median_ci), the ratio of the medians B/A
 * with the Moses interval (cb_ratio_ci), and the Mann-Whitney test
 * (cb_mann_whitney) on the *_samples_ms columns. Rows recorded before
 * samples were kept, or with fewer than CB_CMP_MIN_SAMPLES, get no test.
 * With layers, each layer of a whole net is a row too, matched by name
 * (forward and backward; a layer has no total of its own). */
#ifndef CB_COMPARE_H
#define CB_COMPARE_H

#include "db.h"

typedef struct cb_cmp_side {
  cb_db *db;
  int64_t run_id;      /* 0: every run of db */
  const char *backend; /* NULL: every backend (matched by name) */
} cb_cmp_side;

typedef struct cb_cmp_opts {
  bool any_threads; /* match results whatever their thread counts */
  bool layers;      /* also every layer of each whole net (rows with layer >= 0) */
  double alpha;     /* significance level, and 1 - alpha the intervals' level; 0: 0.05 */
} cb_cmp_opts;

/* The fewest samples a side needs for a test. */
#define CB_CMP_MIN_SAMPLES 3

/* The passes, in the order compare prints them. */
typedef enum cb_cmp_pass { CB_CMP_TOTAL, CB_CMP_FWD, CB_CMP_BWD, CB_CMP_NPASS } cb_cmp_pass;

/* "total", "fwd", "bwd". */
const char *cb_cmp_pass_name(cb_cmp_pass p);

typedef enum cb_cmp_verdict {
  CB_CMP_ONE_SIDED, /* a median is missing on a side: nothing to compare */
  CB_CMP_NO_TEST,   /* medians on both sides, too few samples on one */
  CB_CMP_SAME,      /* p >= alpha: no significant difference */
  CB_CMP_SLOWER,    /* p < alpha and B's median above A's */
  CB_CMP_FASTER,    /* p < alpha and B's median below A's */
} cb_cmp_verdict;

/* One pass of a matched row: times in ms, NAN where absent. */
typedef struct cb_cmp_stat {
  double median[2];    /* the stored medians of A and B */
  double lo[2], hi[2]; /* the interval of each median; NAN without samples */
  double cover[2];     /* the level that interval reaches (below 1 - alpha when few) */
  int n[2];            /* samples stored (0: none, an older row) */
  double ratio;        /* median B / median A */
  double ratio_lo, ratio_hi, ratio_cover; /* Moses interval of B/A; NAN without a test */
  double p;                               /* two-sided Mann-Whitney p-value; NAN without a test */
  cb_cmp_verdict verdict;
} cb_cmp_stat;

/* One matched (or one-sided) result. */
typedef struct cb_cmp_row {
  char net[96], entry[96]; /* entry: a .shapes entry's or (layer >= 0) a net layer's name */
  int layer;               /* the layer's index in its net; -1 for a net or .shapes entry */
  char backend[2][64];     /* each side's backend; "" on the side that lacks it */
  int64_t batch;
  int threads_key; /* the thread count matched on; 0 with any_threads */
  int threads[2];  /* 0 on the side that lacks it */
  cb_cmp_stat pass[CB_CMP_NPASS];
} cb_cmp_row;

/* What a side is, for the header: its run's kind and command, or the
 * number of runs in the database. */
typedef struct cb_cmp_info {
  char kind[32];
  char command[1024];
  char started[32];
  char host[128], cpu[128];
  int runs;    /* runs with results on this side */
  int results; /* results read for this side (after the backend filter) */
} cb_cmp_info;

/* Matches the results of a and b (o may be NULL: threads matched, alpha
 * 0.05) and computes every pass's statistics; *rows (free() it) sorted by
 * net, entry, backend, batch, threads. CB_ERR_INVALID when a side's run
 * is not in its database or alpha is outside (0, 0.5); CB_ERR_PARSE
 * naming the row when a stored sample list is not one; CB_ERR_DB when a
 * query fails. */
cb_status cb_compare_results(const cb_cmp_side *a, const cb_cmp_side *b, const cb_cmp_opts *o,
                             cb_cmp_row **rows, int *nrows, cb_cmp_info info[2]);

/* The geometric mean of B/A (the ratios of the medians) over the rows
 * (nets and .shapes entries, not the layers of nets) matched in pass p,
 * with a t-interval on the log ratios at level conf (cb_geomean_ci):
 * *matched rows; *g, *lo, *hi NAN when none (lo, hi also when one). */
void cb_compare_geomean(const cb_cmp_row *rows, int n, cb_cmp_pass p, double conf, double *g,
                        double *lo, double *hi, int *matched);

#endif
