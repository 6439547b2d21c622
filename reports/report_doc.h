/* report_doc.h: the report as a document, built once from the database
 * and written twice (report_md.c, report_html.c): sections holding
 * paragraphs, tables, command blocks and plots, in order. Plots carry
 * their data; report_plot.c turns each into .dat + .gp and runs gnuplot.
 * Internal to the report; every string is owned by the document. */
#ifndef CB_REPORT_DOC_H
#define CB_REPORT_DOC_H

#include "kernels.h"
#include "util.h" /* cb_strdup_printf names plots and titles */

#include <stdbool.h>
#include <stdio.h>

typedef enum rp_block_kind { RP_TEXT, RP_TABLE, RP_CODE, RP_PLOT } rp_block_kind;

typedef struct rp_table {
  int ncols, nrows;
  char **head;  /* ncols */
  char **cells; /* nrows x ncols, row-major; "" for an empty cell */
  bool *right;  /* ncols: right-aligned (numbers) */
} rp_table;

typedef enum rp_plot_kind {
  RP_BARS, /* clustered bars: a value per (category, series); NAN = missing */
  RP_LINES /* x-y lines: each series its own points, on y1 or y2 */
} rp_plot_kind;

typedef struct rp_series {
  char *name;
  bool y2;    /* RP_LINES: on the right axis */
  int n, cap; /* RP_LINES points */
  double *x, *y;
} rp_series;

typedef struct rp_plot {
  rp_plot_kind kind;
  char *name; /* file stem under plots/: [a-z0-9_-] only */
  char *title, *xlabel, *ylabel, *y2label;
  int nseries;
  rp_series *series;
  int ncat;         /* RP_BARS categories */
  char **cat;       /* ncat labels */
  double *val;      /* ncat x nseries, row-major */
  char **bar_label; /* RP_BARS, optional: a text above each category's first bar */
  double hline;     /* a dashed horizontal line (the peak); NAN for none */
  char *hline_label;
} rp_plot;

typedef struct rp_block {
  rp_block_kind kind;
  char *text;     /* RP_TEXT paragraph, RP_CODE lines, RP_TABLE caption */
  rp_table table; /* RP_TABLE */
  rp_plot *plot;  /* RP_PLOT */
} rp_block;

typedef struct rp_section {
  char *title;
  int level; /* 2 or 3: ## or ### */
  int nblocks, cap;
  rp_block *blocks;
} rp_section;

typedef struct rp_doc {
  char *title;
  int nsections, cap;
  rp_section *sections;
  int ntables, nplots;
} rp_doc;

/* ---- building ----------------------------------------------------------------- */

/* Appends a section; the returned pointer is valid until the next call. */
rp_section *rp_section_add(rp_doc *d, int level, const char *title);

/* A paragraph (plain text; writers escape it). */
cb_status rp_text(rp_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Command lines, one per line, shown verbatim. */
cb_status rp_code(rp_doc *d, const char *lines);

/* A table with a caption (may be NULL) and ncols headers; a header that
 * starts with '>' is right-aligned (the '>' is dropped). Returns the
 * table to fill with rp_row(). */
rp_table *rp_table_add(rp_doc *d, const char *caption, int ncols, const char *const *head);

/* Appends a row of t->ncols cells (copied; NULL is ""). */
cb_status rp_row(rp_table *t, const char *const *cells);

/* Appends a plot (owned by the document from now on; freed on failure). */
cb_status rp_plot_add(rp_doc *d, rp_plot *p);

/* A new plot; NULL when out of memory. */
rp_plot *rp_plot_new(rp_plot_kind kind, const char *name, const char *title, const char *xlabel,
                     const char *ylabel);

/* RP_BARS: sets the categories and series names; every value starts NAN. */
cb_status rp_bars_shape(rp_plot *p, int ncat, const char *const *cats, int nseries,
                        const char *const *series);

/* RP_LINES: a new series (returns its index, or -1 when out of memory). */
int rp_lines_series(rp_plot *p, const char *name, bool y2);

/* RP_LINES: appends a point to series s. */
cb_status rp_lines_point(rp_plot *p, int s, double x, double y);

void rp_plot_free(rp_plot *p);
void rp_doc_free(rp_doc *d);

/* The current (last) section; NULL before the first. */
rp_section *rp_doc_last(rp_doc *d);

/* ---- writing ------------------------------------------------------------------ */

/* report.md: GitHub-flavoured Markdown, images as plots/NAME.png. */
cb_status rp_write_md(const rp_doc *d, const char *path);

/* index.html: one static page, inline CSS, images plots/NAME.svg. */
cb_status rp_write_html(const rp_doc *d, const char *path);

/* Writes plots/NAME.dat and NAME.gp for every plot of d into plots_dir and
 * runs gnuplot (the program `gnuplot`) on each, producing NAME.svg and
 * NAME.png. */
cb_status rp_write_plots(const rp_doc *d, const char *plots_dir, const char *gnuplot);

/* Formats a number of milliseconds (or any value) for a table: "-" for
 * NAN, else %.2f (%.1f from 1000 up, 3 significant digits below 1). buf
 * must hold 32 bytes. */
const char *rp_num(char *buf, double v);

#endif
